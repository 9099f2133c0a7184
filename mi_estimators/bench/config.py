"""Sweep configs: the TOML format of ``mi-bench run``, validated before any work starts.

:func:`load_config` reads a TOML file, :func:`parse_config` validates a parsed mapping
(unknown keys, missing keys, wrong types, unknown task or estimator names, duplicate
labels, options an estimator would not accept) and returns a :class:`SweepConfig`, whose
:meth:`~SweepConfig.jobs` is the sweep's grid. The format is documented in ``docs/cli.md``.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Mapping

from mi_estimators._checks import check_choice
from mi_estimators.result import to_jsonable
from mi_estimators.bench.sweep import Job, estimator_names, get_task, make_grid

__all__ = ["SweepConfig", "parse_config", "load_config", "check_estimator_options"]

_CONFIG_KEYS = {
    "name": "a name for the sweep (string)",
    "description": "free text (string)",
    "tasks": "task names (list of strings), e.g. ['gaussian:dim=5,mi=2']",
    "estimators": "estimator names or tables {name=..., label=..., option=value} (list)",
    "seeds": "number of seeds (int) or a list of seeds",
    "n": "sample size (int) or a list of sample sizes",
    "options": "options shared by the neural estimators, e.g. steps, batch_size, critic (table)",
}


@dataclasses.dataclass
class SweepConfig:
    """A validated sweep config (see ``docs/cli.md`` for the TOML format)."""

    tasks: list
    estimators: list
    seeds: list
    n: list
    options: dict
    name: str = "sweep"
    description: str = ""

    def jobs(self) -> list[Job]:
        """The grid; shared ``options`` go to the neural estimators only (own options win)."""
        specs = []
        for spec in self.estimators:
            shared = {} if _is_nonparametric(spec["name"]) else self.options
            own = {k: v for k, v in spec.items() if k not in ("name", "label")}
            specs.append({"name": spec["name"], "label": spec.get("label", spec["name"]), **shared, **own})
        return make_grid(self.tasks, specs, self.seeds, self.n)

    def to_dict(self) -> dict:
        return to_jsonable(dataclasses.asdict(self))


def _is_nonparametric(name: str) -> bool:
    from mi_estimators.nonparametric import NONPARAMETRIC

    return name in NONPARAMETRIC


def check_estimator_options(name: str, options: Mapping) -> None:
    """Raise ValueError for an option ``estimate_mi(..., estimator=name)`` would not accept.

    Checks option names against :func:`mi_estimators.api.valid_options` (listing the valid
    ones) and, for the neural estimators and ``auto``, the bound's hyper-parameter values —
    before any work starts. ``seed`` is refused: a sweep sets it from its ``seeds``.
    """
    from mi_estimators.api import valid_options

    if "seed" in options:
        raise ValueError(f"estimator {name!r}: 'seed' is set by the sweep's seeds key, not as an option")
    valid = (valid_options(name) - {"progress"}) | {"transform"}   # the copula transform, for every estimator
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} for estimator {name!r}; valid options: {', '.join(sorted(valid))}"
        )
    if not _is_nonparametric(name):   # "auto" passes its extra options to its neural path (InfoNCE)
        from mi_estimators.bounds import BOUNDS, get_bound

        bound = "infonce" if name == "auto" else name
        hyper = set(BOUNDS[bound].hyper_defaults)
        get_bound(bound, **{k: v for k, v in options.items() if k in hyper})


def _type_error(where: str, expected: str, value) -> ValueError:
    return ValueError(f"{where} must be {expected}, got {value!r} ({type(value).__name__})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_config(data: Mapping, *, source: str = "config", check_names: bool = True) -> SweepConfig:
    """Validate a sweep config mapping (a parsed TOML file) before any work starts.

    Raises ValueError naming the problem and the valid choices: unknown keys, missing
    keys, wrong types, unknown task or estimator names, duplicate labels.
    """
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        valid = "; ".join(f"{k}: {v}" for k, v in _CONFIG_KEYS.items())
        raise ValueError(f"{source}: unknown key {unknown[0]!r}; valid keys are {valid}")
    for key in ("tasks", "estimators"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r} ({_CONFIG_KEYS[key]})")
    tasks = data["tasks"]
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise _type_error(f"{source}: tasks", "a non-empty list of task names", tasks)
    estimators = data["estimators"]
    if not isinstance(estimators, list) or not estimators:
        raise _type_error(f"{source}: estimators", "a non-empty list", estimators)
    seeds = data.get("seeds", 3)
    if _is_int(seeds):
        if seeds < 1:
            raise ValueError(f"{source}: seeds must be >= 1, got {seeds}")
        seeds = list(range(seeds))
    elif not (isinstance(seeds, list) and seeds and all(_is_int(s) and s >= 0 for s in seeds)):
        raise _type_error(f"{source}: seeds", "a positive int or a list of ints >= 0", seeds)
    sizes = data.get("n", 1024)
    sizes = [sizes] if _is_int(sizes) else sizes
    if not (isinstance(sizes, list) and sizes and all(_is_int(s) and s >= 2 for s in sizes)):
        raise _type_error(f"{source}: n", "an int >= 2 or a list of them", data.get("n"))
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        raise _type_error(f"{source}: options", "a table", options)
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise _type_error(f"{source}: {key}", "a string", data[key])

    known_estimators = estimator_names() if check_names else None
    labels = set()
    normalised = []
    for i, spec in enumerate(estimators):
        if isinstance(spec, str):
            spec = {"name": spec}
        elif isinstance(spec, Mapping):
            spec = dict(spec)
            if "name" not in spec:
                raise ValueError(f"{source}: estimators[{i}] needs a 'name' key, got {spec!r}")
        else:
            raise _type_error(f"{source}: estimators[{i}]", "a name or a table", spec)
        if not isinstance(spec["name"], str):
            raise _type_error(f"{source}: estimators[{i}].name", "a string", spec["name"])
        if known_estimators is not None:
            try:
                check_choice("estimator", spec["name"], known_estimators)
            except ValueError as err:
                raise ValueError(f"{source}: estimators[{i}]: {err}") from None
        label = spec.get("label", spec["name"])
        if not isinstance(label, str):
            raise _type_error(f"{source}: estimators[{i}].label", "a string", label)
        if label in labels:
            raise ValueError(
                f"{source}: two estimators share the label {label!r}; give variants distinct "
                "labels, e.g. {name='smile', label='smile-5', clip=5.0}"
            )
        labels.add(label)
        if check_names:
            own = {k: v for k, v in spec.items() if k not in ("name", "label")}
            shared = {} if _is_nonparametric(spec["name"]) else dict(options)
            try:
                check_estimator_options(spec["name"], {**shared, **own})
            except ValueError as err:
                raise ValueError(f"{source}: estimators[{i}] ({label}): {err}") from None
        normalised.append(spec)
    if check_names:
        for task in tasks:
            try:
                get_task(task)
            except ValueError as err:
                raise ValueError(f"{source}: tasks: {err}") from None
    return SweepConfig(
        tasks=list(tasks),
        estimators=normalised,
        seeds=[int(s) for s in seeds],
        n=[int(s) for s in sizes],
        options=dict(options),
        name=data.get("name", "sweep"),
        description=data.get("description", ""),
    )


def load_config(path: str | os.PathLike, *, check_names: bool = True) -> SweepConfig:
    """Read and validate a TOML sweep config (see :func:`parse_config`)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    return parse_config(data, source=str(path), check_names=check_names)

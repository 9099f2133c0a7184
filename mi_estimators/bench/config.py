"""Sweep configs: the TOML format of ``mi-bench run``, validated before any work starts.

:func:`load_config` reads a TOML file, :func:`parse_config` validates a parsed mapping and
returns a :class:`SweepConfig`, whose :meth:`~SweepConfig.jobs` is the sweep's grid. The
validation covers every run of the grid up front: unknown keys, missing keys, wrong types,
unknown task or estimator names, duplicate labels, option names an estimator would not accept
and option values it would refuse (:func:`option_errors`). It collects every error and raises
one ``ValueError`` listing them all. The format is documented in ``docs/cli.md``.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Mapping

from mi_estimators._checks import check_choice
from mi_estimators.result import to_jsonable
from mi_estimators.bench.sweep import Job, estimator_names, get_task, make_grid

__all__ = ["SweepConfig", "parse_config", "load_config", "check_estimator_options", "option_errors"]

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


# --------------------------------------------------------------------------- option checks
def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _name_errors(name: str, options: Mapping) -> list[tuple[tuple, str]]:
    """Options ``estimate_mi(..., estimator=name)`` does not know (each listed), and ``seed``."""
    from mi_estimators.api import valid_options

    errors: list[tuple[tuple, str]] = []
    if "seed" in options:
        errors.append(((), f"estimator {name!r}: 'seed' is set by the sweep's seeds key, not as an option"))
    valid = (valid_options(name) - {"progress"}) | {"transform"}   # the copula transform, for every estimator
    unknown = sorted(set(options) - valid - {"seed"})
    if unknown:
        what = f"option {unknown[0]!r}" if len(unknown) == 1 else f"options {', '.join(map(repr, unknown))}"
        errors.append(((), f"unknown {what} for estimator {name!r}; valid options: {', '.join(sorted(valid))}"))
    return errors


def _nonparametric_errors(name: str, options: Mapping, n: int) -> list[tuple[tuple, str]]:
    """Values the estimator refuses, found by running it on a small discrete-valued sample of
    ``n`` rows (one column each side; its own checks, including k < n): each option alone, then
    all together. Nothing is reported when the defaults themselves fail at this n."""
    import numpy as np

    from mi_estimators.nonparametric import estimate_nonparametric

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (n, 1)).astype(float)
    y = (x + rng.integers(0, 2, (n, 1))) % 4

    def fails(opts) -> str | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimate_nonparametric(name, x, y, seed=0, options=dict(opts))
        except Exception as exc:   # noqa: BLE001 - any refusal is reported, with its type if not ours
            return _message(exc)
        return None

    if fails({}) is not None:
        return []
    errors = [((key,), f"{msg} (estimator {name!r}, n = {n})") for key, value in options.items()
              if (msg := fails({key: value})) is not None]
    if not errors and options and (msg := fails(options)) is not None:
        errors.append((tuple(options), f"{msg} (estimator {name!r}, n = {n})"))
    return errors


def _neural_errors(name: str, options: Mapping) -> list[tuple[tuple, str]]:
    """Values a neural estimator (or auto's neural path) refuses: each training, critic and
    auto option alone (their dataclasses check them), the critic built once (tiny, 2 + 2
    inputs) and the bound's hyper-parameters."""
    from mi_estimators.options import CriticOptions, TrainOptions, field_names

    groups = [TrainOptions, CriticOptions]
    if name == "auto":
        from mi_estimators.auto import AutoOptions

        groups.append(AutoOptions)
    errors: list[tuple[tuple, str]] = []
    for cls in groups:
        for key in field_names(cls):
            if key in options:
                try:
                    cls(**{key: options[key]})
                except Exception as exc:  # noqa: BLE001
                    errors.append(((key,), _message(exc)))
    critic_keys = set(field_names(CriticOptions)) - {"n_critics", "combine"}
    given = tuple(sorted(critic_keys & set(options)))
    if given and not any(set(keys) & critic_keys for keys, _ in errors):
        from mi_estimators.critics import make_critic

        crit = CriticOptions(**{k: options[k] for k in critic_keys if k in options})
        try:
            make_critic(crit.critic or "separable", 2, 2, hidden=crit.hidden or (8,), embed_dim=crit.embed_dim,
                        activation=crit.activation, **crit.specific())
        except Exception as exc:  # noqa: BLE001
            errors.append((given, f"critic option(s) {', '.join(given)}: {_message(exc)}"))
    from mi_estimators.bounds import BOUNDS, get_bound

    bound = "infonce" if name == "auto" else name
    hyper = {k: v for k, v in options.items() if k in BOUNDS[bound].hyper_defaults}
    try:
        get_bound(bound, **hyper)
    except Exception as exc:  # noqa: BLE001
        errors.append((tuple(hyper), _message(exc)))
    return errors


def option_errors(name: str, options: Mapping, *, n: int | None = None) -> list[tuple[tuple, str]]:
    """Every problem with ``estimate_mi(..., estimator=name, **options)`` found without data:
    unknown option names (with the valid ones), ``seed`` (a sweep sets it), a bad ``transform``
    and refused values. A nonparametric estimator's values are checked at sample size ``n``
    (e.g. KSG's ``k < n``); ``None`` skips them. Returns ``(keys, message)`` pairs, ``keys``
    the options a message is about (empty when it is about the option names)."""
    errors = _name_errors(name, options)
    known = {k: v for k, v in options.items() if k != "seed"} if not errors else {}
    if "transform" in known:
        try:
            check_choice("transform", known.pop("transform"), ("copula",))
        except ValueError as exc:
            errors.append((("transform",), str(exc)))
    if errors:
        return errors
    if _is_nonparametric(name):
        return _nonparametric_errors(name, known, n) if n is not None else []
    return _neural_errors(name, known)


def check_estimator_options(name: str, options: Mapping, *, n: int | None = None) -> None:
    """Raise one ValueError listing every problem :func:`option_errors` finds (names and values)."""
    errors = [msg for _, msg in option_errors(name, options, n=n)]
    if errors:
        raise ValueError(errors[0] if len(errors) == 1 else "; ".join(errors))


# --------------------------------------------------------------------------- the config
def _type_error(where: str, expected: str, value) -> str:
    return f"{where} must be {expected}, got {value!r} ({type(value).__name__})"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _raise_all(source: str, errors: list[str]) -> None:
    errors = list(dict.fromkeys(errors))
    if len(errors) == 1:
        raise ValueError(f"{source}: {errors[0]}")
    if errors:
        lines = "\n".join(f"  {i}. {e}" for i, e in enumerate(errors, 1))
        raise ValueError(f"{source}: {len(errors)} errors, nothing was run:\n{lines}")


def _check_top(data: Mapping, errors: list[str]) -> tuple[list, list, list, list, dict]:
    """The top-level keys and types; returns tasks, estimators, seeds, sizes, options (each
    emptied when invalid, so that the remaining checks still run)."""
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        valid = "; ".join(f"{k}: {v}" for k, v in _CONFIG_KEYS.items())
        errors.append(f"unknown key {unknown[0]!r}; valid keys are {valid}")
    for key in ("tasks", "estimators"):
        if key not in data:
            errors.append(f"missing key {key!r} ({_CONFIG_KEYS[key]})")
    tasks = data.get("tasks", [])
    if "tasks" in data and not (isinstance(tasks, list) and tasks and all(isinstance(t, str) for t in tasks)):
        errors.append(_type_error("tasks", "a non-empty list of task names", tasks))
        tasks = []
    estimators = data.get("estimators", [])
    if "estimators" in data and not (isinstance(estimators, list) and estimators):
        errors.append(_type_error("estimators", "a non-empty list", estimators))
        estimators = []
    seeds = data.get("seeds", 3)
    if _is_int(seeds):
        if seeds < 1:
            errors.append(f"seeds must be >= 1, got {seeds}")
        seeds = list(range(seeds))
    elif not (isinstance(seeds, list) and seeds and all(_is_int(s) and s >= 0 for s in seeds)):
        errors.append(_type_error("seeds", "a positive int or a list of ints >= 0", seeds))
        seeds = []
    sizes = data.get("n", 1024)
    sizes = [sizes] if _is_int(sizes) else sizes
    if not (isinstance(sizes, list) and sizes and all(_is_int(s) and s >= 2 for s in sizes)):
        errors.append(_type_error("n", "an int >= 2 or a list of them", data.get("n")))
        sizes = []
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        errors.append(_type_error("options", "a table", options))
        options = {}
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            errors.append(_type_error(key, "a string", data[key]))
    return tasks, estimators, seeds, sizes, dict(options)


def _check_estimators(estimators: list, options: dict, sizes: list, check_names: bool,
                      errors: list[str]) -> list[dict]:
    """Each estimator entry: its form, name, label and (``check_names``) its full option set,
    shared options included, at the smallest sample size. Returns the entries as tables."""
    known = estimator_names() if check_names else None
    labels, normalised = set(), []
    for i, spec in enumerate(estimators):
        if isinstance(spec, str):
            spec = {"name": spec}
        elif not isinstance(spec, Mapping):
            errors.append(_type_error(f"estimators[{i}]", "a name or a table", spec))
            continue
        spec = dict(spec)
        if "name" not in spec:
            errors.append(f"estimators[{i}] needs a 'name' key, got {spec!r}")
            continue
        if not isinstance(spec["name"], str):
            errors.append(_type_error(f"estimators[{i}].name", "a string", spec["name"]))
            continue
        label = spec.get("label", spec["name"])
        if not isinstance(label, str):
            errors.append(_type_error(f"estimators[{i}].label", "a string", label))
        elif label in labels:
            errors.append(f"two estimators share the label {label!r}; give variants distinct "
                          "labels, e.g. {name='smile', label='smile-5', clip=5.0}")
        labels.add(label)
        normalised.append(spec)
        if known is None:
            continue
        try:
            check_choice("estimator", spec["name"], known)
        except ValueError as err:
            errors.append(f"estimators[{i}]: {err}")
            continue
        own = {k: v for k, v in spec.items() if k not in ("name", "label")}
        shared = {} if _is_nonparametric(spec["name"]) else options
        for keys, msg in option_errors(spec["name"], {**shared, **own}, n=min(sizes) if sizes else None):
            where = "options" if keys and not set(keys) & set(own) else f"estimators[{i}] ({label})"
            errors.append(f"{where}: {msg}")
    return normalised


def parse_config(data: Mapping, *, source: str = "config", check_names: bool = True) -> SweepConfig:
    """Validate a sweep config mapping (a parsed TOML file) before any work starts.

    Checks everything every run of the grid needs: keys and types, task and estimator names,
    labels and (``check_names``) each estimator's option names and values. Collects every
    problem and raises one ValueError listing them all (one line when there is one), each
    naming where it is and the valid choices.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: must be a table of keys, got {type(data).__name__}")
    errors: list[str] = []
    tasks, estimators, seeds, sizes, options = _check_top(data, errors)
    normalised = _check_estimators(estimators, options, sizes, check_names, errors)
    if check_names:
        for task in tasks:
            try:
                get_task(task)
            except ValueError as err:
                errors.append(f"tasks: {err}")
    _raise_all(source, errors)
    return SweepConfig(
        tasks=list(tasks),
        estimators=normalised,
        seeds=[int(s) for s in seeds],
        n=[int(s) for s in sizes],
        options=options,
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

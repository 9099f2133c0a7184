"""What every estimator returns: :class:`MIResult`, its intervals, and the one JSON encoder.

Every path through :func:`mi_estimators.estimate_mi` (neural bounds, nonparametric
estimators, the Gaussian-copula value, ``auto``) returns an :class:`MIResult` in nats.
:func:`to_jsonable` is the package's only JSON encoder: numpy scalars and arrays become
plain numbers and lists, and non-finite floats become the strings ``"inf"``, ``"-inf"`` and
``"nan"`` (strict JSON has no such numbers).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["MIResult", "to_jsonable", "t_interval", "normal_interval", "jackknife_stderr", "UNITS",
           "NATS_PER_UNIT", "Caveat", "emit_warnings"]

#: Units an estimate can be reported in, and how many nats one of each is.
NATS_PER_UNIT = {"nats": 1.0, "bits": math.log(2.0)}
UNITS = tuple(NATS_PER_UNIT)


class Caveat(str):
    """A message for ``result.warnings``: a plain string that remembers the Python warning
    category it is issued with (``UserWarning`` unless given)."""

    category = UserWarning

    def __new__(cls, text: str, category: type[Warning] = UserWarning):
        obj = super().__new__(cls, text)
        obj.category = category
        return obj


def emit_warnings(messages, stacklevel: int = 3) -> None:
    """Issue each message once as a Python warning of its category (the one place estimates warn)."""
    import warnings

    for message in dict.fromkeys(messages):
        warnings.warn(str(message), getattr(message, "category", UserWarning), stacklevel=stacklevel)


def to_jsonable(value):
    """A JSON-serialisable copy of ``value``: mappings, sequences, numpy and torch values to
    plain Python; non-finite floats to strings; any other object to ``str(value)``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str) or value is None:
        return value
    if hasattr(value, "tolist"):                 # torch tensors and other array types
        return to_jsonable(value.tolist())
    return str(value)


def t_interval(mi: float, se_sampling: float, dof_sampling: int, seed_var_of_mean: float, k: int):
    r"""``(stderr, (low, high))``: a 95 % interval from two variance components.

    :math:`\mathrm{se}^2 = \mathrm{se}_\mathrm{sampling}^2 + \mathrm{var}_\mathrm{seed}/K`,
    with a Student t quantile at the Welch–Satterthwaite degrees of freedom.
    """
    from scipy import stats

    a, b = se_sampling**2, seed_var_of_mean
    total = a + b
    if total <= 0:
        return math.sqrt(total), (mi, mi)
    denom = (a * a / max(dof_sampling, 1)) + (b * b / (k - 1) if k > 1 else 0.0)
    dof = total * total / denom if denom > 0 else 1e6
    q = float(stats.t.ppf(0.975, dof))
    se = math.sqrt(total)
    return se, (mi - q * se, mi + q * se)


def jackknife_stderr(group_values) -> float:
    r"""Delete-a-group jackknife standard error from the G leave-one-group-out values
    :math:`\hat\theta_g`: :math:`\sqrt{\frac{G-1}{G}\sum_g(\hat\theta_g - \bar\theta)^2}`
    (Efron & Stein 1981)."""
    values = np.asarray(group_values, dtype=float)
    g = values.size
    return math.sqrt((g - 1) / g * float(((values - values.mean()) ** 2).sum()))


def normal_interval(mi: float, se: float) -> tuple[float, float]:
    """The 95 % normal interval ``mi ± 1.96 se`` (NaN ends when ``se`` is not finite)."""
    if not math.isfinite(se):
        return (math.nan, math.nan)
    return (mi - 1.96 * se, mi + 1.96 * se)


@dataclass
class MIResult:
    """An MI estimate in nats, its uncertainty, and everything needed to reproduce it.

    ``mi``: the estimate; ``stderr`` and ``interval`` (95 %): see
    :func:`mi_estimators.estimate_mi` for what they cover for each estimator.
    ``per_critic``: the K members' estimates (one value for a nonparametric estimator).
    ``history``: one dict per evaluation (``step``, ``train_loss`` and ``heldout`` lists over
    members). ``config``: the full JSON-serialisable configuration (seed, every default used,
    library version). ``target``: ``"kl"`` or the φ name. ``warnings``: every caveat about
    this value, also issued as Python warnings. ``details``: per-method extras, in nats.
    ``units``: ``"nats"`` (the default) or ``"bits"`` for ``mi``, ``stderr``, ``interval``
    and ``per_critic`` (:meth:`in_units` converts).
    """

    mi: float
    stderr: float
    interval: tuple
    per_critic: np.ndarray
    estimator: str
    target: str
    n_samples: int
    seconds: float
    config: dict
    history: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    units: str = "nats"

    def in_units(self, units: str) -> "MIResult":
        """This result with ``mi``, ``stderr``, ``interval`` and ``per_critic`` in ``units``
        (``"nats"`` or ``"bits"``); the config records the units, ``details`` stay in nats."""
        from mi_estimators._checks import check_choice

        units = check_choice("units", units, UNITS)
        f = NATS_PER_UNIT[self.units] / NATS_PER_UNIT[units]
        return dataclasses.replace(
            self, mi=self.mi * f, stderr=self.stderr * f, interval=tuple(v * f for v in self.interval),
            per_critic=np.asarray(self.per_critic, dtype=float) * f, units=units,
            config={**self.config, "units": units})

    def clipped_at_zero(self) -> "MIResult":
        """This result with ``mi`` and the interval's ends clipped at 0 (MI and φ-MI are never
        negative); the raw values move to ``details["mi_raw"]`` / ``details["interval_raw"]``,
        and a caveat is added when the whole raw interval lay below 0."""
        if self.mi >= 0 and not self.interval[0] < 0:
            return self
        lo, hi = self.interval
        details = {**self.details, "mi_raw": self.mi, "interval_raw": [lo, hi]}
        notes = list(self.warnings)
        if math.isfinite(hi) and hi < 0:
            notes.append(Caveat(f"the raw estimate {self.mi:.4g} nats and its whole interval [{lo:.4g}, {hi:.4g}] "
                                "lie below 0, which MI cannot: the estimator is biased here (an untrained or "
                                "mis-specified critic, or too few samples); the reported value is clipped to 0"))
        return dataclasses.replace(self, mi=max(self.mi, 0.0), interval=(max(lo, 0.0), max(hi, 0.0)),
                                   details=details, warnings=notes)

    def to_dict(self) -> dict:
        """JSON-friendly dict of every field."""
        return to_jsonable(dict(
            mi=self.mi, stderr=self.stderr, interval=list(self.interval), per_critic=self.per_critic,
            estimator=self.estimator, target=self.target, n_samples=self.n_samples,
            seconds=self.seconds, config=self.config, history=self.history,
            warnings=self.warnings, details=self.details, units=self.units,
        ))

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __str__(self) -> str:
        sym = "I" if self.target == "kl" else f"I_{self.target}"
        if "dim_z" in self.config:
            sym += "(X; Y | Z)"
        lo, hi = self.interval
        k = len(self.per_critic)
        ens = f", {k} critics" if k > 1 else ""
        return (f"{sym} = {self.mi:.4g} ± {self.stderr:.2g} {self.units} (95% CI {lo:.4g} to {hi:.4g}; "
                f"{self.estimator}{ens}, n = {self.n_samples})")

    def __repr__(self) -> str:
        return f"<MIResult {self}>"

"""Typed option groups: the one source of option names, defaults and value checks.

:class:`TrainOptions` (how critics are trained and evaluated) and :class:`CriticOptions` (the
critic and its ensemble) are frozen dataclasses. :func:`mi_estimators.estimate_mi` takes their
fields as keyword arguments, builds one of each on entry (so a bad value is a ``ValueError``
before any work starts) and hands them down; the trainer's defaults are read from here too.
Adding a training option means adding one field here (and using it where it acts).

This module imports only :mod:`mi_estimators._checks` (no torch).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from mi_estimators._checks import check_bool, check_choice, check_int, check_open_unit, check_positive, is_int

__all__ = ["TrainOptions", "CriticOptions", "COMBINE", "DTYPES", "NEGATIVES", "split_options", "field_names",
           "changed_fields"]

#: How an ensemble's members give one value (``estimate_mi(combine=...)``).
COMBINE = ("estimates", "scores")
#: Floating-point types a critic can train in.
DTYPES = ("float32", "float64")
#: Which product pairs a bound's marginal (negative) term averages over (``estimate_mi(negatives=...)``):
#: every off-diagonal pair of the batch, or one derangement of it (f-DIME, Letizia et al., NeurIPS 2024).
NEGATIVES = ("all", "derangement")


def _check_device(device) -> None:
    """A device spec (checked without importing torch; it is resolved when training starts)."""
    if type(device).__name__ == "device":       # a torch.device
        return
    if not isinstance(device, str):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}; valid choices: auto, cpu, cuda")


@dataclass(frozen=True)
class TrainOptions:
    """How a critic ensemble is trained and evaluated (see :func:`mi_estimators.estimate_mi`).

    Adam for at most ``steps`` steps on minibatches of ``batch_size`` at learning rate ``lr``
    (``weight_decay``); every ``eval_every`` steps the held-out split (``heldout_fraction`` of
    the samples, drawn with ``split_seed``, default the run's seed) is scored in batches of
    ``eval_batch_size`` (default ``batch_size``); a member stops after ``patience``
    evaluations without improvement (``None``: never); the final value averages
    ``final_repeats`` partitions. ``standardize`` z-scores each column with the training
    split's statistics; ``"whiten"`` whitens each block (x and y) with the training split's
    covariance, which makes the estimate invariant to invertible linear maps of each side. ``device``/``dtype``/``num_threads``/``cuda_graph`` say where and how
    the arithmetic runs; ``progress`` shows a bar. ``negatives``: the product pairs of a bound's
    marginal term, ``"all"`` B(B − 1) off-diagonal pairs or ``"derangement"`` B pairs
    (x_i, y_σ(i)) of a derangement σ, in training and evaluation alike (see
    :class:`mi_estimators.bounds.Bound`; bounds with a row-wise term refuse it).
    """

    steps: int = 2000
    batch_size: int = 128
    lr: float = 5e-4
    eval_every: int = 50
    patience: int | None = 6
    heldout_fraction: float = 0.2
    standardize: Any = True
    device: Any = "cpu"
    dtype: str = "float32"
    progress: bool = False
    eval_batch_size: int | None = None
    final_repeats: int = 4
    weight_decay: float = 0.0
    split_seed: int | None = None
    num_threads: Any = "auto"
    cuda_graph: Any = "auto"
    negatives: str = "all"

    def __post_init__(self):
        check_int("steps", self.steps)
        check_int("batch_size", self.batch_size, 2, what="an integer >= 2")
        check_positive("lr", self.lr)
        check_int("eval_every", self.eval_every)
        if self.patience is not None:
            check_int("patience", self.patience, what="a positive integer or None")
        check_open_unit("heldout_fraction", self.heldout_fraction)
        if self.standardize != "whiten":
            check_bool("standardize", self.standardize)
        _check_device(self.device)
        check_choice("dtype", self.dtype, DTYPES)
        check_bool("progress", self.progress)
        if self.eval_batch_size is not None:
            check_int("eval_batch_size", self.eval_batch_size, 2, what="an integer >= 2")
        check_int("final_repeats", self.final_repeats)
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) \
                or not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.split_seed is not None and not is_int(self.split_seed):
            raise ValueError(f"split_seed must be an integer or None, got {self.split_seed!r}")
        if self.num_threads not in ("auto", None) and not (is_int(self.num_threads) and self.num_threads >= 1):
            raise ValueError(f"num_threads must be 'auto', None or a positive integer, got {self.num_threads!r}")
        if self.cuda_graph not in ("auto", True, False):
            raise ValueError(f"cuda_graph must be 'auto', True or False, got {self.cuda_graph!r}")
        check_choice("negatives", self.negatives, NEGATIVES)

    #: Fields the estimator uses itself (to split, standardise, place and seed); every other
    #: field is an argument of :func:`mi_estimators.training.fit_critic` of the same name.
    NOT_LOOP = ("heldout_fraction", "standardize", "device", "dtype", "split_seed", "negatives")

    def loop_options(self) -> dict:
        """``{name: value}`` of the fields that :func:`mi_estimators.training.fit_critic` takes."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self.NOT_LOOP}

    @property
    def heldout_batch_size(self) -> int:
        """The batch size of held-out evaluation (``eval_batch_size``, default ``batch_size``)."""
        return self.batch_size if self.eval_batch_size is None else int(self.eval_batch_size)


@dataclass(frozen=True)
class CriticOptions:
    """The critic: its kind and size, and how many are trained at once.

    ``critic``: ``separable`` (``None``: the method's choice), ``joint``/``concat``,
    ``bilinear`` or ``fgaussian``; ``hidden`` (``None``: the method's choice), ``embed_dim``,
    ``activation``: its MLPs; ``n_critics`` members trained as one batched ensemble and
    ``combine``d by ``"estimates"`` or ``"scores"`` (``None``: the method's choice).
    ``cosine``, ``temperature`` (separable), ``chunk_size`` (joint), ``sigma`` (fgaussian),
    ``marginal`` (conditional-gaussian: ``"gaussian"``, ``"mixture"`` or ``"none"``): critic-specific; ``None``
    leaves the critic's (or the bound's) own default.
    """

    critic: str | None = None
    hidden: Any = None
    embed_dim: int = 32
    activation: str = "relu"
    n_critics: int | None = None
    combine: str | None = None
    cosine: bool | None = None
    temperature: float | None = None
    chunk_size: int | None = None
    sigma: float | None = None
    marginal: str | None = None

    #: Fields that belong to one kind of critic (passed only when given).
    SPECIFIC = ("cosine", "temperature", "chunk_size", "sigma", "marginal")

    def __post_init__(self):
        if self.critic is not None and not isinstance(self.critic, str):
            raise ValueError(f"critic must be a critic name or None, got {self.critic!r}")
        if self.n_critics is not None:
            check_int("n_critics", self.n_critics)
        if self.combine is not None:
            check_choice("combine", self.combine, COMBINE)

    def specific(self) -> dict:
        """The critic-specific options that were given (``{name: value}``)."""
        return {k: getattr(self, k) for k in self.SPECIFIC if getattr(self, k) is not None}

    def with_defaults(self, **defaults) -> "CriticOptions":
        """A copy where each field that is ``None`` takes the method's default given here."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


def field_names(cls) -> tuple[str, ...]:
    """The option names of an option group (its dataclass fields)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def changed_fields(options, ignore: tuple[str, ...] = ()) -> list[str]:
    """Names of the fields of ``options`` that differ from their defaults (sorted)."""
    return sorted(f.name for f in dataclasses.fields(options)
                  if f.name not in ignore and getattr(options, f.name) != f.default)


def split_options(options: Mapping) -> tuple[TrainOptions, CriticOptions, dict]:
    """``{name: value}`` → ``(TrainOptions, CriticOptions, the rest)``; the groups check their values."""
    groups = []
    for cls in (TrainOptions, CriticOptions):
        names = field_names(cls)
        groups.append(cls(**{k: v for k, v in options.items() if k in names}))
    known = set(field_names(TrainOptions)) | set(field_names(CriticOptions))
    return groups[0], groups[1], {k: v for k, v in options.items() if k not in known}

"""Input validation for the whole package: one place, clear ``ValueError`` messages.

Names (:func:`check_choice`), numbers (:func:`check_int`, :func:`check_positive`,
:func:`check_open_unit`, :func:`check_bool`), samples (:func:`check_xy`: arrays, tensors and
pandas objects to finite float64 ``(n, d)``) and score matrices (:func:`check_scores`). Each
check names the offending argument, shows the bad value and lists the valid choices, so a
user never sees a traceback from deep inside torch or numpy. This module is the bottom layer:
it imports nothing from the package (and torch only inside :func:`check_scores`).
"""
from __future__ import annotations

import difflib
import math
import numbers
from typing import Iterable

import numpy as np


def check_choice(kind: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else raise a ValueError listing them.

    >>> check_choice("bound", "infonce", ["infonce", "nwj"])
    'infonce'
    """
    choices = sorted(choices)
    if isinstance(value, str) and value in choices:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, choices, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    raise ValueError(f"unknown {kind} {value!r}{hint}; valid choices: {', '.join(choices)}")


def check_scores(scores, *, check_finite: bool = True):
    """Validate a critic score matrix ``scores[..., i, j] = T(x_i, y_j)``.

    Accepts a torch tensor of shape ``(..., B, B)`` with ``B >= 2`` (leading dimensions
    are independent batches, e.g. the K critics of an ensemble). ``check_finite`` costs
    a device sync; the trainer's hot loop turns it off and checks its loss instead.
    """
    import torch

    if not isinstance(scores, torch.Tensor):
        raise ValueError(
            f"scores must be a torch.Tensor of shape (..., B, B), got {type(scores).__name__}"
        )
    if scores.ndim < 2 or scores.shape[-1] != scores.shape[-2]:
        raise ValueError(
            f"scores must be a square matrix (..., B, B) with scores[i, j] = T(x_i, y_j); "
            f"got shape {tuple(scores.shape)}"
        )
    if scores.shape[-1] < 2:
        raise ValueError(
            f"scores needs a batch of at least B = 2 pairs (one joint pair and one "
            f"off-diagonal pair per row); got B = {scores.shape[-1]}"
        )
    if not scores.is_floating_point():
        raise ValueError(f"scores must be a floating-point tensor, got dtype {scores.dtype}")
    if check_finite:
        bad = ~torch.isfinite(scores)
        if bool(bad.any()):
            where = bad.nonzero()[0].tolist()
            raise ValueError(
                f"scores contain {int(bad.sum())} NaN/inf entries (first at index {tuple(where)}); "
                "the critic produced non-finite values"
            )
    return scores


# ------------------------------------------------------------------------------------------
# numbers
# ------------------------------------------------------------------------------------------
def is_int(value) -> bool:
    """True for Python and numpy integers, False for bools (``True`` is not a count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value, low: int = 1, high: int | None = None, what: str | None = None) -> int:
    """Return ``int(value)`` if it is an integer in ``[low, high]``; else a ValueError.

    The message is ``"{name} must be {what}, got {value!r}"``; ``what`` defaults to
    "a positive integer" (``low = 1``) or "an integer >= low" / "an integer in [low, high]".
    """
    if what is None:
        what = ("a positive integer" if low == 1 and high is None
                else f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]")
    if not is_int(value) or value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_open_unit(name: str, value) -> float:
    """Return ``float(value)`` if it lies in the open interval (0, 1); else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def check_real(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False,
               allow_inf: bool = False, what: str | None = None) -> float:
    """Return ``float(value)`` if it is a real number (not NaN; finite unless ``allow_inf``)
    inside the interval given by ``low``/``high`` (closed unless ``*_open``); else a ValueError
    that writes the interval, e.g. ``"temperature must lie in (0, inf), got 0.0"``, or
    ``"{name} must be {what}, got ..."`` when ``what`` is given."""
    if what is not None:
        try:
            return check_real(name, value, low=low, high=high, low_open=low_open, high_open=high_open,
                              allow_inf=allow_inf)
        except ValueError:
            raise ValueError(f"{name} must be {what}, got {value!r}") from None
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not (lo_ok and hi_ok):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo}, {hi}, got {value!r}")
    return v


def check_positive(name: str, value) -> float:
    """Return ``float(value)`` if it is a finite number > 0; else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def as_rng(seed) -> np.random.Generator:
    """A numpy Generator from None (a fixed seed 0, so results are deterministic), a
    non-negative int or an existing Generator; anything else is a ValueError."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = 0
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def check_bool(name: str, value) -> bool:
    """Return ``bool(value)`` for Python or numpy booleans; else a ValueError."""

    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# ------------------------------------------------------------------------------------------
# samples
# ------------------------------------------------------------------------------------------
def _pandas_codes(a):
    """Categorical pandas columns replaced by their integer codes (a discrete variable); a
    missing category (code -1) stays visible as -1 only if the column has none."""
    if hasattr(a, "cat"):                                       # a categorical Series
        return _category_codes(a)
    if hasattr(a, "dtypes") and hasattr(a, "columns"):          # a DataFrame
        cats = [c for c in a.columns if str(a[c].dtype) == "category"]
        if cats:
            a = a.copy()
            for c in cats:
                a[c] = _category_codes(a[c])
    return a


def _category_codes(series):
    codes = series.cat.codes
    if (codes < 0).any():
        raise ValueError(f"categorical column {series.name!r} has missing values; drop or impute them first")
    return codes.astype("float64")


def as_2d(a, name: str):
    """Arrays, lists, torch tensors, pandas objects -> finite float64 array (n, d); 1-D -> (n, 1)."""

    if a is None:
        raise ValueError(f"{name} is required (an array of shape (n_samples, n_features)), got None")
    if hasattr(a, "detach") and hasattr(a, "cpu"):          # torch tensor (torch already loaded)
        a = a.detach().cpu()
        if a.is_complex():
            raise ValueError(f"{name} must be real-valued, got a complex tensor")
        a = a.double().numpy()
    elif hasattr(a, "to_numpy"):                              # pandas DataFrame / Series
        a = _pandas_codes(a).to_numpy()
    arr = np.asarray(a)
    if arr.dtype.kind in "OUSV" or arr.dtype.kind == "c":
        try:
            if arr.dtype.kind == "c":
                raise TypeError
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numeric (real numbers); got dtype {arr.dtype}. "
                "Encode categorical or text columns as numbers first"
            ) from None
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (real numbers); got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_features); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contains {int(bad.any(axis=1).sum())} row(s) with NaN or inf values "
            f"(first at row {row}, column {col}); drop or impute them first"
        )
    return arr


def rescale_extreme(a):
    """Columns whose magnitude would overflow (or underflow) a square in float64 (max |a| above
    1e100 or below 1e-100) are multiplied by a power of two that brings it near 1: exact in
    floating point, and MI is invariant under a per-column scale, so no estimate changes —
    but means, variances and distances no longer overflow into inf/0 (a silent 0-nat answer)."""

    m = np.max(np.abs(a), axis=0) if a.size else np.zeros(a.shape[1])
    bad = (m > 1e100) | ((m < 1e-100) & (m > 0))
    if not bad.any():
        return a
    a = a.copy()
    exps = np.floor(np.log2(m[bad])).astype(int)
    a[:, bad] = np.ldexp(a[:, bad], -exps)
    return a


#: The fewest paired samples any estimate accepts (each estimator needs more; they say how many).
MIN_ROWS = 2


def check_xy(x, y):
    """Validate a pair of samples (the same number of rows, at least :data:`MIN_ROWS`);
    returns float64 arrays (n, d_x), (n, d_y)."""
    x, y = as_2d(x, "x"), as_2d(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows, paired): got {x.shape[0]} and {y.shape[0]}"
        )
    if x.shape[0] < MIN_ROWS:   # else a 1-row column reads as "constant", or k-NN as "k in [1, 0]"
        raise ValueError(
            f"x and y have 1 row (one sample): mutual information is estimated from paired samples, at least "
            f"{MIN_ROWS} rows and in practice hundreds (each estimator names its own minimum)"
        )
    return rescale_extreme(x), rescale_extreme(y)


def check_xyz(x, y, z):
    """Validate samples for conditional MI; returns float64 arrays (n, d_x), (n, d_y), (n, d_z).

    ``z`` must have the same rows as ``x`` and ``y`` and at least one non-constant column
    (conditioning on a constant is no conditioning: use ``estimate_mi``)."""
    x, y = check_xy(x, y)
    if z is None:
        raise ValueError("z is required for conditional MI (an array of shape (n_samples, n_features)); "
                         "for unconditional MI use estimate_mi(x, y)")
    z = as_2d(z, "z")
    if z.shape[0] != x.shape[0]:
        raise ValueError(f"z must have the same number of samples (rows) as x and y: got {z.shape[0]} and {x.shape[0]}")
    const = constant_columns(z)
    if const.size == z.shape[1]:
        raise ValueError(f"every column of z is constant (column(s) {const.tolist()}): conditioning on a constant "
                         "changes nothing; use estimate_mi(x, y)")
    return x, y, rescale_extreme(z)


def constant_columns(a):
    """Indices of the columns of ``a`` whose sd is round-off relative to their mean."""

    return np.flatnonzero(a.std(0) <= 1e-12 * np.maximum(1.0, np.abs(a.mean(0))))


def check_no_constant_columns(a, name: str, why: str) -> None:
    """Raise a ValueError naming the constant columns of ``a`` (they carry no information)."""
    const = constant_columns(a)
    if const.size:
        raise ValueError(f"column(s) {const.tolist()} of {name} are constant{why}")

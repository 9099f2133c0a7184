"""Input validation shared by every module: one place, clear ``ValueError`` messages.

Each check names the offending argument, shows the bad value and lists the valid
choices, so a user never sees a traceback from deep inside torch or numpy.
"""
from __future__ import annotations

import difflib
from typing import Iterable


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

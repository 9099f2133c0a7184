"""Contrastive learning: training losses and the DRO theory behind them.

- :mod:`mi_estimators.contrastive.losses`: InfoNCE/NT-Xent, DCL, HCL, ADNCE and f-MICL as
  pure functions of a score matrix and as ``torch.nn.Module`` wrappers on embedding pairs.
- :mod:`mi_estimators.contrastive.dro`: the distributionally-robust (DRO) reading of
  contrastive learning (Wu et al., 2023): KL-ball value and dual, worst-case weights,
  implied radius of a temperature, φ-divergence balls.

Both build on the math layer (:mod:`mi_estimators.divergences`, :mod:`mi_estimators._checks`)
and on nothing of the estimators. The submodules and their public names load on first
access, so importing this package does not import torch or scipy.
"""
from __future__ import annotations

import importlib

_SUBMODULES = ("losses", "dro")

# public name -> submodule that defines it (imported on first access)
_LAZY = {
    **{name: "losses" for name in (
        "VIEWS", "REDUCTIONS", "negative_mask", "pair_scores", "infonce_loss", "dcl_loss",
        "hcl_loss", "adnce_loss", "fmicl_loss", "InfoNCELoss", "DCLLoss", "HCLLoss",
        "ADNCELoss", "FMICLLoss")},
    **{name: "dro" for name in (
        "kl_dro_value", "kl_dro_dual", "optimal_multiplier", "implied_radius",
        "worst_case_weights", "variance_approximation", "cl_dro_loss", "phi_dro_dual",
        "phi_dro_value")},
}

__all__ = [*_SUBMODULES, *_LAZY]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    sub = _LAZY.get(name)
    if sub is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{sub}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))

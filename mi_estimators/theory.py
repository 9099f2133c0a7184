"""Compatibility module: the DRO theory of contrastive learning lives in :mod:`mi_estimators.contrastive.dro`."""
from mi_estimators.contrastive.dro import *  # noqa: F401,F403
from mi_estimators.contrastive.dro import __all__  # noqa: F401

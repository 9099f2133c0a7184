"""Compatibility module: the contrastive losses live in :mod:`mi_estimators.contrastive.losses`."""
from mi_estimators.contrastive.losses import *  # noqa: F401,F403
from mi_estimators.contrastive.losses import __all__  # noqa: F401

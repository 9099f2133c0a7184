"""Synthetic tasks with known ground-truth mutual information (nats). numpy + scipy only.

Every task samples ``(x, y)`` with :meth:`Task.sample`, knows its KL mutual
information ``mi`` (and its Monte Carlo error ``mi_stderr``, 0 for closed forms),
φ-mutual information via :meth:`Task.phi_mi`, and the pointwise log density ratio
:meth:`Task.log_ratio` (the oracle critic).
"""
from synthetic.base import DIVERGENCES, Task
from synthetic.gaussian import CorrelatedGaussian, MultivariateNormal

__all__ = ["DIVERGENCES", "Task", "CorrelatedGaussian", "MultivariateNormal"]

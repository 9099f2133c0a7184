"""Synthetic tasks with known ground-truth mutual information (nats). numpy + scipy only.

Every task samples ``(x, y)`` with :meth:`Task.sample`, knows its KL mutual
information ``mi`` (and its Monte Carlo error ``mi_stderr``, 0 for closed forms),
φ-mutual information via :meth:`Task.phi_mi`, and the pointwise log density ratio
:meth:`Task.log_ratio` (the oracle critic). Tasks are found by name with
:func:`get_task` / :func:`list_tasks`; see ``docs/tasks.md`` for the catalogue.

Conditional-MI tasks (:class:`CMITask`, ``gaussian-cmi:...``, ``discrete-cmi:...``) know
``cmi`` = I(X; Y | Z) and sample three arrays ``(x, y, z)``; they are listed by
``list_tasks("cmi")`` only. :func:`choose_tasks` / :func:`report_tasks` split the ``cmi`` and
``discrete`` default lists into a half to choose methods on and a half to report on.

High-MI tasks (:class:`HighMI`, ``highmi-spiral:dim=5,mi=10,seed=0``, ...; issue 21) are
Gaussians at 2-20 nats under warps that ranks cannot undo; ``list_tasks("highmi")`` lists the
84 defaults (:data:`HIGHMI_TASKS`), and ``choose_tasks("highmi")`` / ``report_tasks("highmi")``
split them.
"""
from synthetic.additive import AdditiveUniform
from synthetic.base import DIVERGENCES, Task
from synthetic.conditional import CMITask, DiscreteCMI, GaussianCMI
from synthetic.discrete import DiscretePairs, DiscreteTable, MixedGaussian, ZeroInflatedGaussian
from synthetic.gaussian import CorrelatedGaussian, MultivariateNormal
from synthetic.highmi import HIGHMI_TASKS, HighMI
from synthetic.mixtures import GaussianMixture, LatentClass
from synthetic.registry import (CMI_TASKS, DISCRETE_TASKS, choose_tasks, get_task, list_tasks,
                                report_tasks)
from synthetic.staircase import Staircase, staircase
from synthetic.student import MultivariateStudentT
from synthetic.transforms import (Transformed, asinh, bimodal, cubic, half_cube, normal_cdf,
                                  spiral, swissroll_x, wiggly)

__all__ = [
    "DIVERGENCES", "Task", "CorrelatedGaussian", "MultivariateNormal", "MultivariateStudentT",
    "AdditiveUniform", "GaussianMixture", "LatentClass", "Transformed", "cubic", "half_cube",
    "asinh", "normal_cdf", "wiggly", "spiral", "swissroll_x", "bimodal", "get_task",
    "list_tasks", "staircase", "Staircase", "CMITask", "GaussianCMI", "DiscreteCMI",
    "DiscreteTable", "DiscretePairs", "MixedGaussian", "ZeroInflatedGaussian", "CMI_TASKS",
    "DISCRETE_TASKS", "choose_tasks", "report_tasks", "HighMI", "HIGHMI_TASKS",
]

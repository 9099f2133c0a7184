r"""High-MI tasks: correlated Gaussians at 2-20 nats under warps that ranks cannot undo (issue 21).

Each task is :class:`synthetic.gaussian.CorrelatedGaussian` (``dim`` per side, MI ``mi``
nats) pushed through an injective map per side, so its truth is the Gaussian's closed form
I = −(d/2) log(1 − ρ²) exactly (invariance of MI under injective maps of each side; the
Jacobians cancel in the density ratio). The warps are chosen so that per-column normal scores
do **not** make the sample jointly Gaussian, i.e. the Gaussian-copula value is biased:

* ``spiral``: v ↦ spiral(Q v) — a seeded rotation Q, then bmi's spiral (a rotation in one
  coordinate plane by the angle ‖v‖²/dim; Czyż et al., NeurIPS 2023), the warp under which the
  issue measured the default at 1.57 / 3.11 / 4.08 / 4.57 / 5.46 nats for truths 2-10;
* ``half_cube-rot``: v ↦ Q h(v) with h(t) = t·|t|^{1/2} elementwise (Czyż et al. 2023);
* ``normal_cdf-rot``: v ↦ Q Φ(v) (uniform marginals, then mixed).

Q = Q_x or Q_y is a fixed Haar-random orthogonal matrix per side, drawn from
``numpy.random.default_rng([seed, dim, side])`` (side 0 for x, 1 for y) by the QR
decomposition of a standard normal matrix with the signs of R's diagonal moved into Q
(Mezzadri 2007). A rotation after an elementwise map mixes non-Gaussian marginals, which no
per-column monotone map can undo; before the spiral it changes which directions of the
Gaussian the spiral's plane sees. ``seed`` thus separates the two members of a twin pair.

Names: ``highmi-<warp>:dim=D,mi=M[,seed=S]`` (seed defaults to 0), e.g.
``highmi-spiral:dim=5,mi=10,seed=0``; ``synthetic.get_task`` parses them and
``synthetic.list_tasks("highmi")`` lists the defaults (:data:`HIGHMI_TASKS`).
"""
from __future__ import annotations

import numpy as np

from synthetic.base import check_choice, check_dim
from synthetic.gaussian import CorrelatedGaussian
from synthetic.transforms import MAPS, Map, Transformed

#: The warps, in name order: the part of the family name after ``highmi-``.
WARPS = ("spiral", "half_cube-rot", "normal_cdf-rot")
#: MI levels (nats) and dimensions per side of the default tasks.
HIGHMI_LEVELS = (2, 4, 6, 8, 10, 16, 20)
HIGHMI_DIMS = (5, 20)
#: Twin pairs (seed 0, seed 1) for every (warp, dim, mi): the choose/report split takes one of each.
HIGHMI_TWINS = tuple(
    tuple(f"highmi-{w}:dim={d},mi={m},seed={s}" for s in (0, 1))
    for w in WARPS for d in HIGHMI_DIMS for m in HIGHMI_LEVELS
)
#: The 84 default high-MI task names (42 twin pairs).
HIGHMI_TASKS = [name for pair in HIGHMI_TWINS for name in pair]


def rotation(dim: int, seed: int, side: str) -> np.ndarray:
    """The fixed Haar-random orthogonal ``dim × dim`` matrix of ``side`` ('x' or 'y') for ``seed``.

    QR of a ``default_rng([seed, dim, 0|1])`` standard normal matrix, with Q's columns
    multiplied by sign(diag R) so that Q is Haar distributed (Mezzadri 2007)."""
    check_choice("side", side, ("x", "y"))
    g = np.random.default_rng([int(seed), int(dim), 0 if side == "x" else 1]).standard_normal((dim, dim))
    q, r = np.linalg.qr(g)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _warp_map(warp: str, side: str, dim: int, seed: int) -> Map:
    """v ↦ spiral(v Qᵀ) or v ↦ h(v) Qᵀ (rows are samples), with its exact inverse."""
    q = rotation(dim, seed, side)
    if warp == "spiral":
        spiral = MAPS["spiral"](side, dim)
        return Map(warp, lambda v: spiral.forward(v @ q.T), lambda z: spiral.inverse(z) @ q)
    h = MAPS[warp.removesuffix("-rot")](side, dim)
    return Map(warp, lambda v: h.forward(v) @ q.T, lambda z: h.inverse(z @ q))


class HighMI(Transformed):
    """``CorrelatedGaussian(dim, mi=mi)`` under the warp ``warp`` (one of :data:`WARPS`) with
    rotations seeded by ``seed``; truth ``mi`` nats exactly, ``inverse`` maps a sample back to the
    Gaussian. Name ``highmi-<warp>:dim=D,mi=M,seed=S``."""

    def __init__(self, warp: str, dim: int, mi: float, seed: int = 0):
        check_choice("high-MI warp", warp, WARPS)
        dim = check_dim("dim", dim)
        if dim < 2:
            raise ValueError(f"high-MI tasks need dim >= 2 per side (the rotation and the spiral act "
                             f"on planes), got {dim}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        base = CorrelatedGaussian(dim, mi=mi)
        super().__init__(base, _warp_map(warp, "x", dim, seed), _warp_map(warp, "y", dim, seed),
                         name=f"highmi-{warp}:dim={dim},mi={base.name.split('mi=')[1]},seed={int(seed)}")
        self.warp, self.seed = warp, int(seed)

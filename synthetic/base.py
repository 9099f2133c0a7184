"""The task interface every synthetic task implements, and the small validators they share.

``synthetic`` must not import ``mi_estimators`` (data flows one way), so it keeps its own
two-line validators here instead of ``mi_estimators._checks``; messages follow the same
pattern ("unknown divergence 'kll' (did you mean 'kl'?); valid choices: ...").
"""
from __future__ import annotations

import abc
import difflib
import math

import numpy as np

#: φ-divergence names understood by :meth:`Task.phi_mi` (math_spec §1).
#: ``hellinger`` is the squared Hellinger distance with generator (√u−1)², range [0, 2];
#: ``js`` is the Jensen–Shannon divergence with the ½ generator, range [0, log 2];
#: ``tv`` has generator ½|u−1|, range [0, 1]; ``vlc`` is Vincze–Le Cam (u−1)²/(u+1), range [0, 2];
#: ``chi2`` is Pearson χ²(P_XY‖P_XP_Y); ``reverse-chi2`` is Neyman χ²(P_XP_Y‖P_XY);
#: ``tsallis`` needs ``alpha`` (> 0): (u^α − u)/(α − 1), KL at α = 1.
DIVERGENCES = ("kl", "chi2", "reverse-chi2", "hellinger", "js", "tsallis", "tv", "vlc")


def as_generator(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, None, or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_choice(kind: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError naming them."""
    choices = list(choices)
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise ValueError(f"unknown {kind} {value!r}{hint}; valid choices: {', '.join(map(str, choices))}")


def check_n(n) -> int:
    """A positive integer sample size, else ValueError."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


def check_dim(name: str, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"{name} must be a positive integer, got {dim!r}")
    return int(dim)


def check_phi_params(name: str, params: dict) -> dict:
    """Validate the divergence name and its parameters (only ``tsallis`` takes one: ``alpha``)."""
    check_choice("divergence", name, DIVERGENCES)
    allowed = {"alpha"} if name == "tsallis" else set()
    extra = set(params) - allowed
    if extra:
        raise ValueError(
            f"divergence {name!r} takes {'only alpha' if allowed else 'no parameters'}, "
            f"got {sorted(extra)}"
        )
    if name == "tsallis":
        if "alpha" not in params:
            raise ValueError("divergence 'tsallis' needs alpha=, a number > 0 (alpha=1 is KL)")
        alpha = params["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) \
                or not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"tsallis alpha must be a finite number > 0, got {alpha!r}")
    return params


class Task(abc.ABC):
    """A joint law p(x, y) with known mutual information.

    Attributes: ``name`` (stable string id), ``dim_x``, ``dim_y``, ``mi`` (KL-MI in
    nats), ``mi_stderr`` (0 for closed forms, else the Monte Carlo standard error).
    """

    name: str
    dim_x: int
    dim_y: int

    @property
    @abc.abstractmethod
    def mi(self) -> float:
        """KL mutual information I(X; Y) in nats."""

    @property
    def mi_stderr(self) -> float:
        """Standard error of :attr:`mi` in nats: 0 for closed forms."""
        return 0.0

    @abc.abstractmethod
    def sample(self, n: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw n joint samples: float arrays of shape (n, dim_x) and (n, dim_y)."""

    @abc.abstractmethod
    def log_ratio(self, x, y) -> np.ndarray:
        """Pointwise log p(x, y) / (p(x) p(y)); broadcasts over leading dimensions.

        ``task.log_ratio(x[:, None], y[None, :])`` is the oracle score matrix.
        """

    def phi_mi(self, name: str, **params) -> float:
        """φ-mutual information D_φ(P_XY ‖ P_X P_Y) (nats for ``kl``) for divergence ``name``.

        The base class knows only ``kl`` (= :attr:`mi`); tasks with more override this.
        Raises ValueError for an unknown name and NotImplementedError for a known
        divergence this task has no trusted ground truth for.
        """
        check_phi_params(name, params)
        if name == "kl" or (name == "tsallis" and params["alpha"] == 1):
            return self.mi
        raise NotImplementedError(
            f"{type(self).__name__} {self.name!r} has no trusted ground truth for φ-MI {name!r}; "
            "only 'kl' is known for this task"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: dim_x={self.dim_x}, dim_y={self.dim_y}>"

"""The task interface every synthetic task implements."""
from __future__ import annotations

import abc

import numpy as np


def as_generator(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, None, or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class Task(abc.ABC):
    """A joint law p(x, y) with known mutual information.

    Attributes: ``name`` (stable string id), ``dim_x``, ``dim_y``, ``mi`` (KL-MI in
    nats), ``mi_stderr`` (0 for closed forms, else the Monte Carlo standard error).
    """

    name: str
    dim_x: int
    dim_y: int
    mi_stderr: float = 0.0

    @property
    @abc.abstractmethod
    def mi(self) -> float:
        """KL mutual information I(X; Y) in nats."""

    @abc.abstractmethod
    def sample(self, n: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw n joint samples: float arrays of shape (n, dim_x) and (n, dim_y)."""

    @abc.abstractmethod
    def log_ratio(self, x, y) -> np.ndarray:
        """Pointwise log p(x, y) / (p(x) p(y)); broadcasts over leading dimensions."""

    def phi_mi(self, name: str, **params) -> float:
        """φ-mutual information D_φ(P_XY ‖ P_X P_Y) for the divergence ``name``."""
        raise NotImplementedError(f"{type(self).__name__} has no φ-MI for {name!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: I = {self.mi:.4f} nats>"

"""Staircase schedules: the true MI steps up during a streaming run (Poole et al. 2019;
Song & Ermon 2020 train one critic while I goes 2 → 4 → 6 → 8 → 10 nats, 4000 steps each).

>>> sched = staircase(mis=(2, 4, 6, 8, 10), steps_per_level=4000, dim=20, transform="cubic")
>>> sched(0).mi, sched(4000).mi, len(sched)
(2.0, 4.0, 20000)

Each level is one task object (built once), so ``sched(step)`` is cheap inside a training loop;
``for step, task in enumerate(sched)`` walks every step; ``sched.mi_at(step)`` gives the truth.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from synthetic.base import Task, check_choice, check_dim
from synthetic.gaussian import CorrelatedGaussian


class Staircase:
    """A function step → task: level ``step // steps_per_level`` of ``tasks``."""

    def __init__(self, tasks: Sequence[Task], steps_per_level: int):
        if not tasks:
            raise ValueError("a staircase needs at least one level")
        self.tasks = tuple(tasks)
        self.steps_per_level = check_dim("steps_per_level", steps_per_level)

    @property
    def mis(self) -> tuple[float, ...]:
        return tuple(t.mi for t in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks) * self.steps_per_level

    def level(self, step: int) -> int:
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < len(self):
            raise ValueError(f"step must be an integer in [0, {len(self)}), got {step!r}")
        return step // self.steps_per_level

    def __call__(self, step: int) -> Task:
        return self.tasks[self.level(step)]

    def mi_at(self, step: int) -> float:
        return self(step).mi

    def __iter__(self) -> Iterator[Task]:
        for task in self.tasks:
            for _ in range(self.steps_per_level):
                yield task

    def __repr__(self) -> str:
        return (f"Staircase({len(self.tasks)} levels x {self.steps_per_level} steps: "
                f"{', '.join(t.name for t in self.tasks)})")


def staircase(mis: Sequence[float] = (2, 4, 6, 8, 10), steps_per_level: int = 4000, dim: int = 20,
              transform: str | None = None) -> Staircase:
    """Correlated-Gaussian staircase in ``dim`` dimensions with the given MI levels (nats).

    ``transform``: None, or a transform prefix (``"cubic"``: y ↦ y³ as in Song & Ermon; any
    of ``synthetic.transforms.PREFIXES``), applied at every level (MI unchanged).
    """
    from synthetic.transforms import PREFIXES

    dim = check_dim("dim", dim)
    mis = tuple(mis)
    if not mis or any(not isinstance(m, (int, float)) or not math.isfinite(m) or m < 0 for m in mis):
        raise ValueError(f"mis must be a non-empty sequence of finite numbers >= 0, got {mis!r}")
    levels = [CorrelatedGaussian(dim, mi=float(m)) for m in mis]
    if transform is not None:
        check_choice("transform", transform, PREFIXES)
        levels = [PREFIXES[transform](t) for t in levels]
    return Staircase(levels, steps_per_level)

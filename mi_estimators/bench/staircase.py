"""The staircase protocol of Poole et al. (2019) and Song & Ermon (2020).

Each estimator trains its own critic on a stream of fresh batches whose true MI steps
through a list of levels; the estimate on every training batch is recorded
(:func:`run_staircase`, :func:`write_staircase_csv`). The training step is the trainer's
own (:func:`mi_estimators.training.make_train_step`); estimators with the separable
critic train together as one critic ensemble (the same numbers, one batched step).
The task at each level is the ``dim``-dimensional correlated Gaussian, plain, with y ↦ y³, or
under one of the high-MI warps of :mod:`synthetic.highmi` (:data:`STAIRCASE_TRANSFORMS`).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from mi_estimators._checks import check_choice
from mi_estimators.bench.store import _csv_cell, atomic_write_text
from mi_estimators.bench.sweep import _seeds

__all__ = [
    "STAIRCASE_COLUMNS",
    "StaircaseJob",
    "run_staircase",
    "write_staircase_csv",
    "parse_estimator_spec",
    "STAIRCASE_TRANSFORMS",
    "staircase_schedule",
]

#: The staircase's task per level: the Gaussian, y -> y^3 (Song & Ermon), or a high-MI warp
#: (``highmi-<warp>``: ``synthetic.highmi.HighMI(warp, dim, mi)``, seed 0; MI unchanged).
STAIRCASE_TRANSFORMS = ("gaussian", "cubic", "highmi-spiral", "highmi-half_cube-rot", "highmi-normal_cdf-rot")

STAIRCASE_COLUMNS = ("label", "estimator", "critic", "transform", "step", "level", "truth", "estimate", "loss")


@dataclasses.dataclass(frozen=True)
class StaircaseJob:
    """One estimator's run of the staircase protocol (see :func:`run_staircase`)."""

    estimator: str
    label: str
    options: tuple
    critic: str
    transform: str
    levels: tuple
    steps_per_level: int
    dim: int
    batch_size: int
    lr: float
    seed: int
    device: str = "cpu"
    cuda_graph: object = "auto"


class _AllGraphSafe:
    """The bounds of one staircase group, graph-safe only if every one is (for resolve_cuda_graph)."""

    def __init__(self, bounds):
        import types

        self.graph_safe = all(getattr(b, "graph_safe", False) for b in bounds)
        self.info = types.SimpleNamespace(name="+".join(b.info.name for b in bounds))


def staircase_schedule(transform: str, levels, steps_per_level: int, dim: int):
    """The :class:`synthetic.Staircase` of ``transform`` (one of :data:`STAIRCASE_TRANSFORMS`):
    the correlated Gaussian at each MI level (nats), plain or cubic as in
    :func:`synthetic.staircase`, or the task ``highmi-<warp>:dim=D,mi=M,seed=0`` per level."""
    import synthetic

    check_choice("transform", transform, STAIRCASE_TRANSFORMS)
    if transform.startswith("highmi-"):
        from synthetic.highmi import HighMI

        warp = transform.removeprefix("highmi-")
        return synthetic.Staircase([HighMI(warp, dim, float(m)) for m in levels], steps_per_level)
    return synthetic.staircase(levels, steps_per_level, dim, transform=None if transform == "gaussian" else transform)


def _staircase_group(jobs: tuple[StaircaseJob, ...]) -> list[list[dict]]:
    """Run staircase jobs that differ only in their bound as one K-member critic ensemble.

    Every job of a staircase seeds its critic with the same seed and draws the same batch
    stream, so member k (initialised like the single critic, minimising job k's bound) is
    job k's separate run: one batched step instead of K. For the separable critic the
    estimates are bit-identical to separate runs (checked: 5 estimators x 100 steps, 0
    difference) and the staircase is ~1.2-2x faster on a CPU; run_staircase groups only
    separable-critic jobs (the joint critic's batched matmuls differ by round-off).
    """
    import numpy as np
    import torch

    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import make_train_step, resolve_cuda_graph, resolve_device

    job = jobs[0]
    k = len(jobs)
    device = resolve_device(job.device)
    bounds = [get_bound(j.estimator, **dict(j.options)) for j in jobs]
    critic = make_critic(job.critic, job.dim, job.dim, n_critics=k, seed=job.seed)
    if k > 1:  # every member starts from the critic that seed builds (members would get seed + k)
        single = make_critic(job.critic, job.dim, job.dim, seed=job.seed)
        with torch.no_grad():
            for p, q in zip(critic.parameters(), single.parameters()):
                p.copy_(q.expand_as(p))
    critic = critic.to(device)
    use_graph = resolve_cuda_graph(job.cuda_graph, device, _AllGraphSafe(bounds))
    rng = np.random.default_rng(_seeds(job.seed)[0])
    schedule = staircase_schedule(job.transform, job.levels, job.steps_per_level, job.dim)
    # The trainer's step (make_train_step) records each step's estimates and losses into
    # buffers that live across steps, so it runs eagerly or replayed as a CUDA graph. On the
    # CPU every step validates its scores (bound.estimate raises at the first non-finite
    # score); on a GPU that check would be a host sync per bound per step, so the step
    # records a finite flag and the first non-finite step raises the same error after the loop.
    validate_now = device.type == "cpu"
    est_out = torch.zeros(k, dtype=torch.float64, device=device)
    loss_out = torch.zeros(k, dtype=torch.float64, device=device)
    finite_out = torch.ones((), dtype=torch.bool, device=device)

    def member_losses(scores):   # member i minimises job i's bound: (K,)
        return torch.stack([b.loss(scores[i:i + 1]).sum() for i, b in enumerate(bounds)])

    def record(scores, loss):
        if not validate_now:
            finite_out.copy_(torch.isfinite(scores).all())
        est = [b.estimate(scores[i:i + 1], check_finite=validate_now) for i, b in enumerate(bounds)]
        est_out.copy_(torch.stack([e.reshape(-1)[0] for e in est]))
        loss_out.copy_(loss)

    train_step = make_train_step(critic, member_losses, lr=job.lr, cuda_graph=use_graph, record=record)
    estimates, losses, finite = [], [], []
    for task in schedule:
        x, y = task.sample(job.batch_size, seed=rng)
        train_step(torch.as_tensor(x, dtype=torch.float32).to(device), torch.as_tensor(y, dtype=torch.float32).to(device))
        estimates.append(est_out.clone())
        losses.append(loss_out.clone())
        if not validate_now:
            finite.append(finite_out.clone())
    if finite:
        bad = (~torch.stack(finite)).nonzero().flatten().tolist()
        if bad:
            raise ValueError(
                f"scores contain NaN/inf entries (first at training step {bad[0]} of the staircase); "
                "the critic produced non-finite values"
            )
    est = torch.stack(estimates).double().T.tolist()   # (K, steps)
    los = torch.stack(losses).double().T.tolist()
    out = []
    for j, est_j, los_j in zip(jobs, est, los):
        rows = []
        for step, (e, l) in enumerate(zip(est_j, los_j)):
            level = step // j.steps_per_level
            rows.append(
                dict(label=j.label, estimator=j.estimator, critic=j.critic, transform=j.transform,
                     step=step, level=level, truth=float(j.levels[level]), estimate=e, loss=l)
            )
        out.append(rows)
    return out


def parse_estimator_spec(spec: str) -> tuple[str, dict, str]:
    """``"smile:clip=5"`` → ``("smile", {"clip": 5}, "smile:clip=5")``: name, options, label."""
    name, _, args = spec.partition(":")
    options = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"estimator spec {spec!r}: expected NAME or NAME:key=value,key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value.strip()
    return name.strip(), options, spec.strip()


def run_staircase(
    estimators: Sequence[str] = ("infonce", "nwj", "js", "smile"),
    *,
    critic: str = "separable",
    transform: str = "gaussian",
    levels: Sequence[float] = (2.0, 4.0, 6.0, 8.0, 10.0),
    steps_per_level: int = 4000,
    dim: int = 20,
    batch_size: int = 64,
    lr: float = 5e-4,
    seed: int = 0,
    device: str = "cpu",
    cuda_graph="auto",
    executor=None,
    progress: bool = False,
) -> list[dict]:
    """The staircase protocol of Poole et al. (2019) and Song & Ermon (2020).

    Each estimator (a bound name, optionally with options: ``"smile:clip=5"``) trains its
    own critic with Adam on a stream of fresh batches of the ``dim``-dimensional
    correlated Gaussian whose true MI steps through ``levels`` (nats), ``steps_per_level``
    steps each; ``transform="cubic"`` maps y → y³, and ``"highmi-spiral"``,
    ``"highmi-half_cube-rot"``, ``"highmi-normal_cdf-rot"`` use the warped Gaussians of
    :mod:`synthetic.highmi` (MI unchanged; e.g. ``levels=(2, 4, 6, 8, 10, 16, 20), dim=5``). The estimate on each
    training batch is recorded at every step, as in the papers' figures. Defaults are
    the papers': d = 20, MI 2 → 10 nats, batch 64, Adam 5e-4, 2×256 MLP encoders with
    32-dim embeddings (separable) or a 2×256 MLP on [x, y] (joint).

    Returns records with :data:`STAIRCASE_COLUMNS` (one per estimator and step).
    Estimators run as independent jobs through ``executor`` (default: in this process);
    with the separable critic, the estimators of one process train as one critic ensemble
    (identical numbers, one batched step per step). ``device``: ``"cpu"``, ``"cuda"`` or
    ``"auto"``; the batches are drawn on the host (the same stream on every device) and
    the records stay on the device until the end of each job (no host sync per step).
    ``cuda_graph`` (``"auto"``, ``True``, ``False``): on CUDA, replay each step as one CUDA
    graph after 3 eager warm-up steps, as :func:`mi_estimators.training.fit_critic` does
    (not with MINE, whose moving average is Python state).
    """
    from mi_estimators.bench.executors import Executor, LocalExecutor, SerialExecutor, get_executor

    check_choice("critic", critic, ["separable", "joint"])
    check_choice("transform", transform, STAIRCASE_TRANSFORMS)
    if transform.startswith("highmi-") and int(dim) < 2:
        raise ValueError(f"the high-MI staircase needs dim >= 2 per side, got {dim}")
    if not levels or any(not (math.isfinite(float(v)) and float(v) > 0) for v in levels):
        raise ValueError(f"levels must be positive MI values in nats, got {list(levels)!r}")
    from mi_estimators.bounds import get_bound
    from mi_estimators.training import resolve_cuda_graph, resolve_device

    device = str(resolve_device(device))   # clear ValueErrors now, not inside a worker
    jobs, bounds = [], []
    for spec in estimators:
        name, options, label = parse_estimator_spec(spec)
        bounds.append(get_bound(name, **options))  # validate names and options before any training
        jobs.append(StaircaseJob(name, label, tuple(sorted(options.items())), critic, transform,
                                 tuple(float(v) for v in levels), int(steps_per_level), int(dim),
                                 int(batch_size), float(lr), int(seed), device, cuda_graph))
    resolve_cuda_graph(cuda_graph, device, _AllGraphSafe(bounds))
    if len({j.label for j in jobs}) != len(jobs):
        raise ValueError(f"the staircase lists an estimator twice: {list(estimators)!r}")
    own = not isinstance(executor, Executor)
    executor = SerialExecutor() if executor is None else get_executor(executor)
    results: dict[str, list[dict]] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="estimator", desc="staircase", leave=False)
    # Separable-critic jobs train as ensembles (same numbers, one batched step): all in one
    # group in this process, one group per worker in a local pool, separately elsewhere.
    # On a GPU a local pool gets one group too: one ensemble on the device is faster than
    # processes sharing it (measured: 4 x 20 000 steps, 59 s as 4 processes, see docs/performance.md §7).
    if critic != "separable" or not isinstance(executor, (SerialExecutor, LocalExecutor)):
        n_groups = len(jobs)
    elif isinstance(executor, SerialExecutor) or device != "cpu":
        n_groups = 1
    else:
        n_groups = min(executor.n_workers, len(jobs))
    groups = [tuple(jobs[i::n_groups]) for i in range(n_groups)]
    try:
        for group, group_rows in executor.map_unordered(_staircase_group, groups):
            for job, rows in zip(group, group_rows):
                results[job.label] = rows
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.close()
    return [row for job in jobs for row in results[job.label]]


def write_staircase_csv(records: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Write staircase records as CSV (atomically) and return the path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(STAIRCASE_COLUMNS)
    for r in records:
        writer.writerow([_csv_cell(r[c]) for c in STAIRCASE_COLUMNS])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())
    return path

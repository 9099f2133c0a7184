"""The CUDA path gives the CPU's numbers (float64 to round-off) and its hot loop never waits
on the host. Skipped where torch sees no CUDA GPU (CI has none; run on a GPU machine with
``python -m pytest tests/test_cuda.py``)."""
import numpy as np
import pytest
import torch

from mi_estimators import estimate_mi
from mi_estimators.bounds import get_bound, list_bounds
from mi_estimators.critics import list_critics, make_critic
from mi_estimators.bench.staircase import run_staircase
from mi_estimators.training import fit_critic, make_adam
from synthetic import CorrelatedGaussian

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

F64 = torch.float64


def _scores64(k=3, b=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, b, b, generator=g, dtype=F64) + 2.0 * torch.eye(b, dtype=F64)


@pytest.mark.parametrize("name", list_critics())
def test_every_critic_scores_the_same_on_cuda_float64(name):
    critic = make_critic(name, 3, 4, hidden=(32, 16), embed_dim=8, n_critics=2, seed=5, dtype=F64)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 3, generator=g, dtype=F64), torch.randn(40, 4, generator=g, dtype=F64)
    cpu = critic(x, y)
    gpu = critic.to("cuda")(x.cuda(), y.cuda()).cpu()
    np.testing.assert_allclose(gpu.detach().numpy(), cpu.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list_bounds())
def test_every_bound_and_its_gradient_agree_on_cuda_float64(name):
    bound = get_bound(name)
    out = []
    for dev in ("cpu", "cuda"):
        s = _scores64().to(dev).requires_grad_(True)
        loss = bound.loss(s)
        loss.sum().backward()
        out.append((bound.estimate(s.detach()).cpu().numpy(), loss.detach().cpu().numpy(), s.grad.cpu().numpy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["separable", "joint"])
def test_training_on_cuda_equals_the_cpu_run_in_float64(kind):
    task = CorrelatedGaussian(3, mi=0.5)

    def run(dev):
        critic = make_critic(kind, 3, 3, hidden=(32, 32), embed_dim=8, n_critics=2, seed=2, dtype=F64)
        return fit_critic(critic, get_bound("infonce"), sampler=task, steps=100, batch_size=32, eval_every=25,
                          patience=None, seed=2, n_heldout=256, device=dev)

    cpu, gpu = run("cpu"), run("cuda")
    # the same batches (drawn on the host) and the same initial weights: only float64
    # round-off of the matmuls differs, amplified a little by 100 Adam steps
    np.testing.assert_allclose(gpu.estimates, cpu.estimates, atol=1e-9)
    np.testing.assert_allclose(gpu.stderrs, cpu.stderrs, atol=1e-9)


def test_ensemble_member_equals_a_separate_run_on_cuda():
    data = CorrelatedGaussian(2, mi=0.4).sample(1200, seed=0)
    train = (data[0][:900], data[1][:900])
    held = (data[0][900:], data[1][900:])

    def run(n_critics, seed):
        critic = make_critic("joint", 2, 2, hidden=(16,), n_critics=n_critics, seed=seed, dtype=F64)
        return fit_critic(critic, get_bound("nwj"), train=train, heldout=held, steps=60, batch_size=50,
                          eval_every=20, patience=None, seed=seed, split_seed=0, device="cuda")

    ens = run(3, 0)
    for k in range(3):
        np.testing.assert_allclose(ens.estimates[k], run(1, k).estimates[0], atol=1e-10)


@pytest.mark.parametrize("name", list_bounds())
@pytest.mark.parametrize("kind", ["separable", "joint"])
def test_the_training_step_never_synchronises_with_the_host(name, kind):
    """critic -> bound.loss -> backward -> fused Adam, and the unchecked estimate the graphed
    staircase records: no .item(), no nonzero, no host copy."""
    if name == "fmicl":
        bound = get_bound(name, divergence="js")   # TV's loss has no gradient (a clear error by design)
    else:
        bound = get_bound(name)
    critic = make_critic(kind, 4, 4, hidden=(32,), embed_dim=8, n_critics=2, seed=0).cuda()
    opt = make_adam(critic.parameters(), lr=1e-3)
    x, y = torch.randn(32, 4, device="cuda"), torch.randn(32, 4, device="cuda")
    acc = torch.zeros(2, dtype=F64, device="cuda")
    for step in range(3):
        if step == 1:   # the first step may allocate Adam's state; check the steady state
            torch.cuda.set_sync_debug_mode("error")
        try:
            scores = critic(x, y)
            loss = bound.loss(scores)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            acc.add_(loss.detach().to(F64))
            acc.add_(bound.estimate(scores.detach(), check_finite=False).to(F64))   # what the graphed staircase records
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(acc).all()


def test_staircase_on_cuda_starts_where_the_cpu_run_starts():
    kw = dict(critic="separable", levels=(2.0, 4.0), steps_per_level=5, dim=6, batch_size=32, seed=0)
    cpu = run_staircase(["infonce", "nwj"], device="cpu", **kw)
    gpu = run_staircase(["infonce", "nwj"], device="cuda", **kw)
    assert [(r["label"], r["step"]) for r in cpu] == [(r["label"], r["step"]) for r in gpu]
    first = [(a["estimate"], b["estimate"]) for a, b in zip(cpu, gpu) if a["step"] == 0]
    # step 0 is scored before any update: the same float32 network on the same batch
    np.testing.assert_allclose([b for _, b in first], [a for a, _ in first], rtol=1e-5, atol=1e-5)
    assert all(np.isfinite(r["estimate"]) for r in gpu)


def test_estimate_mi_on_cuda_float64_matches_the_cpu():
    x, y = CorrelatedGaussian(2, mi=0.5).sample(1500, seed=4)
    kw = dict(steps=120, eval_every=40, hidden=(32, 32), batch_size=64, dtype="float64", seed=1)
    cpu = estimate_mi(x, y, "infonce", device="cpu", **kw)
    gpu = estimate_mi(x, y, "infonce", device="cuda", **kw)
    assert gpu.config["device"].startswith("cuda")
    assert abs(gpu.mi - cpu.mi) < 1e-9


@pytest.mark.parametrize("name,kind", [("infonce", "separable"), ("smile", "joint"), ("dro-dual", "separable"),
                                       ("js", "bilinear")])
@pytest.mark.parametrize("mode", ["dataset", "streaming"])
def test_cuda_graph_steps_give_the_eager_numbers(name, kind, mode):
    task = CorrelatedGaussian(3, mi=0.6)
    x, y = task.sample(900, seed=3)

    def run(cuda_graph):
        critic = make_critic(kind, 3, 3, hidden=(32, 32), embed_dim=8, n_critics=2, seed=4, dtype=F64)
        data = (dict(train=(x[:600], y[:600]), heldout=(x[600:], y[600:])) if mode == "dataset"
                else dict(sampler=task, n_heldout=256))
        return fit_critic(critic, get_bound(name), steps=90, batch_size=32, eval_every=20, patience=2, seed=4,
                          device="cuda", cuda_graph=cuda_graph, **data)

    eager, graphed = run(False), run(True)
    assert not eager.cuda_graph and graphed.cuda_graph
    assert [h["step"] for h in graphed.history] == [h["step"] for h in eager.history]
    np.testing.assert_allclose([h["train_loss"] for h in graphed.history],
                               [h["train_loss"] for h in eager.history], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(graphed.estimates, eager.estimates, rtol=1e-12, atol=1e-12)
    assert np.array_equal(graphed.best_step, eager.best_step)


def test_cuda_graph_auto_leaves_stateful_bounds_eager():
    task = CorrelatedGaussian(2, mi=0.4)
    critic = make_critic("separable", 2, 2, hidden=(16,), embed_dim=4)
    kw = dict(sampler=task, steps=20, batch_size=32, eval_every=10, n_heldout=128, device="cuda")
    assert not fit_critic(critic, get_bound("mine"), **kw).cuda_graph      # MINE's EMA is Python state
    with pytest.raises(ValueError, match="not graph_safe"):
        fit_critic(critic, get_bound("mine"), cuda_graph=True, **kw)
    assert fit_critic(critic, get_bound("nwj"), **kw).cuda_graph


def test_estimate_mi_reports_that_it_replayed_a_cuda_graph():
    x, y = CorrelatedGaussian(2, mi=0.5).sample(1500, seed=4)
    res = estimate_mi(x, y, "infonce", device="cuda", steps=60, eval_every=20, hidden=(16,))
    assert res.details["cuda_graph"] is True
    assert estimate_mi(x, y, "infonce", device="cuda", steps=60, eval_every=20, hidden=(16,),
                       cuda_graph=False).details["cuda_graph"] is False


def test_staircase_cuda_graph_gives_the_eager_cuda_records():
    kw = dict(critic="separable", levels=(2.0, 4.0), steps_per_level=12, dim=6, batch_size=32, seed=0,
              device="cuda")
    eager = run_staircase(["infonce", "nwj", "smile:tau=5"], cuda_graph=False, **kw)
    graphed = run_staircase(["infonce", "nwj", "smile:tau=5"], cuda_graph=True, **kw)
    assert eager == graphed   # the same kernels in the same order: bit-identical records


def test_staircase_with_mine_stays_eager_on_cuda_and_true_is_refused():
    kw = dict(critic="separable", levels=(2.0,), steps_per_level=6, dim=4, batch_size=32, device="cuda")
    assert len(run_staircase(["infonce", "mine"], **kw)) == 12
    with pytest.raises(ValueError, match="not graph_safe"):
        run_staircase(["infonce", "mine"], cuda_graph=True, **kw)


def test_staircase_graph_captures_every_graph_safe_bound():
    from mi_estimators.bounds import BOUNDS

    names = [n for n, cls in BOUNDS.items() if cls.graph_safe]
    kw = dict(critic="separable", levels=(1.0,), steps_per_level=8, dim=3, batch_size=16, device="cuda")
    eager = run_staircase(names, cuda_graph=False, **kw)
    graphed = run_staircase(names, cuda_graph=True, **kw)
    assert len(graphed) == 8 * len(names)
    assert graphed == eager   # the same kernels in the same order

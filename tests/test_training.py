"""The trainer: reproducible, ensembles equal separate runs, held-out evaluation, divergence caught."""
import math

import numpy as np
import pytest
import torch

from mi_estimators.bounds import get_bound
from mi_estimators.critics import make_critic
from mi_estimators.training import (
    TrainingDivergedError,
    evaluate_critic,
    fit_critic,
    make_adam,
    make_train_step,
    resolve_device,
    split_indices,
)
from synthetic import CorrelatedGaussian

TASK = CorrelatedGaussian(dim=2, mi=0.5)
SMALL = dict(hidden=(16,), embed_dim=4)


def _data(n=1200, seed=0):
    x, y = TASK.sample(n, seed=seed)
    tr, va = split_indices(n, 0.25, seed)
    return (x[tr], y[tr]), (x[va], y[va])


def _fit(n_critics=1, seed=0, bound="infonce", critic="separable", dtype=torch.float64, **kw):
    train, held = _data()
    c = make_critic(critic, 2, 2, n_critics=n_critics, seed=seed, dtype=dtype, **SMALL)
    opts = dict(steps=60, batch_size=32, eval_every=20, lr=3e-3, seed=seed)
    opts.update(kw)
    return fit_critic(c, get_bound(bound), train=train, heldout=held, **opts)


def test_split_is_a_seeded_partition():
    tr, va = split_indices(100, 0.2, 3)
    assert len(va) == 20 and len(tr) == 80
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(100))
    tr2, va2 = split_indices(100, 0.2, 3)
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, split_indices(100, 0.2, 4)[1])


def test_same_seed_gives_identical_result():
    a, b = _fit(seed=3), _fit(seed=3)
    assert np.array_equal(a.estimates, b.estimates)
    assert a.history == b.history


@pytest.mark.parametrize("critic", ["separable", "joint"])
def test_ensemble_member_k_equals_separate_run_with_seed_s_plus_k(critic):
    ens = _fit(n_critics=3, seed=5, critic=critic, patience=None)
    for k in range(3):
        one = _fit(n_critics=1, seed=5 + k, critic=critic, split_seed=5, patience=None)
        np.testing.assert_allclose(ens.estimates[k], one.estimates[0], rtol=0, atol=1e-9)
        np.testing.assert_allclose([h["heldout"][k] for h in ens.history],
                                   [h["heldout"][0] for h in one.history], rtol=0, atol=1e-9)
    assert len(set(np.round(ens.estimates, 8))) == 3  # the members really differ


def test_ensemble_members_equal_separate_runs_with_early_stopping():
    # members stop at different evaluations; a stopped member's kept weights must not move
    ens = _fit(n_critics=3, seed=0, patience=1, steps=200, eval_every=10)
    for k in range(3):
        one = _fit(n_critics=1, seed=k, split_seed=0, patience=1, steps=200, eval_every=10)
        assert ens.best_step[k] == one.best_step[0]
        np.testing.assert_allclose(ens.estimates[k], one.estimates[0], rtol=0, atol=1e-9)


def test_streaming_ensemble_member_equals_separate_run():
    def run(k, seed, split_seed=None):
        c = make_critic("separable", 2, 2, n_critics=k, seed=seed, dtype=torch.float64, **SMALL)
        return fit_critic(c, get_bound("nwj"), sampler=TASK, steps=40, batch_size=32, eval_every=20,
                          lr=3e-3, seed=seed, split_seed=split_seed, n_heldout=256, chunk=4)
    ens = run(2, 7)
    one = run(1, 8, split_seed=7)
    np.testing.assert_allclose(ens.estimates[1], one.estimates[0], rtol=0, atol=1e-9)


def test_reported_value_is_the_heldout_estimate_of_the_kept_weights():
    res = _fit(steps=80, eval_every=20, patience=None, final_repeats=3)
    _, held = _data()
    xh, yh = (torch.as_tensor(a) for a in held)
    est, se, nb = evaluate_critic(res.critic, get_bound("infonce"), xh, yh, batch_size=32, repeats=3, seed=0)
    np.testing.assert_allclose(res.estimates, est.numpy(), rtol=0, atol=1e-12)
    assert nb == 300 // 32


def test_heldout_stderr_is_sd_of_disjoint_batch_estimates_over_root_n():
    _, held = _data()
    xh, yh = (torch.as_tensor(a) for a in held)
    critic = make_critic("separable", 2, 2, dtype=torch.float64, **SMALL)
    bound = get_bound("dv")
    est, se, nb = evaluate_critic(critic, bound, xh, yh, batch_size=50, repeats=1, seed=1)
    # recompute from the same partition by hand
    from mi_estimators.training import _PARTITION, _derived_seed
    order = torch.randperm(300, generator=torch.Generator().manual_seed(_derived_seed(1, _PARTITION)))
    with torch.no_grad():
        vals = torch.stack([bound.estimate(critic(xh[order[i:i + 50]], yh[order[i:i + 50]]))[0]
                            for i in range(0, 300, 50)])
    assert nb == 6
    np.testing.assert_allclose(est.item(), vals.mean().item(), rtol=1e-12)
    np.testing.assert_allclose(se.item(), vals.std().item() / math.sqrt(6), rtol=1e-12)


def test_history_is_recorded_at_evaluation_points_only():
    res = _fit(steps=70, eval_every=20, patience=None)
    assert [h["step"] for h in res.history] == [20, 40, 60, 70]
    assert all(len(h["train_loss"]) == 1 and len(h["heldout"]) == 1 for h in res.history)


def test_early_stopping_stops_on_independent_data_and_keeps_best_weights():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((1200, 2)), rng.standard_normal((1200, 2))
    c = make_critic("separable", 2, 2, dtype=torch.float64, **SMALL)
    res = fit_critic(c, get_bound("infonce"), train=(x[:900], y[:900]), heldout=(x[900:], y[900:]),
                     steps=2000, batch_size=32, eval_every=10, patience=3, lr=3e-3)
    assert res.steps_run < 2000
    assert res.steps_run == max(h["step"] for h in res.history)
    best = max(res.history, key=lambda h: h["heldout"][0])
    assert res.best_step[0] == best["step"]


def test_training_learns_mi_in_streaming_mode():
    task = CorrelatedGaussian(dim=2, mi=1.0)
    c = make_critic("separable", 2, 2, hidden=(64,), embed_dim=16, seed=0)
    res = fit_critic(c, get_bound("infonce"), sampler=task, steps=300, batch_size=128, eval_every=50,
                     lr=2e-3, n_heldout=2048, seed=0)
    # InfoNCE with B=128 at I=1 is within a few hundredths of the truth at the optimum
    assert abs(res.estimates[0] - task.mi) < 0.15 + 3 * res.stderrs[0]


class _NaNAfter:
    """A bound whose loss turns NaN after some steps: the trainer must notice (pure test double)."""

    def __init__(self, bound, after):
        self.bound, self.after, self.calls, self.info = bound, after, 0, bound.info

    def loss(self, scores):
        self.calls += 1
        out = self.bound.loss(scores)
        return out * float("nan") if self.calls > self.after else out

    def estimate(self, scores):
        return self.bound.estimate(scores)


def test_nan_loss_raises_diverged_error_saying_what_to_change():
    train, held = _data()
    c = make_critic("separable", 2, 2, **SMALL)
    with pytest.raises(TrainingDivergedError, match=r"step 20.*lower the learning rate.*infonce"):
        fit_critic(c, _NaNAfter(get_bound("nwj"), 15), train=train, heldout=held, steps=100,
                   batch_size=32, eval_every=10)
    assert issubclass(TrainingDivergedError, ValueError)


def test_fewer_training_samples_than_one_batch_raises():
    train, held = _data()
    c = make_critic("separable", 2, 2, **SMALL)
    with pytest.raises(ValueError, match="fewer than one batch"):
        fit_critic(c, get_bound("infonce"), train=(train[0][:10], train[1][:10]), heldout=held, batch_size=32)
    with pytest.raises(ValueError, match="fewer than 2 batches"):
        fit_critic(c, get_bound("infonce"), train=train, heldout=(held[0][:40], held[1][:40]), batch_size=32)


def test_progress_bar_option_runs_and_changes_nothing():
    assert np.array_equal(_fit(seed=2, progress=True).estimates, _fit(seed=2).estimates)


def test_device_choices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_matches_cpu_run():
    a = _fit(seed=1)
    b = _fit(seed=1, device="cuda")
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-6)


def test_auto_threads_use_one_thread_for_small_critics_and_restore_the_callers_setting():
    import torch

    from mi_estimators.critics import make_critic
    from mi_estimators.training import resolve_num_threads, torch_threads

    sep = make_critic("separable", 2, 2, hidden=(8,), embed_dim=4)
    joint = make_critic("joint", 2, 2, hidden=(8,))
    assert resolve_num_threads("auto", sep, "cpu") == 1
    assert resolve_num_threads("auto", joint, "cpu") is None      # B² work: keep torch's setting
    ens = make_critic("separable", 2, 2, hidden=(8,), n_critics=4)
    assert resolve_num_threads("auto", ens, "cpu") is None        # K-wide matmuls: keep torch's setting
    assert resolve_num_threads(3, sep, "cpu") == 3
    with pytest.raises(ValueError, match="num_threads"):
        resolve_num_threads(0, sep, "cpu")
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_fit_critic_leaves_the_global_thread_setting_unchanged():
    import numpy as np
    import torch

    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import fit_critic

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    y = x + rng.standard_normal((300, 2))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fit_critic(make_critic("separable", 2, 2, hidden=(8,), embed_dim=4), get_bound("infonce"),
                   train=(x[:200], y[:200]), heldout=(x[200:], y[200:]), steps=5, batch_size=32,
                   eval_every=5)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_cuda_graph_option_is_checked_and_off_on_the_cpu():
    from mi_estimators.training import resolve_cuda_graph

    bound = get_bound("infonce")
    assert resolve_cuda_graph("auto", "cpu", bound) is False
    assert resolve_cuda_graph(False, "cpu", bound) is False
    with pytest.raises(ValueError, match="cuda_graph=True cannot be honoured: the device is 'cpu'"):
        resolve_cuda_graph(True, "cpu", bound)
    with pytest.raises(ValueError, match="cuda_graph must be 'auto', True or False"):
        resolve_cuda_graph("yes", "cpu", bound)
    assert _fit(seed=2).cuda_graph is False


def test_only_the_registry_bounds_but_mine_are_graph_safe_and_subclasses_opt_in():
    from mi_estimators.bounds import BOUNDS, Bound

    assert {n for n, cls in BOUNDS.items() if not cls.graph_safe} == {"mine"}

    class MyBound(Bound):   # a user's bound may keep state or read host values: eager unless it says so
        name = "mine-of-mine"

        def _estimate(self, scores):
            return scores.diagonal(dim1=-2, dim2=-1).mean(-1)

    assert MyBound().graph_safe is False
    assert get_bound("infonce").graph_safe is True and get_bound("mine").graph_safe is False


def test_make_train_step_is_one_adam_step_on_the_bound_and_records_the_detached_scores_and_loss():
    bound = get_bound("infonce")
    x, y = (torch.as_tensor(a, dtype=torch.float32) for a in TASK.sample(32, seed=0))
    by_hand = make_critic("separable", 2, 2, n_critics=2, seed=3, **SMALL)
    critic = make_critic("separable", 2, 2, n_critics=2, seed=3, **SMALL)
    opt = make_adam(by_hand.parameters(), lr=1e-2)
    seen = []
    step = make_train_step(critic, bound, lr=1e-2, record=lambda s, l: seen.append((s, l)))
    for _ in range(3):
        loss = bound.loss(by_hand(x, y))
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        step(x, y)
        scores, recorded = seen[-1]
        assert torch.equal(recorded, loss.detach()) and not recorded.requires_grad
        assert scores.shape == (2, 32, 32) and not scores.requires_grad
    for p, q in zip(critic.parameters(), by_hand.parameters()):
        assert torch.equal(p, q)
    assert step.captured is False and isinstance(step.optimizer, torch.optim.Adam)
    # a callable gives each member its own loss; "auto" must be resolved first
    make_train_step(critic, lambda s: torch.stack([bound.loss(s[i:i + 1]).sum() for i in range(2)]), lr=1e-3)(x, y)
    with pytest.raises(ValueError, match="resolve_cuda_graph"):
        make_train_step(critic, bound, lr=1e-3, cuda_graph="auto")


def test_selection_subset_is_all_rows_when_few_else_a_seeded_random_subset_not_a_prefix():
    from mi_estimators.training import selection_subset

    xh = torch.arange(1000, dtype=torch.float64).reshape(-1, 1)
    yh = -xh
    xs, ys = selection_subset(xh, yh, 1000, seed=3)
    assert xs is xh and ys is yh
    xs, ys = selection_subset(xh, yh, 100, seed=3)
    assert xs.shape == (100, 1) and torch.equal(ys, -xs)
    assert torch.equal(xs, selection_subset(xh, yh, 100, seed=3)[0])           # seeded
    assert not torch.equal(xs, selection_subset(xh, yh, 100, seed=4)[0])
    assert len(torch.unique(xs)) == 100 and xs.max() > 500                      # distinct rows, not a prefix
    assert torch.all(xs[1:] > xs[:-1])                                         # kept in the data's order

"""estimate_mi / MIEstimator: accuracy on known MI, honest intervals, reproducibility, clear errors."""
import json
import math
import warnings

import numpy as np
import pytest
import torch

from mi_estimators import MIEstimator, MIResult, estimate_mi, list_estimators
from mi_estimators.training import TrainingDivergedError
from synthetic import CorrelatedGaussian

# A small critic keeps each fit to a few seconds on one CPU core.
FAST = dict(hidden=(128,), embed_dim=32, steps=1000, lr=1e-3, batch_size=128, eval_every=50, patience=5)
TINY = dict(hidden=(16,), embed_dim=4, steps=40, lr=3e-3, batch_size=32, eval_every=20)


@pytest.fixture(scope="module")
def gauss5():
    task = CorrelatedGaussian(dim=5, mi=2.0)
    x, y = task.sample(5000, seed=1)
    return task, x, y


@pytest.fixture(scope="module")
def small():
    return CorrelatedGaussian(dim=2, mi=0.5).sample(1000, seed=0)


def test_list_estimators_has_every_bound_and_nonparametric_name():
    from mi_estimators.bounds import list_bounds

    names = list_estimators()
    assert set(list_bounds()) <= set(names)
    assert {"ksg", "cca", "sklearn-mi"} <= set(names)


# The accuracy requirement: within 0.25 nats of I = 2 on 5,000 samples. The held-out
# set has 1,000 samples, whose sampling error alone is about 0.05 nats (sd of log r / sqrt(1000),
# printed by the test on failure); 0.25 leaves room for that plus the finite-data fit.
@pytest.mark.slow
@pytest.mark.parametrize("estimator, options", [
    ("infonce", {}),
    ("nwj", {}),
    ("dv", {}),
    ("smile", {"tau": 5.0}),
    ("fmicl", {"divergence": "kl"}),
])
def test_estimate_within_quarter_nat_of_true_mi_on_gaussian_dim5(gauss5, estimator, options):
    task, x, y = gauss5
    res = estimate_mi(x, y, estimator, seed=0, **FAST, **options)
    assert res.target == "kl" and not res.warnings
    assert abs(res.mi - task.mi) < 0.25, (str(res), res.details)


def test_independent_samples_interval_contains_zero():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3000, 3)), rng.standard_normal((3000, 3))
    res = estimate_mi(x, y, "infonce", seed=0, **FAST)
    lo, hi = res.interval
    assert lo <= 0.0 <= hi, str(res)
    assert abs(res.mi) < 0.05


def test_same_seed_identical_result_and_ensemble_member_equals_separate_run(small):
    x, y = small
    a = estimate_mi(x, y, "infonce", seed=4, n_critics=3, dtype="float64", **TINY)
    b = estimate_mi(x, y, "infonce", seed=4, n_critics=3, dtype="float64", **TINY)
    assert a.mi == b.mi and np.array_equal(a.per_critic, b.per_critic)
    assert a.per_critic.shape == (3,)
    for k in range(3):
        one = estimate_mi(x, y, "infonce", seed=4 + k, split_seed=4, dtype="float64", **TINY)
        np.testing.assert_allclose(a.per_critic[k], one.mi, rtol=0, atol=1e-9)


def test_combine_scores_is_the_bound_at_the_members_mean_score_critic(small):
    """combine='scores' reports the held-out estimate of ONE critic, the mean of the members'
    scores, recomputed here from the trained members; per_critic still holds the members."""
    from mi_estimators import bounds, critics, training
    from mi_estimators.neural import standardize_split as _standardize

    x, y = small
    ens = estimate_mi(x, y, "infonce", seed=4, n_critics=3, combine="scores", dtype="float64", **TINY)
    est = estimate_mi(x, y, "infonce", seed=4, n_critics=3, dtype="float64", **TINY)
    assert est.config["combine"] == "estimates" and ens.config["combine"] == "scores"
    np.testing.assert_array_equal(ens.per_critic, est.per_critic)   # same members, same training
    assert est.mi == pytest.approx(est.per_critic.mean(), abs=1e-12)
    assert ens.mi != pytest.approx(est.mi, abs=1e-6)
    # rebuild: same split, standardisation, members; evaluate the mean-score critic
    tr, va = training.split_indices(len(x), 0.2, 4)
    xt, xh = _standardize(x[tr], [x[va]], "x")
    yt, yh = _standardize(y[tr], [y[va]], "y")
    crit = critics.make_critic("separable", 2, 2, hidden=(16,), embed_dim=4, n_critics=3, seed=4, dtype=torch.float64)
    bound = bounds.get_bound("infonce")
    training.fit_critic(crit, bound, train=(xt, yt), heldout=(xh, yh), steps=40, lr=3e-3, batch_size=32,
                        eval_every=20, seed=4)
    mean_critic = critics.MeanScoreEnsemble(crit)
    val, se, nb = training.evaluate_critic(mean_critic, bound, torch.as_tensor(xh), torch.as_tensor(yh),
                                           batch_size=32, repeats=4, seed=4)
    assert ens.mi == pytest.approx(float(val[0]), abs=1e-12)
    assert ens.details["stderr_sampling"] == pytest.approx(float(se[0]), abs=1e-12)
    # one member: both ways agree exactly
    one_s = estimate_mi(x, y, "infonce", seed=4, combine="scores", dtype="float64", **TINY)
    one_e = estimate_mi(x, y, "infonce", seed=4, dtype="float64", **TINY)
    assert one_s.mi == one_e.mi
    with pytest.raises(ValueError, match="combine.*'estimates', 'scores'|estimates.*scores"):
        estimate_mi(x, y, "infonce", combine="median", **TINY)


@pytest.mark.parametrize("name", ["infonce", "nwj", "dv", "mine", "tuba", "dv-per-anchor", "dro-dual",
                                  "js", "smile", "alpha", "fgan", "fmicl"])
def test_combine_scores_works_for_every_bound_and_is_never_below_the_members_mean_for_concave_ones(small, name):
    """The members' final values and the ensemble critic's value use the same held-out batches, so
    for a bound concave in the scores (InfoNCE, NWJ, DV/MINE/dro-dual(KL), TUBA, per-anchor DV)
    Jensen's inequality holds batch by batch and therefore for the reported values exactly."""
    x, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = estimate_mi(x, y, name, n_critics=3, combine="scores", seed=1, dtype="float64", **TINY)
    assert math.isfinite(res.mi) and len(res.per_critic) == 3 and res.config["combine"] == "scores"
    if name in ("infonce", "nwj", "dv", "mine", "tuba", "dv-per-anchor", "dro-dual"):
        assert res.mi >= res.per_critic.mean() - 1e-9, (res.mi, res.per_critic)


def test_result_fields_json_and_readable_string(small):
    x, y = small
    res = estimate_mi(x, y, "infonce", seed=0, n_critics=2, **TINY)
    assert isinstance(res, MIResult)
    lo, hi = res.interval
    assert lo < res.mi < hi
    assert res.stderr > 0 and res.n_samples == 1000 and res.seconds > 0
    assert res.estimator == "infonce" and res.target == "kl"
    cfg = res.config
    for key in ("seed", "steps", "batch_size", "lr", "hidden", "embed_dim", "device", "standardize", "version"):
        assert key in cfg
    assert cfg["hidden"] == [16] and cfg["standardize"] is True
    d = json.loads(json.dumps(res.to_dict()))
    assert d["mi"] == pytest.approx(res.mi) and len(d["per_critic"]) == 2
    assert res.history and {"step", "train_loss", "heldout"} <= set(res.history[0])
    s = str(res)
    assert s.startswith("I = ") and "nats" in s and "95% CI" in s
    # stderr combines the held-out sampling error and the ensemble's seed spread
    combined = math.sqrt(res.details["stderr_sampling"] ** 2 + np.var(res.per_critic, ddof=1) / 2)
    assert res.stderr == pytest.approx(combined)


def test_inputs_in_any_container_give_the_same_result(small):
    import pandas as pd

    x, y = small
    base = estimate_mi(x, y, "infonce", seed=0, **TINY).mi
    assert estimate_mi(torch.as_tensor(x), torch.as_tensor(y), "infonce", seed=0, **TINY).mi == base
    assert estimate_mi(pd.DataFrame(x), pd.DataFrame(y), "infonce", seed=0, **TINY).mi == base
    assert estimate_mi(x.tolist(), y.tolist(), "infonce", seed=0, **TINY).mi == base


def test_one_dimensional_arrays_are_one_column():
    x, y = CorrelatedGaussian(dim=1, mi=0.5).sample(1000, seed=0)
    a = estimate_mi(x[:, 0], y[:, 0], "infonce", seed=0, **TINY)
    b = estimate_mi(x, y, "infonce", seed=0, **TINY)
    assert a.mi == b.mi and a.config["dim_x"] == 1


@pytest.mark.parametrize("bad, match", [
    (lambda x, y: (x[:-1], y), "same number of samples"),
    (lambda x, y: (np.where(np.arange(len(x))[:, None] == 7, np.nan, x), y), "row 7"),
    (lambda x, y: (x, np.where(np.arange(len(y))[:, None] == 3, np.inf, y)), "y contains .*first at row 3"),
    (lambda x, y: (x[:50], y[:50]), "too few samples"),
    (lambda x, y: (np.array([["a", "b"]] * len(x)), y), "must be numeric"),
    (lambda x, y: (x.reshape(len(x), 1, -1), y), "1-D .* or 2-D"),
    (lambda x, y: (np.c_[x, np.ones(len(x))], y), r"column\(s\) \[2\] of x are constant"),
])
def test_bad_input_raises_clear_value_error(small, bad, match):
    x, y = bad(*small)
    with pytest.raises(ValueError, match=match):
        estimate_mi(x, y, "infonce", **TINY)


def test_unknown_estimator_and_critic_list_valid_names(small):
    x, y = small
    with pytest.raises(ValueError, match=r"unknown estimator 'infonse' \(did you mean 'infonce'\?\).*nwj"):
        estimate_mi(x, y, "infonse")
    with pytest.raises(ValueError, match=r"unknown critic 'mlp'.*separable"):
        estimate_mi(x, y, critic="mlp")


@pytest.mark.parametrize("name", ["ksg", "cca", "sklearn-mi"])
def test_training_options_given_to_a_nonparametric_estimator_are_an_error_not_ignored(small, name):
    x, y = small
    with pytest.raises(ValueError, match=rf"'{name}' is nonparametric.*n_critics, steps would have no effect"):
        estimate_mi(x, y, name, n_critics=4, steps=10)
    with pytest.raises(ValueError, match="combine"):
        estimate_mi(x, y, name, combine="scores")
    # the defaults, and the estimator's own options, are fine
    assert estimate_mi(x, y, name, seed=0).mi == estimate_mi(x, y, name, seed=0, steps=2000, n_critics=None).mi


def test_cuda_without_gpu_is_a_clear_error(small):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        estimate_mi(*small, "infonce", device="cuda", **TINY)


def test_divergent_training_raises_with_advice():
    # NWJ exponentiates scores: unstandardised inputs at a huge scale and a large lr overflow
    x, y = CorrelatedGaussian(dim=2, mi=2.0).sample(1000, seed=0)
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        estimate_mi(1e4 * x, 1e4 * y, "nwj", standardize=False, hidden=(16,), embed_dim=4, lr=1.0,
                    steps=200, batch_size=32, eval_every=10)


def test_infonce_saturation_model_is_inverted_exactly():
    from mi_estimators.neural import infonce_implied_mi as _infonce_implied_mi

    for b, i in [(16, 1.0), (128, 3.0), (1024, 6.0)]:
        est = math.log(b) - math.log1p((b - 1) * math.exp(-i))
        assert _infonce_implied_mi(est, b) == pytest.approx(i, rel=1e-9)
    assert _infonce_implied_mi(math.log(16), 16) == math.inf


def test_infonce_near_log_batch_size_ceiling_warns():
    x, y = CorrelatedGaussian(dim=4, mi=6.0).sample(1200, seed=0)
    with pytest.warns(UserWarning, match="raise batch_size"):
        res = estimate_mi(x, y, "infonce", hidden=(64,), embed_dim=16, steps=300, lr=3e-3, batch_size=16, eval_every=50)
    assert res.mi <= math.log(16) + 1e-6
    assert res.warnings


def test_nonparametric_names_dispatch_to_nonparametric_module(small):
    x, y = small
    res = estimate_mi(x, y, "ksg", k=3)
    assert res.estimator == "ksg" and res.target == "kl"
    assert abs(res.mi - 0.5) < 0.15
    with pytest.raises(ValueError):
        estimate_mi(x, y, "ksg", k=0)


# ---- scikit-learn conventions ----------------------------------------------------------
def test_sklearn_estimator_checks():
    from sklearn.base import clone
    from sklearn.utils import estimator_checks as ec

    est = MIEstimator(steps=10)
    ec.check_parameters_default_constructible("MIEstimator", MIEstimator())
    ec.check_get_params_invariance("MIEstimator", est)
    ec.check_set_params("MIEstimator", est)
    ec.check_no_attributes_set_in_init("MIEstimator", est)
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()


def test_mi_estimator_fit_sets_fitted_attributes_and_matches_estimate_mi(small):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    x, y = small
    est = MIEstimator("infonce", seed=0, **TINY)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert est.fit(x, y) is est
    check_is_fitted(est)
    assert est.mi_ == estimate_mi(x, y, "infonce", seed=0, **TINY).mi
    assert est.stderr_ > 0 and est.history_ and est.n_features_in_ == 2
    with pytest.raises(ValueError, match="both x and y"):
        MIEstimator().fit(x)
    est.set_params(method="dv")
    assert est.fit(x, y).result_.estimator == "dv"


def test_mi_estimator_keeps_estimator_as_a_deprecated_alias_of_method(small):
    x, y = small
    est = MIEstimator("infonce", seed=0, **TINY)
    est.set_params(estimator="dv")                      # the pre-0.2 spelling still works
    with pytest.warns(FutureWarning, match="estimator='dv'.*deprecated.*method="):
        assert est.fit(x, y).result_.estimator == "dv"
    with pytest.warns(FutureWarning):
        assert MIEstimator(estimator="ksg").fit(x, y).mi_ == estimate_mi(x, y, "ksg").mi


def test_mi_estimator_passes_bound_options(small):
    x, y = small
    est = MIEstimator("fmicl", seed=0, options={"divergence": "js"}, **TINY).fit(x, y)
    assert est.result_.target == "js" and est.result_.config["bound_options"]["divergence"] == "js"
    assert str(est.result_).startswith("I_js = ")
    with pytest.raises(ValueError, match="invalid option.*'fmicl'.*divergnce.*Training options"):
        estimate_mi(x, y, "fmicl", divergnce="js", **TINY)


@pytest.mark.parametrize("bad, match", [
    (lambda x, y: (x[:-1], y), "same number of samples"),
    (lambda x, y: (np.where(np.arange(len(x))[:, None] == 3, np.nan, x), y), "NaN"),
    (lambda x, y: (np.c_[x, np.ones(len(x))], y), r"column\(s\) \[\d\] of x are constant"),
])
@pytest.mark.parametrize("dim", [1, 3])
def test_default_auto_estimator_rejects_bad_input_clearly(bad, match, dim):
    # estimate_mi's default is "auto": KSG in low dimension, the neural path above; both paths
    # must refuse bad input with the same clear message as the neural estimators
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, dim))
    x, y = bad(x, x + rng.standard_normal((600, dim)))
    with pytest.raises(ValueError, match=match):
        estimate_mi(x, y)


def test_default_estimator_is_auto_and_passes_critic_and_warns_about_ignored_options():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((800, 1))
    y = x + rng.standard_normal((800, 1))
    res = estimate_mi(x, y)            # a Gaussian pair: the copula test passes
    assert res.estimator == "auto" and res.details["auto"]["method"] == "gaussian-copula"
    parabola = x**2 + 0.5 * rng.standard_normal((800, 1))
    assert estimate_mi(x, parabola).details["auto"]["method"] == "ksg"
    for data in ((x, y), (x, parabola)):
        with pytest.warns(RuntimeWarning, match="n_critics apply to neural estimators only"):
            res = estimate_mi(*data, n_critics=3)
        assert any("n_critics" in w for w in res.warnings)
    # on the neural path the critic the user names is the one trained
    x4 = rng.standard_normal((800, 2))
    y4 = x4 + rng.standard_normal((800, 2))
    res = estimate_mi(x4, y4, critic="bilinear", steps=20, eval_every=10, batch_size=64, copula_test=False)
    assert res.details["auto"]["method"] == "infonce" and res.config["critic"] == "bilinear"
    assert MIEstimator().get_params()["method"] == "auto"


def test_estimate_dominated_by_a_few_heavy_tailed_samples_warns_with_what_to_do():
    # Beyond-Normal's Student-t task (1 degree of freedom): x and y share a Cauchy-like scale,
    # the pairs with an extreme scale give the critic extreme scores, and NWJ's exponential
    # term turns them into a huge, noisy held-out value (-27.6 +- 27.5 nats here)
    import synthetic
    from mi_estimators.neural import UNSTABLE_STDERR

    x, y = synthetic.get_task("student-identity-2-2-1").sample(2000, seed=0)
    small = dict(hidden=(32,), embed_dim=8, steps=300, lr=3e-3, batch_size=64, eval_every=50, seed=0)
    with pytest.warns(UserWarning, match="a few held-out samples dominate it.*transform='copula'"):
        res = estimate_mi(x, y, "nwj", **small)
    assert res.stderr > UNSTABLE_STDERR and any("dominate" in w for w in res.warnings)
    # the advice works: on normal scores the same estimator is stable and warns nothing of the kind
    calm = estimate_mi(x, y, "nwj", transform="copula", **small)
    assert calm.stderr < UNSTABLE_STDERR and not any("dominate" in w for w in calm.warnings)
    assert abs(calm.mi - 0.432) < 0.3, calm.mi


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300])
@pytest.mark.parametrize("name", ["auto", "ksg", "cca"])
def test_extreme_magnitudes_are_rescaled_exactly_not_overflowed_into_a_silent_zero(scale, name):
    # squares of 1e200 overflow and of 1e-200 underflow in float64; before, KSG standardised such
    # a column to all zeros and reported ~1e-16 nats. The power-of-two rescale is exact, but
    # ``scale * x`` rescaled is ``c * x`` with c = scale / 2**k != 1, and standardising c * x is
    # exact only up to float64 round-off: bit-equality held with numpy 2.4 / OpenBLAS here, not
    # with numpy 2.5 on another CPU (CCA at 1e200). Round-off of a few ulp, not a silent zero.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 1))
    y = x + rng.standard_normal((500, 1))
    ref = estimate_mi(x, y, name).mi
    assert ref > 0.2
    assert estimate_mi(scale * x, y, name).mi == pytest.approx(ref, rel=1e-12)


def test_auto_refuses_too_few_samples_for_ksg_with_a_message_about_n_not_k():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((39, 1))
    with pytest.raises(ValueError, match=r"too few samples: n = 39.*at least 40 pairs"):
        estimate_mi(x, x + rng.standard_normal((39, 1)))
    x40 = rng.standard_normal((40, 1))
    assert np.isfinite(estimate_mi(x40, x40 + rng.standard_normal((40, 1))).mi)


def test_the_old_estimator_module_still_exposes_its_names():
    """mi_estimators.estimator is a compatibility module: the names users imported from it
    are the objects of their new homes."""
    from mi_estimators import api, estimator, neural, options, result, sklearn_api

    assert estimator.estimate_mi is api.estimate_mi and estimator.list_estimators is api.list_estimators
    assert estimator.MIEstimator is sklearn_api.MIEstimator and estimator.MIResult is result.MIResult
    assert estimator.UNSTABLE_STDERR == neural.UNSTABLE_STDERR and estimator.DEFAULT_HIDDEN == (256, 256)
    assert (estimator.DEFAULT_STEPS, estimator.DEFAULT_BATCH_SIZE, estimator.DEFAULT_LR) == (
        options.TrainOptions.steps, options.TrainOptions.batch_size, options.TrainOptions.lr)
    assert {"ksg", "cca", "sklearn-mi"} <= set(estimator.NONPARAMETRIC)
    assert set(estimator.TRAIN_KEYS) | set(estimator.CRITIC_KEYS) <= set(api.valid_options("infonce"))


@pytest.mark.parametrize("dim", [1, 2])
def test_the_default_path_checks_its_input_once(dim, monkeypatch):
    """estimate_mi validates x and y on entry; auto's copula test, KSG, CCA and critic run on
    the checked arrays (before the layering, check_xy ran up to 7 times per call)."""
    from mi_estimators import _checks

    calls = []
    real = _checks.as_2d
    monkeypatch.setattr(_checks, "as_2d", lambda a, name: calls.append(name) or real(a, name))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((800, dim))
    y = x + rng.standard_normal((800, dim))
    res = estimate_mi(x, y, steps=4, eval_every=2, batch_size=64)
    assert res.details["auto"]["components"]           # the copula test and its path both ran
    assert calls == ["x", "y"]


def test_every_training_option_reaches_the_trainer_under_its_own_name():
    """TrainOptions is the one place a training option is declared: each field is either used
    by the estimator itself (NOT_LOOP) or passed to fit_critic under the same name."""
    import inspect

    from mi_estimators.options import TrainOptions, field_names
    from mi_estimators.training import fit_critic

    loop = set(TrainOptions().loop_options())
    assert loop | set(TrainOptions.NOT_LOOP) == set(field_names(TrainOptions))
    assert loop <= set(inspect.signature(fit_critic).parameters)


def test_mi_estimator_reports_in_bits_when_asked(small):
    import math

    x, y = small
    nats = MIEstimator("ksg").fit(x, y)
    bits = MIEstimator("ksg", units="bits").fit(x, y)
    assert bits.result_.units == "bits" and bits.mi_ == pytest.approx(nats.mi_ / math.log(2))


def test_one_warnings_channel_every_caveat_is_in_the_result_and_issued_once():
    import warnings as _w

    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=(500, 1)).astype(float)
    y = x + rng.integers(0, 2, size=(500, 1))
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        res = estimate_mi(x, y, "ksg")
    assert any("duplicates" in m for m in res.warnings)                  # KSG's tie warning is in the result
    assert [str(c.message) for c in caught] == [str(m) for m in res.warnings]   # and issued exactly once
    assert caught[0].category is RuntimeWarning and "neighbour number 3" in res.warnings[0]


def test_a_component_warning_says_it_is_about_the_component_when_the_floor_is_reported(monkeypatch):
    """auto's InfoNCE check warns (here: a stand-in caveat), but the Gaussian-copula value is
    reported: the caveat must name the component, not read as if it were about the reported value."""
    from mi_estimators import neural
    from mi_estimators.auto import estimate_auto

    monkeypatch.setattr(neural, "_warnings", lambda *a: ["the estimate 0.012 nats is close to a ceiling"])
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 2))
    y = 0.6 * x + 0.8 * rng.standard_normal((2000, 2))
    with pytest.warns(UserWarning, match="about the infonce check"):
        res = estimate_auto(x, y, copula_test=False, steps=1, hidden=(8,), embed_dim=4, eval_every=1)
    assert res.details["auto"]["reported"] == "gcmi"
    assert res.warnings == [f"about the infonce check ({res.details['auto']['components']['infonce']['mi']:.3f} "
                            f"nats), not the reported value ({res.mi:.3f} nats, gcmi): the estimate 0.012 nats is "
                            "close to a ceiling"]


def test_cli_prints_each_warning_once_without_file_paths(tmp_path, capsys):
    from mi_estimators.bench.cli import main

    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=(500, 1)).astype(float)
    np.savetxt(tmp_path / "d.csv", np.hstack([x, x + rng.integers(0, 2, size=(500, 1))]), delimiter=",",
               header="a,b", comments="")
    assert main(["estimate", str(tmp_path / "d.csv"), "-e", "ksg"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 1 and "duplicates" in lines[0] and ".py:" not in captured.out + captured.err


def test_mi_is_never_reported_negative_and_the_raw_value_is_kept():
    """Independent data: a trained bound or KSG may land below 0; the reported value and the
    interval's ends are clipped at 0 (MI >= 0), the raw ones kept in details."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1500, 1))
    y = rng.standard_normal((1500, 1))
    for seed in range(6):
        res = estimate_mi(x, y, "ksg", seed=seed)
        assert res.mi >= 0 and res.interval[0] >= 0 and res.interval[1] >= 0
        raw = res.details.get("mi_raw", res.mi)
        if raw < 0:   # clipped: the raw value and interval are in details
            assert res.mi == 0.0 and res.details["interval_raw"][0] < 0
            break
    else:
        pytest.fail("no seed gave a negative raw KSG value on independent data")


def test_whitening_makes_a_critic_invariant_to_linear_mixing():
    """standardize='whiten' decorrelates each block with the training covariance: I(AX; BY) =
    I(X; Y) for invertible A, B, and the critic sees the same data up to a rotation. Per-column
    standardising does not undo mixing (condition 1000: 0.416 -> 0.008 nats in this setting)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 2))
    y = 0.6 * x + 0.8 * rng.standard_normal((3000, 2))

    def conditioned(c):
        q1, _ = np.linalg.qr(rng.standard_normal((2, 2)))
        q2, _ = np.linalg.qr(rng.standard_normal((2, 2)))
        return q1 @ np.diag([1.0, 1.0 / c]) @ q2

    a, b = conditioned(1000), conditioned(1000)
    kw = dict(steps=200, eval_every=50, hidden=(32,), embed_dim=8, standardize="whiten")
    plain = estimate_mi(x, y, "infonce", **kw)
    mixed = estimate_mi(x @ a.T, y @ b.T, "infonce", **kw)
    assert abs(plain.mi - mixed.mi) < 4 * math.hypot(plain.stderr, mixed.stderr), (plain.mi, mixed.mi)
    assert mixed.config["standardize"] == "whiten"
    with pytest.raises(ValueError, match="singular"):
        estimate_mi(np.hstack([x, x[:, :1] + x[:, 1:]]), y, "infonce", **kw)

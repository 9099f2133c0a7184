"""Conditional-MI, discrete and mixed tasks (issue 18, item 5): every truth checked by an
independent computation (covariance algebra written differently, enumeration via entropies,
a numpy grid instead of quad, the chain rule) and by Monte Carlo of the exact log-ratio."""
import hashlib
import math

import numpy as np
import pytest
from scipy.stats import entropy as H

import synthetic
from synthetic.conditional import CMITask, DiscreteCMI, GaussianCMI
from synthetic.discrete import DiscretePairs, DiscreteTable, MixedGaussian, ZeroInflatedGaussian
from synthetic.gaussian import MultivariateNormal
from synthetic.registry import CMI_TASKS, DISCRETE_TASKS


def within_4se(values, truth, truth_se=0.0):
    values = np.asarray(values, dtype=float)
    se = values.std() / math.sqrt(values.size)
    assert abs(values.mean() - truth) < 4 * math.hypot(se, truth_se) + 1e-12, (values.mean(), truth, se)


def logdet(m):
    return np.linalg.slogdet(m)[1]


# --------------------------------------------------------------------------- Gaussian CMI
def structural_cov(task):
    """Cov of (X, Y, Z) from the structural equations: (X, Y, Z) = M (Z, e_x, u) with
    e_y = C e_x + sqrt(1 - C²) u on the first m coordinates (written independently of
    GaussianCMI.cov)."""
    dx, dy, dz = task.dim_x, task.dim_y, task.dim_z
    m, r = min(dx, dy), task.rho
    c = np.zeros((dy, dx))
    c[:m, :m] = r * np.eye(m)
    s = np.eye(dy)
    s[:m, :m] *= math.sqrt(1 - r * r)
    M = np.block([
        [task.A, np.eye(dx), np.zeros((dx, dy))],
        [task.B, c, s],
        [np.eye(dz), np.zeros((dz, dx)), np.zeros((dz, dy))],
    ])
    return M @ M.T


GAUSS = ["gaussian-cmi:dx=1,dy=1,dz=1,cmi=0.5", "gaussian-cmi:dx=2,dy=2,dz=3,cmi=1,mix=3",
         "gaussian-cmi:dx=2,dy=3,dz=10,cmi=2,mix=0.5", "gaussian-cmi:dx=3,dy=1,dz=2,cmi=0"]


@pytest.mark.parametrize("name", GAUSS)
def test_gaussian_cmi_truths_match_an_independent_covariance_computation(name):
    task = synthetic.get_task(name)
    assert isinstance(task, CMITask) and task.name == name and task.cmi_stderr == 0
    cov = structural_cov(task)
    np.testing.assert_allclose(task.cov, cov, atol=1e-12)
    dx, dy = task.dim_x, task.dim_y
    ix, iy, iz = np.arange(dx), dx + np.arange(dy), dx + dy + np.arange(task.dim_z)
    sub = lambda idx: cov[np.ix_(idx, idx)]  # noqa: E731
    # I(X;Y|Z) = h(X|Z) + h(Y|Z) - h(X,Y|Z) = ½[ld Σ_XZ + ld Σ_YZ - ld Σ_Z - ld Σ_XYZ]
    cmi = 0.5 * (logdet(sub(np.r_[ix, iz])) + logdet(sub(np.r_[iy, iz])) - logdet(sub(iz)) - logdet(cov))
    assert task.cmi == pytest.approx(cmi, abs=1e-9)
    # I(X;Y) from canonical correlations (SVD of the whitened cross-covariance)
    wx = np.linalg.inv(np.linalg.cholesky(sub(ix)))
    wy = np.linalg.inv(np.linalg.cholesky(sub(iy)))
    rhos = np.linalg.svd(wx @ cov[np.ix_(ix, iy)] @ wy.T, compute_uv=False)
    assert task.mi == pytest.approx(-0.5 * np.sum(np.log1p(-rhos**2)), abs=1e-9)


@pytest.mark.parametrize("name", GAUSS)
def test_gaussian_cmi_monte_carlo_of_exact_log_ratios_and_sample_covariance(name):
    task = synthetic.get_task(name)
    n = 100_000
    x, y, z = task.sample(n, seed=7)
    assert x.shape == (n, task.dim_x) and y.shape == (n, task.dim_y) and z.shape == (n, task.dim_z)
    assert x.dtype == y.dtype == z.dtype == np.float64
    emp = np.cov(np.hstack([x, y, z]), rowvar=False)
    np.testing.assert_allclose(emp, task.cov, atol=0.05 * max(1.0, task.mix**2))
    lr = task.log_ratio(x, y, z)
    if task.cmi == 0:
        assert np.all(lr == 0)
    else:
        within_4se(lr, task.cmi)
    d = task.dim_x + task.dim_y
    joint = MultivariateNormal(task.cov[:d, :d], task.dim_x)
    within_4se(joint.log_ratio(x, y), task.mi)
    # broadcasting: an oracle score cube over (x_i, y_j) at fixed z_i
    cube = task.log_ratio(x[:8, None], y[None, :8], z[:8, None])
    np.testing.assert_allclose(np.diag(cube), lr[:8], atol=1e-10)


def test_gaussian_cmi_hits_every_requested_value_and_z_can_explain_most_dependence():
    for dz in (1, 3, 10):
        for cmi in (0, 0.5, 1, 2):
            task = GaussianCMI(2, 2, dz, cmi)
            assert task.cmi == cmi
            assert -math.log1p(-task.rho**2) == pytest.approx(cmi, abs=1e-12)  # m = 2 pairs
    hard = synthetic.get_task("gaussian-cmi:dx=2,dy=2,dz=10,cmi=0,mix=3")
    assert hard.cmi == 0 and hard.mi > 1.0
    easy = synthetic.get_task("gaussian-cmi:dx=2,dy=2,dz=10,cmi=0")
    assert easy.mi < hard.mi
    assert GaussianCMI(1, 1, 1, 1, mix=0).mi == pytest.approx(1.0, abs=1e-12)  # no Z: I = CMI


def test_gaussian_cmi_law_is_fixed_by_the_name():
    a, b = GaussianCMI(2, 2, 3, 1), GaussianCMI(2, 2, 3, 1)
    np.testing.assert_array_equal(a.A, b.A)
    rows = np.random.default_rng([2, 2, 3]).standard_normal((2, 3))
    np.testing.assert_allclose(a.A, rows / np.linalg.norm(rows, axis=1, keepdims=True), atol=1e-15)
    assert synthetic.get_task("gaussian-cmi:dx=2,dy=2,dz=3,cmi=1,mix=1").name == a.name


# --------------------------------------------------------------------------- discrete CMI
def entropy_cmi(p):
    """I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(Z) - H(X,Y,Z), via scipy.stats.entropy."""
    return H(p.sum(1).ravel()) + H(p.sum(0).ravel()) - H(p.sum((0, 1))) - H(p.ravel())


@pytest.mark.parametrize("name", [n for n in CMI_TASKS if n.startswith("discrete-cmi")]
                         + ["discrete-cmi:kx=4,ky=3,kz=2,seed=5,alpha=0.3"])
def test_discrete_cmi_truths_by_entropies_and_monte_carlo(name):
    task = synthetic.get_task(name)
    assert isinstance(task, DiscreteCMI) and task.name == name
    p = task.pmf
    assert p.shape == (task.kx, task.ky, task.kz) and p.sum() == pytest.approx(1, abs=1e-12)
    pxy = p.sum(2)
    mi = H(pxy.sum(1)) + H(pxy.sum(0)) - H(pxy.ravel())
    assert task.mi == pytest.approx(mi, abs=1e-10)
    if task.ci:
        assert task.cmi == 0.0 and abs(entropy_cmi(p)) < 1e-12
        # p(x,y|z) = p(x|z) p(y|z) cell by cell
        pz = p.sum((0, 1))
        np.testing.assert_allclose(p * pz, p.sum(1)[:, None, :] * p.sum(0)[None, :, :], atol=1e-15)
    else:
        assert task.cmi == pytest.approx(entropy_cmi(p), abs=1e-10) and task.cmi > 0
        np.testing.assert_allclose(p.ravel(), np.random.default_rng(task.seed).dirichlet(
            np.full(p.size, task.alpha)), rtol=1e-12)
    x, y, z = task.sample(50_000, seed=1)
    for v, k in ((x, task.kx), (y, task.ky), (z, task.kz)):
        assert v.shape == (50_000, 1) and v.dtype == np.float64
        assert set(np.unique(v)) <= set(range(k)) and np.all(v == np.round(v))
    counts = np.zeros_like(p)
    np.add.at(counts, (x[:, 0].astype(int), y[:, 0].astype(int), z[:, 0].astype(int)), 1)
    assert np.max(np.abs(counts / 50_000 - p)) < 5 * math.sqrt(0.25 / 50_000)
    within_4se(task.log_ratio(x, y, z), task.cmi)


def test_ci_tables_have_zero_cmi_but_dependent_x_and_y():
    for name in CMI_TASKS:
        if name.endswith("ci=1"):
            task = synthetic.get_task(name)
            assert task.cmi == 0.0 and task.mi > 0


# --------------------------------------------------------------------------- discrete MI
@pytest.mark.parametrize("name", [n for n in DISCRETE_TASKS if n.startswith("discrete:")]
                         + ["discrete:kx=3,ky=7,seed=11,alpha=0.05"])
def test_discrete_table_truth_by_entropies_bounds_and_samples(name):
    task = synthetic.get_task(name)
    assert isinstance(task, DiscreteTable) and task.name == name and task.mi_stderr == 0
    p = task.pmf
    np.testing.assert_allclose(p.ravel(), np.random.default_rng(task.seed).dirichlet(
        np.full(p.size, task.alpha)), rtol=1e-12)
    hx, hy = H(p.sum(1)), H(p.sum(0))
    assert task.hx == pytest.approx(hx, abs=1e-12) and task.hy == pytest.approx(hy, abs=1e-12)
    assert task.mi == pytest.approx(hx + hy - H(p.ravel()), abs=1e-10)
    assert 0 <= task.mi <= min(task.hx, task.hy)
    x, y = task.sample(40_000, seed=2)
    assert set(np.unique(x)) <= set(range(task.kx)) and set(np.unique(y)) <= set(range(task.ky))
    within_4se(task.log_ratio(x, y), task.mi)
    # the oracle score matrix is the table itself
    grid_x = np.arange(task.kx, dtype=float)[:, None, None]
    grid_y = np.arange(task.ky, dtype=float)[None, :, None]
    expect = np.log(p) - np.log(p.sum(1))[:, None] - np.log(p.sum(0))[None, :]
    np.testing.assert_allclose(task.log_ratio(grid_x, grid_y), expect, atol=1e-12)


def test_discrete_log_ratio_refuses_values_off_the_support():
    task = synthetic.get_task("discrete:kx=5,ky=5,seed=0")
    for bad in (0.5, 5.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="integer levels 0..4"):
            task.log_ratio(np.array([[bad]]), np.array([[1.0]]))


def test_discrete_pairs_sum_their_tables():
    task = synthetic.get_task("discrete-pairs:pairs=3,k=5,seed=0")
    assert isinstance(task, DiscretePairs) and task.dim_x == task.dim_y == 3
    parts = [synthetic.get_task(f"discrete:kx=5,ky=5,seed={s}") for s in (0, 1, 2)]
    assert task.mi == pytest.approx(sum(t.mi for t in parts), abs=1e-12)
    assert task.hx == pytest.approx(sum(t.hx for t in parts), abs=1e-12)
    x, y = task.sample(30_000, seed=4)
    assert x.shape == y.shape == (30_000, 3)
    # columns are independent pairs: column j of (x, y) follows table j
    for j, t in enumerate(parts):
        freq = np.zeros((5, 5))
        np.add.at(freq, (x[:, j].astype(int), y[:, j].astype(int)), 1)
        assert np.max(np.abs(freq / 30_000 - t.pmf)) < 5 * math.sqrt(0.25 / 30_000)
    within_4se(task.log_ratio(x, y), task.mi)


# --------------------------------------------------------------------------- mixed
def grid_mi(task):
    """h(Y) on a dense uniform grid (numpy trapezoid), independent of the quad path."""
    lo, hi = task.means.min() - 15 * task.sigma, task.means.max() + 15 * task.sigma
    y = np.linspace(lo, hi, 400_001)
    dens = np.exp(-0.5 * ((y[:, None] - task.means) / task.sigma) ** 2).sum(1) \
        / (task.k * task.sigma * math.sqrt(2 * math.pi))
    f = np.where(dens > 0, -dens * np.log(np.where(dens > 0, dens, 1)), 0)
    h = float(np.sum((f[1:] + f[:-1]) * 0.5 * np.diff(y)))
    return h - 0.5 * math.log(2 * math.pi * math.e * task.sigma**2)


@pytest.mark.parametrize("name", [n for n in DISCRETE_TASKS if n.startswith("mixed")]
                         + ["mixed:k=3,sigma=0.05"])
def test_mixed_truth_by_grid_and_monte_carlo(name):
    task = synthetic.get_task(name)
    assert isinstance(task, MixedGaussian) and task.name == name
    assert 0 <= task.mi_stderr < 1e-9
    assert task.mi == pytest.approx(grid_mi(task), abs=1e-7)
    assert 0 < task.mi <= math.log(task.k)
    x, y = task.sample(50_000, seed=5)
    assert set(np.unique(x)) <= set(range(task.k))
    within_4se(task.log_ratio(x, y), task.mi, task.mi_stderr)


def test_mixed_means_and_limits():
    assert np.array_equal(MixedGaussian(4, 1.0).means, np.arange(4.0))
    jitter = MixedGaussian(4, 1.0, seed=1).means - np.arange(4)
    assert np.all(np.abs(jitter) <= 0.3)
    assert MixedGaussian(3, 0.02).mi == pytest.approx(math.log(3), abs=1e-9)  # separated: I = H(X)
    assert MixedGaussian(2, 100.0).mi < 1e-4


# --------------------------------------------------------------------------- zero-inflated
@pytest.mark.parametrize("name", [n for n in DISCRETE_TASKS if n.startswith("zero-inflated")])
def test_zero_inflated_truth_by_chain_rule_and_monte_carlo(name):
    task = synthetic.get_task(name)
    assert isinstance(task, ZeroInflatedGaussian) and task.name == name
    p, r = task.p, task.rho
    # B = 1[X=0] = 1[Y=0] a.s.: I(X;Y) = I(B;Y) + I(X;Y|B) = H(B) + (1-p) I_Gauss(r)
    assert task.mi == pytest.approx(H([p, 1 - p]) + (1 - p) * (-0.5 * math.log(1 - r * r)), abs=1e-12)
    n = 200_000
    x, y = task.sample(n, seed=6)
    atom = x[:, 0] == 0
    assert np.array_equal(atom, y[:, 0] == 0)
    assert abs(atom.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    lr = task.log_ratio(x, y)
    assert np.all(np.isfinite(lr)) and np.all(lr[atom] == -math.log(p))
    within_4se(lr, task.mi)
    # on the axes (one coordinate at the atom) P_XY has no mass: ratio 0
    assert task.log_ratio(np.array([[0.0]]), np.array([[0.7]]))[0] == -np.inf
    assert task.log_ratio(np.array([[0.3]]), np.array([[0.0]]))[0] == -np.inf


# --------------------------------------------------------------------------- registry
def test_default_listing_holds_discrete_tasks_but_not_cmi_tasks():
    default = synthetic.list_tasks()
    assert set(DISCRETE_TASKS) <= set(default) and not set(CMI_TASKS) & set(default)
    assert synthetic.list_tasks("discrete") == DISCRETE_TASKS
    assert synthetic.list_tasks("cmi") == CMI_TASKS
    assert len(CMI_TASKS) == len(set(CMI_TASKS)) == 54 and len(DISCRETE_TASKS) == 22   # 36 + 18 nonlinear
    cmi_points = {(n.split(",dz=")[1].split(",")[0], n.split("cmi=")[1].split(",")[0])
                  for n in CMI_TASKS if n.startswith("gaussian-cmi")}
    assert cmi_points == {(dz, c) for dz in ("1", "3", "10") for c in ("0", "0.5", "1", "2")}
    for name in ("discrete:kx=2,ky=2,seed=0", "discrete:kx=5,ky=5,seed=0", "discrete:kx=20,ky=20,seed=0"):
        assert name in DISCRETE_TASKS
    assert any(n.startswith("mixed:") for n in DISCRETE_TASKS)
    assert any(n.startswith("zero-inflated:") for n in DISCRETE_TASKS)


@pytest.mark.parametrize("group", ["cmi", "discrete"])
def test_choose_and_report_halves_follow_the_documented_rule(group):
    from synthetic.registry import _TWINS

    choose, report = synthetic.choose_tasks(group), synthetic.report_tasks(group)
    assert len(choose) == len(report) == len(_TWINS[group])
    assert not set(choose) & set(report)
    assert sorted(choose + report) == sorted(synthetic.list_tasks(group))
    assert synthetic.list_tasks(f"{group}-choose") == choose
    assert synthetic.list_tasks(f"{group}-report") == report
    key = lambda name: hashlib.sha256(("issue18:" + name).encode()).hexdigest()  # noqa: E731
    for a, b in _TWINS[group]:
        pick = min((a, b), key=key)
        assert pick in choose and ({a, b} - {pick}).pop() in report
    with pytest.raises(ValueError, match="valid choices: cmi, discrete"):
        synthetic.choose_tasks("gaussian")


def test_listed_names_are_canonical_and_build_the_right_kind():
    for name in CMI_TASKS:
        task = synthetic.get_task(name)
        assert isinstance(task, CMITask) and task.name == name
        assert not isinstance(task, synthetic.Task)
    for name in DISCRETE_TASKS:
        task = synthetic.get_task(name)
        assert isinstance(task, synthetic.Task) and task.name == name


@pytest.mark.parametrize("name", ["gaussian-cmi:dx=2,dy=2,dz=3,cmi=1", "discrete-cmi:kx=3,ky=3,kz=2,seed=0",
                                  "discrete:kx=3,ky=4,seed=0", "discrete-pairs:pairs=2,k=3,seed=0",
                                  "mixed:k=3,sigma=0.5,seed=2", "zero-inflated:p=0.3,rho=0.5"])
def test_sampling_is_seeded_and_float64(name):
    task = synthetic.get_task(name)
    a, b, c = task.sample(64, seed=9), task.sample(64, seed=9), task.sample(64, seed=10)
    for u, v in zip(a, b):
        assert u.dtype == np.float64 and u.ndim == 2 and u.shape[0] == 64
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, w) for u, w in zip(a, c))
    assert len(a) == (3 if isinstance(task, CMITask) else 2)


@pytest.mark.parametrize(("name", "match"), [
    ("gaussian-cmi:dx=1,dy=1,dz=11,cmi=1", "dz must be an integer in \\[1, 10\\]"),
    ("gaussian-cmi:dx=1,dy=1,dz=1,cmi=-1", "cmi must be"),
    ("gaussian-cmi:dx=1,dy=1,dz=1", "takes parameters \\['cmi', 'dx', 'dy', 'dz'\\].*missing \\['cmi'\\]"),
    ("gaussian-cmi:dx=1,dy=1,dz=1,cmi=1,rho=2", "optional \\['mix'\\].*unknown \\['rho'\\]"),
    ("gaussian-cmi:dx=1,dy=1,dz=1,cmi=1,mix=-1", "mix must be"),
    ("gaussian-cmi:dx=1,dy=1,dz=1,cmi=1000", "cmi = 1000|cmi must be"),
    ("discrete-cmi:kx=2,ky=2,kz=2,seed=0,ci=2", "ci must be an integer in \\[0, 1\\]"),
    ("discrete-cmi:kx=2,ky=2,seed=0", "missing \\['kz'\\]"),
    ("discrete:kx=1,ky=2,seed=0", "kx must be an integer"),
    ("discrete:kx=2.5,ky=2,seed=0", "kx must be an integer"),
    ("discrete:kx=2,ky=2,seed=0,alpha=0", "alpha must be"),
    ("discrete:kx=2,ky=2", "missing \\['seed'\\]"),
    ("discrete-pairs:pairs=0,k=3,seed=0", "pairs must be"),
    ("mixed:k=3,sigma=0", "sigma must be"),
    ("mixed:k=3,sigma=1,mu=2", "unknown \\['mu'\\]"),
    ("zero-inflated:p=1,rho=0.5", "p must be a finite number in \\(0, 1\\)"),
    ("zero-inflated:p=0.5,rho=1", "rho must be"),
    ("cubic-gaussian-cmi:dx=1,dy=1,dz=1,cmi=1", "two-variable tasks only"),
    ("gausian-cmi:dx=1,dy=1,dz=1,cmi=1", "unknown task.*gaussian-cmi"),
])
def test_bad_names_raise_value_error(name, match):
    with pytest.raises(ValueError, match=match):
        synthetic.get_task(name)


def test_cmi_tasks_without_known_mi_say_so():
    class Bare(CMITask):
        name, dim_x, dim_y, dim_z = "bare", 1, 1, 1
        cmi = 0.0

        def sample(self, n, seed=None):
            raise NotImplementedError

        def log_ratio(self, x, y, z):
            raise NotImplementedError

    with pytest.raises(NotImplementedError, match="no known I\\(X; Y\\)"):
        Bare().mi
    assert "dim_z=1" in repr(Bare())


@pytest.mark.parametrize("name", ["nonlinear-cmi:dx=1,dy=1,dz=3,cmi=0.5", "nonlinear-cmi:dx=2,dy=2,dz=5,cmi=1,mix=0.7",
                                  "nonlinear-cmi:dx=1,dy=1,dz=1,cmi=0"])
def test_nonlinear_cmi_truth_is_the_mean_exact_log_ratio_and_its_copula_is_not_gaussian(name):
    import synthetic

    task = synthetic.get_task(name)
    x, y, z = task.sample(100_000, seed=3)
    lr = task.log_ratio(x, y, z)
    assert abs(lr.mean() - task.cmi) < 4 * lr.std() / np.sqrt(lr.size) + 1e-12
    assert x.shape == (100_000, task.dim_x) and z.shape == (100_000, task.dim_z)
    with pytest.raises(NotImplementedError):
        task.mi
    # the warp bends E[X | Z]: a linear regression of x on z leaves structure a sine feature explains
    resid = x[:, 0] - z @ np.linalg.lstsq(z, x[:, 0], rcond=None)[0]
    assert abs(np.corrcoef(resid, np.sin(2 * z @ task.A[0]))[0, 1]) > 0.3

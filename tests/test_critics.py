"""Critics produce the (K, B, B) score matrix T_k(x_i, y_j); ensembles equal separate critics."""
import pytest
import torch

from mi_estimators.critics import list_critics, make_critic

NAMES = ["separable", "joint", "concat", "bilinear", "fgaussian"]


def _data(b=7, dx=3, dy=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, dx, generator=g, dtype=torch.float64),
            torch.randn(b, dy, generator=g, dtype=torch.float64))


def _mlp(mlp, k, h):
    """Reference forward pass of member k of a BatchedMLP, one sample at a time semantics."""
    n = mlp.n_layers
    for i in range(n):
        h = h @ mlp.weights[i][k] + mlp.biases[i][k, 0]
        if i < n - 1:
            h = torch.relu(h)
    return h


def test_list_critics_names_the_required_critics():
    assert set(NAMES) <= set(list_critics())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 3])
def test_scores_have_shape_members_by_batch_by_batch(name, k):
    x, y = _data()
    critic = make_critic(name, 3, 2, hidden=(8,), embed_dim=4, n_critics=k, dtype=torch.float64)
    s_shared = critic(x, y)
    assert s_shared.shape == (k, 7, 7)
    s_stacked = critic(x.expand(k, -1, -1), y.expand(k, -1, -1))
    torch.testing.assert_close(s_shared, s_stacked)


@pytest.mark.parametrize("name", NAMES)
def test_ensemble_member_k_equals_single_critic_with_seed_plus_k(name):
    x, y = _data()
    ens = make_critic(name, 3, 2, hidden=(8, 8), embed_dim=4, n_critics=4, seed=10, dtype=torch.float64)
    s = ens(x, y)
    for k in range(4):
        single = make_critic(name, 3, 2, hidden=(8, 8), embed_dim=4, n_critics=1, seed=10 + k,
                             dtype=torch.float64)
        for (n1, p_ens), (n2, p_one) in zip(ens.named_parameters(), single.named_parameters()):
            assert n1 == n2
            torch.testing.assert_close(p_ens[k], p_one[0], rtol=0, atol=0)
        torch.testing.assert_close(s[k], single(x, y)[0], rtol=1e-12, atol=1e-12)


def test_members_with_different_seeds_differ():
    x, y = _data()
    s = make_critic("separable", 3, 2, hidden=(8,), n_critics=2)(x.float(), y.float())
    assert not torch.allclose(s[0], s[1])


def test_joint_critic_equals_mlp_on_each_concatenated_pair():
    x, y = _data()
    critic = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=2, dtype=torch.float64)
    s = critic(x, y)
    for k in range(2):
        ref = torch.stack([torch.stack([_mlp(critic.mlp, k, torch.cat([xi, yj]))[0] for yj in y]) for xi in x])
        torch.testing.assert_close(s[k], ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_chunked_joint_critic_equals_unchunked(chunk):
    x, y = _data()
    full = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=2, dtype=torch.float64)
    chunked = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=2, chunk_size=chunk, dtype=torch.float64)
    torch.testing.assert_close(full(x, y), chunked(x, y), rtol=1e-12, atol=1e-12)


def test_joint_critic_scores_large_batches_in_blocks_without_autograd(monkeypatch):
    import mi_estimators.critics as C

    x, y = _data(b=40)
    critic = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=2, dtype=torch.float64)
    full = critic(x, y)
    monkeypatch.setattr(C, "_EVAL_FLOATS", 2 * 40 * 8 * 3)   # forces blocks of 3 rows
    with torch.no_grad():
        blocked = critic(x, y)
    torch.testing.assert_close(full.detach(), blocked, rtol=1e-12, atol=1e-12)


def test_separable_scores_are_embedding_inner_products_and_cosine_is_bounded_by_inverse_temperature():
    x, y = _data()
    critic = make_critic("separable", 3, 2, hidden=(8,), embed_dim=4, dtype=torch.float64)
    ref = _mlp(critic.g, 0, x) @ _mlp(critic.h, 0, y).T
    torch.testing.assert_close(critic(x, y)[0], ref)
    cos = make_critic("separable", 3, 2, hidden=(8,), embed_dim=4, cosine=True, temperature=0.25,
                      dtype=torch.float64)
    s = cos(x, y)
    assert s.abs().max() <= 4.0 + 1e-12
    gx = torch.nn.functional.normalize(_mlp(cos.g, 0, x), dim=-1)
    hy = torch.nn.functional.normalize(_mlp(cos.h, 0, y), dim=-1)
    torch.testing.assert_close(s[0], gx @ hy.T / 0.25)


def test_bilinear_without_hidden_layers_is_x_transpose_w_y():
    x, y = _data()
    critic = make_critic("bilinear", 3, 2, hidden=(), dtype=torch.float64)
    torch.testing.assert_close(critic(x, y)[0], x @ critic.W[0] @ y.T)


def test_fgaussian_is_negative_scaled_squared_distance_plus_log_normaliser():
    x, y = _data()
    critic = make_critic("fgaussian", 3, 2, hidden=(8,), embed_dim=4, sigma=0.7, dtype=torch.float64)
    with torch.no_grad():
        critic.log_norm.fill_(0.3)
    d2 = torch.cdist(_mlp(critic.g, 0, x), _mlp(critic.h, 0, y)) ** 2
    torch.testing.assert_close(critic(x, y)[0], 0.3 - d2 / (2 * 0.7**2))
    assert (critic(x, y) <= 0.3 + 1e-12).all()


def test_same_seed_gives_identical_critic():
    x, y = _data()
    a = make_critic("joint", 3, 2, hidden=(8,), seed=5, dtype=torch.float64)(x, y)
    b = make_critic("joint", 3, 2, hidden=(8,), seed=5, dtype=torch.float64)(x, y)
    assert torch.equal(a, b)


def test_gradients_flow_to_every_parameter():
    x, y = _data()
    for name in NAMES:
        critic = make_critic(name, 3, 2, hidden=(8,), embed_dim=4, n_critics=2, dtype=torch.float64)
        critic(x, y).sum().backward()
        for pname, p in critic.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (name, pname)


def test_unknown_critic_lists_valid_names():
    with pytest.raises(ValueError, match="unknown critic 'seperable'.*did you mean 'separable'.*bilinear"):
        make_critic("seperable", 2, 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(hidden=(0,)), "hidden"),
    (dict(embed_dim=0), "embed_dim"),
    (dict(n_critics=0), "n_critics"),
    (dict(activation="sigmoidish"), "unknown activation"),
    (dict(sigma=1.0), "unknown option"),
])
def test_bad_critic_options_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_critic("separable", 2, 2, **kwargs)


def test_wrong_input_shape_raises():
    critic = make_critic("separable", 3, 2, hidden=(4,))
    with pytest.raises(ValueError, match="x must have shape"):
        critic(torch.randn(5, 4), torch.randn(5, 2))
    with pytest.raises(ValueError, match="batches differ"):
        critic(torch.randn(5, 3), torch.randn(6, 2))


def test_joint_ensemble_scored_in_member_blocks_equals_unblocked(monkeypatch):
    import mi_estimators.critics as C

    x, y = _data()
    full = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=5, seed=3, dtype=torch.float64)(x, y)
    monkeypatch.setattr(C, "_MEMBER_BLOCK_FLOATS", 2 * x.shape[0] ** 2 * 8)   # blocks of 2 members
    blocked = make_critic("joint", 3, 2, hidden=(8, 5), n_critics=5, seed=3, dtype=torch.float64)(x, y)
    torch.testing.assert_close(full, blocked, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["infonce", "nwj", "dv"])
def test_mean_score_ensemble_is_the_members_mean_and_at_least_their_mean_value(name):
    """MeanScoreEnsemble returns the (1, B, B) mean of the members' scores. InfoNCE, NWJ and DV
    are concave in the score matrix (a linear term minus a convex one), so by Jensen the bound
    at the mean score is >= the mean of the members' values on every batch: the ensemble critic
    is at least as tight as averaging the members' estimates, exactly, not only on average."""
    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import MeanScoreEnsemble

    torch.manual_seed(0)
    crit = make_critic("separable", 3, 2, hidden=(8,), embed_dim=4, n_critics=5, seed=1, dtype=torch.float64)
    ens = MeanScoreEnsemble(crit)
    assert ens.n_critics == 1
    bound = get_bound(name)
    gaps = []
    with torch.no_grad():
        for _ in range(20):
            x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
            s = crit(x, y)
            m = ens(x, y)
            assert m.shape == (1, 16, 16)
            torch.testing.assert_close(m[0], s.mean(0))
            gaps.append(float(bound.estimate(m)[0] - bound.estimate(s).mean()))
    assert min(gaps) >= -1e-12 and max(gaps) > 1e-3, gaps
    with pytest.raises(ValueError, match="wraps a critic"):
        MeanScoreEnsemble(torch.nn.Linear(2, 2))

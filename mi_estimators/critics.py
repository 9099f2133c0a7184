r"""Critics: neural networks that score every pair of a batch, ``scores[k, i, j] = T_k(x_i, y_j)``.

A critic maps a batch of B joint samples to the B×B score matrix that every bound in
:mod:`mi_estimators.bounds` consumes (diagonal = joint pairs, off-diagonal = pairs from
the product of marginals). Critics know nothing of bounds.

Every critic here is an **ensemble of K independent critics held as one module**: each
weight has a leading member axis, ``(K, in, out)``, and layers run as batched matmuls
(:func:`torch.baddbmm`), so K critics cost one forward pass of K-wide kernels rather
than K Python-level passes. ``K = 1`` is the ordinary single critic. Member ``k`` is
initialised from its own ``torch.Generator`` seeded ``seed + k`` exactly as a one-member
critic built with that seed, so an ensemble reproduces K separate runs member-wise.

Inputs are ``x`` of shape ``(B, d_x)`` (shared by all members) or ``(K, B, d_x)`` (one
batch per member); likewise ``y``. The output is always ``(K, B, B)``.

Available critics (:func:`make_critic` builds them by name, :func:`list_critics` lists them):

``separable``
    :math:`T(x, y) = g(x)^\top h(y)`, or with ``cosine=True``
    :math:`\cos(g(x), h(y)) / \tau`. Two MLP encoders to ``embed_dim``; O(B) network
    evaluations per batch. Poole et al. (2019), Oord et al. (2018).
``joint`` (alias ``concat``)
    :math:`T(x, y) = \mathrm{MLP}([x; y])` evaluated on all B² pairs. The first layer is
    split, :math:`W [x_i; y_j] = W_x x_i + W_y y_j`, so layer 1 costs O(B) matmuls and the
    B² pre-activations are a broadcast add; deeper layers cost O(B²). ``chunk_size``
    bounds memory at large B by scoring blocks of rows. Belghazi et al. (2018), MINE.
``bilinear``
    :math:`T(x, y) = g(x)^\top W h(y)` with MLP feature maps ``g, h``; ``hidden=()`` gives
    the classic linear critic :math:`x^\top W y` (no encoders).
``fgaussian``
    The f-Gaussian kernel critic of f-MICL (Lu et al., TMLR 2023, math_spec §3b):
    :math:`T(x, y) = -\lVert g(x) - h(y) \rVert^2 / (2\sigma^2) + b`, with a learned
    log-normaliser ``b`` per member and a fixed width ``sigma``.
``conditional-gaussian``
    A density model, not a ratio critic: :math:`T(x, y) = \log q(y \mid x) - \log m(y)` with
    :math:`q(y \mid x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma^2(x))` (one MLP gives μ and
    log σ²) and a reference marginal density m of y that gets no gradient from the scores:
    the batch's own Gaussian (``marginal="gaussian"``), a learned Gaussian mixture
    (``marginal="mixture"``, fitted by maximum likelihood through ``auxiliary_loss``) or none
    (``marginal="none"``, m ≡ 1). The
    generative bounds (``club``, ``l1out``, ``ba``, ``doe``) need it. Cheng et al. (2020), CLUB;
    McAllester & Stratos (2020).

Failure modes: separable critics can only represent log-ratios of (low) rank
``embed_dim``; joint critics cost O(B²·H) per layer and may overfit small data sets.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from mi_estimators._checks import check_choice, check_int

__all__ = [
    "BatchedMLP",
    "Critic",
    "SeparableCritic",
    "JointCritic",
    "BilinearCritic",
    "FGaussianCritic",
    "ConditionalGaussianCritic",
    "MARGINALS",
    "MIXTURE_COMPONENTS",
    "gaussian_entropy_bias",
    "MeanScoreEnsemble",
    "make_critic",
    "list_critics",
    "ACTIVATIONS",
]

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "elu": nn.functional.elu,
    "gelu": nn.functional.gelu,
    "silu": nn.functional.silu,
    "tanh": torch.tanh,
    "leaky_relu": nn.functional.leaky_relu,
    "softplus": nn.functional.softplus,
}


def _check_hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        hidden = tuple(hidden)
    except TypeError:
        raise ValueError(f"hidden must be a sequence of layer widths, e.g. (256, 256); got {hidden!r}") from None
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ValueError(f"hidden must contain positive integers (layer widths), got {hidden!r}")
    return hidden


def _uniform(generators: Sequence[torch.Generator], shape, bound: float, dtype) -> Tensor:
    """Stack one ``U(-bound, bound)`` draw of ``shape`` per member generator -> (K, *shape)."""
    draws = [
        (torch.rand(shape, generator=g, dtype=torch.float64) * 2.0 - 1.0) * bound for g in generators
    ]
    return torch.stack(draws).to(dtype)


class BatchedMLP(nn.Module):
    """K independent MLPs with stacked weights ``(K, in, out)``; input ``(K, N, in)`` -> ``(K, N, out)``.

    Initialisation matches :class:`torch.nn.Linear` (weights and biases
    ``U(-1/sqrt(in), 1/sqrt(in))``), drawn layer by layer from each member's generator.
    ``widths = (in, h1, ..., out)``; the activation follows every layer but the last.
    """

    def __init__(self, widths: Sequence[int], generators: Sequence[torch.Generator],
                 activation: str = "relu", dtype=torch.float32):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self._act = ACTIVATIONS[activation]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(_uniform(generators, (fan_in, fan_out), bound, dtype)))
            self.biases.append(nn.Parameter(_uniform(generators, (1, fan_out), bound, dtype)))

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def layer(self, i: int, h: Tensor) -> Tensor:
        """Affine layer ``i`` on ``h`` of shape (K, N, in) (no activation)."""
        return torch.baddbmm(self.biases[i], h, self.weights[i])

    def forward(self, h: Tensor, start: int = 0) -> Tensor:
        """Run layers ``start, start+1, ...`` (activation between layers, none after the last)."""
        n = self.n_layers
        for i in range(start, n):
            h = self.layer(i, h)
            if i < n - 1:
                h = self._act(h)
        return h


class Critic(nn.Module):
    """Base class: an ensemble of ``n_critics`` critics producing ``(K, B, B)`` scores.

    Subclasses implement :meth:`scores` on inputs already shaped ``(K, B, d)``.
    """

    name: str = "critic"

    def __init__(self, dim_x: int, dim_y: int, *, n_critics: int = 1, seed: int = 0,
                 activation: str = "relu", dtype=torch.float32):
        super().__init__()
        self.dim_x = check_int("dim_x", dim_x)
        self.dim_y = check_int("dim_y", dim_y)
        self.n_critics = check_int("n_critics", n_critics)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.seed = int(seed)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        self.dtype = dtype
        # one generator per member, consumed in a fixed order by the subclass constructor
        self._generators = [torch.Generator().manual_seed(self.seed + k) for k in range(self.n_critics)]

    def _shape(self, t: Tensor, dim: int, label: str) -> Tensor:
        if not isinstance(t, Tensor):
            raise ValueError(f"{label} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim == 2:
            t = t.unsqueeze(0).expand(self.n_critics, -1, -1)
        if t.ndim != 3 or t.shape[0] != self.n_critics or t.shape[-1] != dim:
            raise ValueError(
                f"{label} must have shape (B, {dim}) or ({self.n_critics}, B, {dim}); got {tuple(t.shape)}"
            )
        return t

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Score matrix ``(K, B, B)`` with ``[k, i, j] = T_k(x_i, y_j)``."""
        x = self._shape(x, self.dim_x, "x")
        y = self._shape(y, self.dim_y, "y")
        if x.shape[1] != y.shape[1]:
            raise ValueError(f"x and y batches differ in size: {x.shape[1]} vs {y.shape[1]}")
        return self.scores(x, y)

    def scores(self, x: Tensor, y: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"dim_x={self.dim_x}, dim_y={self.dim_y}, n_critics={self.n_critics}, seed={self.seed}"


class SeparableCritic(Critic):
    r"""Separable critic :math:`T(x, y) = g(x)^\top h(y)` (or :math:`\cos(g(x), h(y))/\tau`).

    ``g`` and ``h`` are MLPs ``dim -> hidden... -> embed_dim``. The optimum is reachable only
    if the log density ratio has a rank-``embed_dim`` factorisation up to the bound's
    allowed shifts; with ``cosine=True`` scores are bounded by ``1/temperature``, which caps
    every estimate (InfoNCE-style estimates need ``2/temperature`` of score range).
    Poole et al. (2019), "On variational bounds of mutual information".
    """

    name = "separable"

    def __init__(self, dim_x, dim_y, *, hidden=(256, 256), embed_dim=32, cosine=False,
                 temperature=1.0, **kw):
        super().__init__(dim_x, dim_y, **kw)
        self.hidden = _check_hidden(hidden)
        self.embed_dim = check_int("embed_dim", embed_dim)
        self.cosine = bool(cosine)
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        self.temperature = float(temperature)
        g = self._generators
        self.g = BatchedMLP((self.dim_x, *self.hidden, self.embed_dim), g, self.activation, self.dtype)
        self.h = BatchedMLP((self.dim_y, *self.hidden, self.embed_dim), g, self.activation, self.dtype)

    def scores(self, x, y):
        gx, hy = self.g(x), self.h(y)
        if self.cosine:
            gx = nn.functional.normalize(gx, dim=-1)
            hy = nn.functional.normalize(hy, dim=-1) / self.temperature
        return torch.bmm(gx, hy.transpose(1, 2))


class JointCritic(Critic):
    r"""Joint ("concat") critic :math:`T(x, y) = \mathrm{MLP}([x; y])` on all B² pairs.

    The first affine layer is split, :math:`W[x_i; y_j] + b = (W_x x_i + b) + W_y y_j`:
    per-sample projections ``(K, B, H)`` are broadcast-added into ``(K, B, B, H)``, so layer
    1 costs O(B) matmuls; the remaining layers run as batched matmuls on the ``B²`` rows.
    The weights are exactly those of an MLP on the concatenation (same initialisation).
    ``chunk_size`` (rows of the score matrix per block) bounds the memory of the hidden
    activations to ``K * chunk_size * B * H`` floats; by default all rows at once when
    gradients are recorded, and blocks of at most ~2**22 activation floats under
    ``torch.no_grad()`` (evaluation at large B, e.g. B = 4096). Ensemble members are scored
    in blocks of members whose activations stay under ~2**22 floats (one member at a time at
    B = 128, H = 256), so a K-member ensemble costs no more than K separate critics. Universal approximator
    of the log-ratio, at O(B²·H²) cost per batch. Belghazi et al. (2018); Poole et al. (2019).
    """

    name = "joint"

    def __init__(self, dim_x, dim_y, *, hidden=(256, 256), chunk_size=None, **kw):
        super().__init__(dim_x, dim_y, **kw)
        self.hidden = _check_hidden(hidden)
        if not self.hidden:
            raise ValueError("the joint critic needs at least one hidden layer, e.g. hidden=(256, 256)")
        if chunk_size is not None:
            chunk_size = check_int("chunk_size", chunk_size)
        self.chunk_size = chunk_size
        self.mlp = BatchedMLP((self.dim_x + self.dim_y, *self.hidden, 1), self._generators,
                              self.activation, self.dtype)

    def scores(self, x, y):
        k, b, _ = x.shape
        # Members are scored in blocks of ``kb`` whose (kb, B, B, H) activations stay under
        # _MEMBER_BLOCK_FLOATS on a CPU (_ACCELERATOR_BLOCK_FLOATS on a GPU): one (K, B², H)
        # tensor for a whole ensemble is slower per member than K separate runs on a CPU
        # (0.45x at K = 16, B = 128: tensors past glibc's 32 MiB mmap threshold are
        # page-faulted in afresh at every step). Each block is the same computation as a
        # separate critic, so members stay equal to separate runs.
        kb = max(1, min(k, _block_floats(x.device, _MEMBER_BLOCK_FLOATS) // (b * b * max(self.hidden))))
        if kb >= k:
            return self._block_scores(x, y, list(self.mlp.weights), list(self.mlp.biases))
        return torch.cat([
            self._block_scores(x[s:s + kb], y[s:s + kb], [w[s:s + kb] for w in self.mlp.weights],
                               [c[s:s + kb] for c in self.mlp.biases])
            for s in range(0, k, kb)
        ])

    def _block_scores(self, x, y, weights, biases):
        """Scores ``(k, B, B)`` of the members whose stacked weights/biases are given."""
        k, b, _ = x.shape
        w1, b1 = weights[0], biases[0]
        px = torch.baddbmm(b1, x, w1[:, : self.dim_x])      # (k, B, H)
        py = torch.bmm(y, w1[:, self.dim_x:])                 # (k, B, H)
        act = self.mlp._act
        n = len(weights)
        step = self.chunk_size
        if step is None:
            # without autograd (evaluation) nothing needs the activations later: score blocks of
            # rows so the hidden activations stay under ~2**22 floats whatever B is
            rows = _block_floats(x.device, _EVAL_FLOATS) // (k * b * max(self.hidden))
            step = b if torch.is_grad_enabled() else max(1, min(b, rows))
        blocks = []
        for start in range(0, b, step):
            h = act(px[:, start:start + step, None, :] + py[:, None, :, :])  # (k, c, B, H)
            c = h.shape[1]
            h = h.reshape(k, c * b, -1)
            for i in range(1, n):
                h = torch.baddbmm(biases[i], h, weights[i])
                if i < n - 1:
                    h = act(h)
            blocks.append(h.reshape(k, c, b))                               # (k, c, B)
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)


_EVAL_FLOATS = 2**22   # rows per block under no_grad: 2**26 is 2x slower at B = 512 (mmap'd blocks)
_MEMBER_BLOCK_FLOATS = 2**22   # 16 MiB of float32 activations per member block
# On a GPU, blocks only serialise work that one launch could do (and the caching allocator
# reuses memory, so the CPU's page-fault cost does not exist): 2**26 floats (256 MiB of
# float32 per activation tensor) keep a 16-member ensemble at B = 128, H = 256 in one block.
_ACCELERATOR_BLOCK_FLOATS = 2**26


def _block_floats(device: torch.device, cpu_budget: int) -> int:
    """Activation floats per block (members under autograd, rows under no_grad) on ``device``."""
    return cpu_budget if device.type == "cpu" else _ACCELERATOR_BLOCK_FLOATS


class BilinearCritic(Critic):
    r"""Bilinear critic :math:`T(x, y) = g(x)^\top W h(y)`.

    ``g, h`` are MLP feature maps to ``embed_dim``; with ``hidden=()`` they are omitted and
    the critic is the classic linear-in-each-argument :math:`x^\top W y`, which is optimal
    for jointly Gaussian data up to the quadratic terms (Poole et al., 2019).
    """

    name = "bilinear"

    def __init__(self, dim_x, dim_y, *, hidden=(256, 256), embed_dim=32, **kw):
        super().__init__(dim_x, dim_y, **kw)
        self.hidden = _check_hidden(hidden)
        self.embed_dim = check_int("embed_dim", embed_dim)
        g = self._generators
        if self.hidden:
            self.g = BatchedMLP((self.dim_x, *self.hidden, self.embed_dim), g, self.activation, self.dtype)
            self.h = BatchedMLP((self.dim_y, *self.hidden, self.embed_dim), g, self.activation, self.dtype)
            ex = ey = self.embed_dim
        else:
            self.g = self.h = None
            ex, ey = self.dim_x, self.dim_y
        self.W = nn.Parameter(_uniform(g, (ex, ey), 1.0 / math.sqrt(ex), self.dtype))

    def scores(self, x, y):
        gx = self.g(x) if self.g is not None else x
        hy = self.h(y) if self.h is not None else y
        return torch.bmm(torch.bmm(gx, self.W), hy.transpose(1, 2))


class FGaussianCritic(Critic):
    r"""f-Gaussian kernel critic of f-MICL: :math:`T = -\lVert g(x)-h(y)\rVert^2/(2\sigma^2) + b`.

    The log of a Gaussian kernel between embeddings plus a learned log-normaliser ``b``
    (one scalar per member, initialised at 0), so :math:`\hat r = e^T` is a kernel density
    ratio (math_spec §3b). Squared distances use
    :math:`\lVert u\rVert^2 + \lVert v\rVert^2 - 2u^\top v`, clamped at 0. With KL it
    trains Wang–Isola alignment plus Gaussian-potential uniformity. Lu et al., TMLR 2023.
    """

    name = "fgaussian"

    def __init__(self, dim_x, dim_y, *, hidden=(256, 256), embed_dim=32, sigma=1.0, **kw):
        super().__init__(dim_x, dim_y, **kw)
        self.hidden = _check_hidden(hidden)
        self.embed_dim = check_int("embed_dim", embed_dim)
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma (kernel width) must be a positive number, got {sigma!r}")
        self.sigma = float(sigma)
        g = self._generators
        self.g = BatchedMLP((self.dim_x, *self.hidden, self.embed_dim), g, self.activation, self.dtype)
        self.h = BatchedMLP((self.dim_y, *self.hidden, self.embed_dim), g, self.activation, self.dtype)
        self.log_norm = nn.Parameter(torch.zeros(self.n_critics, 1, 1, dtype=self.dtype))

    def scores(self, x, y):
        gx, hy = self.g(x), self.h(y)
        sq = (gx * gx).sum(-1, keepdim=True) + (hy * hy).sum(-1).unsqueeze(1)
        d2 = torch.baddbmm(sq, gx, hy.transpose(1, 2), alpha=-2.0).clamp_min(0.0)
        return self.log_norm - d2 / (2.0 * self.sigma**2)


#: Reference marginals of :class:`ConditionalGaussianCritic`.
MARGINALS = ("gaussian", "mixture", "none")
#: Components of the learned marginal (``marginal="mixture"``).
MIXTURE_COMPONENTS = 16
#: log σ² of q(y | x) is kept in (−LOG_VAR_LIMIT, LOG_VAR_LIMIT) by a scaled tanh (smooth, ~identity near 0).
LOG_VAR_LIMIT = 20.0
_LOG_2PI = math.log(2.0 * math.pi)


@functools.lru_cache(maxsize=None)
def gaussian_entropy_bias(batch_size: int, dim: int) -> float:
    r"""``E[log det Ĉ] − log det Σ`` for the maximum-likelihood covariance Ĉ of ``batch_size``
    Gaussian samples in ``dim`` dimensions (mean estimated):
    :math:`\sum_{i=1}^{d} \psi\big(\tfrac{B-i}{2}\big) + d \log\tfrac{2}{B}` (Bartlett decomposition;
    e.g. −0.159 at B = 128, d = 5). Subtracted so the batch Gaussian entropy is unbiased."""
    k = torch.arange(1, dim + 1, dtype=torch.float64)
    return float(torch.digamma((batch_size - k) / 2.0).sum()) + dim * math.log(2.0 / batch_size)


def _batch_gaussian_log_density(y: Tensor) -> Tensor:
    r"""``log m̂(y_j)``, shape ``(K, B)``: the Gaussian fitted to the batch ``y`` (K, B, d) by maximum
    likelihood, with log det Ĉ bias-corrected (:func:`gaussian_entropy_bias`), so that
    ``−mean_j log m̂(y_j) = ½ (d log 2πe + log det Ĉ − bias)``, an unbiased estimate of H(Y) for Gaussian
    Y. Data only: no parameter, no gradient."""
    k, b, d = y.shape
    if b <= d:
        raise ValueError(f"the conditional-gaussian critic's batch Gaussian needs batch_size > dim_y; got "
                         f"B = {b} for dim_y = {d}: raise batch_size or use marginal='mixture'")
    with torch.no_grad():
        wide = y.detach() if y.device.type == "mps" else y.detach().to(torch.float64)   # MPS has no float64
        centred = wide - wide.mean(dim=1, keepdim=True)
        cov = centred.transpose(1, 2) @ centred / b
        chol, _ = torch.linalg.cholesky_ex(cov)        # no host sync (CUDA graphs); singular -> NaN below
        z = torch.linalg.solve_triangular(chol, centred.transpose(1, 2), upper=False)   # (K, d, B)
        log_det = 2.0 * chol.diagonal(dim1=-2, dim2=-1).log().sum(-1, keepdim=True)     # (K, 1)
        log_m = -0.5 * (d * _LOG_2PI + log_det - gaussian_entropy_bias(b, d) + (z * z).sum(1))
    return log_m.to(y.dtype)


class ConditionalGaussianCritic(Critic):
    r"""A conditional density model as a critic: :math:`S_{ij} = \log q(y_j \mid x_i) - \log m(y_j)`.

    .. math:: \log q(y \mid x) = -\tfrac12 \sum_d \Big[\log 2\pi + v_d(x)
              + \frac{(y_d - \mu_d(x))^2}{e^{v_d(x)}}\Big]

    μ and v = log σ² come from one MLP ``dim_x -> hidden... -> 2 dim_y`` (``hidden=()``: linear in x,
    exact for jointly Gaussian data); v is kept in (−20, 20) by ``20 tanh(v/20)``. Every pair is
    scored by broadcasting (K, B, B, d): exact, no expanded-square cancellation.

    ``m`` is a reference density of y that receives no gradient from the scores, so minimising
    ``−mean_i S_ii`` (the loss of the generative bounds) is maximum likelihood of q, and the
    column shift −log m(y_j) cancels in ``club`` and ``l1out``. ``marginal="gaussian"`` (default):
    the Gaussian fitted to the batch's y (no parameter; ``−mean_j log m(y_j)`` is the batch's
    bias-corrected Gaussian entropy, :func:`gaussian_entropy_bias`; needs B > dim_y).
    ``marginal="mixture"``: a learned mixture of :data:`MIXTURE_COMPONENTS` diagonal Gaussians per member,
    trained by maximum likelihood through :meth:`auxiliary_loss`, which the trainer adds to the
    bound's loss. ``marginal="none"``: m ≡ 1, S = log q(y_j | x_i) (what ``club`` and ``l1out``, which
    m cannot change, train with: no batch-size limit). With the true q and m = p(y), S = log r: the critic is then also a log-ratio critic.
    Cheng et al., ICML 2020 (CLUB); Poole et al., ICML 2019; McAllester & Stratos, AISTATS 2020.
    """

    name = "conditional-gaussian"

    def __init__(self, dim_x, dim_y, *, hidden=(256, 256), marginal="gaussian", **kw):
        super().__init__(dim_x, dim_y, **kw)
        self.hidden = _check_hidden(hidden)
        self.marginal = check_choice("conditional-gaussian marginal", marginal, MARGINALS)
        g = self._generators
        self.net = BatchedMLP((self.dim_x, *self.hidden, 2 * self.dim_y), g, self.activation, self.dtype)
        if self.marginal == "mixture":
            m, d = MIXTURE_COMPONENTS, self.dim_y
            self.mix_logits = nn.Parameter(torch.zeros(self.n_critics, m, dtype=self.dtype))
            self.mix_means = nn.Parameter(_uniform(g, (m, d), 1.5, self.dtype))
            self.mix_log_scales = nn.Parameter(torch.zeros(self.n_critics, m, d, dtype=self.dtype))

    def conditional(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(μ, log σ²)`` of q(y | x), each ``(K, B, dim_y)``."""
        out = self.net(x)
        mu, raw = out[..., : self.dim_y], out[..., self.dim_y:]
        return mu, LOG_VAR_LIMIT * torch.tanh(raw / LOG_VAR_LIMIT)

    def log_conditional(self, x: Tensor, y: Tensor) -> Tensor:
        """``log q(y_j | x_i)``, shape ``(K, B, B)`` (rows x, columns y)."""
        mu, log_var = self.conditional(x)
        diff = y[:, None, :, :] - mu[:, :, None, :]                  # (K, B, B, d)
        quad = (diff * diff * torch.exp(-log_var)[:, :, None, :]).sum(-1)
        return -0.5 * (self.dim_y * _LOG_2PI + log_var.sum(-1)[:, :, None] + quad)

    def log_marginal(self, y: Tensor) -> Tensor:
        """``log m(y_j)``, shape ``(K, B)``, with gradients into the mixture's parameters (if any)."""
        if self.marginal == "gaussian":
            return _batch_gaussian_log_density(y)
        if self.marginal == "none":
            return torch.zeros(y.shape[:2], dtype=y.dtype, device=y.device)
        scales = self.mix_log_scales[:, None]                         # (K, 1, M, d)
        z = (y[:, :, None, :] - self.mix_means[:, None]) * torch.exp(-scales)
        comp = -0.5 * (z * z).sum(-1) - scales.sum(-1) - 0.5 * self.dim_y * _LOG_2PI   # (K, B, M)
        return torch.logsumexp(comp + torch.log_softmax(self.mix_logits, -1)[:, None], dim=-1)

    def scores(self, x, y):
        return self.log_conditional(x, y) - self.log_marginal(y).detach()[:, None, :]

    def auxiliary_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Per member ``(K,)``: the negative log-likelihood of the learned marginal on the batch's y
        (zeros for ``"gaussian"`` and ``"none"``, which have no parameter). The trainer adds it to the loss."""
        y = self._shape(y, self.dim_y, "y")
        if self.marginal != "mixture":
            return torch.zeros(self.n_critics, dtype=y.dtype, device=y.device)
        return -self.log_marginal(y).mean(-1)


_CRITICS: dict[str, type[Critic]] = {
    "separable": SeparableCritic,
    "joint": JointCritic,
    "concat": JointCritic,
    "bilinear": BilinearCritic,
    "fgaussian": FGaussianCritic,
    "conditional-gaussian": ConditionalGaussianCritic,
}

# options each critic accepts beyond the common ones (used by the estimator API to route kwargs)
CRITIC_OPTIONS: dict[str, tuple[str, ...]] = {
    "separable": ("hidden", "embed_dim", "cosine", "temperature"),
    "joint": ("hidden", "chunk_size"),
    "concat": ("hidden", "chunk_size"),
    "bilinear": ("hidden", "embed_dim"),
    "fgaussian": ("hidden", "embed_dim", "sigma"),
    "conditional-gaussian": ("hidden", "marginal"),
}


class MeanScoreEnsemble(nn.Module):
    r"""One critic made of an ensemble's members: :math:`\bar T(x, y) = \frac1K \sum_k T_k(x, y)`.

    Wraps a trained K-member critic and returns the members' mean score matrix, shape
    ``(1, B, B)`` (``n_critics = 1``), so any bound or :func:`mi_estimators.training.evaluate_critic`
    treats it as a single critic. A bound evaluated at a fixed critic on held-out data is a
    valid estimate of that bound whatever the critic is, so the ensemble's value is as much a
    (variational) bound as each member's. It is never below the members' mean value for a
    bound that is concave in the scores (InfoNCE, NWJ, DV, TUBA: a linear term minus a
    convex one), batch by batch, by Jensen's inequality; in practice it is clearly above,
    because the members' independent errors partly cancel in the averaged score. Averaging
    *estimates* instead (``combine="estimates"`` of :func:`mi_estimators.estimate_mi`)
    reduces seed noise but not this bias: with InfoNCE on 18 Beyond-Normal tasks (d > 3),
    the mean |error| is 0.0571 nats for one critic, 0.0578 for the mean of 4 members'
    estimates and 0.0499 for 4 members' mean score (docs/accuracy.md).
    Lakshminarayanan et al. (2017) average ensemble predictions in the same spirit.
    """

    def __init__(self, critic: nn.Module):
        super().__init__()
        if not isinstance(critic, nn.Module) or not hasattr(critic, "n_critics"):
            raise ValueError(f"MeanScoreEnsemble wraps a critic of this module (with n_critics); got {type(critic).__name__}")
        self.members = critic
        self.n_critics = 1

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean score matrix ``(1, B, B)`` of the wrapped members."""
        return self.members(x, y).mean(0, keepdim=True)


def list_critics() -> list[str]:
    """Names accepted by :func:`make_critic` (``concat`` is an alias of ``joint``)."""
    return sorted(_CRITICS)


def make_critic(name: str, dim_x: int, dim_y: int, *, hidden=(256, 256), embed_dim=32,
                n_critics: int = 1, activation: str = "relu", seed: int = 0,
                dtype=torch.float32, **kw) -> Critic:
    """Build a critic (an ensemble of ``n_critics`` members) by name.

    >>> critic = make_critic("separable", 5, 5, hidden=(64,), embed_dim=8, n_critics=4)
    >>> critic(torch.randn(32, 5), torch.randn(32, 5)).shape
    torch.Size([4, 32, 32])

    Member ``k`` is initialised from ``seed + k``. Critic-specific options: ``cosine``,
    ``temperature`` (separable), ``chunk_size`` (joint), ``sigma`` (fgaussian), ``marginal``
    (conditional-gaussian). ``embed_dim`` is ignored by the joint and conditional-gaussian critics. Unknown names or options raise ``ValueError``.
    """
    name = check_choice("critic", name, _CRITICS)
    allowed = set(CRITIC_OPTIONS[name]) - {"hidden", "embed_dim"}
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for critic {name!r}; "
            f"valid options: hidden, embed_dim, n_critics, activation, seed, dtype"
            + "".join(f", {o}" for o in sorted(allowed))
        )
    common = dict(n_critics=n_critics, activation=activation, seed=seed, dtype=dtype)
    cls = _CRITICS[name]
    if cls in (JointCritic, ConditionalGaussianCritic):   # no embedding
        return cls(dim_x, dim_y, hidden=hidden, **common, **kw)
    return cls(dim_x, dim_y, hidden=hidden, embed_dim=embed_dim, **common, **kw)

r"""Batched normalizing flows for the ``"flow"`` estimator: K members held as one module.

A :class:`FlowPair` maps each side through its own invertible flow, :math:`z_x = f_x(x)`,
:math:`z_y = f_y(y)`, and models the joint latent as a Gaussian with the canonical cross
structure of MIENF (Butakov et al., NeurIPS 2024): every coordinate is standard normal and
the only dependence is between the paired coordinates :math:`(z_{x,i}, z_{y,i})`, with
correlation :math:`\rho_i = \tanh\theta_i`, :math:`i < m = \min(d_x, d_y)`. Its log-likelihood is

.. math::
    \log p(x, y) = \log\mathcal N(z_x; 0, I) + \log\mathcal N(z_y; 0, I)
    + \sum_i \ell_{\rho_i}(z_{x,i}, z_{y,i}) + \log|\det J_{f_x}(x)| + \log|\det J_{f_y}(y)|,

where :math:`\ell_\rho` is the pointwise MI of a standard bivariate normal pair
(:func:`gaussian_pair_log_ratio`). The model's MI is :math:`-\tfrac12\sum_i\log(1-\rho_i^2)`
(:func:`gaussian_pair_mi`), whatever the flows: MI is invariant under invertible maps of each side.

Only the forward direction is ever needed (data → latent, with its log-determinant), so the
layers are not required to have closed-form inverses, only to be invertible. Each side is a
stack of blocks; a block is an elementwise increasing map (:class:`Monotone`) followed, when
the side has two or more dimensions, by a learned linear map (:class:`Linear`) and two affine
couplings (:class:`AffineCoupling`, RealNVP, Dinh et al. ICLR 2017) on complementary masks.
Linear maps and couplings start at the identity and the monotone maps near it, so an untrained flow is the
Gaussian model of its (pre-rotated) input. Parameters carry a leading member axis ``(K, ...)``
and layers run as batched matmuls, like :class:`mi_estimators.critics.BatchedMLP`; member
``k`` draws its initial x-side weights from a generator seeded ``seed + k`` (its y side from a
seed derived from it), so member ``k`` of an ensemble is the one-member model of seed ``seed + k``.
When :math:`d_x = d_y` both sides run as one ``2K``-member flow (members ``0..K-1`` are
the x sides, ``K..2K-1`` the y sides): the same weights, half the kernel launches.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from mi_estimators._checks import check_int
from mi_estimators.critics import BatchedMLP

__all__ = ["gaussian_pair_log_ratio", "gaussian_pair_mi", "log_cosh", "Monotone", "AffineCoupling",
           "Linear", "SideFlow", "FlowPair", "COUPLING_SCALE_CAP"]

_LOG_2PI = math.log(2.0 * math.pi)

#: Largest |log-scale| an affine coupling applies per layer (a soft cap, ``cap · tanh(s / cap)``).
COUPLING_SCALE_CAP = 3.0


def log_cosh(t: Tensor) -> Tensor:
    r""":math:`\log\cosh t = |t| + \mathrm{softplus}(-2|t|) - \log 2`, without overflow."""
    a = t.abs()
    return a + softplus(-2.0 * a) - math.log(2.0)


def gaussian_pair_mi(theta: Tensor) -> Tensor:
    r"""MI (nats) of independent standard bivariate normal pairs with :math:`\rho_i = \tanh\theta_i`.

    .. math:: I = -\tfrac12\sum_i \log(1 - \rho_i^2) = \sum_i \log\cosh\theta_i

    (:math:`1 - \tanh^2\theta = \cosh^{-2}\theta`, stable at :math:`|\rho| \to 1`). ``theta``:
    ``(..., m)``; returns ``(...)``. Cover & Thomas (2006), eq. 8.56.
    """
    return log_cosh(theta).sum(-1)


def gaussian_pair_log_ratio(za: Tensor, zb: Tensor, theta: Tensor) -> Tensor:
    r"""Pointwise MI :math:`\log\frac{\mathcal N((a, b); 0, \Sigma_\rho)}{\mathcal N(a)\mathcal N(b)}`
    summed over paired coordinates, :math:`\Sigma_\rho = [[1, \rho], [\rho, 1]]`, :math:`\rho = \tanh\theta`.

    .. math:: \ell_\rho(a, b) = -\tfrac12\log(1-\rho^2) - \frac{\rho^2(a^2+b^2) - 2\rho ab}{2(1-\rho^2)}
              = \log\cosh\theta - \tfrac14\,\mathrm{expm1}(-2\theta)\,u^2 - \tfrac14\,\mathrm{expm1}(2\theta)\,v^2

    with :math:`u = (a+b)/\sqrt2`, :math:`v = (a-b)/\sqrt2` (the eigen-directions of
    :math:`\Sigma_\rho`): no cancellation between large terms as :math:`|\rho| \to 1`. Its mean
    under the model is :func:`gaussian_pair_mi`. ``za, zb``: ``(K, B, m)``; ``theta``: ``(K, m)``;
    returns ``(K, B)``.
    """
    th = theta.unsqueeze(1)
    u2, v2 = 0.5 * (za + zb) ** 2, 0.5 * (za - zb) ** 2
    return (log_cosh(th) - 0.25 * torch.expm1(-2.0 * th) * u2 - 0.25 * torch.expm1(2.0 * th) * v2).sum(-1)


def _std_normal_log_density(z: Tensor) -> Tensor:
    """``log N(z; 0, I)`` summed over the last axis."""
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * _LOG_2PI


def _y_seed(seed: int) -> int:
    """The seed of a member's y-side weights (its x side uses ``seed`` itself)."""
    return (seed * 0x9E3779B1 + 0x7F4A7C15) % (2**63)


def _inv_softplus(v: float) -> float:
    return math.log(math.expm1(v))


class Monotone(nn.Module):
    r"""K × d elementwise increasing maps
    :math:`f(t) = \alpha t + \beta + \sum_{j=1}^{J} c_j \tanh(w_j t + u_j)`, with
    :math:`\alpha, c_j, w_j > 0` (softplus of free parameters), so
    :math:`f'(t) = \alpha + \sum_j c_j w_j (1 - \tanh^2(w_j t + u_j)) \ge \alpha > 0`.
    The map is onto ℝ (linear tails). Starts near the identity (:math:`\alpha = 1, \beta = 0`,
    :math:`c_j = 0.01`). ``forward(t)``: ``(K, B, d) -> (f(t), log f'(t) summed over d: (K, B))``.
    """

    def __init__(self, n_members: int, dim: int, units: int, generators, dtype=torch.float32):
        super().__init__()
        k, d, j = n_members, dim, units
        self.alpha = nn.Parameter(torch.full((k, 1, d), _inv_softplus(1.0), dtype=dtype))
        self.beta = nn.Parameter(torch.zeros((k, 1, d), dtype=dtype))
        self.c = nn.Parameter(torch.full((k, 1, d, j), _inv_softplus(0.01), dtype=dtype))
        w = torch.stack([torch.rand((1, d, j), generator=g, dtype=torch.float64) for g in generators])
        u = torch.stack([torch.rand((1, d, j), generator=g, dtype=torch.float64) for g in generators])
        self.w = nn.Parameter(torch.log(torch.expm1(0.5 + 1.5 * w)).to(dtype))   # w_j in (0.5, 2)
        self.u = nn.Parameter((4.0 * u - 2.0).to(dtype))                          # u_j in (-2, 2)

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        alpha, c, w = softplus(self.alpha), softplus(self.c), softplus(self.w)
        th = torch.tanh(t.unsqueeze(-1) * w + self.u)                 # (K, B, d, J)
        out = alpha * t + self.beta + (c * th).sum(-1)
        slope = alpha + (c * w * (1.0 - th * th)).sum(-1)
        return out, torch.log(slope).sum(-1)


class AffineCoupling(nn.Module):
    r"""RealNVP affine coupling (Dinh, Sohl-Dickstein & Bengio, ICLR 2017): with a binary
    ``mask`` :math:`m`, :math:`t' = m\odot t + (1-m)\odot(t\,e^{s} + b)`, where
    :math:`(s, b) = \mathrm{MLP}(m\odot t)` and :math:`s` is softly capped at
    :data:`COUPLING_SCALE_CAP`; :math:`\log|\det J| = \sum (1-m)\odot s`. The MLP's last layer
    starts at zero (the identity map). ``forward(t)``: ``(K, B, d) -> (t', log|det J| (K, B))``.
    """

    def __init__(self, dim: int, mask: Tensor, hidden: int, generators, dtype=torch.float32):
        super().__init__()
        self.register_buffer("mask", mask.to(dtype))
        self.net = BatchedMLP((dim, hidden, hidden, 2 * dim), generators, activation="silu", dtype=dtype)
        with torch.no_grad():
            self.net.weights[-1].zero_()
            self.net.biases[-1].zero_()

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        free = 1.0 - self.mask
        s, b = self.net(t * self.mask).chunk(2, dim=-1)
        s = COUPLING_SCALE_CAP * torch.tanh(s / COUPLING_SCALE_CAP) * free
        return t * torch.exp(s) + b * free, s.sum(-1)


class Linear(nn.Module):
    r"""K learned invertible linear maps :math:`t \mapsto t W` (Glow's 1×1 convolution, Kingma &
    Dhariwal, NeurIPS 2018), :math:`\log|\det J| = \log|\det W|`; W starts at the identity.
    They let the couplings' fixed masks act in a learned basis.
    ``forward(t)``: ``(K, B, d) -> (t W, log|det W| (K, B))``."""

    def __init__(self, n_members: int, dim: int, dtype=torch.float32):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(dim, dtype=dtype).repeat(n_members, 1, 1))

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        logdet = torch.linalg.slogdet(self.weight)[1]
        return torch.bmm(t, self.weight), logdet.unsqueeze(-1).expand(t.shape[:-1])


def _masks(dim: int, block: int) -> tuple[Tensor, Tensor]:
    """Complementary coupling masks; even blocks split even/odd coordinates, odd blocks
    first/second half, so every coordinate is conditioned on a varied set of others."""
    idx = torch.arange(dim)
    mask = (idx % 2 == 0) if block % 2 == 0 else (idx < dim // 2)
    return mask.float(), (~mask).float()


class SideFlow(nn.Module):
    """One side's flow: ``layers`` blocks of :class:`Monotone` then (for ``dim >= 2``) a
    :class:`Linear` and two :class:`AffineCoupling` on complementary masks. ``forward(t) -> (z, log|det J|)``."""

    def __init__(self, n_members: int, dim: int, *, layers: int, hidden: int, units: int, generators,
                 dtype=torch.float32):
        super().__init__()
        mods = []
        for block in range(layers):
            mods.append(Monotone(n_members, dim, units, generators, dtype))
            if dim >= 2:
                mods.append(Linear(n_members, dim, dtype))
                mods.extend(AffineCoupling(dim, m, hidden, generators, dtype) for m in _masks(dim, block))
        self.layers = nn.ModuleList(mods)

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        logdet = torch.zeros(t.shape[:-1], dtype=t.dtype, device=t.device)
        for layer in self.layers:
            t, ld = layer(t)
            logdet = logdet + ld
        return t, logdet


class FlowPair(nn.Module):
    r"""K flow models of a pair: :class:`SideFlow` per side and the canonical Gaussian head
    :math:`\rho_i = \tanh\theta_i` (see the module docstring).

    ``theta0``: initial :math:`\theta` (length :math:`m = \min(d_x, d_y)`), e.g. the inverse
    tanh of the canonical correlations of the input. ``forward(x, y)``: ``(K, B, d)`` (or
    ``(B, d)``, shared) → the joint log-likelihood per sample ``(K, B)``; :meth:`parts` also
    returns the pointwise MI term; :meth:`mi` the closed-form MI per member ``(K,)``.
    """

    def __init__(self, dim_x: int, dim_y: int, *, n_members: int = 1, layers: int = 4, hidden: int = 64,
                 units: int = 8, seed: int = 0, theta0=None, dtype=torch.float32):
        super().__init__()
        self.dim_x, self.dim_y = check_int("dim_x", dim_x), check_int("dim_y", dim_y)
        self.n_critics = check_int("n_members", n_members)
        k = self.n_critics
        gx = [torch.Generator().manual_seed(int(seed) + i) for i in range(k)]
        gy = [torch.Generator().manual_seed(_y_seed(int(seed) + i)) for i in range(k)]
        kw = dict(layers=check_int("flow_layers", layers), hidden=check_int("flow_hidden", hidden),
                  units=check_int("units", units), dtype=dtype)
        # equal dimensions: one 2K-member flow (x members, then y members) runs both sides in one
        # pass of batched kernels, half the launches; the weights are those of two K-member flows
        self.shared = self.dim_x == self.dim_y
        if self.shared:
            self.fxy = SideFlow(2 * k, self.dim_x, generators=gx + gy, **kw)
        else:
            self.fx = SideFlow(k, self.dim_x, generators=gx, **kw)
            self.fy = SideFlow(k, self.dim_y, generators=gy, **kw)
        m = min(self.dim_x, self.dim_y)
        theta0 = torch.zeros(m, dtype=torch.float64) if theta0 is None else torch.as_tensor(theta0, dtype=torch.float64)
        self.theta = nn.Parameter(theta0.reshape(1, m).repeat(self.n_critics, 1).to(dtype))

    def _shape(self, t: Tensor, dim: int) -> Tensor:
        if t.ndim == 2:
            t = t.unsqueeze(0).expand(self.n_critics, -1, -1)
        if t.ndim != 3 or t.shape[0] != self.n_critics or t.shape[-1] != dim:
            raise ValueError(f"expected shape (B, {dim}) or ({self.n_critics}, B, {dim}), got {tuple(t.shape)}")
        return t

    def latents(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(z_x, log|det J_x|, z_y, log|det J_y|)``: shapes ``(K, B, d_x)``, ``(K, B)``, ..."""
        x, y = self._shape(x, self.dim_x), self._shape(y, self.dim_y)
        if self.shared:
            k = self.n_critics
            z, ld = self.fxy(torch.cat([x, y], 0))
            return z[:k], ld[:k], z[k:], ld[k:]
        return (*self.fx(x), *self.fy(y))

    def parts(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(log-likelihood (K, B), pointwise MI (K, B))`` of the pairs ``(x_b, y_b)``."""
        zx, ldx, zy, ldy = self.latents(x, y)
        m = self.theta.shape[-1]
        pmi = gaussian_pair_log_ratio(zx[..., :m], zy[..., :m], self.theta)
        ll = _std_normal_log_density(zx) + _std_normal_log_density(zy) + pmi + ldx + ldy
        return ll, pmi

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.parts(x, y)[0]

    def mi(self) -> Tensor:
        """The model's closed-form MI per member (nats), :func:`gaussian_pair_mi` of ``theta``."""
        return gaussian_pair_mi(self.theta)

    def extra_repr(self) -> str:
        return f"dim_x={self.dim_x}, dim_y={self.dim_y}, n_members={self.n_critics}"

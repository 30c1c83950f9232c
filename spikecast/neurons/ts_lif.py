"""Temporal-segment LIF (TS-LIF): coupled dendrite (low-pass) and soma (high-pass)."""

from __future__ import annotations

import torch

from spikecast.neurons import fused as _fused
from spikecast.neurons.base import BaseNeuron

__all__ = ["OUTPUTS", "TSLIF"]

#: Output mixes of TS-LIF.
OUTPUTS = ("weighted", "kappa")


class TSLIF(BaseNeuron):
    r"""Temporal-segment leaky integrate-and-fire neuron (two compartments, both firing).

    Equations (docs/neurons.md, "TS-LIF"; the official code's form):

    - charge (dendrite): ``U_d[t] = a_d·U_d[t-1] + b_d·I[t] - c_sd·U_s[t-1]``
    - charge (soma):     ``U_s[t] = a_s·U_s[t-1] + b_s·I[t] - c_ds·U_d[t]`` (new ``U_d[t]``,
      before its reset)
    - fire:   ``S_d[t] = Θ(U_d[t] - θ)``, ``S_s[t] = Θ(U_s[t] - θ)``
    - output: ``O[t] = w_s ⊙ S_s[t] + w_d ⊙ S_d[t]`` (``output="weighted"``, official code;
      ``w_s``, ``w_d`` learnable per feature) or ``O[t] = κ·S_d[t] + (1 - κ)·S_s[t]``
      (``output="kappa"``, the paper; ``κ`` learnable)
    - reset (soft): ``U_d[t] -= γ·S_d[t]``, ``U_s[t] -= θ·S_s[t]``

    ``a_d, b_d, a_s, b_s, c_sd, c_ds`` are learnable (unconstrained, as in the official code),
    one each per layer (``per_channel=True``: per feature); ``γ`` and ``θ`` are fixed.
    Below threshold the initial values give the transition matrix
    ``[[0.8, -0.1], [-0.64, 0.38]]`` (eigenvalues ≈ 0.919, 0.261).

    Reference: S. Feng, W. Feng, X. Gao, P. Zhao, Z. Shen, "TS-LIF: A Temporal Segment
    Spiking Neuron Network for Time Series Forecasting", ICLR 2025 (code: kkking-kk/TS-LIF).

    Args:
        a_d, b_d, a_s, b_s, c_sd, c_ds: initial values of the coupled dynamics.
        gamma: dendritic soft-reset amount ``γ``.
        threshold: ``θ`` of both compartments.
        output: ``"weighted"`` (needs ``num_features``) or ``"kappa"``.
        weight_init: initial ``w_s``, ``w_d``: ``"randn"`` (standard normal per feature, as
            the official code) or a number (constant).
        kappa_init: initial ``κ`` for ``output="kappa"``.
        detach_reset: detach the spikes in the reset path.
        surrogate, alpha: surrogate gradient (default atan with α = 2, the official code's).
        num_features: size of the last input dimension.
        per_channel: per-feature dynamics parameters (and ``κ``) instead of per layer.
        backend: see :class:`BaseNeuron`.

    Parameters: ``a_d, b_d, a_s, b_s, c_sd, c_ds`` and ``w_s, w_d`` (weighted) or ``kappa``.
    State: ``("u_d", "u_s")``. :attr:`last_firing_rate` is the mean over both compartments'
    spikes.
    """

    state_names = ("u_d", "u_s")
    num_spike_tensors = 2

    def __init__(self, a_d: float = 0.8, b_d: float = 0.2, a_s: float = 0.3, b_s: float = 0.7,
                 c_sd: float = 0.1, c_ds: float = 0.8, gamma: float = 0.5,
                 threshold: float = 1.0, output: str = "weighted",
                 weight_init: str | float = "randn", kappa_init: float = 0.5,
                 detach_reset: bool = False, surrogate: str = "atan", alpha: float | None = 2.0,
                 num_features: int | None = None, per_channel: bool = False,
                 backend: str = "auto"):
        super().__init__(num_features=num_features, surrogate=surrogate, alpha=alpha,
                         detach_reset=detach_reset, per_channel=per_channel, backend=backend)
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; valid outputs: {list(OUTPUTS)}")
        if output == "weighted" and num_features is None:
            raise ValueError("TSLIF: output='weighted' has per-feature weights w_s, w_d and "
                             "needs num_features (the size of the last input dimension); "
                             "or use output='kappa'")
        self.gamma = float(gamma)
        self.threshold = float(threshold)
        self.output = output
        self.a_d = self._new_param(a_d)
        self.b_d = self._new_param(b_d)
        self.a_s = self._new_param(a_s)
        self.b_s = self._new_param(b_s)
        self.c_sd = self._new_param(c_sd)
        self.c_ds = self._new_param(c_ds)
        self.w_s: torch.nn.Parameter | None = None
        self.w_d: torch.nn.Parameter | None = None
        self.kappa: torch.nn.Parameter | None = None
        if output == "weighted":
            assert num_features is not None  # refused above
            if isinstance(weight_init, str):
                if weight_init != "randn":
                    raise ValueError(f"weight_init must be 'randn' or a number, "
                                     f"got {weight_init!r}")
                w_s = torch.randn(num_features)
                w_d = torch.randn(num_features)
            else:
                w_s = torch.full((num_features,), float(weight_init))
                w_d = torch.full((num_features,), float(weight_init))
            self.w_s = torch.nn.Parameter(w_s)
            self.w_d = torch.nn.Parameter(w_d)
        else:
            self.kappa = self._new_param(kappa_init)
        self.weight_init = weight_init
        self.kappa_init = float(kappa_init)
        self._check_backend()

    def _needs_features(self) -> bool:
        return self.per_channel or self.output == "weighted"

    def transition(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Sub-threshold dynamics ``z[t] = A z[t-1] + B I[t]`` of ``z = [U_d, U_s]``.

        Returns ``(A, B)`` (detached) with shapes ``[2, 2]`` and ``[2]`` (per-layer) or
        ``[F, 2, 2]`` and ``[F, 2]`` (per-channel).
        """
        a_d, b_d, a_s, b_s, c_sd, c_ds = (p.detach() for p in (
            self.a_d, self.b_d, self.a_s, self.b_s, self.c_sd, self.c_ds))
        row_d = torch.stack([a_d, -c_sd], dim=-1)
        row_s = torch.stack([-c_ds * a_d, a_s + c_ds * c_sd], dim=-1)
        return torch.stack([row_d, row_s], dim=-2), torch.stack([b_d, b_s - c_ds * b_d], -1)

    def _coefficients(self, x: torch.Tensor) -> tuple:
        params = [self.a_d, self.b_d, self.a_s, self.b_s, self.c_sd, self.c_ds]
        if self.output == "weighted":
            assert self.w_s is not None and self.w_d is not None  # set with output="weighted"
            params += [self.w_s, self.w_d]
        else:
            assert self.kappa is not None  # set with output="kappa"
            params += [self.kappa]
        return tuple(p.to(x.dtype) for p in params)

    def _step_impl(self, x_t, state, coeffs):
        u_d, u_s = state
        a_d, b_d, a_s, b_s, c_sd, c_ds = coeffs[:6]
        # charge: dendrite, then soma with the new dendritic potential
        u_d = a_d * u_d + b_d * x_t - c_sd * u_s
        u_s = a_s * u_s + b_s * x_t - c_ds * u_d
        # fire
        s_d = self.fire(u_d, self.threshold)
        s_s = self.fire(u_s, self.threshold)
        # graded output
        if self.output == "weighted":
            w_s, w_d = coeffs[6:]
            y = w_s * s_s + w_d * s_d
        else:
            (kappa,) = coeffs[6:]
            y = kappa * s_d + (1 - kappa) * s_s
        # soft reset
        u_d = u_d - self.gamma * self._reset_spike(s_d)
        u_s = u_s - self.threshold * self._reset_spike(s_s)
        return y, (u_d, u_s), (s_d, s_s)

    def fused_spec(self, x):
        """The fused kernels' :class:`~spikecast.neurons.fused.TSLIFConfig` and coefficients
        ``(a_d, b_d, a_s, b_s, c_sd, c_ds, p, q)``, the output being ``p·S_d + q·S_s``."""
        coeffs = self._coefficients(x)
        if self.output == "weighted":
            w_s, w_d = coeffs[6:]
            p, q = w_d, w_s
        else:
            (kappa,) = coeffs[6:]
            p, q = kappa, 1 - kappa
        cfg = _fused.TSLIFConfig(self.gamma, self.threshold, self.detach_reset,
                                 *self._fused_surrogate())
        return cfg, (*coeffs[:6], p, q)

    def _multi_step_fused(self, x, state):
        ud0, us0 = state
        cfg, coefs = self.fused_spec(x)
        y, ud, us, ud_pre, us_pre = _fused.TSLIFFunction.apply(x, ud0, us0, *coefs, cfg)
        count = None
        if self.monitor:
            count = ((ud_pre - self.threshold >= 0).count_nonzero()
                     + (us_pre - self.threshold >= 0).count_nonzero())
        return y, (ud, us), count

    def extra_repr(self) -> str:
        return (f"gamma={self.gamma}, threshold={self.threshold}, output={self.output!r}, "
                + super().extra_repr())

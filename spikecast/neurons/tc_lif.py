"""Two-compartment LIF (TC-LIF), the ancestor of TS-LIF."""

from __future__ import annotations

import torch

from spikecast.neurons import fused as _fused
from spikecast.neurons.base import BaseNeuron

__all__ = ["TCLIF"]


class TCLIF(BaseNeuron):
    r"""Two-compartment leaky integrate-and-fire neuron (dendrite + soma; the soma fires).

    Equations (docs/neurons.md, "TC-LIF"):

    - charge (dendrite): ``U_d[t] = U_d[t-1] - sigmoid(c1)·U_s[t-1] + I[t]``
    - charge (soma):     ``U_s[t] = U_s[t-1] + sigmoid(c2)·U_d[t]`` (new ``U_d[t]``)
    - fire:   ``S[t] = Θ(U_s[t] - θ)``
    - reset (soft): ``U_d[t] -= γ·S[t]``, ``U_s[t] -= θ·S[t]``
    - output: ``S[t]``

    ``c1 = c2 = 0`` initially, learnable (per layer, or per feature with ``per_channel``);
    ``γ = 0.5`` and ``θ = 1.5`` (the paper's SHD setting) fixed.

    Reference: S. Zhang, Q. Yang, C. Ma, J. Wu, H. Li, K. C. Tan, "TC-LIF: A Two-Compartment
    Spiking Neuron Model for Long-Term Sequential Modelling", AAAI 2024.

    Args:
        c1_init, c2_init: initial ``c1``, ``c2``.
        gamma: dendritic soft-reset amount ``γ``.
        threshold: ``θ``.
        detach_reset: detach the spike in the reset path.
        surrogate, alpha: surrogate gradient (default triangle, α = 1).
        num_features: size of the last input dimension (required with ``per_channel``).
        per_channel: one ``(c1, c2)`` pair per feature.
        backend: see :class:`BaseNeuron`.

    Parameters: ``c1``, ``c2``. State: ``("u_d", "u_s")``.
    """

    state_names = ("u_d", "u_s")

    def __init__(self, c1_init: float = 0.0, c2_init: float = 0.0, gamma: float = 0.5,
                 threshold: float = 1.5, detach_reset: bool = False,
                 surrogate: str = "triangle", alpha: float | None = None,
                 num_features: int | None = None, per_channel: bool = False,
                 backend: str = "auto"):
        super().__init__(num_features=num_features, surrogate=surrogate, alpha=alpha,
                         detach_reset=detach_reset, per_channel=per_channel, backend=backend)
        self.gamma = float(gamma)
        self.threshold = float(threshold)
        self.c1 = self._new_param(c1_init)
        self.c2 = self._new_param(c2_init)
        self._check_backend()

    def _coefficients(self, x: torch.Tensor) -> tuple:
        return torch.sigmoid(self.c1).to(x.dtype), torch.sigmoid(self.c2).to(x.dtype)

    def _step_impl(self, x_t, state, coeffs):
        u_d, u_s = state
        k1, k2 = coeffs
        # charge
        u_d = u_d - k1 * u_s + x_t
        u_s = u_s + k2 * u_d
        # fire
        s = self.fire(u_s, self.threshold)
        # soft reset
        sr = self._reset_spike(s)
        u_d = u_d - self.gamma * sr
        u_s = u_s - self.threshold * sr
        return s, (u_d, u_s), (s,)

    def fused_spec(self, x):
        """The fused kernels' :class:`~spikecast.neurons.fused.TCLIFConfig` and coefficients
        ``(k1, k2)``."""
        cfg = _fused.TCLIFConfig(self.gamma, self.threshold, self.detach_reset,
                                 *self._fused_surrogate())
        return cfg, tuple(self._coefficients(x))

    def _multi_step_fused(self, x, state):
        ud0, us0 = state
        cfg, (k1, k2) = self.fused_spec(x)
        s, ud, us = _fused.TCLIFFunction.apply(x, ud0, us0, k1, k2, cfg)
        count = s.detach().count_nonzero() if self.monitor else None
        return s, (ud, us), count

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, threshold={self.threshold}, " + super().extra_repr()

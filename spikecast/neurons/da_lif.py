"""Dual adaptive LIF (DA-LIF): independently learned spatial and temporal decays."""

from __future__ import annotations

import math

import torch

from spikecast.neurons import fused as _fused
from spikecast.neurons.base import RESETS, BaseNeuron

__all__ = ["DALIF"]


def _logit(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {p}")
    return math.log(p / (1.0 - p))


class DALIF(BaseNeuron):
    r"""Dual adaptive leaky integrate-and-fire neuron.

    Equations (docs/neurons.md, "DA-LIF"):

    - charge: ``V[t] = β·H[t-1] + α·I[t]``, ``α = sigmoid(a)`` (spatial / input decay),
      ``β = sigmoid(b)`` (temporal / memory decay), both learnable
    - fire:   ``S[t] = Θ(V[t] - θ)``
    - reset:  hard ``H[t] = V[t]·(1 - S[t])`` or soft ``H[t] = V[t] - θ·S[t]``
    - output: ``S[t]``

    With ``α = β = 0.5`` (the default initialisation) it is exactly LIF with ``τ = 2``
    (decay_input, ``v_reset = 0``).

    Reference: T. Zhang, K. Yu, J. Zhang, H. Wang, "DA-LIF: Dual Adaptive Leaky
    Integrate-and-Fire Model for Deep Spiking Neural Networks", arXiv:2502.10422, 2025
    (no public code; the surrogate is not given in the paper: atan by default).

    Args:
        threshold: ``θ``.
        alpha_init: initial input decay ``α`` in (0, 1) (not the surrogate's α).
        beta_init: initial memory decay ``β`` in (0, 1).
        reset: ``"hard"`` or ``"soft"``.
        detach_reset: detach the spike in the reset path.
        surrogate, alpha: surrogate gradient (default atan, α = 2).
        num_features: size of the last input dimension (required with ``per_channel``).
        per_channel: one ``(a, b)`` pair per feature instead of one per layer.
        backend: see :class:`BaseNeuron`.

    Parameters: ``a``, ``b``. State: ``("h",)``.
    """

    state_names = ("h",)

    def __init__(self, threshold: float = 1.0, alpha_init: float = 0.5,
                 beta_init: float = 0.5, reset: str = "hard", detach_reset: bool = False,
                 surrogate: str = "atan", alpha: float | None = None,
                 num_features: int | None = None, per_channel: bool = False,
                 backend: str = "auto"):
        super().__init__(num_features=num_features, surrogate=surrogate, alpha=alpha,
                         detach_reset=detach_reset, per_channel=per_channel, backend=backend)
        if reset not in RESETS:
            raise ValueError(f"unknown reset {reset!r}; valid resets: {list(RESETS)}")
        self.threshold = float(threshold)
        self.reset = reset
        self.alpha_init = float(alpha_init)
        self.beta_init = float(beta_init)
        self.a = self._new_param(_logit(alpha_init, "alpha_init"))
        self.b = self._new_param(_logit(beta_init, "beta_init"))
        self._check_backend()

    def _coefficients(self, x: torch.Tensor) -> tuple:
        return torch.sigmoid(self.a).to(x.dtype), torch.sigmoid(self.b).to(x.dtype)

    def _step_impl(self, x_t, state, coeffs):
        (h,) = state
        alpha, beta = coeffs
        # charge
        v = beta * h + alpha * x_t
        # fire
        s = self.fire(v, self.threshold)
        # reset
        sr = self._reset_spike(s)
        h = v * (1 - sr) if self.reset == "hard" else v - self.threshold * sr
        return s, (h,), (s,)

    def fused_spec(self, x):
        """The fused kernels' :class:`~spikecast.neurons.fused.LeakyConfig` and
        coefficients ``(beta, alpha, 0)``: ``v = beta·h + alpha·x``."""
        alpha, beta = self._coefficients(x)
        cfg = _fused.LeakyConfig(self.threshold, 0.0, self.reset == "hard", self.detach_reset,
                                 0.0, False, *self._fused_surrogate())
        return cfg, (beta, alpha, x.new_zeros(()))

    def _multi_step_fused(self, x, state):
        (h0,) = state
        cfg, coefs = self.fused_spec(x)
        s, h = _fused.LeakyFunction.apply(x, h0, *coefs, cfg)
        count = s.detach().count_nonzero() if self.monitor else None
        return s, (h,), count

    def extra_repr(self) -> str:
        return (f"threshold={self.threshold}, alpha_init={self.alpha_init}, "
                f"beta_init={self.beta_init}, reset={self.reset!r}, "
                + super().extra_repr())

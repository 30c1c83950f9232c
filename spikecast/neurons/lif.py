"""Leaky integrate-and-fire (LIF), the reference point of every other neuron."""

from __future__ import annotations

import math

import torch

from spikecast.neurons import fused as _fused
from spikecast.neurons.base import RESETS, BaseNeuron

__all__ = ["LIF"]


class LIF(BaseNeuron):
    r"""Leaky integrate-and-fire neuron (decay_input form, as in SpikingJelly's ``LIFNode``).

    Equations (``k = 1/τ``; docs/neurons.md, "LIF"):

    - charge: ``h[t] = v[t-1] + (I[t] - (v[t-1] - v_reset)) / τ``
      (``decay_input=False``: ``h[t] = v[t-1] - (v[t-1] - v_reset) / τ + I[t]``)
    - fire:   ``s[t] = Θ(h[t] - θ)``
    - reset:  hard ``v[t] = h[t]·(1 - s[t]) + v_reset·s[t]`` or soft ``v[t] = h[t] - θ·s[t]``
    - output: ``s[t]``

    The charge is evaluated as ``(1 - k)·v + k·(I + v_reset)`` (algebraically the same), so
    that with ``τ = 2`` it is bit-identical to DA-LIF at ``α = β = 0.5``.

    Reference: W. Gerstner, W. M. Kistler, R. Naud, L. Paninski, *Neuronal Dynamics*,
    Cambridge University Press, 2014 (discrete form of W. Fang et al., SpikingJelly,
    Science Advances 2023).

    Args:
        tau: membrane time constant ``τ`` (> 0; ``τ = 1`` keeps no memory).
        threshold: firing threshold ``θ``.
        v_reset: reset (and resting) potential.
        reset: ``"hard"`` (to ``v_reset``) or ``"soft"`` (subtract ``θ``).
        detach_reset: detach the spike in the reset path.
        decay_input: scale the input by ``1/τ`` (the form docs/neurons.md specifies).
        surrogate, alpha: surrogate gradient (default atan, α = 2).
        num_features: size of the last input dimension (unused by LIF; accepted so that
            every neuron takes the same arguments).
        backend: ``"auto"``, ``"reference"`` or ``"fused"`` (see :class:`BaseNeuron`).

    State: ``("v",)``.
    """

    state_names = ("v",)

    def __init__(self, tau: float = 2.0, threshold: float = 1.0, v_reset: float = 0.0,
                 reset: str = "hard", detach_reset: bool = False, decay_input: bool = True,
                 surrogate: str = "atan", alpha: float | None = None,
                 num_features: int | None = None, backend: str = "auto"):
        super().__init__(num_features=num_features, surrogate=surrogate, alpha=alpha,
                         detach_reset=detach_reset, per_channel=False, backend=backend)
        self._init_lif(threshold, v_reset, reset, decay_input)
        tau = float(tau)
        if not (tau > 0 and math.isfinite(tau)):
            raise ValueError(f"tau must be a positive finite number, got {tau}")
        self._tau = tau
        self._check_backend()

    @property
    def tau(self) -> float | torch.Tensor:
        """The membrane time constant ``τ``: a float here, a tensor in PLIF (which learns it).

        Read-only, like PLIF's: ``τ`` is fixed at construction."""
        return self._tau

    def _init_lif(self, threshold: float, v_reset: float, reset: str,
                  decay_input: bool) -> None:
        if reset not in RESETS:
            raise ValueError(f"unknown reset {reset!r}; valid resets: {list(RESETS)}")
        self.threshold = float(threshold)
        self.v_reset = float(v_reset)
        self.reset = reset
        self.decay_input = bool(decay_input)

    def _coefficients(self, x: torch.Tensor) -> tuple:
        return (1.0 / self.tau,)

    def _step_impl(self, x_t, state, coeffs):
        (v,) = state
        (k,) = coeffs
        # charge
        if self.decay_input:
            drive = x_t + self.v_reset if self.v_reset != 0.0 else x_t
            h = (1 - k) * v + k * drive
        elif self.v_reset != 0.0:
            h = (1 - k) * v + k * self.v_reset + x_t
        else:
            h = (1 - k) * v + x_t
        # fire
        s = self.fire(h, self.threshold)
        # reset
        sr = self._reset_spike(s)
        if self.reset == "hard":
            v = h * (1 - sr) + self.v_reset * sr
        else:
            v = h - self.threshold * sr
        return s, (v,), (s,)

    def fused_spec(self, x):
        """The fused kernels' :class:`~spikecast.neurons.fused.LeakyConfig` and
        coefficients ``(c1, c2, c3)``: ``h = c1·v (+ c3) + c2·(x + offset)``."""
        (k,) = self._coefficients(x)
        # The same coefficient expressions as _step_impl (python floats stay python floats
        # until they meet the tensor), so the fused charge rounds exactly like the reference.
        zero = x.new_zeros(())
        if self.decay_input:
            c2, c3, offset = k, zero, self.v_reset
        elif self.v_reset != 0.0:
            c2, c3, offset = 1.0, k * self.v_reset, 0.0
        else:
            c2, c3, offset = 1.0, zero, 0.0
        cfg = _fused.LeakyConfig(self.threshold, self.v_reset, self.reset == "hard",
                                 self.detach_reset, offset,
                                 not self.decay_input and self.v_reset != 0.0,
                                 *self._fused_surrogate())
        return cfg, (self._as_coef(1 - k, x), self._as_coef(c2, x), self._as_coef(c3, x))

    def _multi_step_fused(self, x, state):
        (v0,) = state
        cfg, coefs = self.fused_spec(x)
        s, v = _fused.LeakyFunction.apply(x, v0, *coefs, cfg)
        count = s.detach().count_nonzero() if self.monitor else None
        return s, (v,), count

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, threshold={self.threshold}, v_reset={self.v_reset}, "
                f"reset={self.reset!r}, decay_input={self.decay_input}, "
                + super().extra_repr())

"""Parametric LIF (PLIF): LIF with a learnable membrane time constant."""

from __future__ import annotations

import math

import torch

from spikecast.neurons.base import BaseNeuron
from spikecast.neurons.lif import LIF

__all__ = ["PLIF"]


class PLIF(LIF):
    r"""Parametric leaky integrate-and-fire neuron: LIF with a learnable ``τ``.

    Equations (``k = 1/τ = sigmoid(w)``; docs/neurons.md, "PLIF"):

    - charge: ``h[t] = v[t-1] + (I[t] - (v[t-1] - v_reset))·sigmoid(w)``
      (``decay_input=False``: ``h[t] = v[t-1] - (v[t-1] - v_reset)·sigmoid(w) + I[t]``)
    - fire:   ``s[t] = Θ(h[t] - θ)``
    - reset:  hard ``v[t] = h[t]·(1 - s[t]) + v_reset·s[t]`` or soft ``v[t] = h[t] - θ·s[t]``
    - output: ``s[t]``

    ``w`` is initialised to ``-ln(τ0 - 1)`` so that ``τ = τ0`` (default 2, ``w = 0``); one
    ``w`` per layer, or one per channel with ``per_channel=True``.

    Reference: W. Fang, Z. Yu, Y. Chen, T. Masquelier, T. Huang, Y. Tian, "Incorporating
    Learnable Membrane Time Constant to Enhance Learning of Spiking Neural Networks",
    ICCV 2021.

    Args:
        init_tau: initial time constant ``τ0`` (> 1).
        threshold, v_reset, reset, detach_reset, decay_input, surrogate, alpha, backend:
            as in :class:`LIF` (default surrogate atan, α = 2).
        num_features: size of the last input dimension (required with ``per_channel``).
        per_channel: one ``w`` per feature instead of one per layer.

    Parameters: ``w`` (shape ``()`` or ``(num_features,)``). State: ``("v",)``.
    """

    def __init__(self, init_tau: float = 2.0, threshold: float = 1.0, v_reset: float = 0.0,
                 reset: str = "hard", detach_reset: bool = False, decay_input: bool = True,
                 surrogate: str = "atan", alpha: float | None = None,
                 num_features: int | None = None, per_channel: bool = False,
                 backend: str = "auto"):
        BaseNeuron.__init__(self, num_features=num_features, surrogate=surrogate,
                            alpha=alpha, detach_reset=detach_reset,
                            per_channel=per_channel, backend=backend)
        self._init_lif(threshold, v_reset, reset, decay_input)
        init_tau = float(init_tau)
        if not (init_tau > 1 and math.isfinite(init_tau)):
            raise ValueError(f"init_tau must be a finite number > 1, got {init_tau}")
        self.init_tau = init_tau
        self.w = self._new_param(-math.log(init_tau - 1.0))
        self._check_backend()

    @property
    def tau(self) -> torch.Tensor:
        """The current time constant ``1 / sigmoid(w)`` (detached)."""
        return 1.0 / torch.sigmoid(self.w.detach())

    def _coefficients(self, x: torch.Tensor) -> tuple:
        return (torch.sigmoid(self.w).to(x.dtype),)

    def extra_repr(self) -> str:
        return (f"init_tau={self.init_tau}, threshold={self.threshold}, "
                f"v_reset={self.v_reset}, reset={self.reset!r}, "
                f"decay_input={self.decay_input}, " + BaseNeuron.extra_repr(self))

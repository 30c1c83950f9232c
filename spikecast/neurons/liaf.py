"""Leaky integrate and analog fire (LIAF): LIF dynamics, analog output."""

from __future__ import annotations

import math

import torch
from torch import nn

from spikecast.neurons import fused as _fused
from spikecast.neurons.base import BaseNeuron

__all__ = ["ACTIVATIONS", "NORMS", "LIAF"]

#: Output activations of LIAF.
ACTIVATIONS = {
    "relu": torch.relu,
    "selu": nn.functional.selu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "gelu": nn.functional.gelu,
    "leaky_relu": nn.functional.leaky_relu,
    "identity": lambda u: u,
}
#: Normalisations of the membrane ("homeostasis").
NORMS = (None, "batch", "layer")
# Activations that give the same bits on a whole sequence as step by step. The others'
# vectorised and scalar code paths can round differently, so the fused path applies them
# one step at a time, on tensors shaped like the reference's.
_PIECEWISE_LINEAR = ("relu", "identity", "leaky_relu")


def _build_norm(norm: str | None, num_features: int | None) -> nn.Module | None:
    """The membrane normalisation ``norm`` (one of :data:`NORMS`) over ``num_features``."""
    if norm is None:
        return None
    if num_features is None:
        raise ValueError(f"LIAF: norm={norm!r} needs num_features (the size of the "
                         "last input dimension)")
    return nn.BatchNorm1d(num_features) if norm == "batch" else nn.LayerNorm(num_features)


class LIAF(BaseNeuron):
    r"""Leaky integrate and analog fire neuron: passes an analog value on; the spike only resets.

    Equations (docs/neurons.md, "LIAF"):

    - integrate: ``U[t] = I[t] + V[t-1]``   (input not scaled by ``1/τ``)
    - normalise (optional): ``U[t] ← Norm(U[t])`` (BatchNorm or LayerNorm over the feature
      dimension, applied at every step; the normalised ``U`` is used from here on)
    - fire:   ``F[t] = Θ(U[t] - θ)``
    - output: ``y[t] = act(U[t] - θ)`` (``threshold_related=True``) or ``act(U[t])``, read
      before the reset
    - reset:  ``R[t] = F[t]·V_reset + (1 - F[t])·U[t]``   (hard, spike-driven)
    - leak:   ``V[t] = α·R[t] + β``, ``α = sigmoid(a)`` learnable (``learn_alpha``) or fixed

    Reference: Z. Wu, H. Zhang, Y. Lin, G. Li, M. Wang, Y. Tang, "LIAF-Net: Leaky Integrate
    and Analog Fire Network for Lightweight and Efficient Spatiotemporal Information
    Processing", IEEE TNNLS 33(11):6249-6262, 2022.

    Args:
        threshold: ``θ``.
        v_reset: ``V_reset``.
        alpha_init: initial leak ``α`` in (0, 1) (the membrane decay, not the surrogate's α).
        learn_alpha: learn ``α = sigmoid(a)``; otherwise ``α`` stays ``alpha_init``.
        beta: leak bias ``β`` (fixed).
        activation: one of :data:`ACTIVATIONS` (paper default relu).
        threshold_related: output ``act(U - θ)`` instead of ``act(U)``.
        norm: ``None``, ``"batch"`` or ``"layer"`` (needs ``num_features``).
        detach_reset: detach the spike in the reset path.
        surrogate, alpha: surrogate gradient (default rect, α = 1, the paper's window).
        num_features: size of the last input dimension.
        per_channel: one ``a`` per feature instead of one per layer.
        backend: see :class:`BaseNeuron`.

    Parameters: ``a`` (if ``learn_alpha``), the norm's affine parameters. State: ``("v",)``.
    :attr:`last_firing_rate` is the rate of the (reset-only) spikes ``F``.
    """

    state_names = ("v",)
    analog_output = True

    @property
    def silent_output_zero(self) -> bool:
        """``act(U - θ)`` with relu is 0 below threshold: LIAF transmits only when it fires."""
        return self.threshold_related and self.activation == "relu"

    def __init__(self, threshold: float = 0.5, v_reset: float = 0.0, alpha_init: float = 0.5,
                 learn_alpha: bool = True, beta: float = 0.0, activation: str = "relu",
                 threshold_related: bool = True, norm: str | None = None,
                 detach_reset: bool = False, surrogate: str = "rect",
                 alpha: float | None = None, num_features: int | None = None,
                 per_channel: bool = False, backend: str = "auto"):
        super().__init__(num_features=num_features, surrogate=surrogate, alpha=alpha,
                         detach_reset=detach_reset, per_channel=per_channel, backend=backend)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid activations: "
                             f"{sorted(ACTIVATIONS)}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; valid norms: {list(NORMS)}")
        norm_module = _build_norm(norm, num_features)
        alpha_init = float(alpha_init)
        if not 0.0 < alpha_init < 1.0:
            raise ValueError(f"alpha_init must lie in (0, 1), got {alpha_init}")
        self.threshold = float(threshold)
        self.v_reset = float(v_reset)
        self.beta = float(beta)
        self.alpha_init = alpha_init
        self.learn_alpha = bool(learn_alpha)
        self.activation = activation
        self.threshold_related = bool(threshold_related)
        self.norm_kind = norm
        self.a: nn.Parameter | None = None
        if self.learn_alpha:
            self.a = self._new_param(math.log(alpha_init / (1.0 - alpha_init)))
        # assigned after `a`: the state dict keeps its order (a, then the norm's parameters)
        self.norm = norm_module
        self._check_backend()

    def _needs_features(self) -> bool:
        return self.per_channel or self.norm is not None

    @property
    def leak(self) -> torch.Tensor | float:
        """The current leak ``α`` (detached)."""
        return torch.sigmoid(self.a.detach()) if self.a is not None else self.alpha_init

    def _coefficients(self, x: torch.Tensor) -> tuple:
        if self.a is None:
            return (self.alpha_init,)
        return (torch.sigmoid(self.a).to(x.dtype),)

    def _normalise(self, u: torch.Tensor) -> torch.Tensor:
        if self.norm is None:
            return u
        if isinstance(self.norm, nn.BatchNorm1d):
            return self.norm(u.reshape(-1, u.shape[-1])).reshape(u.shape)
        return self.norm(u)

    def _step_impl(self, x_t, state, coeffs):
        (v,) = state
        (leak,) = coeffs
        # integrate (+ optional normalisation)
        u = self._normalise(x_t + v)
        # fire
        f = self.fire(u, self.threshold)
        # analog output, read before the reset
        act = ACTIVATIONS[self.activation]
        y = act(u - self.threshold) if self.threshold_related else act(u)
        # reset (spike-driven, hard) and leak
        fr = self._reset_spike(f)
        r = fr * self.v_reset + (1 - fr) * u
        v = leak * r + self.beta if self.beta != 0.0 else leak * r
        return y, (v,), (f,)

    def _fused_unsupported(self) -> str | None:
        # The norm couples neurons within a step: not an elementwise recurrence.
        return f"norm={self.norm_kind!r}" if self.norm is not None else None

    def _multi_step_fused(self, x, state):
        (v0,) = state
        (leak,) = self._coefficients(x)
        cfg = _fused.LIAFConfig(self.threshold, self.v_reset, self.beta, self.detach_reset,
                                *self._fused_surrogate())
        u, v = _fused.LIAFFunction.apply(x, v0, self._as_coef(leak, x), cfg)
        act = ACTIVATIONS[self.activation]
        if self.activation in _PIECEWISE_LINEAR:
            y = act(u - self.threshold) if self.threshold_related else act(u)
        else:
            y = torch.stack([act(u[t] - self.threshold) if self.threshold_related
                             else act(u[t]) for t in range(u.shape[0])])
        count = None
        if self.monitor:
            count = (u.detach() - self.threshold >= 0).count_nonzero()
        return y, (v,), count

    def extra_repr(self) -> str:
        return (f"threshold={self.threshold}, v_reset={self.v_reset}, "
                f"alpha_init={self.alpha_init}, learn_alpha={self.learn_alpha}, "
                f"beta={self.beta}, activation={self.activation!r}, "
                f"threshold_related={self.threshold_related}, norm={self.norm_kind!r}, "
                + super().extra_repr())

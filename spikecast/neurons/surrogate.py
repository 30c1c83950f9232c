"""Surrogate gradients: the exact Heaviside step forward, a smooth derivative backward.

Every spiking neuron fires with ``s = Θ(x)``, ``x = membrane - θ``, where ``Θ(x) = 1`` for
``x >= 0`` and ``0`` otherwise. The step has no useful derivative, so the backward pass uses a
*surrogate* ``dΘ/dx`` (docs/neurons.md, "Surrogate gradients"):

=========  ====================================  =============
name       backward ``dΘ/dx``                    default ``α``
=========  ====================================  =============
atan       ``(α/2) / (1 + (π/2·α·x)²)``           2 (peak 1)
sigmoid    ``α·σ(αx)·(1 - σ(αx))``                4 (peak 1)
rect       ``α·[|x| < 0.5/α]``                    1
triangle   ``max(0, α - α²·|x|)``                 1
=========  ====================================  =============

Use :func:`get` to obtain a callable ``f(x) -> spikes``; the autograd functions
(:class:`ATan`, :class:`Sigmoid`, :class:`Rect`, :class:`Triangle`) are public too
(``ATan.apply(x, alpha)``).
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "DEFAULT_ALPHA",
    "ATan",
    "Sigmoid",
    "Rect",
    "Triangle",
    "Surrogate",
    "heaviside",
    "atan_grad",
    "sigmoid_grad",
    "rect_grad",
    "triangle_grad",
    "available",
    "get",
]

#: Default sharpness ``α`` of every surrogate.
DEFAULT_ALPHA: dict[str, float] = {"atan": 2.0, "sigmoid": 4.0, "rect": 1.0, "triangle": 1.0}


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """The exact step ``Θ(x)``: 1 where ``x >= 0``, else 0, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


def atan_grad(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(α/2) / (1 + (π/2·α·x)²)``."""
    return (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2)


def sigmoid_grad(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``α·σ(αx)·(1 - σ(αx))``."""
    sg = torch.sigmoid(alpha * x)
    return alpha * sg * (1 - sg)


def rect_grad(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``α·[|x| < 0.5/α]`` (a rectangular window of width ``1/α`` and area 1)."""
    return alpha * (x.abs() < 0.5 / alpha).to(x.dtype)


def triangle_grad(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``max(0, α - α²·|x|)`` (a triangle of half-width ``1/α`` and area 1)."""
    return torch.clamp(alpha - alpha * alpha * x.abs(), min=0)


class ATan(torch.autograd.Function):
    """Heaviside forward, arctangent surrogate backward: ``(α/2) / (1 + (π/2·α·x)²)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        """``Θ(x)``."""
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        """``grad_output · dΘ/dx``; no gradient for ``alpha``."""
        (x,) = ctx.saved_tensors
        return grad_output * atan_grad(x, ctx.alpha), None


class Sigmoid(torch.autograd.Function):
    """Heaviside forward, sigmoid-derivative surrogate backward: ``α·σ(αx)·(1 - σ(αx))``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        """``Θ(x)``."""
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        """``grad_output · dΘ/dx``; no gradient for ``alpha``."""
        (x,) = ctx.saved_tensors
        return grad_output * sigmoid_grad(x, ctx.alpha), None


class Rect(torch.autograd.Function):
    """Heaviside forward, rectangular-window surrogate backward: ``α·[|x| < 0.5/α]``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        """``Θ(x)``."""
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        """``grad_output · dΘ/dx``; no gradient for ``alpha``."""
        (x,) = ctx.saved_tensors
        return grad_output * rect_grad(x, ctx.alpha), None


class Triangle(torch.autograd.Function):
    """Heaviside forward, triangular surrogate backward: ``max(0, α - α²·|x|)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        """``Θ(x)``."""
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        """``grad_output · dΘ/dx``; no gradient for ``alpha``."""
        (x,) = ctx.saved_tensors
        return grad_output * triangle_grad(x, ctx.alpha), None


_FUNCTIONS: dict[str, type[torch.autograd.Function]] = {
    "atan": ATan,
    "sigmoid": Sigmoid,
    "rect": Rect,
    "triangle": Triangle,
}


def available() -> list[str]:
    """Names of the surrogate gradients, sorted."""
    return sorted(_FUNCTIONS)


class Surrogate:
    """A spike function ``x -> Θ(x)`` with a named surrogate gradient (picklable).

    Args:
        name: one of :func:`available`.
        alpha: sharpness; ``None`` takes the surrogate's default (:data:`DEFAULT_ALPHA`).
    """

    def __init__(self, name: str, alpha: float | None = None):
        if name not in _FUNCTIONS:
            raise ValueError(f"unknown surrogate {name!r}; valid surrogates: {available()}")
        alpha = DEFAULT_ALPHA[name] if alpha is None else float(alpha)
        if not alpha > 0 or not math.isfinite(alpha):
            raise ValueError(f"surrogate alpha must be a positive finite number, got {alpha}")
        self.name = name
        self.alpha = alpha

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``Θ(x)`` (same shape and dtype as ``x``)."""
        return _FUNCTIONS[self.name].apply(x, self.alpha)

    def __repr__(self) -> str:
        return f"Surrogate({self.name!r}, alpha={self.alpha})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Surrogate) and other.name == self.name
                and other.alpha == self.alpha)

    def __hash__(self) -> int:
        return hash((self.name, self.alpha))


def get(name: str, alpha: float | None = None) -> Surrogate:
    """The spike function with surrogate ``name`` and sharpness ``alpha`` (None: default).

    Raises:
        ValueError: unknown ``name`` (the message lists the valid ones) or ``alpha <= 0``.
    """
    return Surrogate(name, alpha)

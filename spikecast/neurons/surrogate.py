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

Use :func:`get` to obtain a callable ``f(x) -> spikes``; :data:`SURROGATES` holds the table
(``SURROGATES["atan"].apply(x, alpha)``; ``ATan`` etc. are its entries under their old names).

One table, three backends
-------------------------
Each surrogate is ONE :class:`SurrogateSpec` in :data:`SURROGATES`: its name, default ``α``,
the host-side constants ``params(α) -> (p0, p1)`` and the formula
``grad(z, p0, p1, one, zero)``, written once as a plain scalar expression. Three backends run
that same function object:

- torch (the reference step and the portable fused loop): ``ops`` bound to
  :data:`TORCH_OPS`;
- numba (fused CPU kernels): the kernels take the entry itself as an argument, whose numba
  type names the formula; :meth:`SurrogateSpec.formula` re-binds ``ops`` to numba scalar
  functions and numba compiles each backward kernel once per entry and dtype with the
  formula inlined, cached on disk under a key that holds a digest of the formula's code (an
  edited formula is compiled afresh, never served stale);
- Triton (fused GPU kernels): ``ops`` re-bound to ``triton.language``, the jitted formula is
  passed to the kernel as a compile-time constant.

So a formula is a plain ``def`` (Triton compiles it from its source; no lambda) that uses
only its arguments, ``+ - * /``, comparisons, and ``ops.exp``, ``ops.abs``,
``ops.where(cond, a, b)`` and ``ops.maximum(a, b)``. No float literals: ``one`` and ``zero``
arrive in the data's dtype (numba types a literal as float64 and would widen a float32
kernel; torch's ``where`` of two python scalars would return its default dtype). No other
globals (Triton rejects them): every constant that depends on ``α`` goes through
``params`` (two at most, computed once on the host).

Adding a surrogate takes one formula ``def`` and one entry in :data:`SURROGATES`, both in
this file; no kernel changes. (Its first use compiles each numba backward kernel it runs
once for it, a second or two per kernel and dtype; the disk cache serves later processes.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FunctionType, SimpleNamespace

import torch

__all__ = [
    "DEFAULT_ALPHA",
    "SURROGATES",
    "TORCH_OPS",
    "ATan",
    "Sigmoid",
    "Rect",
    "Triangle",
    "SpikeFunction",
    "Surrogate",
    "SurrogateSpec",
    "heaviside",
    "atan_grad",
    "sigmoid_grad",
    "rect_grad",
    "triangle_grad",
    "available",
    "get",
]

#: The operations a formula may call, for torch tensors.
TORCH_OPS = SimpleNamespace(exp=torch.exp, abs=torch.abs, where=torch.where,
                            maximum=torch.maximum)
# The formulas' global ``ops``: every backend re-binds it (SurrogateSpec.formula); this one
# lets a formula be called directly on tensors.
ops = TORCH_OPS


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """The exact step ``Θ(x)``: 1 where ``x >= 0``, else 0, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


# ----------------------------------------------------------------------------- formulas
# ``z = x``; ``p0, p1`` come from the entry's ``params(α)``. See the module doc for the rules.
def _atan(z, p0, p1, one, zero):
    """``p0 / (1 + (p1·z)²)``, ``p0 = α/2``, ``p1 = π/2·α``."""
    w = p1 * z
    return p0 / (one + w * w)


def _sigmoid(z, p0, p1, one, zero):
    """``p0·σ(p0·z)·(1 - σ(p0·z))``, ``p0 = α``."""
    e = one / (one + ops.exp(-p0 * z))
    return p0 * e * (one - e)


def _rect(z, p0, p1, one, zero):
    """``p0·[|z| < p1]``, ``p0 = α``, ``p1 = 0.5/α`` (width ``1/α``, area 1)."""
    return ops.where(ops.abs(z) < p1, p0, zero)


def _triangle(z, p0, p1, one, zero):
    """``max(0, p0 - p1·|z|)``, ``p0 = α``, ``p1 = α²`` (half-width ``1/α``, area 1)."""
    return ops.maximum(p0 - p1 * ops.abs(z), zero)


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class SurrogateSpec:
    """One surrogate gradient: everything every backend needs to know about it.

    Attributes:
        name: the key in :data:`SURROGATES` and the ``surrogate=`` value of the neurons.
        default_alpha: sharpness ``α`` when none is given.
        params: ``α -> (p0, p1)``, the formula's constants, computed on the host in float64
            (the kernels round them once to the data's dtype).
        grad: ``(z, p0, p1, one, zero) -> dΘ/dz``, the formula (rules in the module doc).
    """

    name: str
    default_alpha: float
    params: Callable[[float], tuple[float, float]]
    grad: Callable
    _torch_grad: Callable = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # torch too gets its own binding, so a formula written in another module (a test,
        # a user's file) needs no ``ops`` of its own
        object.__setattr__(self, "_torch_grad", self.formula(TORCH_OPS))

    def derivative(self, x: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
        """``dΘ/dx`` at ``x`` (torch), with sharpness ``alpha`` (None: the default)."""
        p0, p1 = self.params(self.default_alpha if alpha is None else alpha)
        # a 0-d ``zero`` keeps ``where`` / ``maximum`` in x's dtype (two python scalars
        # would give torch's default dtype)
        return self._torch_grad(x, p0, p1, 1.0, x.new_zeros(()))

    def apply(self, x: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
        """Spikes ``Θ(x)`` whose backward is this surrogate (``ATan.apply(x, alpha)``)."""
        return SpikeFunction.apply(x, self.default_alpha if alpha is None else alpha, self)

    def formula(self, namespace) -> FunctionType:
        """:attr:`grad` with its global ``ops`` bound to ``namespace`` (numba, Triton, ...).

        The same code object, so every backend runs the very formula written here.
        """
        scope = dict(self.grad.__globals__, ops=namespace)
        return FunctionType(self.grad.__code__, scope, self.grad.__name__,
                            self.grad.__defaults__, self.grad.__closure__)


#: The surrogate gradients by name: the one place each is defined.
SURROGATES: dict[str, SurrogateSpec] = {spec.name: spec for spec in (
    SurrogateSpec("atan", 2.0, lambda a: (a / 2, math.pi / 2 * a), _atan),
    SurrogateSpec("sigmoid", 4.0, lambda a: (a, 0.0), _sigmoid),
    SurrogateSpec("rect", 1.0, lambda a: (a, 0.5 / a), _rect),
    SurrogateSpec("triangle", 1.0, lambda a: (a, a * a), _triangle),
)}


class _DefaultAlpha(Mapping):
    """Read-only view ``name -> default α`` of :data:`SURROGATES` (follows its changes)."""

    def __getitem__(self, name: str) -> float:
        return SURROGATES[name].default_alpha

    def __iter__(self) -> Iterator[str]:
        return iter(SURROGATES)

    def __len__(self) -> int:
        return len(SURROGATES)

    def __repr__(self) -> str:
        return repr(dict(self))


#: Default sharpness ``α`` of every surrogate (a view of :data:`SURROGATES`).
DEFAULT_ALPHA: Mapping[str, float] = _DefaultAlpha()


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward, a table entry's surrogate backward: ``apply(x, alpha, spec)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float, spec: SurrogateSpec) -> torch.Tensor:
        """``Θ(x)``."""
        ctx.save_for_backward(x)
        ctx.alpha, ctx.spec = alpha, spec
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        """``grad_output · dΘ/dx``; no gradient for ``alpha`` or ``spec``."""
        (x,) = ctx.saved_tensors
        return grad_output * ctx.spec.derivative(x, ctx.alpha), None, None


# The names of the four autograd functions this module had before the table; each is now
# its table entry, which keeps ``ATan.apply(x, alpha)`` working.
ATan = SURROGATES["atan"]
Sigmoid = SURROGATES["sigmoid"]
Rect = SURROGATES["rect"]
Triangle = SURROGATES["triangle"]
#: ``atan_grad(x, alpha)``: the atan entry's :meth:`~SurrogateSpec.derivative` (likewise below).
atan_grad = ATan.derivative
sigmoid_grad = Sigmoid.derivative
rect_grad = Rect.derivative
triangle_grad = Triangle.derivative


def available() -> list[str]:
    """Names of the surrogate gradients, sorted."""
    return sorted(SURROGATES)


class Surrogate:
    """A spike function ``x -> Θ(x)`` with a named surrogate gradient (picklable).

    Args:
        name: one of :func:`available`.
        alpha: sharpness; ``None`` takes the surrogate's default (:data:`DEFAULT_ALPHA`).
    """

    def __init__(self, name: str, alpha: float | None = None):
        if name not in SURROGATES:
            raise ValueError(f"unknown surrogate {name!r}; valid surrogates: {available()}")
        alpha = SURROGATES[name].default_alpha if alpha is None else float(alpha)
        if not alpha > 0 or not math.isfinite(alpha):
            raise ValueError(f"surrogate alpha must be a positive finite number, got {alpha}")
        self.name = name
        self.alpha = alpha

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``Θ(x)`` (same shape and dtype as ``x``)."""
        return SpikeFunction.apply(x, self.alpha, SURROGATES[self.name])

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

"""The autograd functions of the fused backend and the choice of kernel.

Each function's forward runs the whole time loop once, without an autograd graph, through
a kernel backend (:func:`kernel_for`), and saves only the membranes its backward needs; the
backward runs one reverse loop that recomputes spikes and surrogate gradients. Learnable
coefficients enter as tensors broadcastable to one time step (shape ``()`` or
``(features,)``); their gradients are summed over time inside the kernel and over the
remaining dimensions here (``sum_to_size``). The neurons derive the coefficients from their
parameters with ordinary autograd ops (``sigmoid(w)``, ``1 - k``, ...), so the chain rule
through those stays torch's.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from types import ModuleType

import torch

from spikecast.neurons.fused import _torch_kernels

__all__ = ["KERNELS", "kernel_for", "use_kernel", "numba_available", "triton_available",
           "LeakyFunction", "LIAFFunction", "TSLIFFunction", "TCLIFFunction"]

#: Kernel backends: ``"torch"`` (portable loop), ``"numba"`` (CPU), ``"triton"`` (CUDA).
KERNELS = ("torch", "numba", "triton")
_COMPILED_DTYPES = (torch.float32, torch.float64)
_forced: str | None = None
_modules: dict[str, ModuleType | None] = {}


def _load(name: str) -> ModuleType | None:
    """The kernel module ``name``, or None when its compiler is not importable."""
    if name not in _modules:
        if name == "torch":
            _modules[name] = _torch_kernels
        else:
            try:
                _modules[name] = importlib.import_module(
                    f"spikecast.neurons.fused._{name}_kernels")
            except ImportError:
                _modules[name] = None
    return _modules[name]


def numba_available() -> bool:
    """Whether the numba CPU kernels can be used (numba importable)."""
    return _load("numba") is not None


def triton_available() -> bool:
    """Whether the Triton kernels can be used (triton importable)."""
    return _load("triton") is not None


def kernel_for(x: torch.Tensor) -> str:
    """The kernel backend that runs a fused call on ``x`` (one of :data:`KERNELS`).

    CUDA float32/float64 tensors use Triton when it is importable, CPU float32/float64
    tensors numba when it is importable; everything else the portable torch loop. The
    environment variable ``SPIKECAST_FUSED_KERNEL`` or :func:`use_kernel` override the
    choice (Triton on CPU tensors needs ``TRITON_INTERPRET=1``).
    """
    forced = _forced or os.environ.get("SPIKECAST_FUSED_KERNEL") or None
    if forced is not None:
        if forced not in KERNELS:
            raise ValueError(f"unknown fused kernel {forced!r}; valid kernels: {list(KERNELS)}")
        if _load(forced) is None:
            raise RuntimeError(f"fused kernel {forced!r} requested but {forced} is not "
                               "importable")
        return forced
    if x.dtype in _COMPILED_DTYPES:
        if x.device.type == "cuda" and triton_available():
            return "triton"
        if x.device.type == "cpu" and numba_available():
            return "numba"
    return "torch"


@contextlib.contextmanager
def use_kernel(name: str | None):
    """Context manager forcing the kernel backend (None: automatic choice).

    For tests and benchmarks; not thread-safe.
    """
    global _forced
    if name is not None and name not in KERNELS:
        raise ValueError(f"unknown fused kernel {name!r}; valid kernels: {list(KERNELS)}")
    previous, _forced = _forced, name
    try:
        yield
    finally:
        _forced = previous


def _kernel(name: str, func: str):
    """Kernel function ``func`` of backend ``name``; the torch loop where it has none."""
    module = _load(name)
    return getattr(module, func, None) or getattr(_torch_kernels, func)


def _flat_coef(c: torch.Tensor, step_shape: torch.Size, n: int) -> torch.Tensor:
    """A coefficient broadcast to one time step and flattened to ``[N]`` (contiguous)."""
    return c.expand(step_shape).reshape(n).contiguous()


def _sum_to(g: torch.Tensor | None, step_shape: torch.Size, like: torch.Tensor):
    """Per-neuron time sums ``[N]`` reduced to the coefficient's shape."""
    if g is None:
        return None
    return g.view(step_shape).sum_to_size(like.shape).to(like.dtype)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1).contiguous()


class LeakyFunction(torch.autograd.Function):
    """Fused LIF / PLIF / DA-LIF: ``apply(x, v0, c1, c2, c3, cfg) -> (s, v_T)``.

    ``h[t] = c1·v[t-1] (+ c3) + c2·(x[t] + x_offset)``, ``s = Θ(h - θ)``, hard or soft reset
    (:class:`~spikecast.neurons.fused.LeakyConfig`). Saves ``h`` (``T×N``), plus ``x`` only
    when ``c2`` needs a gradient.
    """

    @staticmethod
    def forward(ctx, x, v0, c1, c2, c3, cfg):
        """Run the time loop once (no graph)."""
        kernel = kernel_for(x)
        step, n = x.shape[1:], x[0].numel()
        coefs = [_flat_coef(c, step, n) for c in (c1, c2, c3)]
        with torch.no_grad():
            s, h, v_T = _kernel(kernel, "leaky_forward")(
                _flat(x), v0.reshape(n).contiguous(), *coefs, cfg)
        ctx.cfg, ctx.kernel, ctx.step = cfg, kernel, step
        ctx.coefs = coefs
        need_x = ctx.needs_input_grad[3]
        ctx.save_for_backward(h, x if need_x else None, v0, c1, c2, c3)
        return s.view(x.shape), v_T.view(step)

    @staticmethod
    def backward(ctx, g_s, g_vT):
        """One reverse loop: gradients of ``x``, ``v0``, ``c1``, ``c2``, ``c3``."""
        h, x, v0, c1, c2, c3 = ctx.saved_tensors
        step, n = ctx.step, h.shape[1]
        need = tuple(ctx.needs_input_grad[2:5])
        with torch.no_grad():
            gx, gv0, *gc = _kernel(ctx.kernel, "leaky_backward")(
                _flat(g_s), g_vT.reshape(n).contiguous(), h,
                _flat(x) if x is not None else None, v0.reshape(n).contiguous(),
                ctx.coefs[0], ctx.coefs[1], ctx.cfg, need)
        gc = [_sum_to(g, step, c) for g, c in zip(gc, (c1, c2, c3))]
        return gx.view(h.shape[:1] + step), gv0.view(step), *gc, None


class LIAFFunction(torch.autograd.Function):
    """Fused LIAF (no normalisation): ``apply(x, v0, leak, cfg) -> (u, V_T)``.

    ``u[t] = x[t] + V[t-1]`` is returned (the caller applies the activation to it, with
    autograd); ``F = Θ(u - θ)``, ``R = F·V_reset + (1-F)·u``, ``V = leak·R + β``. Saves ``u``.
    """

    @staticmethod
    def forward(ctx, x, v0, leak, cfg):
        """Run the time loop once (no graph)."""
        kernel = kernel_for(x)
        step, n = x.shape[1:], x[0].numel()
        leak_flat = _flat_coef(leak, step, n)
        with torch.no_grad():
            u, v_T = _kernel(kernel, "liaf_forward")(
                _flat(x), v0.reshape(n).contiguous(), leak_flat, cfg)
        ctx.cfg, ctx.kernel, ctx.step, ctx.leak_flat = cfg, kernel, step, leak_flat
        ctx.save_for_backward(u, leak)
        return u.view(x.shape), v_T.view(step)

    @staticmethod
    def backward(ctx, g_u, g_vT):
        """One reverse loop: gradients of ``x``, ``v0`` and ``leak``."""
        u, leak = ctx.saved_tensors
        step, n = ctx.step, u.shape[1]
        with torch.no_grad():
            gx, gv0, gleak = _kernel(ctx.kernel, "liaf_backward")(
                _flat(g_u), g_vT.reshape(n).contiguous(), u, ctx.leak_flat, ctx.cfg,
                ctx.needs_input_grad[2])
        return gx.view(u.shape[:1] + step), gv0.view(step), _sum_to(gleak, step, leak), None


class TSLIFFunction(torch.autograd.Function):
    """Fused TS-LIF: ``apply(x, ud0, us0, a_d, b_d, a_s, b_s, c_sd, c_ds, p, q, cfg)``.

    Returns ``(y, ud_T, us_T, ud, us)`` with ``y = p·S_d + q·S_s`` and the pre-reset
    membranes ``ud``, ``us`` (``[T, ...]``, no gradient; they give the spike counts). Saves
    ``ud``, ``us`` and ``x``.
    """

    @staticmethod
    def forward(ctx, x, ud0, us0, a_d, b_d, a_s, b_s, c_sd, c_ds, p, q, cfg):
        """Run the time loop once (no graph)."""
        kernel = kernel_for(x)
        step, n = x.shape[1:], x[0].numel()
        params = (a_d, b_d, a_s, b_s, c_sd, c_ds, p, q)
        coef = torch.stack([_flat_coef(c, step, n) for c in params])
        xf = _flat(x)
        with torch.no_grad():
            y, ud, us, ud_T, us_T = _kernel(kernel, "tslif_forward")(
                xf, ud0.reshape(n).contiguous(), us0.reshape(n).contiguous(), coef, cfg)
        ctx.cfg, ctx.kernel, ctx.step, ctx.coef = cfg, kernel, step, coef
        ctx.save_for_backward(ud, us, xf, ud0, us0, *params)
        ctx.mark_non_differentiable(ud, us)
        # Otherwise autograd hands backward two T×N zero tensors for ud and us.
        ctx.set_materialize_grads(False)
        return (y.view(x.shape), ud_T.view(step), us_T.view(step), ud.view(x.shape),
                us.view(x.shape))

    @staticmethod
    def backward(ctx, g_y, g_udT, g_usT, _g_ud, _g_us):
        """One reverse loop: gradients of ``x``, both initial states and all 8 coefficients."""
        ud, us, xf, ud0, us0, *params = ctx.saved_tensors
        step, n = ctx.step, ud.shape[1]
        g_y = torch.zeros_like(ud) if g_y is None else g_y
        g_udT = ud0.new_zeros(step) if g_udT is None else g_udT
        g_usT = us0.new_zeros(step) if g_usT is None else g_usT
        need = any(ctx.needs_input_grad[3:11])
        with torch.no_grad():
            gx, gud0, gus0, acc = _kernel(ctx.kernel, "tslif_backward")(
                _flat(g_y), g_udT.reshape(n).contiguous(), g_usT.reshape(n).contiguous(),
                ud, us, xf, ud0.reshape(n).contiguous(), us0.reshape(n).contiguous(),
                ctx.coef, ctx.cfg, need)
        grads = [_sum_to(acc[i], step, c) if acc is not None and ctx.needs_input_grad[3 + i]
                 else None for i, c in enumerate(params)]
        return gx.view(ud.shape[:1] + step), gud0.view(step), gus0.view(step), *grads, None


class TCLIFFunction(torch.autograd.Function):
    """Fused TC-LIF: ``apply(x, ud0, us0, k1, k2, cfg) -> (s, ud_T, us_T)``.

    ``U_d = U_d - k1·U_s + x``, ``U_s = U_s + k2·U_d``, ``S = Θ(U_s - θ)``, soft resets.
    Saves the pre-reset membranes ``ud``, ``us``.
    """

    @staticmethod
    def forward(ctx, x, ud0, us0, k1, k2, cfg):
        """Run the time loop once (no graph)."""
        kernel = kernel_for(x)
        step, n = x.shape[1:], x[0].numel()
        coefs = [_flat_coef(c, step, n) for c in (k1, k2)]
        with torch.no_grad():
            s, ud, us, ud_T, us_T = _kernel(kernel, "tclif_forward")(
                _flat(x), ud0.reshape(n).contiguous(), us0.reshape(n).contiguous(), *coefs,
                cfg)
        ctx.cfg, ctx.kernel, ctx.step, ctx.coefs = cfg, kernel, step, coefs
        ctx.save_for_backward(ud, us, ud0, us0, k1, k2)
        return s.view(x.shape), ud_T.view(step), us_T.view(step)

    @staticmethod
    def backward(ctx, g_s, g_udT, g_usT):
        """One reverse loop: gradients of ``x``, both initial states, ``k1`` and ``k2``."""
        ud, us, ud0, us0, k1, k2 = ctx.saved_tensors
        step, n = ctx.step, ud.shape[1]
        need = tuple(ctx.needs_input_grad[3:5])
        with torch.no_grad():
            gx, gud0, gus0, gk1, gk2 = _kernel(ctx.kernel, "tclif_backward")(
                _flat(g_s), g_udT.reshape(n).contiguous(), g_usT.reshape(n).contiguous(),
                ud, us, ud0.reshape(n).contiguous(), us0.reshape(n).contiguous(),
                *ctx.coefs, ctx.cfg, need)
        return (gx.view(ud.shape[:1] + step), gud0.view(step), gus0.view(step),
                _sum_to(gk1, step, k1), _sum_to(gk2, step, k2), None)

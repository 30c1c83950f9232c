"""Fused GPU kernels in Triton for the LIF family (LIF, PLIF, DA-LIF).

Each program owns a block of ``BLOCK`` neurons, keeps their membrane in registers and walks
the time axis: forward reads ``x`` and writes ``s`` and ``h`` once per step, backward reads
``grad_s`` and ``h`` and writes ``grad_x``, which is the minimum traffic (docs/neurons.md, "What a
fast implementation keeps"). Compile-time flags (``tl.constexpr``) select the reset, the
detach, the surrogate and which coefficient gradients to accumulate, so every variant is a
branch-free kernel. The surrogate arrives as a compile-time function: the formula of its
:data:`~spikecast.neurons.surrogate.SURROGATES` entry with ``ops`` bound to
``triton.language`` (:func:`_surrogate_fn`), so no kernel lists the surrogates. Constants
are read from a small tensor in the data's dtype, and FMA contraction is switched off at
launch, so the forward rounds exactly like torch's separate element-wise kernels.

LIAF, TS-LIF and TC-LIF have no Triton kernel yet: on CUDA they run the portable torch loop
(:mod:`._torch_kernels`), which the dispatcher picks for any function missing here.

``TRITON_INTERPRET=1`` runs these kernels on CPU tensors (that is how the tests check them
without a GPU). Importing this module raises ImportError when triton is missing.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from spikecast.neurons.surrogate import SURROGATES, SurrogateSpec

__all__ = ["leaky_forward", "leaky_backward"]

_BLOCK = 128
# Sequences whose T·N exceeds int32 fall back to the torch loop (offsets are int32 here).
_MAX_ELEMENTS = 2**31 - 1


_surrogate_fns: dict[SurrogateSpec, triton.JITFunction] = {}


def _surrogate_fn(spec: SurrogateSpec):
    """``spec``'s formula ``(z, p0, p1, one, zero) -> dΘ/dz`` as a Triton function.

    ``ops`` is ``triton.language`` itself rather than its functions: the interpreter
    (``TRITON_INTERPRET=1``) patches the module's attributes when a kernel runs.
    """
    if spec not in _surrogate_fns:
        _surrogate_fns[spec] = triton.jit(spec.formula(tl))
    return _surrogate_fns[spec]


@triton.jit
def _leaky_fwd_kernel(x_ptr, v0_ptr, c1_ptr, c2_ptr, c3_ptr, s_ptr, h_ptr, vT_ptr, cst_ptr,
                      T, N, HARD: tl.constexpr, USE_C3: tl.constexpr, HAS_OFF: tl.constexpr,
                      HAS_VR: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    theta = tl.load(cst_ptr)
    v_reset = tl.load(cst_ptr + 1)
    x_off = tl.load(cst_ptr + 2)
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0)
    c1 = tl.load(c1_ptr + offs, mask=mask, other=0.0)
    c2 = tl.load(c2_ptr + offs, mask=mask, other=0.0)
    c3 = tl.load(c3_ptr + offs, mask=mask, other=0.0)
    for t in range(T):
        row = t * N + offs
        xt = tl.load(x_ptr + row, mask=mask, other=0.0)
        if HAS_OFF:
            xt = xt + x_off
        h = c1 * v
        if USE_C3:
            h = h + c3
        h = h + c2 * xt
        s = tl.where(h - theta >= 0.0, 1.0, 0.0).to(h.dtype)
        if HARD:
            v = h * (1.0 - s)
            if HAS_VR:
                v = v + v_reset * s
        else:
            v = h - theta * s
        tl.store(h_ptr + row, h, mask=mask)
        tl.store(s_ptr + row, s, mask=mask)
    tl.store(vT_ptr + offs, v, mask=mask)


# Its many branches (noqa C901) are compile-time flags: each launch compiles one straight path.
@triton.jit
def _leaky_bwd_kernel(gs_ptr, gv_ptr, h_ptr, x_ptr, v0_ptr, c1_ptr, c2_ptr, gx_ptr, gv0_ptr,  # noqa: C901
                      acc1_ptr, acc2_ptr, acc3_ptr, cst_ptr, T, N,
                      HARD: tl.constexpr, DETACH: tl.constexpr, SG: tl.constexpr,
                      NEED1: tl.constexpr, NEED2: tl.constexpr, NEED3: tl.constexpr,
                      HAS_OFF: tl.constexpr, HAS_VR: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    theta = tl.load(cst_ptr)
    v_reset = tl.load(cst_ptr + 1)
    x_off = tl.load(cst_ptr + 2)
    p0 = tl.load(cst_ptr + 3)
    p1 = tl.load(cst_ptr + 4)
    g = tl.load(gv_ptr + offs, mask=mask, other=0.0)
    c1 = tl.load(c1_ptr + offs, mask=mask, other=0.0)
    c2 = tl.load(c2_ptr + offs, mask=mask, other=0.0)
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0)
    acc1 = 0.0 * g
    acc2 = 0.0 * g
    acc3 = 0.0 * g
    for i in range(T):
        t = T - 1 - i
        row = t * N + offs
        ht = tl.load(h_ptr + row, mask=mask, other=0.0)
        z = ht - theta
        s = tl.where(z >= 0.0, 1.0, 0.0).to(ht.dtype)
        gs = tl.load(gs_ptr + row, mask=mask, other=0.0)
        if HARD:
            gh = g * (1.0 - s)
            if not DETACH:
                gs = gs + g * (v_reset - ht)
        else:
            gh = g
            if not DETACH:
                gs = gs - theta * g
        gh = gh + gs * SG(z, p0, p1, 1.0, 0.0 * z)  # SG: the surrogate formula
        tl.store(gx_ptr + row, gh * c2, mask=mask)
        if NEED1:
            # membrane after the previous step's reset (the initial state at t = 0)
            # (row >= N exactly when t > 0, as a tensor condition)
            hp = tl.load(h_ptr + row - N, mask=mask & (row >= N), other=0.0)
            sp = tl.where(hp - theta >= 0.0, 1.0, 0.0).to(hp.dtype)
            if HARD:
                vp = hp * (1.0 - sp)
                if HAS_VR:
                    vp = vp + v_reset * sp
            else:
                vp = hp - theta * sp
            vp = tl.where(row >= N, vp, v0)
            acc1 += gh * vp
        if NEED2:
            xt = tl.load(x_ptr + row, mask=mask, other=0.0)
            if HAS_OFF:
                xt = xt + x_off
            acc2 += gh * xt
        if NEED3:
            acc3 += gh
        g = gh * c1
    tl.store(gv0_ptr + offs, g, mask=mask)
    if NEED1:
        tl.store(acc1_ptr + offs, acc1, mask=mask)
    if NEED2:
        tl.store(acc2_ptr + offs, acc2, mask=mask)
    if NEED3:
        tl.store(acc3_ptr + offs, acc3, mask=mask)


def _fits(x: torch.Tensor) -> bool:
    return x.numel() <= _MAX_ELEMENTS


def leaky_forward(x, v0, c1, c2, c3, cfg):
    """``(s, h, v_T)`` (see :func:`._torch_kernels.leaky_forward`)."""
    if not _fits(x):
        from spikecast.neurons.fused import _torch_kernels
        return _torch_kernels.leaky_forward(x, v0, c1, c2, c3, cfg)
    T, N = x.shape
    s, h, v = torch.empty_like(x), torch.empty_like(x), torch.empty_like(v0)
    cst = torch.tensor([cfg.threshold, cfg.v_reset, cfg.x_offset], dtype=x.dtype,
                       device=x.device)
    _leaky_fwd_kernel[(triton.cdiv(N, _BLOCK),)](
        x, v0, c1, c2, c3, s, h, v, cst, T, N, HARD=cfg.hard, USE_C3=cfg.use_c3,
        HAS_OFF=cfg.x_offset != 0.0, HAS_VR=cfg.v_reset != 0.0, BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return s, h, v


def leaky_backward(gs, gv_T, h, x, v0, c1, c2, cfg, need):
    """``(gx, gv0, gc1, gc2, gc3)`` (see :func:`._torch_kernels.leaky_backward`)."""
    if not _fits(h):
        from spikecast.neurons.fused import _torch_kernels
        return _torch_kernels.leaky_backward(gs, gv_T, h, x, v0, c1, c2, cfg, need)
    T, N = h.shape
    gx, gv0 = torch.empty_like(h), torch.empty_like(v0)
    acc = [torch.empty_like(v0) if n else None for n in need]
    spec = SURROGATES[cfg.surrogate]
    cst = torch.tensor([cfg.threshold, cfg.v_reset, cfg.x_offset, *spec.params(cfg.alpha)],
                       dtype=h.dtype, device=h.device)
    _leaky_bwd_kernel[(triton.cdiv(N, _BLOCK),)](
        gs, gv_T, h, x if x is not None else h, v0, c1, c2, gx, gv0,
        *[t if t is not None else gv0 for t in acc], cst, T, N,
        HARD=cfg.hard, DETACH=cfg.detach, SG=_surrogate_fn(spec), NEED1=need[0],
        NEED2=need[1], NEED3=need[2], HAS_OFF=cfg.x_offset != 0.0, HAS_VR=cfg.v_reset != 0.0,
        BLOCK=_BLOCK, enable_fp_fusion=False)
    return (gx, gv0, *acc)

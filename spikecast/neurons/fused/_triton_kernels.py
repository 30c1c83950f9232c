"""Fused GPU kernels in Triton for every neuron: LIF / PLIF / DA-LIF, LIAF, TS-LIF, TC-LIF.

Each program owns a block of ``BLOCK`` neurons, keeps their membrane in registers and walks
the time axis, touching each ``[T, N]`` tensor once per step. For LIF, forward reads ``x``
and writes ``s`` and ``h``, backward reads ``grad_s`` and ``h`` and writes ``grad_x``, which
is the minimum traffic (docs/neurons.md, "What a fast implementation keeps"). Compile-time
flags (``tl.constexpr``) select the reset, the detach, the surrogate and which coefficient
gradients to accumulate, so every variant is a branch-free kernel. The surrogate arrives as
a compile-time function: the formula of its :data:`~spikecast.neurons.surrogate.SURROGATES`
entry with ``ops`` bound to ``triton.language`` (:func:`_surrogate_fn`), so no kernel lists
the surrogates. Constants are read from a small tensor in the data's dtype, and FMA
contraction is switched off at launch, so the forward rounds exactly like torch's separate
element-wise kernels.

Every function here mirrors its namesake in :mod:`._torch_kernels` op for op (same inputs,
outputs and order of operations); the dispatcher (:func:`._functions._kernel`) picks these by
name for CUDA tensors. The two-compartment backward kernels read each step's membranes once:
the row of step ``t - 1``, loaded for the previous state's term, is carried over as the
current row of the next (reverse) iteration.

``TRITON_INTERPRET=1`` runs these kernels on CPU tensors (that is how the tests check them
without a GPU). Importing this module raises ImportError when triton is missing.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from spikecast.neurons.surrogate import SURROGATES, SurrogateSpec

__all__ = ["leaky_forward", "leaky_backward", "liaf_forward", "liaf_backward",
           "tslif_forward", "tslif_backward", "tclif_forward", "tclif_backward"]

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
    """LIF / PLIF / DA-LIF forward (docs/neurons.md, "LIF", "PLIF", "DA-LIF"), one block.

    Charge ``h[t] = c1·v[t-1] (+ c3) + c2·(I[t] + x_offset)`` (LIF / PLIF: ``c1 = 1 - 1/τ``,
    ``c2 = 1/τ``; DA-LIF: ``c1 = β``, ``c2 = α``), fire ``s[t] = Θ(h[t] - θ)``, reset hard
    ``v = h·(1 - s) + v_reset·s`` or soft ``v = h - θ·s``. Writes ``s``, ``h`` and ``v[T]``.
    ``cst = [θ, v_reset, x_offset]``.
    """
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
    """LIF / PLIF / DA-LIF backward: one reverse pass through :func:`_leaky_fwd_kernel`.

    From ``∂L/∂s[t]`` and ``∂L/∂v[T]``: ``∂L/∂I[t]``, ``∂L/∂v[0]`` and the time sums of the
    gradients of ``c1`` (``NEED1``), ``c2`` (``NEED2``) and ``c3`` (``NEED3``). The spike,
    recomputed from ``h``, reaches the gradient through the reset unless ``DETACH``.
    ``cst = [θ, v_reset, x_offset, p0, p1]`` (``p0, p1``: the surrogate's constants).
    """
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


def _consts(like: torch.Tensor, *values: float) -> torch.Tensor:
    """The python constants ``values`` as a small tensor in ``like``'s dtype and device."""
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _torch_loop(func: str):
    """The portable torch kernel ``func`` (for sequences too long for int32 offsets)."""
    from spikecast.neurons.fused import _torch_kernels
    return getattr(_torch_kernels, func)


# ----------------------------------------------------------------------------- LIAF
@triton.jit
def _liaf_fwd_kernel(x_ptr, v0_ptr, leak_ptr, u_ptr, vT_ptr, cst_ptr, T, N,
                     HAS_BETA: tl.constexpr, BLOCK: tl.constexpr):
    """LIAF forward (docs/neurons.md, "LIAF", no normalisation), one block of neurons.

    ``U[t] = I[t] + V[t-1]``, ``F[t] = Θ(U[t] - θ)``, ``R[t] = F[t]·V_reset + (1-F[t])·U[t]``,
    ``V[t] = α·R[t] + β``; writes ``U`` (the caller applies the activation) and ``V[T]``.
    ``cst = [θ, V_reset, β]``.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    theta = tl.load(cst_ptr)
    v_reset = tl.load(cst_ptr + 1)
    beta = tl.load(cst_ptr + 2)
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0)
    leak = tl.load(leak_ptr + offs, mask=mask, other=0.0)
    for t in range(T):
        row = t * N + offs
        u = tl.load(x_ptr + row, mask=mask, other=0.0) + v
        f = tl.where(u - theta >= 0.0, 1.0, 0.0).to(u.dtype)
        r = f * v_reset + (1.0 - f) * u
        v = leak * r
        if HAS_BETA:
            v = v + beta
        tl.store(u_ptr + row, u, mask=mask)
    tl.store(vT_ptr + offs, v, mask=mask)


@triton.jit
def _liaf_bwd_kernel(gu_ptr, gv_ptr, u_ptr, leak_ptr, gx_ptr, gv0_ptr, acc_ptr, cst_ptr, T, N,
                     DETACH: tl.constexpr, NEED: tl.constexpr, SG: tl.constexpr,
                     BLOCK: tl.constexpr):
    """LIAF backward: one reverse pass through the equations of :func:`_liaf_fwd_kernel`.

    From ``∂L/∂U[t]`` (through the output) and ``∂L/∂V[T]``: ``∂L/∂I[t]``, ``∂L/∂V[0]`` and,
    when ``NEED``, ``Σ_t ∂L/∂V[t]·R[t]`` (the leak's gradient). The spike ``F`` reaches the
    gradient through the reset (``(V_reset - U)·SG(U - θ)``) unless ``DETACH``.
    ``cst = [θ, V_reset, β, p0, p1]`` (``p0, p1``: the surrogate's constants).
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    theta = tl.load(cst_ptr)
    v_reset = tl.load(cst_ptr + 1)
    p0 = tl.load(cst_ptr + 3)
    p1 = tl.load(cst_ptr + 4)
    g = tl.load(gv_ptr + offs, mask=mask, other=0.0)
    leak = tl.load(leak_ptr + offs, mask=mask, other=0.0)
    acc = 0.0 * g
    for i in range(T):
        t = T - 1 - i
        row = t * N + offs
        u = tl.load(u_ptr + row, mask=mask, other=0.0)
        z = u - theta
        f = tl.where(z >= 0.0, 1.0, 0.0).to(u.dtype)
        gr = g * leak
        if NEED:
            acc += g * (f * v_reset + (1.0 - f) * u)
        gu = tl.load(gu_ptr + row, mask=mask, other=0.0) + gr * (1.0 - f)
        if not DETACH:
            gu = gu + gr * (v_reset - u) * SG(z, p0, p1, 1.0, 0.0 * z)
        tl.store(gx_ptr + row, gu, mask=mask)
        g = gu
    tl.store(gv0_ptr + offs, g, mask=mask)
    if NEED:
        tl.store(acc_ptr + offs, acc, mask=mask)


def liaf_forward(x, v0, leak, cfg):
    """``(u, v_T)`` (see :func:`._torch_kernels.liaf_forward`)."""
    if not _fits(x):
        return _torch_loop("liaf_forward")(x, v0, leak, cfg)
    T, N = x.shape
    u, v = torch.empty_like(x), torch.empty_like(v0)
    cst = _consts(x, cfg.threshold, cfg.v_reset, cfg.beta)
    _liaf_fwd_kernel[(triton.cdiv(N, _BLOCK),)](
        x, v0, leak, u, v, cst, T, N, HAS_BETA=cfg.beta != 0.0, BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return u, v


def liaf_backward(gu_out, gv_T, u_all, leak, cfg, need_leak):
    """``(gx, gv0, gleak)`` (see :func:`._torch_kernels.liaf_backward`)."""
    if not _fits(u_all):
        return _torch_loop("liaf_backward")(gu_out, gv_T, u_all, leak, cfg, need_leak)
    T, N = u_all.shape
    gx, gv0 = torch.empty_like(u_all), torch.empty_like(gv_T)
    acc = torch.empty_like(gv_T) if need_leak else None
    spec = SURROGATES[cfg.surrogate]
    cst = _consts(u_all, cfg.threshold, cfg.v_reset, cfg.beta, *spec.params(cfg.alpha))
    _liaf_bwd_kernel[(triton.cdiv(N, _BLOCK),)](
        gu_out, gv_T, u_all, leak, gx, gv0, acc if acc is not None else gv0, cst, T, N,
        DETACH=cfg.detach, NEED=need_leak, SG=_surrogate_fn(spec), BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return gx, gv0, acc


# ----------------------------------------------------------------------------- TS-LIF
@triton.jit
def _tslif_fwd_kernel(x_ptr, ud0_ptr, us0_ptr, coef_ptr, y_ptr, ud_ptr, us_ptr, udT_ptr,
                      usT_ptr, cst_ptr, T, N, BLOCK: tl.constexpr):
    """TS-LIF forward (docs/neurons.md, "TS-LIF"), one block of neurons.

    ``U_d[t] = a_d·U_d[t-1] + b_d·I[t] - c_sd·U_s[t-1]``,
    ``U_s[t] = a_s·U_s[t-1] + b_s·I[t] - c_ds·U_d[t]``, ``S_d = Θ(U_d - θ)``,
    ``S_s = Θ(U_s - θ)``, output ``O = q·S_s + p·S_d`` (``p, q = w_d, w_s`` or ``κ, 1-κ``),
    soft resets ``U_d -= γ·S_d``, ``U_s -= θ·S_s``. Writes ``O``, the pre-reset ``U_d``,
    ``U_s`` and the final state. ``coef`` is ``[8, N]`` (a_d b_d a_s b_s c_sd c_ds p q),
    ``cst = [γ, θ]``.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    gamma = tl.load(cst_ptr)
    theta = tl.load(cst_ptr + 1)
    a_d = tl.load(coef_ptr + offs, mask=mask, other=0.0)
    b_d = tl.load(coef_ptr + N + offs, mask=mask, other=0.0)
    a_s = tl.load(coef_ptr + 2 * N + offs, mask=mask, other=0.0)
    b_s = tl.load(coef_ptr + 3 * N + offs, mask=mask, other=0.0)
    c_sd = tl.load(coef_ptr + 4 * N + offs, mask=mask, other=0.0)
    c_ds = tl.load(coef_ptr + 5 * N + offs, mask=mask, other=0.0)
    p = tl.load(coef_ptr + 6 * N + offs, mask=mask, other=0.0)
    q = tl.load(coef_ptr + 7 * N + offs, mask=mask, other=0.0)
    ud = tl.load(ud0_ptr + offs, mask=mask, other=0.0)
    us = tl.load(us0_ptr + offs, mask=mask, other=0.0)
    for t in range(T):
        row = t * N + offs
        xt = tl.load(x_ptr + row, mask=mask, other=0.0)
        ud = a_d * ud + b_d * xt - c_sd * us
        us = a_s * us + b_s * xt - c_ds * ud
        s_d = tl.where(ud - theta >= 0.0, 1.0, 0.0).to(ud.dtype)
        s_s = tl.where(us - theta >= 0.0, 1.0, 0.0).to(us.dtype)
        tl.store(y_ptr + row, q * s_s + p * s_d, mask=mask)
        tl.store(ud_ptr + row, ud, mask=mask)
        tl.store(us_ptr + row, us, mask=mask)
        ud = ud - gamma * s_d
        us = us - theta * s_s
    tl.store(udT_ptr + offs, ud, mask=mask)
    tl.store(usT_ptr + offs, us, mask=mask)


# Its branches (noqa C901) are compile-time flags: each launch compiles one straight path.
@triton.jit
def _tslif_bwd_kernel(gy_ptr, gud_ptr, gus_ptr, ud_ptr, us_ptr, x_ptr, ud0_ptr, us0_ptr,  # noqa: C901
                      coef_ptr, gx_ptr, gud0_ptr, gus0_ptr, acc_ptr, cst_ptr, T, N,
                      DETACH: tl.constexpr, NEED: tl.constexpr, SG: tl.constexpr,
                      BLOCK: tl.constexpr):
    """TS-LIF backward: one reverse pass through the equations of :func:`_tslif_fwd_kernel`.

    From ``∂L/∂O[t]`` and the final state's gradients: ``∂L/∂I[t]``, the initial state's
    gradients and, when ``NEED``, the time sums of all eight coefficients' gradients
    (``acc``, ``[8, N]``). Both spikes reach the gradient through their resets unless
    ``DETACH``. ``cst = [γ, θ, p0, p1]``.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    gamma = tl.load(cst_ptr)
    theta = tl.load(cst_ptr + 1)
    p0 = tl.load(cst_ptr + 2)
    p1 = tl.load(cst_ptr + 3)
    a_d = tl.load(coef_ptr + offs, mask=mask, other=0.0)
    b_d = tl.load(coef_ptr + N + offs, mask=mask, other=0.0)
    a_s = tl.load(coef_ptr + 2 * N + offs, mask=mask, other=0.0)
    b_s = tl.load(coef_ptr + 3 * N + offs, mask=mask, other=0.0)
    c_sd = tl.load(coef_ptr + 4 * N + offs, mask=mask, other=0.0)
    c_ds = tl.load(coef_ptr + 5 * N + offs, mask=mask, other=0.0)
    p = tl.load(coef_ptr + 6 * N + offs, mask=mask, other=0.0)
    q = tl.load(coef_ptr + 7 * N + offs, mask=mask, other=0.0)
    gud = tl.load(gud_ptr + offs, mask=mask, other=0.0)
    gus = tl.load(gus_ptr + offs, mask=mask, other=0.0)
    ud0 = tl.load(ud0_ptr + offs, mask=mask, other=0.0)
    us0 = tl.load(us0_ptr + offs, mask=mask, other=0.0)
    acc_ad = 0.0 * gud
    acc_bd = 0.0 * gud
    acc_as = 0.0 * gud
    acc_bs = 0.0 * gud
    acc_csd = 0.0 * gud
    acc_cds = 0.0 * gud
    acc_p = 0.0 * gud
    acc_q = 0.0 * gud
    last = (T - 1) * N + offs
    ud = tl.load(ud_ptr + last, mask=mask, other=0.0)
    us = tl.load(us_ptr + last, mask=mask, other=0.0)
    for i in range(T):
        t = T - 1 - i
        row = t * N + offs
        # the pre-reset membranes of step t - 1 (row >= N exactly when t > 0)
        has_prev = row >= N
        udp = tl.load(ud_ptr + row - N, mask=mask & has_prev, other=0.0)
        usp = tl.load(us_ptr + row - N, mask=mask & has_prev, other=0.0)
        zd = ud - theta
        zs = us - theta
        s_d = tl.where(zd >= 0.0, 1.0, 0.0).to(ud.dtype)
        s_s = tl.where(zs >= 0.0, 1.0, 0.0).to(us.dtype)
        g = tl.load(gy_ptr + row, mask=mask, other=0.0)
        g_sd = g * p
        g_ss = g * q
        if not DETACH:
            g_sd = g_sd - gamma * gud
            g_ss = g_ss - theta * gus
        g_us = gus + g_ss * SG(zs, p0, p1, 1.0, 0.0 * zs)
        g_ud = gud + g_sd * SG(zd, p0, p1, 1.0, 0.0 * zd) - c_ds * g_us
        if NEED:
            # the state after step t - 1's reset (the initial state at t = 0)
            ud_prev = udp - gamma * tl.where(udp - theta >= 0.0, 1.0, 0.0).to(udp.dtype)
            us_prev = usp - theta * tl.where(usp - theta >= 0.0, 1.0, 0.0).to(usp.dtype)
            ud_prev = tl.where(has_prev, ud_prev, ud0)
            us_prev = tl.where(has_prev, us_prev, us0)
            xt = tl.load(x_ptr + row, mask=mask, other=0.0)
            acc_ad += g_ud * ud_prev
            acc_bd += g_ud * xt
            acc_as += g_us * us_prev
            acc_bs += g_us * xt
            acc_csd -= g_ud * us_prev
            acc_cds -= g_us * ud
            acc_p += g * s_d
            acc_q += g * s_s
        tl.store(gx_ptr + row, g_us * b_s + g_ud * b_d, mask=mask)
        gud = g_ud * a_d
        gus = g_us * a_s - g_ud * c_sd
        ud = udp
        us = usp
    tl.store(gud0_ptr + offs, gud, mask=mask)
    tl.store(gus0_ptr + offs, gus, mask=mask)
    if NEED:
        tl.store(acc_ptr + offs, acc_ad, mask=mask)
        tl.store(acc_ptr + N + offs, acc_bd, mask=mask)
        tl.store(acc_ptr + 2 * N + offs, acc_as, mask=mask)
        tl.store(acc_ptr + 3 * N + offs, acc_bs, mask=mask)
        tl.store(acc_ptr + 4 * N + offs, acc_csd, mask=mask)
        tl.store(acc_ptr + 5 * N + offs, acc_cds, mask=mask)
        tl.store(acc_ptr + 6 * N + offs, acc_p, mask=mask)
        tl.store(acc_ptr + 7 * N + offs, acc_q, mask=mask)


def _fits_coef(x: torch.Tensor) -> bool:
    """Whether the ``[T, N]`` sequence and an ``[8, N]`` coefficient table fit int32 offsets."""
    return max(x.shape[0], 8) * x.shape[1] <= _MAX_ELEMENTS


def tslif_forward(x, ud0, us0, coef, cfg):
    """``(y, ud, us, ud_T, us_T)`` (see :func:`._torch_kernels.tslif_forward`)."""
    if not _fits_coef(x):
        return _torch_loop("tslif_forward")(x, ud0, us0, coef, cfg)
    T, N = x.shape
    y, ud, us = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x)
    ud_T, us_T = torch.empty_like(ud0), torch.empty_like(us0)
    cst = _consts(x, cfg.gamma, cfg.threshold)
    _tslif_fwd_kernel[(triton.cdiv(N, _BLOCK),)](
        x, ud0, us0, coef, y, ud, us, ud_T, us_T, cst, T, N, BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return y, ud, us, ud_T, us_T


def tslif_backward(gy, gud_T, gus_T, ud_all, us_all, x, ud0, us0, coef, cfg, need):
    """``(gx, gud0, gus0, gcoef)`` (see :func:`._torch_kernels.tslif_backward`)."""
    if not _fits_coef(x):
        return _torch_loop("tslif_backward")(gy, gud_T, gus_T, ud_all, us_all, x, ud0, us0,
                                             coef, cfg, need)
    T, N = x.shape
    gx = torch.empty_like(x)
    gud0, gus0 = torch.empty_like(gud_T), torch.empty_like(gus_T)
    acc = torch.empty_like(coef) if need else None
    spec = SURROGATES[cfg.surrogate]
    cst = _consts(x, cfg.gamma, cfg.threshold, *spec.params(cfg.alpha))
    _tslif_bwd_kernel[(triton.cdiv(N, _BLOCK),)](
        gy, gud_T, gus_T, ud_all, us_all, x, ud0, us0, coef, gx, gud0, gus0,
        acc if acc is not None else coef, cst, T, N, DETACH=cfg.detach, NEED=need,
        SG=_surrogate_fn(spec), BLOCK=_BLOCK, enable_fp_fusion=False)
    return gx, gud0, gus0, acc


# ----------------------------------------------------------------------------- TC-LIF
@triton.jit
def _tclif_fwd_kernel(x_ptr, ud0_ptr, us0_ptr, k1_ptr, k2_ptr, s_ptr, ud_ptr, us_ptr, udT_ptr,
                      usT_ptr, cst_ptr, T, N, BLOCK: tl.constexpr):
    """TC-LIF forward (docs/neurons.md, "TC-LIF"), one block of neurons.

    ``U_d[t] = U_d[t-1] - k1·U_s[t-1] + I[t]``, ``U_s[t] = U_s[t-1] + k2·U_d[t]``
    (``k1, k2 = sigmoid(c1), sigmoid(c2)``), ``S[t] = Θ(U_s[t] - θ)``, soft resets
    ``U_d -= γ·S``, ``U_s -= θ·S``. Writes ``S``, the pre-reset ``U_d``, ``U_s`` and the
    final state. ``cst = [γ, θ]``.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    gamma = tl.load(cst_ptr)
    theta = tl.load(cst_ptr + 1)
    k1 = tl.load(k1_ptr + offs, mask=mask, other=0.0)
    k2 = tl.load(k2_ptr + offs, mask=mask, other=0.0)
    ud = tl.load(ud0_ptr + offs, mask=mask, other=0.0)
    us = tl.load(us0_ptr + offs, mask=mask, other=0.0)
    for t in range(T):
        row = t * N + offs
        ud = ud - k1 * us + tl.load(x_ptr + row, mask=mask, other=0.0)
        us = us + k2 * ud
        s = tl.where(us - theta >= 0.0, 1.0, 0.0).to(us.dtype)
        tl.store(s_ptr + row, s, mask=mask)
        tl.store(ud_ptr + row, ud, mask=mask)
        tl.store(us_ptr + row, us, mask=mask)
        ud = ud - gamma * s
        us = us - theta * s
    tl.store(udT_ptr + offs, ud, mask=mask)
    tl.store(usT_ptr + offs, us, mask=mask)


# Its branches (noqa C901) are compile-time flags: each launch compiles one straight path.
@triton.jit
def _tclif_bwd_kernel(gs_ptr, gud_ptr, gus_ptr, ud_ptr, us_ptr, us0_ptr, k1_ptr, k2_ptr,  # noqa: C901
                      gx_ptr, gud0_ptr, gus0_ptr, acc1_ptr, acc2_ptr, cst_ptr, T, N,
                      DETACH: tl.constexpr, NEED1: tl.constexpr, NEED2: tl.constexpr,
                      SG: tl.constexpr, BLOCK: tl.constexpr):
    """TC-LIF backward: one reverse pass through the equations of :func:`_tclif_fwd_kernel`.

    From ``∂L/∂S[t]`` and the final state's gradients: ``∂L/∂I[t]``, the initial state's
    gradients and the time sums of ``k1``'s (``NEED1``) and ``k2``'s (``NEED2``) gradients.
    The spike reaches the gradient through both resets unless ``DETACH``.
    ``cst = [γ, θ, p0, p1]``.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    gamma = tl.load(cst_ptr)
    theta = tl.load(cst_ptr + 1)
    p0 = tl.load(cst_ptr + 2)
    p1 = tl.load(cst_ptr + 3)
    k1 = tl.load(k1_ptr + offs, mask=mask, other=0.0)
    k2 = tl.load(k2_ptr + offs, mask=mask, other=0.0)
    gud = tl.load(gud_ptr + offs, mask=mask, other=0.0)
    gus = tl.load(gus_ptr + offs, mask=mask, other=0.0)
    us0 = tl.load(us0_ptr + offs, mask=mask, other=0.0)
    acc1 = 0.0 * gud
    acc2 = 0.0 * gud
    us = tl.load(us_ptr + (T - 1) * N + offs, mask=mask, other=0.0)
    for i in range(T):
        t = T - 1 - i
        row = t * N + offs
        # the soma's pre-reset membrane of step t - 1 (row >= N exactly when t > 0)
        has_prev = row >= N
        usp = tl.load(us_ptr + row - N, mask=mask & has_prev, other=0.0)
        z = us - theta
        g_s = tl.load(gs_ptr + row, mask=mask, other=0.0)
        if not DETACH:
            g_s = g_s - gamma * gud - theta * gus
        g_us = gus + g_s * SG(z, p0, p1, 1.0, 0.0 * z)
        g_ud = gud + g_us * k2
        if NEED2:
            acc2 += g_us * tl.load(ud_ptr + row, mask=mask, other=0.0)
        if NEED1:
            us_prev = usp - theta * tl.where(usp - theta >= 0.0, 1.0, 0.0).to(usp.dtype)
            acc1 -= g_ud * tl.where(has_prev, us_prev, us0)
        tl.store(gx_ptr + row, g_ud, mask=mask)
        gud = g_ud
        gus = g_us - g_ud * k1
        us = usp
    tl.store(gud0_ptr + offs, gud, mask=mask)
    tl.store(gus0_ptr + offs, gus, mask=mask)
    if NEED1:
        tl.store(acc1_ptr + offs, acc1, mask=mask)
    if NEED2:
        tl.store(acc2_ptr + offs, acc2, mask=mask)


def tclif_forward(x, ud0, us0, k1, k2, cfg):
    """``(s, ud, us, ud_T, us_T)`` (see :func:`._torch_kernels.tclif_forward`)."""
    if not _fits(x):
        return _torch_loop("tclif_forward")(x, ud0, us0, k1, k2, cfg)
    T, N = x.shape
    s, ud, us = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x)
    ud_T, us_T = torch.empty_like(ud0), torch.empty_like(us0)
    cst = _consts(x, cfg.gamma, cfg.threshold)
    _tclif_fwd_kernel[(triton.cdiv(N, _BLOCK),)](
        x, ud0, us0, k1, k2, s, ud, us, ud_T, us_T, cst, T, N, BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return s, ud, us, ud_T, us_T


def tclif_backward(gs, gud_T, gus_T, ud_all, us_all, ud0, us0, k1, k2, cfg, need):
    """``(gx, gud0, gus0, gk1, gk2)`` (see :func:`._torch_kernels.tclif_backward`)."""
    if not _fits(ud_all):
        return _torch_loop("tclif_backward")(gs, gud_T, gus_T, ud_all, us_all, ud0, us0, k1,
                                             k2, cfg, need)
    T, N = ud_all.shape
    gx = torch.empty_like(ud_all)
    gud0, gus0 = torch.empty_like(gud_T), torch.empty_like(gus_T)
    acc = [torch.empty_like(ud0) if n else None for n in need]
    spec = SURROGATES[cfg.surrogate]
    cst = _consts(ud_all, cfg.gamma, cfg.threshold, *spec.params(cfg.alpha))
    _tclif_bwd_kernel[(triton.cdiv(N, _BLOCK),)](
        gs, gud_T, gus_T, ud_all, us_all, us0, k1, k2, gx, gud0, gus0,
        *[a if a is not None else gud0 for a in acc], cst, T, N, DETACH=cfg.detach,
        NEED1=need[0], NEED2=need[1], SG=_surrogate_fn(spec), BLOCK=_BLOCK,
        enable_fp_fusion=False)
    return (gx, gud0, gus0, *acc)

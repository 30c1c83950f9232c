"""Fused CPU kernels compiled with numba (a dependency; the torch loop is the fallback).

The same loops as :mod:`._torch_kernels`, op for op, compiled: a kernel call owns a range of
blocks of neurons and walks the time axis with each block's state in its own buffer
(:func:`_launch` splits the blocks over threads); the inner loop runs
over the block's neurons, contiguous in memory, so LLVM vectorises it. Every constant is
passed in the tensor's dtype (a float32 kernel never widens to float64) and ``fastmath`` is
off (no fused multiply-add contraction), which keeps the forward bit-identical to torch.

Importing this module raises ImportError when numba is missing; the dispatcher then uses
the torch loop.

The surrogate gradient is compiled into the backward kernels, from the table: they take the
:data:`~spikecast.neurons.surrogate.SURROGATES` entry itself as an argument, whose numba
type (:class:`SurrogateType`) names its formula. So numba compiles each backward kernel
once per surrogate and dtype, with that formula (its ``ops`` re-bound to :data:`_OPS`)
inlined into the reverse loop, which LLVM vectorises (a separate surrogate pass per row
cost up to 30% of the backward: LIF 6.3 against 4.5 ms), and caches every such version on
disk like the other kernels: a process that finds it there compiles
nothing. The type holds a digest of the formula's code, so the cache key changes with the
formula (an edited formula is compiled afresh, never served stale), and a new entry needs
no kernel change: its first call compiles the kernels it uses for it (about a second or two
each, once; the disk cache serves every later process).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import CodeType, ModuleType

import numpy as np
import torch
from numba import njit
from numba import types as nbtypes
from numba.extending import (
    NativeValue,
    models,
    overload,
    register_model,
    typeof_impl,
    unbox,
)

from spikecast.neurons.surrogate import SURROGATES, SurrogateSpec

__all__ = ["clear_buffer_cache", "leaky_forward", "leaky_backward", "liaf_forward", "liaf_backward",
           "tslif_forward", "tslif_backward", "tclif_forward", "tclif_backward"]

# the kernels: cached on disk, run without the GIL (_launch), numpy float semantics
_jit = njit(cache=True, nogil=True, error_model="numpy")


# ----------------------------------------------------------------------------- helpers
def _np(t: torch.Tensor | None, like: torch.Tensor | None = None) -> np.ndarray:
    """A numpy view of a contiguous CPU tensor (a 1×1 dummy of ``like``'s dtype for None)."""
    if t is None:
        return np.zeros((1, 1), dtype=_np(like).dtype)
    return t.detach().numpy()


# ----------------------------------------------------------------------------- buffers
# Every fused call returns fresh T×N tensors (spikes, saved membranes, input gradients). In
# this VM a first touch of fresh memory costs about 1 ms per MiB (page faults), and glibc
# unmaps large freed blocks, so each call used to fault its outputs in again: that cost
# more than the kernels themselves (LIF at T=256, 16k: 8192 faults and 20-50 ms on 8 ms of
# kernels). The kernels therefore take their large outputs from a small cache of buffers
# that they reuse once nothing else refers to them, as torch's CUDA caching allocator does.
# A buffer is free when its storage is referenced by the cache's own tensor only: every
# tensor handed out is a separate alias (its own TensorImpl) of the cached one, and torch
# counts each alias, view and NumPy export of it (``_storage_Use_Count``).
_CACHE_MIN_BYTES = 1 << 18  # smaller blocks glibc recycles without faults


def _cache_limit() -> int:
    """Bytes the buffer cache may hold (``SPIKECAST_FUSED_CACHE_MB``, default 1024; 0: off)."""
    try:
        mib = float(os.environ.get("SPIKECAST_FUSED_CACHE_MB", "1024"))
    except ValueError:
        mib = 1024.0
    return int(max(0.0, mib) * 2**20)


_use_count = getattr(torch._C, "_storage_Use_Count", None)
_cache: list[torch.Tensor] = []  # 1-D buffers, least recently used first
_cache_lock = threading.Lock()


def _in_use(buf: torch.Tensor) -> bool:
    # the cache's tensor and the temporary storage object: 2 references when free
    assert _use_count is not None  # no cache without it (_empty)
    return _use_count(buf.untyped_storage()._cdata) > 2


def clear_buffer_cache() -> None:
    """Drop the cached output buffers (the memory goes back once nothing uses them)."""
    with _cache_lock:
        _cache.clear()


def _empty(shape, like: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` with ``like``'s dtype, from the buffer cache."""
    numel = 1
    for d in shape:
        numel *= d
    nbytes = numel * like.element_size()
    limit = _cache_limit()
    if _use_count is None or nbytes < _CACHE_MIN_BYTES or nbytes > limit:
        return torch.empty(shape, dtype=like.dtype)
    with _cache_lock:
        best = None
        for k, buf in enumerate(_cache):  # the smallest free buffer that fits (up to 2x)
            if (buf.dtype == like.dtype and numel <= buf.numel() <= 2 * numel
                    and (best is None or buf.numel() < _cache[best].numel())
                    and not _in_use(buf)):
                best = k
        if best is not None:
            buf = _cache.pop(best)
        else:
            buf = torch.empty(numel, dtype=like.dtype)
            held = sum(b.numel() * b.element_size() for b in _cache) + nbytes
            k = 0
            while held > limit and k < len(_cache):  # evict free buffers, oldest first
                if _in_use(_cache[k]):
                    k += 1
                else:
                    old = _cache.pop(k)
                    held -= old.numel() * old.element_size()
            if held > limit:
                return buf.view(shape)
        _cache.append(buf)
        return buf[:numel].view(shape)  # an alias: counted while the caller holds it


_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """The worker threads (created again in a forked child, whose copy has no threads)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                                 thread_name_prefix="spikecast-fused"))
    return _pool[1]


def _launch(kernel: Callable[..., None], n: int, *args) -> None:
    """Run ``kernel(*args, block, b0, b1)`` over all blocks of ``n`` neurons.

    The kernels are serial and release the GIL (``nogil``); as many threads as torch uses
    (``torch.get_num_threads()``) each take a contiguous range of blocks. Plain Python threads
    rather than numba's ``parallel=True``: its OpenMP layer aborts a forked child that uses
    it, its workqueue layer aborts on concurrent calls, and its parfor compilation is slow.
    """
    threads = max(1, torch.get_num_threads())
    # Blocks of a few thousand neurons keep the block's state and the current step's rows
    # in L1/L2; the inner loop runs over a block.
    block = int(min(4096, max(256, -(-n // threads))))
    n_blocks = -(-n // block)
    threads = min(threads, n_blocks)
    if threads == 1:
        kernel(*args, block, 0, n_blocks)
        return
    bounds = [n_blocks * k // threads for k in range(threads + 1)]
    futures = [_executor().submit(kernel, *args, block, bounds[k], bounds[k + 1])
               for k in range(1, threads)]
    kernel(*args, block, bounds[0], bounds[1])  # this thread takes the first share
    for f in futures:
        f.result()


def _select(cond, a, b):
    return a if cond else b


# The scalar operations a surrogate formula may call (surrogate.py's module doc), for numba.
# A module, because numba resolves a module's attributes at compile time.
_OPS = ModuleType("spikecast_numba_surrogate_ops")
# (np.where on scalars returns a 0-d array in numba: an allocation per element)
vars(_OPS).update(exp=np.exp, abs=np.abs, maximum=np.maximum,
                  where=njit(inline="always")(_select))


def _fingerprint(fn: Callable) -> str:
    """A digest of what numba compiles from the formula ``fn``.

    Its code (recursively: bytecode, constants, names; not its docstring), defaults and
    closure, and the value of any global it names other than ``ops`` (the rules forbid them;
    numba would freeze them): stable across processes (no addresses, no line numbers), and
    different as soon as the formula is. Part of the kernels' cache key
    (:class:`SurrogateType`).
    """
    digest = hashlib.sha256()

    def add(obj) -> None:
        if isinstance(obj, CodeType):
            digest.update(obj.co_code)
            digest.update(repr((obj.co_names, obj.co_varnames, obj.co_freevars)).encode())
            consts = obj.co_consts
            if obj is fn.__code__ and fn.__doc__ is not None and consts[:1] == (fn.__doc__,):
                consts = (None, *consts[1:])  # as without a docstring
            for const in consts:
                add(const)
            for name in obj.co_names:
                if name != "ops" and name in fn.__globals__:
                    add((name, fn.__globals__[name]))
        elif isinstance(obj, tuple):
            for item in obj:
                add(item)
        elif obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            digest.update(f"{type(obj).__name__}:{obj!r};".encode())
        else:  # a module, a function, ...: its name (its repr may hold an address)
            name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
            digest.update(f"{type(obj).__qualname__}:{name};".encode())

    add(fn.__code__)
    add(fn.__defaults__)
    add(tuple(cell.cell_contents for cell in fn.__closure__ or ()))
    return digest.hexdigest()[:16]


class SurrogateType(nbtypes.Dummy):
    """The numba type of a :class:`~spikecast.neurons.surrogate.SurrogateSpec` argument.

    It has no run-time value; it names the formula (the entry's name and the formula's
    :func:`_fingerprint`). So a kernel that takes a spec is compiled once per surrogate and
    dtype, with the formula inlined, and cached on disk under a key that holds the
    fingerprint: an edited formula is a new type, compiled afresh (no stale cache).

    Numba's own ways to pass a function fall short here. A first-class function (a typed
    function pointer) serves every surrogate with one kernel, but its target is compiled in
    every process (it cannot be cached) and each row calls it indirectly, through its C
    wrapper (forward + backward measured 7-13% slower). A jitted function (a dispatcher) as
    the argument is specialised and inlined, but its type is keyed by the dispatcher object:
    the disk cache misses in every new process, and its index grows by an entry each time.
    """

    def __init__(self, surrogate: str, fingerprint: str):
        self.surrogate = surrogate
        self.fingerprint = fingerprint
        super().__init__(f"Surrogate({surrogate}, {fingerprint})")


register_model(SurrogateType)(models.OpaqueModel)

# The entry each type stands for (the first spec seen with it: any other has the same
# formula), read when a kernel is compiled for that type; each spec's type (typeof runs at
# every call).
_specs: dict[SurrogateType, SurrogateSpec] = {}
_types: dict[SurrogateSpec, SurrogateType] = {}


@typeof_impl.register(SurrogateSpec)
def _typeof_spec(spec: SurrogateSpec, c) -> SurrogateType:
    typ = _types.get(spec)
    if typ is None:
        typ = _types[spec] = SurrogateType(spec.name, _fingerprint(spec.grad))
        _specs.setdefault(typ, spec)
    return typ


@unbox(SurrogateType)
def _unbox_spec(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


def _dtheta(spec, z, p0, p1, one, zero):
    """``dΘ/dz`` of the surrogate ``spec`` at ``z`` (its formula; compiled code only)."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(_dtheta, inline="always")
def _dtheta_impl(spec, z, p0, p1, one, zero):
    if not isinstance(spec, SurrogateType):
        return None
    # the table's formula, its ``ops`` re-bound to numba's scalar operations
    grad = njit(inline="always")(_specs[spec].formula(_OPS))

    def impl(spec, z, p0, p1, one, zero):
        return grad(z, p0, p1, one, zero)

    return impl


def _surrogate(cfg, dtype) -> tuple[SurrogateSpec, np.ndarray]:
    """``(spec, [p0, p1])``: the config's surrogate entry and its constants in ``dtype``."""
    spec = SURROGATES[cfg.surrogate]
    return spec, np.array(spec.params(cfg.alpha), dtype=dtype)


def _consts(dtype, *values) -> np.ndarray:
    """Constants in the kernel's dtype; ``[..., 1, 0]`` are appended for the literals."""
    return np.array([*values, 1.0, 0.0], dtype=dtype)


# ----------------------------------------------------------------------------- LIF family
# Every kernel takes 1-D views of its block (rows of the [T, N] arrays, slices of the [N]
# ones) before the inner loop: indexing those with the loop counter lets LLVM vectorise,
# where 2-D indexing inside the loop did not (8x slower, measured). A backward kernel is one
# function however many branches it has (noqa C901): each branch is fixed for the whole call,
# and splitting the loop nest into calls would hide it from the vectoriser.
@_jit
def _leaky_fwd(x, v0, c1, c2, c3, s_out, h_out, v, cst, hard, use_c3, block, b0, b1):
    T, N = x.shape
    theta, vr, off, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        vb, c1b, c2b, c3b = v[lo:hi], c1[lo:hi], c2[lo:hi], c3[lo:hi]
        vb[:] = v0[lo:hi]
        for t in range(T):
            xr, hr, sr = x[t, lo:hi], h_out[t, lo:hi], s_out[t, lo:hi]
            for i in range(hi - lo):
                xt = xr[i]
                if off != zero:
                    xt = xt + off
                h = c1b[i] * vb[i]
                if use_c3:
                    h = h + c3b[i]
                h = h + c2b[i] * xt
                s = one if h - theta >= zero else zero
                if hard:
                    vn = h * (one - s)
                    if vr != zero:
                        vn = vn + vr * s
                else:
                    vn = h - theta * s
                hr[i] = h
                sr[i] = s
                vb[i] = vn


@_jit
def _leaky_bwd(gs, gv, h, x, v0, c1, c2, gx, acc1, acc2, acc3, cst, spec, sp, hard, detach,  # noqa: C901
               need1, need2, need3, block, b0, b1):
    # gv holds grad_v_T on entry and grad_v0 on exit. The coefficient sums run in loops of
    # their own after the recurrence's: inside it, their branches stopped vectorisation.
    T, N = h.shape
    theta, vr, off, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        gvb, c1b, c2b, v0b = gv[lo:hi], c1[lo:hi], c2[lo:hi], v0[lo:hi]
        ghb = np.empty_like(v0b)
        keep = need1 or need2 or need3
        for t in range(T - 1, -1, -1):
            gsr, hr, gxr = gs[t, lo:hi], h[t, lo:hi], gx[t, lo:hi]
            for i in range(n):
                g = gvb[i]
                ht = hr[i]
                z = ht - theta
                s = one if z >= zero else zero
                if hard:
                    gh = g * (one - s)
                    g_s = gsr[i] if detach else gsr[i] + g * (vr - ht)
                else:
                    gh = g
                    g_s = gsr[i] if detach else gsr[i] - theta * g
                gh = gh + g_s * _dtheta(spec, z, sp[0], sp[1], one, zero)
                if keep:
                    ghb[i] = gh
                gxr[i] = gh * c2b[i]
                gvb[i] = gh * c1b[i]
            if need1:
                a1 = acc1[lo:hi]
                if t == 0:
                    for i in range(n):
                        a1[i] += ghb[i] * v0b[i]
                else:
                    hpr = h[t - 1, lo:hi]
                    for i in range(n):
                        hp = hpr[i]
                        spk = one if hp - theta >= zero else zero
                        if hard:
                            vp = hp * (one - spk)
                            if vr != zero:
                                vp = vp + vr * spk
                        else:
                            vp = hp - theta * spk
                        a1[i] += ghb[i] * vp
            if need2:
                a2, xr = acc2[lo:hi], x[t, lo:hi]
                for i in range(n):
                    a2[i] += ghb[i] * (xr[i] + off if off != zero else xr[i])
            if need3:
                a3 = acc3[lo:hi]
                for i in range(n):
                    a3[i] += ghb[i]


def leaky_forward(x, v0, c1, c2, c3, cfg):
    """``(s, h, v_T)`` (see :func:`._torch_kernels.leaky_forward`)."""
    s, h, v = _empty(x.shape, x), _empty(x.shape, x), torch.empty_like(v0)
    cst = _consts(_np(x).dtype, cfg.threshold, cfg.v_reset, cfg.x_offset)
    _launch(_leaky_fwd, x.shape[1], _np(x), _np(v0), _np(c1), _np(c2), _np(c3), _np(s), _np(h),
            _np(v), cst, cfg.hard, cfg.use_c3)
    return s, h, v


def leaky_backward(gs, gv_T, h, x, v0, c1, c2, cfg, need):
    """``(gx, gv0, gc1, gc2, gc3)`` (see :func:`._torch_kernels.leaky_backward`)."""
    gx = _empty(h.shape, h)
    gv = gv_T.clone()
    acc = [torch.zeros_like(v0) if n else None for n in need]
    dtype = _np(h).dtype
    spec, sp = _surrogate(cfg, dtype)
    cst = _consts(dtype, cfg.threshold, cfg.v_reset, cfg.x_offset)
    dummy = np.zeros(1, dtype=dtype)
    _launch(_leaky_bwd, h.shape[1], _np(gs), _np(gv), _np(h), _np(x, h), _np(v0), _np(c1),
            _np(c2), _np(gx), *[_np(a) if a is not None else dummy for a in acc], cst, spec, sp,
            cfg.hard, cfg.detach, *need)
    return (gx, gv, *acc)


# ----------------------------------------------------------------------------- LIAF
@_jit
def _liaf_fwd(x, v0, leak, u_out, v, cst, block, b0, b1):
    T, N = x.shape
    theta, vr, beta, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        vb, lb = v[lo:hi], leak[lo:hi]
        vb[:] = v0[lo:hi]
        for t in range(T):
            xr, ur = x[t, lo:hi], u_out[t, lo:hi]
            for i in range(hi - lo):
                u = xr[i] + vb[i]
                f = one if u - theta >= zero else zero
                r = f * vr + (one - f) * u
                vn = lb[i] * r
                if beta != zero:
                    vn = vn + beta
                ur[i] = u
                vb[i] = vn


@_jit
def _liaf_bwd(gu_out, gv, u_all, leak, gx, acc, cst, spec, sp, detach, need, block, b0,
              b1):
    T, N = u_all.shape
    theta, vr, one, zero = cst[0], cst[1], cst[3], cst[4]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        gvb, lb = gv[lo:hi], leak[lo:hi]
        for t in range(T - 1, -1, -1):
            gur, ur, gxr = gu_out[t, lo:hi], u_all[t, lo:hi], gx[t, lo:hi]
            if need:  # uses grad_v[t] before the loop below turns it into grad_v[t-1]
                ab = acc[lo:hi]
                for i in range(hi - lo):
                    u = ur[i]
                    f = one if u - theta >= zero else zero
                    ab[i] += gvb[i] * (f * vr + (one - f) * u)
            for i in range(hi - lo):
                g = gvb[i]
                u = ur[i]
                z = u - theta
                f = one if z >= zero else zero
                gr = g * lb[i]
                gu = gur[i] + gr * (one - f)
                if not detach:
                    gu = gu + gr * (vr - u) * _dtheta(spec, z, sp[0], sp[1], one, zero)
                gxr[i] = gu
                gvb[i] = gu


def liaf_forward(x, v0, leak, cfg):
    """``(u, v_T)`` (see :func:`._torch_kernels.liaf_forward`)."""
    u, v = _empty(x.shape, x), torch.empty_like(v0)
    cst = _consts(_np(x).dtype, cfg.threshold, cfg.v_reset, cfg.beta)
    _launch(_liaf_fwd, x.shape[1], _np(x), _np(v0), _np(leak), _np(u), _np(v), cst)
    return u, v


def liaf_backward(gu_out, gv_T, u_all, leak, cfg, need_leak):
    """``(gx, gv0, gleak)`` (see :func:`._torch_kernels.liaf_backward`)."""
    gx = _empty(u_all.shape, u_all)
    gv = gv_T.clone()
    acc = torch.zeros_like(gv_T) if need_leak else gv_T.new_zeros(1)
    dtype = _np(u_all).dtype
    spec, sp = _surrogate(cfg, dtype)
    cst = _consts(dtype, cfg.threshold, cfg.v_reset, cfg.beta)
    _launch(_liaf_bwd, u_all.shape[1], _np(gu_out), _np(gv), _np(u_all), _np(leak), _np(gx),
            _np(acc), cst, spec, sp, cfg.detach, need_leak)
    return gx, gv, acc if need_leak else None


# ----------------------------------------------------------------------------- TS-LIF
@_jit
def _tslif_fwd(x, ud0, us0, coef, y, ud_out, us_out, ud_s, us_s, cst, block, b0, b1):
    T, N = x.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        udb, usb = ud_s[lo:hi], us_s[lo:hi]
        udb[:] = ud0[lo:hi]
        usb[:] = us0[lo:hi]
        a_d, b_d, a_s, b_s = coef[0, lo:hi], coef[1, lo:hi], coef[2, lo:hi], coef[3, lo:hi]
        c_sd, c_ds, p, q = coef[4, lo:hi], coef[5, lo:hi], coef[6, lo:hi], coef[7, lo:hi]
        for t in range(T):
            xr, yr = x[t, lo:hi], y[t, lo:hi]
            udr, usr = ud_out[t, lo:hi], us_out[t, lo:hi]
            # Four short loops rather than one: with all fourteen arrays in one loop LLVM's
            # run-time alias checks gave up and the loop ran scalar (3x slower, measured).
            for i in range(hi - lo):
                udr[i] = a_d[i] * udb[i] + b_d[i] * xr[i] - c_sd[i] * usb[i]
            for i in range(hi - lo):
                usr[i] = a_s[i] * usb[i] + b_s[i] * xr[i] - c_ds[i] * udr[i]
            for i in range(hi - lo):
                s_d = one if udr[i] - theta >= zero else zero
                s_s = one if usr[i] - theta >= zero else zero
                yr[i] = q[i] * s_s + p[i] * s_d
            for i in range(hi - lo):
                ud = udr[i]
                us = usr[i]
                udb[i] = ud - gamma * (one if ud - theta >= zero else zero)
                usb[i] = us - theta * (one if us - theta >= zero else zero)


@_jit
def _tslif_bwd(gy, gud, gus, ud_all, us_all, x, ud0, us0, coef, gx, acc, cst, spec, sp,  # noqa: C901
               detach, need, block, b0, b1):
    T, N = x.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        gudb, gusb, ud0b, us0b = gud[lo:hi], gus[lo:hi], ud0[lo:hi], us0[lo:hi]
        a_d, b_d, a_s, b_s = coef[0, lo:hi], coef[1, lo:hi], coef[2, lo:hi], coef[3, lo:hi]
        c_sd, c_ds, p, q = coef[4, lo:hi], coef[5, lo:hi], coef[6, lo:hi], coef[7, lo:hi]
        g_udb, g_usb = np.empty_like(ud0b), np.empty_like(ud0b)
        # accumulator rows (empty slices of the 8×1 dummy when not needed)
        ga_d, gb_d, ga_s, gb_s = acc[0, lo:hi], acc[1, lo:hi], acc[2, lo:hi], acc[3, lo:hi]
        gc_sd, gc_ds, g_p, g_q = acc[4, lo:hi], acc[5, lo:hi], acc[6, lo:hi], acc[7, lo:hi]
        if need:  # the accumulators are uninitialised (_empty): each block zeroes its own
            acc[:, lo:hi] = zero
        for t in range(T - 1, -1, -1):
            gyr, gxr = gy[t, lo:hi], gx[t, lo:hi]
            udr, usr = ud_all[t, lo:hi], us_all[t, lo:hi]
            # Short loops with one output each, as in the forward (one loop over all sixteen
            # arrays did not vectorise); the surrogate is inlined (a pass of its own cost
            # 2 ms of 17 at T=256, 16k).
            for i in range(n):  # grad of the soma's pre-reset membrane
                g_ss = gyr[i] * q[i]
                if not detach:
                    g_ss = g_ss - theta * gusb[i]
                g_usb[i] = gusb[i] + g_ss * _dtheta(spec, usr[i] - theta, sp[0], sp[1], one,
                                                     zero)
            for i in range(n):  # grad of the dendrite's pre-reset membrane
                g_sd = gyr[i] * p[i]
                if not detach:
                    g_sd = g_sd - gamma * gudb[i]
                g_udb[i] = (gudb[i] + g_sd * _dtheta(spec, udr[i] - theta, sp[0], sp[1], one,
                                                      zero)) - c_ds[i] * g_usb[i]
            for i in range(n):
                gxr[i] = g_usb[i] * b_s[i] + g_udb[i] * b_d[i]
            for i in range(n):
                gudb[i] = g_udb[i] * a_d[i]
            for i in range(n):
                gusb[i] = g_usb[i] * a_s[i] - g_udb[i] * c_sd[i]
            if need:
                _tslif_acc(t, lo, hi, g_udb, g_usb, gyr, udr, usr, x, ud_all, us_all, ud0b,
                           us0b, ga_d, gb_d, ga_s, gb_s, gc_sd, gc_ds, g_p, g_q, gamma, theta,
                           one, zero)


@njit(nogil=True, error_model="numpy", inline="always")
def _tslif_acc(t, lo, hi, g_udb, g_usb, gyr, udr, usr, x, ud_all, us_all, ud0b, us0b,
               ga_d, gb_d, ga_s, gb_s, gc_sd, gc_ds, g_p, g_q, gamma, theta, one, zero):
    """The eight coefficient-gradient sums of step ``t`` (one accumulator per loop: several
    per loop did not vectorise); the previous post-reset state is recomputed in each loop
    that needs it rather than stored in a scratch row (fewer loads and stores)."""
    n = hi - lo
    xr = x[t, lo:hi]
    if t == 0:
        udp, usp, gam, th = ud0b, us0b, zero, zero  # no reset before step 0
    else:
        udp, usp, gam, th = ud_all[t - 1, lo:hi], us_all[t - 1, lo:hi], gamma, theta
    for i in range(n):
        ga_d[i] += g_udb[i] * (udp[i] - gam * (one if udp[i] - theta >= zero else zero))
        gb_d[i] += g_udb[i] * xr[i]
    for i in range(n):
        usp_r = usp[i] - th * (one if usp[i] - theta >= zero else zero)
        ga_s[i] += g_usb[i] * usp_r
        gc_sd[i] -= g_udb[i] * usp_r
    for i in range(n):
        gb_s[i] += g_usb[i] * xr[i]
        gc_ds[i] -= g_usb[i] * udr[i]
    for i in range(n):
        g_p[i] += gyr[i] * (one if udr[i] - theta >= zero else zero)
        g_q[i] += gyr[i] * (one if usr[i] - theta >= zero else zero)


# Per-layer dynamics (the default: a_d ... c_ds one scalar each, only the output weights p, q
# per feature): the coefficients live in registers, and one loop per step does the whole
# update. With six fewer arrays per loop LLVM vectorises it (the general kernels above need
# their short loops), which halves the forward and the backward's reverse loop (T=256, 16k:
# forward 9.1 -> 5.4 ms, reverse loop 12.0 -> 6.3 ms). Same operations in the same order.
@_jit
def _tslif_fwd_sc(x, ud0, us0, sc, p, q, y, ud_out, us_out, ud_s, us_s, cst, block, b0, b1):
    T, N = x.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    a_d, b_d, a_s, b_s, c_sd, c_ds = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        udb, usb, pb, qb = ud_s[lo:hi], us_s[lo:hi], p[lo:hi], q[lo:hi]
        udb[:] = ud0[lo:hi]
        usb[:] = us0[lo:hi]
        for t in range(T):
            xr, yr = x[t, lo:hi], y[t, lo:hi]
            udr, usr = ud_out[t, lo:hi], us_out[t, lo:hi]
            for i in range(hi - lo):
                xt = xr[i]
                ud = a_d * udb[i] + b_d * xt - c_sd * usb[i]
                us = a_s * usb[i] + b_s * xt - c_ds * ud
                s_d = one if ud - theta >= zero else zero
                s_s = one if us - theta >= zero else zero
                yr[i] = qb[i] * s_s + pb[i] * s_d
                udr[i] = ud
                usr[i] = us
                udb[i] = ud - gamma * s_d
                usb[i] = us - theta * s_s


# The coefficient sums take as long as the reverse loop itself when they are added step by
# step: eight accumulator rows loaded and stored per step, behind the recurrence's rows. The
# per-layer backward therefore keeps the gradients of the membranes for _CHUNK steps and adds
# those steps to each accumulator in one pass: ``a = a + term(t); a = a + term(t-1); ...``,
# the same roundings in the same order (bit-identical sums) with a quarter of the
# accumulator traffic (T=256, 16k: sums 6.1 -> 3.6 ms, measured).
_CHUNK = 4  # steps per accumulation pass; _tslif_acc4 is written out for exactly 4


@_jit
def _tslif_bwd_sc(gy, gud, gus, ud_all, us_all, x, ud0, us0, sc, p, q, gx, acc, cst, spec, sp,  # noqa: C901
                  detach, need, block, b0, b1):
    # One function with the chunked and the single-step accumulation (see _CHUNK): the
    # branches are fixed per call or per chunk, and both keep the reverse loop vectorised.
    T, N = x.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    a_d, b_d, a_s, b_s, c_sd, c_ds = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        gudb, gusb, pb, qb = gud[lo:hi], gus[lo:hi], p[lo:hi], q[lo:hi]
        ud0b, us0b = ud0[lo:hi], us0[lo:hi]
        # rows k = 0 .. _CHUNK-1: the membranes' gradients of steps t, t-1, ... of a chunk
        g_udk = np.empty((_CHUNK, n), dtype=ud0.dtype)
        g_usk = np.empty((_CHUNK, n), dtype=ud0.dtype)
        ga_d, gb_d, ga_s, gb_s = acc[0, lo:hi], acc[1, lo:hi], acc[2, lo:hi], acc[3, lo:hi]
        gc_sd, gc_ds, g_p, g_q = acc[4, lo:hi], acc[5, lo:hi], acc[6, lo:hi], acc[7, lo:hi]
        if need:  # the accumulators are uninitialised (_empty): each block zeroes its own
            acc[:, lo:hi] = zero
        # whole chunks of steps T-1 .. T-chunks·_CHUNK (>= 1: step 0 has no reset before it),
        # then the remaining steps one at a time
        chunks = (T - 1) // _CHUNK if need else 0
        for c in range(T - chunks * (_CHUNK - 1)):
            if c < chunks:
                t, steps = T - 1 - c * _CHUNK, _CHUNK
            else:
                t, steps = T - 1 - chunks * _CHUNK - (c - chunks), 1
            for k in range(steps):
                gyr, gxr = gy[t - k, lo:hi], gx[t - k, lo:hi]
                udr, usr = ud_all[t - k, lo:hi], us_all[t - k, lo:hi]
                g_udb, g_usb = g_udk[k], g_usk[k]
                for i in range(n):
                    g = gyr[i]
                    g_ss = g * qb[i]
                    g_sd = g * pb[i]
                    gd = gudb[i]
                    gs_ = gusb[i]
                    if not detach:
                        g_ss = g_ss - theta * gs_
                        g_sd = g_sd - gamma * gd
                    g_us = gs_ + g_ss * _dtheta(spec, usr[i] - theta, sp[0], sp[1], one, zero)
                    g_ud = (gd + g_sd * _dtheta(spec, udr[i] - theta, sp[0], sp[1], one, zero)
                            ) - c_ds * g_us
                    gxr[i] = g_us * b_s + g_ud * b_d
                    gudb[i] = g_ud * a_d
                    gusb[i] = g_us * a_s - g_ud * c_sd
                    if need:
                        g_udb[i] = g_ud
                        g_usb[i] = g_us
            if need:
                if steps == 1:
                    _tslif_acc(t, lo, hi, g_udk[0], g_usk[0], gy[t, lo:hi], ud_all[t, lo:hi],
                               us_all[t, lo:hi], x, ud_all, us_all, ud0b, us0b, ga_d, gb_d,
                               ga_s, gb_s, gc_sd, gc_ds, g_p, g_q, gamma, theta, one, zero)
                else:
                    _tslif_acc4(t, lo, hi, g_udk, g_usk, gy, x, ud_all, us_all, ga_d, gb_d,
                                ga_s, gb_s, gc_sd, gc_ds, g_p, g_q, gamma, theta, one, zero)


@njit(nogil=True, error_model="numpy", inline="always")
def _tslif_acc4(t, lo, hi, g_udk, g_usk, gy, x, ud_all, us_all, ga_d, gb_d, ga_s, gb_s,
                gc_sd, gc_ds, g_p, g_q, gamma, theta, one, zero):
    """:func:`_tslif_acc` for the four steps ``t, t-1, t-2, t-3`` (all >= 1) at once, in that
    order: each accumulator is loaded and stored once, every term is the same expression."""
    n = hi - lo
    d0, d1, d2, d3 = g_udk[0], g_udk[1], g_udk[2], g_udk[3]
    s0, s1, s2, s3 = g_usk[0], g_usk[1], g_usk[2], g_usk[3]
    x0, x1, x2, x3 = x[t, lo:hi], x[t - 1, lo:hi], x[t - 2, lo:hi], x[t - 3, lo:hi]
    u0, u1, u2 = ud_all[t, lo:hi], ud_all[t - 1, lo:hi], ud_all[t - 2, lo:hi]
    u3, u4 = ud_all[t - 3, lo:hi], ud_all[t - 4, lo:hi]
    v0, v1, v2 = us_all[t, lo:hi], us_all[t - 1, lo:hi], us_all[t - 2, lo:hi]
    v3, v4 = us_all[t - 3, lo:hi], us_all[t - 4, lo:hi]
    y0, y1, y2, y3 = gy[t, lo:hi], gy[t - 1, lo:hi], gy[t - 2, lo:hi], gy[t - 3, lo:hi]
    for i in range(n):
        a = ga_d[i]  # the previous post-reset dendrite: u[k+1] - γ·Θ(u[k+1] - θ)
        a += d0[i] * (u1[i] - gamma * (one if u1[i] - theta >= zero else zero))
        a += d1[i] * (u2[i] - gamma * (one if u2[i] - theta >= zero else zero))
        a += d2[i] * (u3[i] - gamma * (one if u3[i] - theta >= zero else zero))
        a += d3[i] * (u4[i] - gamma * (one if u4[i] - theta >= zero else zero))
        ga_d[i] = a
        c = gb_d[i]
        c += d0[i] * x0[i]
        c += d1[i] * x1[i]
        c += d2[i] * x2[i]
        c += d3[i] * x3[i]
        gb_d[i] = c
    for i in range(n):
        r1 = v1[i] - theta * (one if v1[i] - theta >= zero else zero)
        r2 = v2[i] - theta * (one if v2[i] - theta >= zero else zero)
        r3 = v3[i] - theta * (one if v3[i] - theta >= zero else zero)
        r4 = v4[i] - theta * (one if v4[i] - theta >= zero else zero)
        a = ga_s[i]
        a += s0[i] * r1
        a += s1[i] * r2
        a += s2[i] * r3
        a += s3[i] * r4
        ga_s[i] = a
        c = gc_sd[i]
        c -= d0[i] * r1
        c -= d1[i] * r2
        c -= d2[i] * r3
        c -= d3[i] * r4
        gc_sd[i] = c
    for i in range(n):
        a = gb_s[i]
        a += s0[i] * x0[i]
        a += s1[i] * x1[i]
        a += s2[i] * x2[i]
        a += s3[i] * x3[i]
        gb_s[i] = a
        c = gc_ds[i]
        c -= s0[i] * u0[i]
        c -= s1[i] * u1[i]
        c -= s2[i] * u2[i]
        c -= s3[i] * u3[i]
        gc_ds[i] = c
    for i in range(n):
        a = g_p[i]
        a += y0[i] * (one if u0[i] - theta >= zero else zero)
        a += y1[i] * (one if u1[i] - theta >= zero else zero)
        a += y2[i] * (one if u2[i] - theta >= zero else zero)
        a += y3[i] * (one if u3[i] - theta >= zero else zero)
        g_p[i] = a
        c = g_q[i]
        c += y0[i] * (one if v0[i] - theta >= zero else zero)
        c += y1[i] * (one if v1[i] - theta >= zero else zero)
        c += y2[i] * (one if v2[i] - theta >= zero else zero)
        c += y3[i] * (one if v3[i] - theta >= zero else zero)
        g_q[i] = c


def _per_layer(coef: torch.Tensor) -> np.ndarray | None:
    """The six dynamics coefficients as scalars when every neuron has the same (bitwise:
    ``-0.0`` and NaN stay on the general kernels), else None.

    Compared in NumPy, not torch: a torch op this large runs on torch's OpenMP threads, which
    then spin-wait for more work while the kernel's threads need the cores (with 2 threads,
    forward 2.6 -> 4.4 ms; 24 ms when another process holds a core; measured)."""
    dyn = _np(coef)[:6]
    bits = dyn.view(np.int32 if dyn.dtype == np.float32 else np.int64)
    if not bool((bits == bits[:, :1]).all()):
        return None
    return np.ascontiguousarray(dyn[:, 0])


def tslif_forward(x, ud0, us0, coef, cfg):
    """``(y, ud, us, ud_T, us_T)`` (see :func:`._torch_kernels.tslif_forward`)."""
    y, ud, us = _empty(x.shape, x), _empty(x.shape, x), _empty(x.shape, x)
    ud_T, us_T = torch.empty_like(ud0), torch.empty_like(us0)
    cst = _consts(_np(x).dtype, cfg.gamma, cfg.threshold)
    sc = _per_layer(coef)
    if sc is not None:
        _launch(_tslif_fwd_sc, x.shape[1], _np(x), _np(ud0), _np(us0), sc, _np(coef[6]),
                _np(coef[7]), _np(y), _np(ud), _np(us), _np(ud_T), _np(us_T), cst)
    else:
        _launch(_tslif_fwd, x.shape[1], _np(x), _np(ud0), _np(us0), _np(coef), _np(y), _np(ud),
                _np(us), _np(ud_T), _np(us_T), cst)
    return y, ud, us, ud_T, us_T


def tslif_backward(gy, gud_T, gus_T, ud_all, us_all, x, ud0, us0, coef, cfg, need):
    """``(gx, gud0, gus0, gcoef)`` (see :func:`._torch_kernels.tslif_backward`)."""
    gx = _empty(x.shape, x)
    gud, gus = gud_T.clone(), gus_T.clone()
    # zeroed by the kernel (torch.zeros_like would run on torch's threads: _per_layer)
    acc = _empty(coef.shape, coef) if need else coef.new_zeros(8, 1)
    dtype = _np(x).dtype
    spec, sp = _surrogate(cfg, dtype)
    cst = _consts(dtype, cfg.gamma, cfg.threshold)
    sc = _per_layer(coef)
    if sc is not None:
        _launch(_tslif_bwd_sc, x.shape[1], _np(gy), _np(gud), _np(gus), _np(ud_all),
                _np(us_all), _np(x), _np(ud0), _np(us0), sc, _np(coef[6]), _np(coef[7]),
                _np(gx), _np(acc), cst, spec, sp, cfg.detach, need)
    else:
        _launch(_tslif_bwd, x.shape[1], _np(gy), _np(gud), _np(gus), _np(ud_all),
                _np(us_all), _np(x), _np(ud0), _np(us0), _np(coef), _np(gx), _np(acc), cst,
                spec, sp, cfg.detach, need)
    return gx, gud, gus, acc if need else None


# ----------------------------------------------------------------------------- TC-LIF
@_jit
def _tclif_fwd(x, ud0, us0, k1, k2, s_out, ud_out, us_out, ud_s, us_s, cst, block, b0, b1):
    T, N = x.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        udb, usb, k1b, k2b = ud_s[lo:hi], us_s[lo:hi], k1[lo:hi], k2[lo:hi]
        udb[:] = ud0[lo:hi]
        usb[:] = us0[lo:hi]
        for t in range(T):
            xr, sr = x[t, lo:hi], s_out[t, lo:hi]
            udr, usr = ud_out[t, lo:hi], us_out[t, lo:hi]
            for i in range(hi - lo):
                ud = udb[i] - k1b[i] * usb[i] + xr[i]
                us = usb[i] + k2b[i] * ud
                s = one if us - theta >= zero else zero
                sr[i] = s
                udr[i] = ud
                usr[i] = us
                udb[i] = ud - gamma * s
                usb[i] = us - theta * s


@_jit
def _tclif_bwd(gs, gud, gus, ud_all, us_all, us0, k1, k2, gx, acc1, acc2, cst, spec, sp,  # noqa: C901
               detach, need1, need2, block, b0, b1):
    T, N = ud_all.shape
    gamma, theta, one, zero = cst[0], cst[1], cst[2], cst[3]
    for b in range(b0, b1):
        lo = b * block
        hi = min(lo + block, N)
        n = hi - lo
        gudb, gusb, us0b, k1b, k2b = gud[lo:hi], gus[lo:hi], us0[lo:hi], k1[lo:hi], k2[lo:hi]
        g_usb = np.empty_like(us0b)
        for t in range(T - 1, -1, -1):
            gsr, gxr, usr = gs[t, lo:hi], gx[t, lo:hi], us_all[t, lo:hi]
            for i in range(n):
                g_s = gsr[i]
                if not detach:
                    g_s = g_s - gamma * gudb[i] - theta * gusb[i]
                g_us = gusb[i] + g_s * _dtheta(spec, usr[i] - theta, sp[0], sp[1], one, zero)
                g_ud = gudb[i] + g_us * k2b[i]
                g_usb[i] = g_us
                gxr[i] = g_ud
                gudb[i] = g_ud
                gusb[i] = g_us - g_ud * k1b[i]
            # gudb now holds g_ud of this step (its recurrence is the identity)
            if need2:
                a2, udr = acc2[lo:hi], ud_all[t, lo:hi]
                for i in range(n):
                    a2[i] += g_usb[i] * udr[i]
            if need1:
                a1 = acc1[lo:hi]
                if t == 0:
                    for i in range(n):
                        a1[i] -= gudb[i] * us0b[i]
                else:
                    uspr = us_all[t - 1, lo:hi]
                    for i in range(n):
                        usp = uspr[i]
                        a1[i] -= gudb[i] * (usp - theta * (one if usp - theta >= zero
                                                           else zero))


def tclif_forward(x, ud0, us0, k1, k2, cfg):
    """``(s, ud, us, ud_T, us_T)`` (see :func:`._torch_kernels.tclif_forward`)."""
    s, ud, us = _empty(x.shape, x), _empty(x.shape, x), _empty(x.shape, x)
    ud_T, us_T = torch.empty_like(ud0), torch.empty_like(us0)
    cst = _consts(_np(x).dtype, cfg.gamma, cfg.threshold)
    _launch(_tclif_fwd, x.shape[1], _np(x), _np(ud0), _np(us0), _np(k1), _np(k2), _np(s), _np(ud),
            _np(us), _np(ud_T), _np(us_T), cst)
    return s, ud, us, ud_T, us_T


def tclif_backward(gs, gud_T, gus_T, ud_all, us_all, ud0, us0, k1, k2, cfg, need):
    """``(gx, gud0, gus0, gk1, gk2)`` (see :func:`._torch_kernels.tclif_backward`)."""
    gx = _empty(ud_all.shape, ud_all)
    gud, gus = gud_T.clone(), gus_T.clone()
    acc = [torch.zeros_like(ud0) if n else None for n in need]
    dtype = _np(ud_all).dtype
    spec, sp = _surrogate(cfg, dtype)
    cst = _consts(dtype, cfg.gamma, cfg.threshold)
    dummy = np.zeros(1, dtype=dtype)
    _launch(_tclif_bwd, ud_all.shape[1], _np(gs), _np(gud), _np(gus), _np(ud_all), _np(us_all),
            _np(us0), _np(k1), _np(k2), _np(gx),
            *[_np(a) if a is not None else dummy for a in acc], cst, spec, sp, cfg.detach,
            *need)
    return (gx, gud, gus, *acc)

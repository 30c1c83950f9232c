"""Numba CPU kernels of the sub-step average: ``T`` sub-steps from rest, constant current.

For an input current ``x`` (one value per neuron) held for ``T`` sub-steps from the resting
state, every kernel pair computes

    y = (1/T) · sum_{m=1..T} out_m(x),    out_m = the neuron's output at sub-step m,

and its backward. Every neuron is independent and starts from rest, so this is an elementwise
operation with a short loop over the sub-steps: the forward reads ``x`` once and writes ``y``
once, and saves nothing but ``x``; the backward recomputes the ``T`` sub-step membranes of a
row from ``x`` (in a ``T × L`` scratch that stays in L1) and runs the reverse loop there. The
repeat / mean path it replaces wrote ``T`` copies of the current, ``T`` outputs and ``2T``
saved membranes per neuron, and read them all back.

Layout. The kernels take ``x`` as rows ``[R, L]`` (contiguous) whose row ``r`` holds channel
``r % C``: the channels-first memory of a ``[*items, L, C]`` tensor (SpikeTCN's ``[N, C, L]``
convolution output), so every coefficient is a scalar inside a row's loops and the loops
over the row vectorise. A thread owns a range of channels; the coefficient gradients are
summed per channel in ``L``-wide accumulator rows and reduced once per channel.

Bit-identity. The sub-steps repeat the operations of the fused time-loop kernels
(:mod:`._numba_kernels`) in the same order, and the mean is ``((0 + y_1) + y_2 + ...) / T``,
which is what torch's ``mean(dim=0)`` computes on CPU for ``T <= 4`` (a sum from zero, then
a division by the count; :data:`._substeps.MAX_FUSED_STEPS`); ``fastmath`` is off.
Gradients agree within rounding (the sums over sub-steps
and positions run in another order).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numba import njit

from spikecast.neurons.fused._config import LeakyConfig, TCLIFConfig, TSLIFConfig
from spikecast.neurons.fused._numba_kernels import (
    _consts,
    _dtheta,
    _empty,
    _executor,
    _jit,
    _np,
    _surrogate,
)

__all__ = ["substep_forward", "substep_backward"]


def _launch(kernel: Callable[..., None], channels: int, *args) -> None:
    """Run ``kernel(*args, c0, c1)`` over the ``channels``, split over torch's threads."""
    threads = max(1, min(torch.get_num_threads(), channels))
    if threads == 1:
        kernel(*args, 0, channels)
        return
    bounds = [channels * k // threads for k in range(threads + 1)]
    futures = [_executor().submit(kernel, *args, bounds[k], bounds[k + 1])
               for k in range(1, threads)]
    kernel(*args, bounds[0], bounds[1])
    for f in futures:
        f.result()


@_jit
def _reduce_acc(acc_rows, acc, c, zero):
    """``acc[k, c] = sum_i acc_rows[k, i]`` (once per channel)."""
    for k in range(acc_rows.shape[0]):
        total = zero
        row = acc_rows[k]
        for i in range(row.shape[0]):
            total += row[i]
        acc[k, c] = total


# ----------------------------------------------------------------------------- TS-LIF
@_jit
def _tslif_sub_fwd(x, coef, out, cst, steps, nch, c0, c1):
    R, L = x.shape
    gamma, theta, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    ud, us = np.empty_like(x[0]), np.empty_like(x[0])
    for c in range(c0, c1):
        a_d, b_d, a_s, b_s = coef[0, c], coef[1, c], coef[2, c], coef[3, c]
        c_sd, c_ds, p, q = coef[4, c], coef[5, c], coef[6, c], coef[7, c]
        for r in range(c, R, nch):
            xr, yr = x[r], out[r]
            for i in range(L):
                ud[i] = zero
                us[i] = zero
                yr[i] = zero
            for _m in range(steps):
                for i in range(L):
                    xt = xr[i]
                    d = a_d * ud[i] + b_d * xt - c_sd * us[i]
                    s = a_s * us[i] + b_s * xt - c_ds * d
                    s_d = one if d - theta >= zero else zero
                    s_s = one if s - theta >= zero else zero
                    yr[i] = yr[i] + (q * s_s + p * s_d)
                    ud[i] = d - gamma * s_d
                    us[i] = s - theta * s_s
            for i in range(L):
                yr[i] = yr[i] / nst


@_jit
def _tslif_sub_bwd(gy, x, coef, gx, acc, cst, spec, sp, detach, need,  # noqa: C901
                   steps, nch, c0, c1):
    # One function however many branches (as _tslif_bwd): each is fixed for the whole call.
    # The reverse loop is one loop per sub-step, as _tslif_bwd_sc (every coefficient is a
    # scalar within a row); the coefficient sums then run over the flattened [steps·L]
    # scratch rows (one or two accumulators a loop), in accumulator rows as wide, reduced
    # once per channel. gx = b_s·Σ_m g_us + b_d·Σ_m g_ud, and b's sums use the same Σ_m.
    R, L = x.shape
    gamma, theta, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    TL = steps * L
    UD, US = np.empty(TL, x.dtype), np.empty(TL, x.dtype)
    GUD, GUS = np.empty(TL, x.dtype), np.empty(TL, x.dtype)
    ud, us, gm = np.empty_like(x[0]), np.empty_like(x[0]), np.empty_like(x[0])
    gud, gus = np.empty_like(x[0]), np.empty_like(x[0])
    sud, sus = np.empty_like(x[0]), np.empty_like(x[0])
    arow = np.zeros((8, TL), x.dtype)
    for c in range(c0, c1):
        a_d, b_d, a_s, b_s = coef[0, c], coef[1, c], coef[2, c], coef[3, c]
        c_sd, c_ds, p, q = coef[4, c], coef[5, c], coef[6, c], coef[7, c]
        arow[:] = zero
        ga_d, gb_d, ga_s, gb_s = arow[0], arow[1], arow[2], arow[3]
        gc_sd, gc_ds, g_p, g_q = arow[4], arow[5], arow[6], arow[7]
        for r in range(c, R, nch):
            xr, gyr, gxr = x[r], gy[r], gx[r]
            for i in range(L):  # the forward again, keeping the pre-reset membranes
                ud[i] = zero
                us[i] = zero
            for m in range(steps):
                udm, usm = UD[m * L:(m + 1) * L], US[m * L:(m + 1) * L]
                for i in range(L):
                    xt = xr[i]
                    d = a_d * ud[i] + b_d * xt - c_sd * us[i]
                    s = a_s * us[i] + b_s * xt - c_ds * d
                    udm[i] = d
                    usm[i] = s
                    ud[i] = d - gamma * (one if d - theta >= zero else zero)
                    us[i] = s - theta * (one if s - theta >= zero else zero)
            for i in range(L):  # the mean's gradient reaches every sub-step alike
                gm[i] = gyr[i] / nst
                gud[i] = zero
                gus[i] = zero
                sud[i] = zero
                sus[i] = zero
            for m in range(steps - 1, -1, -1):
                lo = m * L
                udm, usm = UD[lo:lo + L], US[lo:lo + L]
                gudm, gusm = GUD[lo:lo + L], GUS[lo:lo + L]
                for i in range(L):
                    g = gm[i]
                    g_ss = g * q
                    g_sd = g * p
                    gd = gud[i]
                    gs_ = gus[i]
                    if not detach:
                        g_ss = g_ss - theta * gs_
                        g_sd = g_sd - gamma * gd
                    g_us = gs_ + g_ss * _dtheta(spec, usm[i] - theta, sp[0], sp[1], one, zero)
                    g_ud = (gd + g_sd * _dtheta(spec, udm[i] - theta, sp[0], sp[1], one, zero)
                            ) - c_ds * g_us
                    sud[i] += g_ud
                    sus[i] += g_us
                    gud[i] = g_ud * a_d
                    gus[i] = g_us * a_s - g_ud * c_sd
                    gudm[i] = g_ud
                    gusm[i] = g_us
            for i in range(L):
                gxr[i] = sus[i] * b_s + sud[i] * b_d
            if need:
                _tslif_sub_acc(xr, gm, sud, sus, UD, US, GUD, GUS, ga_d, gb_d, ga_s, gb_s,
                               gc_sd, gc_ds, g_p, g_q, gamma, theta, one, zero, steps)
        if need:
            _reduce_acc(arow, acc, c, zero)


@njit(nogil=True, error_model="numpy", inline="always")
def _tslif_sub_acc(xr, gm, sud, sus, UD, US, GUD, GUS, ga_d, gb_d, ga_s, gb_s, gc_sd, gc_ds,
                   g_p, g_q, gamma, theta, one, zero, steps):
    """One row's coefficient-gradient terms, added to the ``[steps·L]`` accumulator rows
    (``gb_*``, ``g_p``, ``g_q`` use their first ``L`` entries)."""
    L = xr.shape[0]
    TL = steps * L
    # per sub-step row views (an offset index j - L inside one flat loop did not vectorise)
    for m in range(1, steps):  # the state before sub-step m >= 1 (rest before the first)
        udp, gudm, acc = UD[(m - 1) * L:m * L], GUD[m * L:(m + 1) * L], ga_d[m * L:(m + 1) * L]
        for i in range(L):
            acc[i] += gudm[i] * (udp[i] - gamma * (one if udp[i] - theta >= zero else zero))
    for m in range(1, steps):
        usp, gudm, gusm = US[(m - 1) * L:m * L], GUD[m * L:(m + 1) * L], GUS[m * L:(m + 1) * L]
        acc_s, acc_c = ga_s[m * L:(m + 1) * L], gc_sd[m * L:(m + 1) * L]
        for i in range(L):
            usp_r = usp[i] - theta * (one if usp[i] - theta >= zero else zero)
            acc_s[i] += gusm[i] * usp_r
            acc_c[i] -= gudm[i] * usp_r
    for j in range(TL):
        gc_ds[j] -= GUS[j] * UD[j]
    for i in range(L):
        gb_d[i] += sud[i] * xr[i]
        gb_s[i] += sus[i] * xr[i]
    for m in range(steps):
        udm, usm = UD[m * L:(m + 1) * L], US[m * L:(m + 1) * L]
        for i in range(L):
            g_p[i] += gm[i] * (one if udm[i] - theta >= zero else zero)
            g_q[i] += gm[i] * (one if usm[i] - theta >= zero else zero)


# ----------------------------------------------------------------------------- LIF family
@_jit
def _leaky_sub_fwd(x, coef, out, cst, hard, use_c3, steps, nch, c0, c1):  # noqa: C901
    # one loop nest (as _leaky_fwd): its branches are fixed for the whole call
    R, L = x.shape
    theta, vr, off, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5]
    v = np.empty_like(x[0])
    for c in range(c0, c1):
        k1, k2, k3 = coef[0, c], coef[1, c], coef[2, c]
        for r in range(c, R, nch):
            xr, yr = x[r], out[r]
            for i in range(L):
                v[i] = zero
                yr[i] = zero
            for _m in range(steps):
                for i in range(L):
                    xt = xr[i]
                    if off != zero:
                        xt = xt + off
                    h = k1 * v[i]
                    if use_c3:
                        h = h + k3
                    h = h + k2 * xt
                    s = one if h - theta >= zero else zero
                    if hard:
                        vn = h * (one - s)
                        if vr != zero:
                            vn = vn + vr * s
                    else:
                        vn = h - theta * s
                    yr[i] = yr[i] + s
                    v[i] = vn
            for i in range(L):
                yr[i] = yr[i] / nst


@_jit
def _leaky_sub_bwd(gy, x, coef, gx, acc, cst, spec, sp, hard, detach, use_c3,  # noqa: C901
                   need, steps, nch, c0, c1):
    R, L = x.shape
    theta, vr, off, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5]
    H = np.empty((steps, L), x.dtype)
    v, gm, gv, gh = (np.empty_like(x[0]), np.empty_like(x[0]), np.empty_like(x[0]),
                     np.empty_like(x[0]))
    arow = np.zeros((3, L), x.dtype)
    for c in range(c0, c1):
        k1, k2, k3 = coef[0, c], coef[1, c], coef[2, c]
        arow[:] = zero
        a1, a2, a3 = arow[0], arow[1], arow[2]
        for r in range(c, R, nch):
            xr, gyr, gxr = x[r], gy[r], gx[r]
            for i in range(L):
                v[i] = zero
            for m in range(steps):
                hm = H[m]
                for i in range(L):
                    xt = xr[i]
                    if off != zero:
                        xt = xt + off
                    h = k1 * v[i]
                    if use_c3:
                        h = h + k3
                    h = h + k2 * xt
                    s = one if h - theta >= zero else zero
                    if hard:
                        vn = h * (one - s)
                        if vr != zero:
                            vn = vn + vr * s
                    else:
                        vn = h - theta * s
                    hm[i] = h
                    v[i] = vn
            for i in range(L):
                gm[i] = gyr[i] / nst
                gv[i] = zero
                gxr[i] = zero
            for m in range(steps - 1, -1, -1):
                hm = H[m]
                for i in range(L):
                    g = gv[i]
                    ht = hm[i]
                    z = ht - theta
                    s = one if z >= zero else zero
                    if hard:
                        ghi = g * (one - s)
                        g_s = gm[i] if detach else gm[i] + g * (vr - ht)
                    else:
                        ghi = g
                        g_s = gm[i] if detach else gm[i] - theta * g
                    ghi = ghi + g_s * _dtheta(spec, z, sp[0], sp[1], one, zero)
                    gh[i] = ghi
                    gxr[i] = gxr[i] + ghi * k2
                    gv[i] = ghi * k1
                if need:
                    if m > 0:  # v before sub-step m (rest before the first)
                        hp = H[m - 1]
                        for i in range(L):
                            spk = one if hp[i] - theta >= zero else zero
                            if hard:
                                vp = hp[i] * (one - spk)
                                if vr != zero:
                                    vp = vp + vr * spk
                            else:
                                vp = hp[i] - theta * spk
                            a1[i] += gh[i] * vp
                    for i in range(L):
                        a2[i] += gh[i] * (xr[i] + off if off != zero else xr[i])
                    for i in range(L):
                        a3[i] += gh[i]
        if need:
            _reduce_acc(arow, acc, c, zero)


# ----------------------------------------------------------------------------- TC-LIF
@_jit
def _tclif_sub_fwd(x, coef, out, cst, steps, nch, c0, c1):
    R, L = x.shape
    gamma, theta, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    ud, us = np.empty_like(x[0]), np.empty_like(x[0])
    for c in range(c0, c1):
        k1, k2 = coef[0, c], coef[1, c]
        for r in range(c, R, nch):
            xr, yr = x[r], out[r]
            for i in range(L):
                ud[i] = zero
                us[i] = zero
                yr[i] = zero
            for _m in range(steps):
                for i in range(L):
                    d = ud[i] - k1 * us[i] + xr[i]
                    s = us[i] + k2 * d
                    spk = one if s - theta >= zero else zero
                    yr[i] = yr[i] + spk
                    ud[i] = d - gamma * spk
                    us[i] = s - theta * spk
            for i in range(L):
                yr[i] = yr[i] / nst


@_jit
def _tclif_sub_bwd(gy, x, coef, gx, acc, cst, spec, sp, detach, need,  # noqa: C901
                   steps, nch, c0, c1):
    R, L = x.shape
    gamma, theta, nst, one, zero = cst[0], cst[1], cst[2], cst[3], cst[4]
    UD, US = np.empty((steps, L), x.dtype), np.empty((steps, L), x.dtype)
    ud, us, gm = np.empty_like(x[0]), np.empty_like(x[0]), np.empty_like(x[0])
    gud, gus, g_us = np.empty_like(x[0]), np.empty_like(x[0]), np.empty_like(x[0])
    arow = np.zeros((2, L), x.dtype)
    for c in range(c0, c1):
        k1, k2 = coef[0, c], coef[1, c]
        arow[:] = zero
        a1, a2 = arow[0], arow[1]
        for r in range(c, R, nch):
            xr, gyr, gxr = x[r], gy[r], gx[r]
            for i in range(L):
                ud[i] = zero
                us[i] = zero
            for m in range(steps):
                udm, usm = UD[m], US[m]
                for i in range(L):
                    d = ud[i] - k1 * us[i] + xr[i]
                    s = us[i] + k2 * d
                    spk = one if s - theta >= zero else zero
                    udm[i] = d
                    usm[i] = s
                    ud[i] = d - gamma * spk
                    us[i] = s - theta * spk
            for i in range(L):
                gm[i] = gyr[i] / nst
                gud[i] = zero
                gus[i] = zero
                gxr[i] = zero
            for m in range(steps - 1, -1, -1):
                usm = US[m]
                for i in range(L):
                    g_s = gm[i]
                    if not detach:
                        g_s = g_s - gamma * gud[i] - theta * gus[i]
                    gs_ = gus[i] + g_s * _dtheta(spec, usm[i] - theta, sp[0], sp[1], one, zero)
                    g_d = gud[i] + gs_ * k2
                    g_us[i] = gs_
                    gxr[i] = gxr[i] + g_d
                    gud[i] = g_d
                    gus[i] = gs_ - g_d * k1
                if need:  # gud holds this sub-step's dendrite gradient
                    udm = UD[m]
                    for i in range(L):
                        a2[i] += g_us[i] * udm[i]
                    if m > 0:
                        usp = US[m - 1]
                        for i in range(L):
                            a1[i] -= gud[i] * (usp[i] - theta * (
                                one if usp[i] - theta >= zero else zero))
        if need:
            _reduce_acc(arow, acc, c, zero)


# ----------------------------------------------------------------------------- entry points
def _nst(steps: int):
    return float(steps)


def substep_forward(cfg, x: torch.Tensor, coef: torch.Tensor, steps: int,
                    channels: int) -> torch.Tensor:
    """``y`` ``[R, L]``: the mean over ``steps`` sub-steps from rest of the neuron that ``cfg``
    configures (:class:`LeakyConfig`, :class:`TSLIFConfig` or :class:`TCLIFConfig`), on rows
    ``x`` ``[R, L]`` whose row ``r`` is channel ``r % channels``; ``coef`` ``[k, channels]``:
    ``(c1, c2, c3)``, ``(a_d, b_d, a_s, b_s, c_sd, c_ds, p, q)`` or ``(k1, k2)``."""
    out = _empty(x.shape, x)
    dtype = _np(x).dtype
    if isinstance(cfg, TSLIFConfig):
        cst = _consts(dtype, cfg.gamma, cfg.threshold, _nst(steps))
        _launch(_tslif_sub_fwd, channels, _np(x), _np(coef), _np(out), cst, steps, channels)
    elif isinstance(cfg, LeakyConfig):
        cst = _consts(dtype, cfg.threshold, cfg.v_reset, cfg.x_offset, _nst(steps))
        _launch(_leaky_sub_fwd, channels, _np(x), _np(coef), _np(out), cst, cfg.hard,
                cfg.use_c3, steps, channels)
    elif isinstance(cfg, TCLIFConfig):
        cst = _consts(dtype, cfg.gamma, cfg.threshold, _nst(steps))
        _launch(_tclif_sub_fwd, channels, _np(x), _np(coef), _np(out), cst, steps, channels)
    else:
        raise TypeError(f"no sub-step kernel for {type(cfg).__name__}")
    return out


def substep_backward(cfg, gy: torch.Tensor, x: torch.Tensor, coef: torch.Tensor, steps: int,
                     channels: int, need: bool):
    """``(gx, gcoef)``: the gradients of :func:`substep_forward`'s input ``x`` ``[R, L]`` and,
    when ``need``, of its coefficients, summed per channel (``[k, channels]``; else None)."""
    gx = _empty(x.shape, x)
    acc = torch.zeros_like(coef)
    dtype = _np(x).dtype
    spec, sp = _surrogate(cfg, dtype)
    if isinstance(cfg, TSLIFConfig):
        cst = _consts(dtype, cfg.gamma, cfg.threshold, _nst(steps))
        _launch(_tslif_sub_bwd, channels, _np(gy), _np(x), _np(coef), _np(gx), _np(acc), cst,
                spec, sp, cfg.detach, need, steps, channels)
    elif isinstance(cfg, LeakyConfig):
        cst = _consts(dtype, cfg.threshold, cfg.v_reset, cfg.x_offset, _nst(steps))
        _launch(_leaky_sub_bwd, channels, _np(gy), _np(x), _np(coef), _np(gx), _np(acc), cst,
                spec, sp, cfg.hard, cfg.detach, cfg.use_c3, need, steps, channels)
    elif isinstance(cfg, TCLIFConfig):
        cst = _consts(dtype, cfg.gamma, cfg.threshold, _nst(steps))
        _launch(_tclif_sub_bwd, channels, _np(gy), _np(x), _np(coef), _np(gx), _np(acc), cst,
                spec, sp, cfg.detach, need, steps, channels)
    else:
        raise TypeError(f"no sub-step kernel for {type(cfg).__name__}")
    return gx, (acc if need else None)

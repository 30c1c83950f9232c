"""Portable fused kernels: one vectorised torch time loop, no autograd graph.

Runs on any device and dtype. Every tensor is flattened: sequences ``[T, N]``, states and
per-neuron coefficients ``[N]``. Forward functions return the outputs, the membranes the
backward needs and the final state; backward functions run one reverse loop that recomputes
spikes and surrogates from the saved membranes and return the gradients of the input, the
initial state and per-neuron sums over time of the coefficient gradients (``None`` where not
requested). The arithmetic follows the neurons' ``_step_impl`` op for op, so the forward is
bit-identical to the reference loop; the compiled kernels (numba, Triton) mirror this file.
"""

from __future__ import annotations

import torch

from spikecast.neurons import surrogate as _surrogate

__all__ = ["leaky_forward", "leaky_backward", "liaf_forward", "liaf_backward",
           "tslif_forward", "tslif_backward", "tclif_forward", "tclif_backward"]

_heaviside = _surrogate.heaviside


def _surrogate_grad(z: torch.Tensor, cfg) -> torch.Tensor:
    """``dΘ/dz`` of the config's surrogate (the table entry the reference uses)."""
    return _surrogate.SURROGATES[cfg.surrogate].derivative(z, cfg.alpha)


def _zeros_if(flag: bool, like: torch.Tensor):
    return torch.zeros_like(like) if flag else None


# ----------------------------------------------------------------------------- LIF family
def _leaky_reset(h, s, cfg):
    if cfg.hard:
        v = h * (1 - s)
        return v + cfg.v_reset * s if cfg.v_reset != 0.0 else v
    return h - cfg.threshold * s


def leaky_forward(x, v0, c1, c2, c3, cfg):
    """``(s, h, v_T)``: spikes and pre-spike membranes ``[T, N]``, final membrane ``[N]``."""
    s_out = torch.empty_like(x)
    h_out = torch.empty_like(x)
    v = v0
    for t in range(x.shape[0]):
        xt = x[t] + cfg.x_offset if cfg.x_offset != 0.0 else x[t]
        h = torch.mul(c1, v, out=h_out[t])
        if cfg.use_c3:
            h.add_(c3)
        h.add_(c2 * xt)
        s = s_out[t]
        s.copy_(_heaviside(h - cfg.threshold))
        v = _leaky_reset(h, s, cfg)
    return s_out, h_out, v


def leaky_backward(gs, gv_T, h, x, v0, c1, c2, cfg, need):
    """``(gx, gv0, gc1, gc2, gc3)``; ``need`` flags which coefficient sums to return."""
    gx = torch.empty_like(h)
    acc = [_zeros_if(n, v0) for n in need]
    gv = gv_T
    for t in range(h.shape[0] - 1, -1, -1):
        ht = h[t]
        z = ht - cfg.threshold
        s = _heaviside(z)
        if cfg.hard:
            gh = gv * (1 - s)
            g_s = gs[t] if cfg.detach else gs[t] + gv * (cfg.v_reset - ht)
        else:
            gh = gv
            g_s = gs[t] if cfg.detach else gs[t] - cfg.threshold * gv
        gh = gh + g_s * _surrogate_grad(z, cfg)
        torch.mul(gh, c2, out=gx[t])
        if acc[0] is not None:
            v_prev = v0 if t == 0 else _leaky_reset(h[t - 1], _heaviside(
                h[t - 1] - cfg.threshold), cfg)
            acc[0] += gh * v_prev
        if acc[1] is not None:
            acc[1] += gh * (x[t] + cfg.x_offset if cfg.x_offset != 0.0 else x[t])
        if acc[2] is not None:
            acc[2] += gh
        gv = gh * c1
    return (gx, gv, *acc)


# ----------------------------------------------------------------------------- LIAF
def liaf_forward(x, v0, leak, cfg):
    """``(u, v_T)``: pre-reset membranes ``[T, N]`` (the output is ``act(u)``), final ``V``."""
    u_out = torch.empty_like(x)
    v = v0
    for t in range(x.shape[0]):
        u = torch.add(x[t], v, out=u_out[t])
        f = _heaviside(u - cfg.threshold)
        r = f * cfg.v_reset + (1 - f) * u
        v = leak * r + cfg.beta if cfg.beta != 0.0 else leak * r
    return u_out, v


def liaf_backward(gu_out, gv_T, u_all, leak, cfg, need_leak):
    """``(gx, gv0, gleak)``; ``gu_out`` is the gradient reaching ``u`` through the output."""
    gx = torch.empty_like(u_all)
    acc = _zeros_if(need_leak, gv_T)
    gv = gv_T
    for t in range(u_all.shape[0] - 1, -1, -1):
        u = u_all[t]
        z = u - cfg.threshold
        f = _heaviside(z)
        gr = gv * leak
        if acc is not None:
            acc += gv * (f * cfg.v_reset + (1 - f) * u)
        gu = gu_out[t] + gr * (1 - f)
        if not cfg.detach:
            gu = gu + gr * (cfg.v_reset - u) * _surrogate_grad(z, cfg)
        gx[t] = gu
        gv = gu
    return gx, gv, acc


# ----------------------------------------------------------------------------- TS-LIF
def tslif_forward(x, ud0, us0, coef, cfg):
    """``(y, ud, us, ud_T, us_T)``; ``coef`` is ``[8, N]``: a_d b_d a_s b_s c_sd c_ds p q.

    The output is ``p·S_d + q·S_s`` (``p, q = w_d, w_s`` or ``κ, 1-κ``).
    """
    a_d, b_d, a_s, b_s, c_sd, c_ds, p, q = coef
    y = torch.empty_like(x)
    ud_out = torch.empty_like(x)
    us_out = torch.empty_like(x)
    ud, us = ud0, us0
    for t in range(x.shape[0]):
        xt = x[t]
        ud = torch.sub(a_d * ud + b_d * xt, c_sd * us, out=ud_out[t])
        us = torch.sub(a_s * us + b_s * xt, c_ds * ud, out=us_out[t])
        s_d = _heaviside(ud - cfg.threshold)
        s_s = _heaviside(us - cfg.threshold)
        torch.add(q * s_s, p * s_d, out=y[t])
        ud = ud - cfg.gamma * s_d
        us = us - cfg.threshold * s_s
    return y, ud_out, us_out, ud, us


def tslif_backward(gy, gud_T, gus_T, ud_all, us_all, x, ud0, us0, coef, cfg, need):
    """``(gx, gud0, gus0, gcoef)``; ``gcoef`` ``[8, N]`` time sums (None if not ``need``)."""
    a_d, b_d, a_s, b_s, c_sd, c_ds, p, q = coef
    gx = torch.empty_like(x)
    acc = torch.zeros_like(coef) if need else None
    gud, gus = gud_T, gus_T
    th = cfg.threshold
    for t in range(x.shape[0] - 1, -1, -1):
        ud, us = ud_all[t], us_all[t]
        zd, zs = ud - th, us - th
        s_d, s_s = _heaviside(zd), _heaviside(zs)
        g = gy[t]
        g_sd = g * p
        g_ss = g * q
        if not cfg.detach:
            g_sd = g_sd - cfg.gamma * gud
            g_ss = g_ss - th * gus
        g_us = gus + g_ss * _surrogate_grad(zs, cfg)
        g_ud = gud + g_sd * _surrogate_grad(zd, cfg) - c_ds * g_us
        if acc is not None:
            if t == 0:
                ud_prev, us_prev = ud0, us0
            else:
                ud_prev = ud_all[t - 1] - cfg.gamma * _heaviside(ud_all[t - 1] - th)
                us_prev = us_all[t - 1] - th * _heaviside(us_all[t - 1] - th)
            xt = x[t]
            acc[0] += g_ud * ud_prev
            acc[1] += g_ud * xt
            acc[2] += g_us * us_prev
            acc[3] += g_us * xt
            acc[4] -= g_ud * us_prev
            acc[5] -= g_us * ud
            acc[6] += g * s_d
            acc[7] += g * s_s
        gx[t] = g_us * b_s + g_ud * b_d
        gud = g_ud * a_d
        gus = g_us * a_s - g_ud * c_sd
    return gx, gud, gus, acc


# ----------------------------------------------------------------------------- TC-LIF
def tclif_forward(x, ud0, us0, k1, k2, cfg):
    """``(s, ud, us, ud_T, us_T)``: soma spikes, pre-reset membranes, final state."""
    s_out = torch.empty_like(x)
    ud_out = torch.empty_like(x)
    us_out = torch.empty_like(x)
    ud, us = ud0, us0
    for t in range(x.shape[0]):
        ud = torch.add(ud - k1 * us, x[t], out=ud_out[t])
        us = torch.add(us, k2 * ud, out=us_out[t])
        s = s_out[t]
        s.copy_(_heaviside(us - cfg.threshold))
        ud = ud - cfg.gamma * s
        us = us - cfg.threshold * s
    return s_out, ud_out, us_out, ud, us


def tclif_backward(gs, gud_T, gus_T, ud_all, us_all, ud0, us0, k1, k2, cfg, need):
    """``(gx, gud0, gus0, gk1, gk2)``; ``need`` flags the coefficient sums to return."""
    gx = torch.empty_like(ud_all)
    acc = [_zeros_if(n, ud0) for n in need]
    gud, gus = gud_T, gus_T
    th = cfg.threshold
    for t in range(ud_all.shape[0] - 1, -1, -1):
        ud, us = ud_all[t], us_all[t]
        z = us - th
        g_s = gs[t]
        if not cfg.detach:
            g_s = g_s - cfg.gamma * gud - th * gus
        g_us = gus + g_s * _surrogate_grad(z, cfg)
        g_ud = gud + g_us * k2
        if acc[1] is not None:
            acc[1] += g_us * ud
        if acc[0] is not None:
            us_prev = us0 if t == 0 else us_all[t - 1] - th * _heaviside(us_all[t - 1] - th)
            acc[0] -= g_ud * us_prev
        gx[t] = g_ud
        gud = g_ud
        gus = g_us - g_ud * k1
    return (gx, gud, gus, *acc)

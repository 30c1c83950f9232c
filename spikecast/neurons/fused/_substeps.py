"""The fused sub-step average: ``T`` sub-steps from rest with a constant current, averaged.

:meth:`spikecast.neurons.BaseNeuron.sub_step_average` computes, for a current ``x``
``[*items, F]`` presented ``T`` times to a neuron starting from rest,

    y = (1/T) · sum_{m=1..T} neuron(x, x, ..., x)[m]

(SpikeTCN's sub-steps). Each neuron is independent and starts from rest at every position, so
this is an elementwise operation with a short loop over the sub-steps;
:func:`sub_step_mean` runs it as one numba kernel (:mod:`._numba_substeps`) inside
:class:`SubStepMeanFunction`, for the neurons whose dynamics it knows (LIF, PLIF, DA-LIF,
TS-LIF, TC-LIF) on CPU float32/float64 tensors and ``T <= 4``
(:data:`MAX_FUSED_STEPS`), and returns ``None`` for everything else, so
that the caller runs the sequence ``x.repeat(T, ...)`` through the neuron and averages.
Forward values are bit-identical to that path, gradients agree within rounding.
"""

from __future__ import annotations

import functools
import importlib

import torch

from spikecast.neurons.fused._functions import kernel_for

__all__ = ["MAX_FUSED_STEPS", "SubStepMeanFunction", "sub_step_mean"]

#: The most sub-steps the fused path takes. torch's ``mean(dim=0)`` adds up to 4 rows in
#: order (``((0 + y_1) + y_2 + ...) / T``, what the kernels do); from 5 rows on, its order
#: depends on the shape of the rest (measured: sequential for SpikeTCN's shapes, not for
#: small ones), so larger ``T`` take the repeat path to keep the forward bit-identical.
MAX_FUSED_STEPS = 4


@functools.cache
def _kernels():
    """The numba sub-step kernels (None when numba is not importable)."""
    try:
        return importlib.import_module("spikecast.neurons.fused._numba_substeps")
    except ImportError:
        return None


def _to_rows(x: torch.Tensor) -> torch.Tensor:
    """``[*items, L, C]`` -> channels-first rows ``[prod(items)·C, L]`` (contiguous; a view
    when ``x`` is a transposed channels-first tensor, as SpikeTCN's ``[N, C, L]``)."""
    return x.transpose(-1, -2).reshape(-1, x.shape[-2]).contiguous()


def _from_rows(rows: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The inverse of :func:`_to_rows`: a ``shape``-shaped view of ``rows``."""
    return rows.view(*shape[:-2], shape[-1], shape[-2]).transpose(-1, -2)


class SubStepMeanFunction(torch.autograd.Function):
    """``apply(x, cfg, steps, *coefs) -> y``: the sub-step average of the neuron ``cfg``.

    ``x`` ``[*items, L, C]`` (at least 2-D); ``y[n] = (1/T) · sum_{m=1..T} out_m(x[n])``, the
    neuron's output at sub-step ``m`` of ``T = steps`` from rest with the constant input
    ``x[n]``. ``cfg`` is a :class:`~spikecast.neurons.fused.LeakyConfig`
    (``coefs = (c1, c2, c3)``: ``h = c1·v (+ c3) + c2·(x + x_offset)``),
    :class:`~spikecast.neurons.fused.TSLIFConfig` (``a_d, b_d, a_s, b_s, c_sd, c_ds, p, q``:
    ``y_m = p·S_d + q·S_s``) or :class:`~spikecast.neurons.fused.TCLIFConfig` (``k1, k2``);
    each coefficient has shape ``()`` or ``(C,)``. Saves only the input; the backward
    recomputes the sub-steps and returns the gradients of ``x`` and of every coefficient
    (summed over all positions).
    """

    @staticmethod
    def forward(ctx, x, cfg, steps, *coefs):
        """One pass: read ``x``, write ``y`` (no graph)."""
        channels = x.shape[-1]
        rows = _to_rows(x.detach())
        coef = torch.stack([c.detach().to(x.dtype).expand(channels) for c in coefs])
        with torch.no_grad():
            out = _kernels().substep_forward(cfg, rows, coef.contiguous(), steps, channels)
        ctx.cfg, ctx.steps, ctx.shape, ctx.coef = cfg, steps, x.shape, coef.contiguous()
        ctx.save_for_backward(rows, *coefs)
        return _from_rows(out, x.shape)

    @staticmethod
    def backward(ctx, g_y):
        """One pass per row: recompute the sub-steps, then the reverse loop."""
        rows, *coefs = ctx.saved_tensors
        channels = ctx.shape[-1]
        need = any(ctx.needs_input_grad[3:])
        with torch.no_grad():
            gx, acc = _kernels().substep_backward(ctx.cfg, _to_rows(g_y), rows, ctx.coef,
                                                  ctx.steps, channels, need)
        grads = [acc[k].sum_to_size(c.shape).to(c.dtype)
                 if acc is not None and ctx.needs_input_grad[3 + k] else None
                 for k, c in enumerate(coefs)]
        return _from_rows(gx, ctx.shape), None, None, *grads


@functools.cache
def _supported() -> frozenset:
    """The neuron classes whose dynamics the kernels know (exact classes: a subclass may
    change the dynamics, and takes the repeat path)."""
    from spikecast.neurons.da_lif import DALIF
    from spikecast.neurons.lif import LIF
    from spikecast.neurons.plif import PLIF
    from spikecast.neurons.tc_lif import TCLIF
    from spikecast.neurons.ts_lif import TSLIF

    return frozenset({LIF, PLIF, DALIF, TSLIF, TCLIF})


def sub_step_mean(neuron, x: torch.Tensor, steps: int) -> torch.Tensor | None:
    """``(1/T) · sum_{m=1..T} neuron(x, ..., x)[m]`` (``T = steps``, from rest), fused; or
    ``None`` where no fused kernel applies (another neuron, device or dtype, no numba, or
    ``steps`` > :data:`MAX_FUSED_STEPS`).

    Args:
        neuron: the :class:`~spikecast.neurons.BaseNeuron`; its ``fused_spec(x)`` gives the
            kernel configuration and coefficients, as for its multi-step fused kernels.
        x: the current ``[*items, F]``.
        steps: ``T``.
    """
    if (type(neuron) not in _supported() or steps > MAX_FUSED_STEPS or x.numel() == 0
            or kernel_for(x) != "numba" or _kernels() is None):
        return None
    cfg, coefs = neuron.fused_spec(x)
    channels = x.shape[-1]
    if any(c.dim() > 1 or c.numel() not in (1, channels) for c in coefs):
        return None
    if x.dim() == 1:
        return SubStepMeanFunction.apply(x.unsqueeze(0), cfg, steps, *coefs).squeeze(0)
    return SubStepMeanFunction.apply(x, cfg, steps, *coefs)

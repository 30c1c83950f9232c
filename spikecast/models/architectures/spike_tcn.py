"""``spike_tcn``: levels of residual blocks of dilated causal convolutions and neurons.

SeqSNN's ``SpikeTCN`` (Lv et al., "Efficient and Effective Time-Series Forecasting with
Spiking Neural Networks", ICML 2024; code: microsoft/SeqSNN,
``SeqSNN/network/snn/spike_tcn.py``). Level ``i = 0..num_layers-1`` has dilation
``d = dilation_base**i``; with kernel ``k``, ``T = spike_steps``, ``z_0 = e`` and ``W[j]``
the tap that looks ``j`` points back (PyTorch's ``weight[..., k - 1 - j]``)::

    e[t]        = encoding(x)[t]                                  (direct | conv | delta)
    c_1[t]      = BN_1(sum_{j<k} W_1[j] z_i[t - j d] + b_1)       (z_i[t < 0] = 0: causal)
    a_1[t]      = mean_{m=1..T} neuron_1(c_1[t], ..., c_1[t])[m]  (T sub-steps, from rest)
    c_2[t]      = BN_2(sum_{j<k} W_2[j] a_1[t - j d] + b_2)
    a_2[t]      = mean_m neuron_2(c_2[t], ..., c_2[t])[m]
    r[t]        = W_r z_i[t] + b_r   (1x1 conv, when the widths differ; else r = z_i)
    z_{i+1}[t]  = dropout(mean_m neuron_3(a_2[t] + r[t], ..., a_2[t] + r[t])[m])
    output      = z_num_layers  over the L time points

Each neuron runs over the ``T`` sub-steps of one time point, its membrane starting at rest
at every point: it is never carried over ``t`` (the time axis is a batch axis for the
neurons); only the convolutions look back, ``2 (k - 1) sum_i dilation_base**i`` points in
all (:meth:`SpikeTCN.receptive_field`).
An analog twin (``neuron="relu"``, ...) is memoryless, so its ``T`` identical sub-steps are
computed once.

Where spikecast differs from the SeqSNN code:

- SeqSNN adds one more level that collapses the width to 1 channel (its output is one value
  per variable and step); spikecast keeps ``hidden_size`` channels in every one of the
  ``num_layers`` levels and leaves the reduction to the readout.
- SeqSNN's convolutions are ``weight_norm`` Conv2d with kernel ``(1, k)`` (one variable per
  row), padded on both sides and chomped after the BatchNorm (whose statistics then include
  the chomped positions); spikecast uses plain ``nn.Conv1d`` on left-padded input, so the
  BatchNorm sees exactly the ``L`` kept positions. Both use PyTorch's default
  initialisation (SeqSNN's ``init_weights`` is never called); spikecast's units then
  calibrate their input on the first batch (:class:`~spikecast.models.units.NeuronUnit`).
- SeqSNN's neurons are snnTorch ``Leaky(beta=0.99, threshold=1)`` (subtractive reset, atan
  surrogate); spikecast uses the chosen ``neuron`` with its parameters.
- SeqSNN builds but does not apply its ``dropout``; spikecast applies ``dropout`` after
  every level.
- SeqSNN's published runs use a conv encoding to 64 channels, ``kernel_size=16``,
  3 levels of 16 channels, ``dilation=2`` and ``T = 4``.

In training mode the BatchNorms normalise with the statistics of the whole batch (all steps),
as in SeqSNN; in eval mode they use the running statistics and the network is causal.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from spikecast.models.architectures.base import (
    POSITIVE_INT,
    Encoder,
    Synapse,
    modules_of,
)
from spikecast.models.encodings import SpikeEncoding
from spikecast.models.units import NeuronUnit
from spikecast.validation import validate_params

__all__ = ["SpikeTCN", "SpikeTCNBlock"]


def _sub_step_average(unit: NeuronUnit, current: torch.Tensor, steps: int) -> torch.Tensor:
    """``current`` ``[N, C, L]`` presented ``steps`` times to ``unit`` (membrane per position,
    from rest), output averaged over the sub-steps: ``[N, C, L]``."""
    items = current.transpose(1, 2)  # [N, L, C]: the unit wants the features last
    # = unit(items.unsqueeze(0).repeat(steps, 1, 1, 1)).mean(dim=0), fused where it can be
    return unit.sub_step_average(items, steps).transpose(1, 2)


class SpikeTCNBlock(nn.Module):
    """One level of :class:`SpikeTCN`: [causal dilated Conv1d -> BatchNorm -> neuron over
    ``T`` sub-steps, averaged] x 2, plus a residual path through a third neuron.

    Args:
        in_size: input channels.
        width: output channels.
        kernel_size: temporal kernel ``k``.
        dilation: dilation ``d`` of both convolutions.
        spike_steps: sub-steps ``T`` per time point.
        unit: builds a neuron unit for a width.

    Attributes:
        conv1, conv2: the dilated causal convolutions.
        norm1, norm2: their BatchNorms.
        unit1, unit2, unit3: the neurons after each convolution and after the residual sum.
        downsample: the residual 1x1 convolution, or ``None`` (identity) when
            ``in_size == width``.
    """

    def __init__(self, in_size: int, width: int, kernel_size: int, dilation: int,
                 spike_steps: int, unit: Callable[[int], NeuronUnit]):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.spike_steps = spike_steps
        self.conv1 = nn.Conv1d(in_size, width, kernel_size, dilation=dilation)
        self.norm1 = nn.BatchNorm1d(width)
        self.unit1 = unit(width)
        self.conv2 = nn.Conv1d(width, width, kernel_size, dilation=dilation)
        self.norm2 = nn.BatchNorm1d(width)
        self.unit2 = unit(width)
        self.downsample = nn.Conv1d(in_size, width, 1) if in_size != width else None
        self.unit3 = unit(width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, in_size, L]`` -> ``[N, width, L]`` (channels first, as Conv1d wants)."""
        a1 = _sub_step_average(self.unit1, self.norm1(self.conv1(F.pad(z, (self.pad, 0)))),
                               self.spike_steps)
        a2 = _sub_step_average(self.unit2, self.norm2(self.conv2(F.pad(a1, (self.pad, 0)))),
                               self.spike_steps)
        res = z if self.downsample is None else self.downsample(z)
        return _sub_step_average(self.unit3, a2 + res, self.spike_steps)


class SpikeTCN(Encoder):
    """``num_layers`` levels of spiking temporal blocks (see the module docstring).

    Args:
        encoding: ``"direct"``, ``"conv"`` or ``"delta"`` (:mod:`spikecast.models.encodings`).
        spike_steps: neuron sub-steps ``T`` per time point (the same current each sub-step).
        kernel_size: temporal kernel ``k`` of every convolution.
        dilation_base: level ``i`` dilates by ``dilation_base**i``.
        (the rest: see :class:`~spikecast.models.architectures.base.Encoder`; ``num_layers``
        is the number of levels)

    Attributes:
        encoding: the :class:`~spikecast.models.encodings.SpikeEncoding`.
        blocks: the levels (:class:`SpikeTCNBlock`).
    """

    # TS-LIF had the lowest validation loss with this architecture (docs/defaults.md)
    default_neuron = "ts_lif"

    # its own options (``encoding`` is checked by SpikeEncoding)
    _parameter_constraints = {
        "spike_steps": [POSITIVE_INT],
        "kernel_size": [POSITIVE_INT],
        "dilation_base": [POSITIVE_INT],
    }

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15,
                 encoding: str = "direct", spike_steps: int = 4, kernel_size: int = 2,
                 dilation_base: int = 2):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate)
        validate_params({"spike_steps": spike_steps, "kernel_size": kernel_size,
                         "dilation_base": dilation_base}, SpikeTCN._parameter_constraints)
        self.spike_steps = spike_steps
        self.kernel_size = kernel_size
        self.dilation_base = dilation_base
        self.encoding = SpikeEncoding(encoding, input_size, hidden_size,
                                      lambda n: self.unit(n, "lif"))
        widths = [self.encoding.output_size] + [hidden_size] * num_layers
        self.blocks = nn.ModuleList(
            SpikeTCNBlock(a, b, kernel_size, dilation_base ** i, spike_steps, self.unit)
            for i, (a, b) in enumerate(zip(widths, widths[1:]))
        )
        self.drop = self.layer_dropout()
        self.output_repeats = spike_steps  # the output averages spike_steps sub-steps

    def receptive_field(self) -> int:
        """Time points (the current one included) an output step depends on."""
        return 1 + 2 * (self.kernel_size - 1) * sum(self.dilation_base ** i
                                                     for i in range(self.num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[L, N, hidden]``."""
        z = self.encoding(x.transpose(0, 1)).permute(1, 2, 0)  # [N, E, L]
        for block in self.blocks:
            z = self.drop(block(z))
        return z.permute(2, 0, 1)

    def synapses(self) -> list[Synapse]:
        """The encoding's layer, then per level: the first convolution (and the residual
        1x1 convolution) with the level's input units, the second with the first unit.

        A convolution fed by a sub-step average receives ``T`` sub-steps of spikes per value,
        hence ``repeats = spike_steps``; the first level's input (the encoding's output, one
        value per time point) counts once.
        """
        found = self.encoding.synapses()
        sources: tuple[NeuronUnit, ...] = self.encoding.output_sources()
        repeats = 1
        for block in modules_of(self.blocks, SpikeTCNBlock):
            found.append(Synapse(block.conv1, sources, repeats))
            found.append(Synapse(block.conv2, (block.unit1,), self.spike_steps))
            if block.downsample is not None:
                found.append(Synapse(block.downsample, sources, repeats))
            sources, repeats = (block.unit3,), self.spike_steps
        return found

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The last level's residual unit."""
        return (modules_of(self.blocks, SpikeTCNBlock)[-1].unit3,)

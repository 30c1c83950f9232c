"""Spike encodings: how analog windows enter a spiking architecture.

Each encoding maps a time-major sequence ``[L, N, D]`` to ``[L, N, E]`` and tells the cost
hook what it computes (:meth:`synapses`) and what leaves it (:meth:`output_sources`):

- ``direct``: the analog values themselves (``E = D``); the first synaptic layer multiplies.
- ``conv``: a causal Conv1d (kernel 3) over time, BatchNorm, then a LIF unit: every step sees
  its two predecessors before the first spike, as in SeqSNN's and TS-LIF's convolutional
  encoders (theirs are centred, which lets a step see the next one; ours stays causal).
- ``delta``: a LIF unit on ``Linear(x[t] - x[t-1])``: spikes driven by change (SeqSNN's
  delta encoder).

The encoding's LIF is built by the architecture (:meth:`Encoder.unit`), so an analog twin
replaces it with its activation and the whole network becomes an ANN.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikecast.models.architectures.base import Synapse
from spikecast.models.units import NeuronUnit

__all__ = ["ENCODINGS", "CausalConv", "SpikeEncoding"]

#: Valid ``encoding`` names.
ENCODINGS = ("direct", "conv", "delta")

UnitFactory = Callable[[int], NeuronUnit]


class CausalConv(nn.Conv1d):
    """A causal ``Conv1d`` over time on time-major input: ``[L, N, D] -> [L, N, E]``.

    ``out[t] = b + sum_j W[:, :, j] x[t - (k-1) + j]`` (``x[t < 0] = 0``), the convolution of
    the left-padded sequence, computed as one matrix product of the ``k`` stacked past
    steps ``[L·N, D·k] x [D·k, E]``. With one input channel per sequence (channel-independent
    forecasters) ``nn.Conv1d`` on ``[N, D, L]`` ran as a slow direct convolution and needed
    two permuted copies of its ``[N, E, L]`` output; this costs one small GEMM and leaves
    the output time-major, as the neuron wants it. Same parameters (``weight [E, D, k]``,
    ``bias``) and state-dict keys as ``nn.Conv1d``; dilation 1, one group.
    """

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[L, N, D]`` -> ``[L, N, E]``."""
        k = self.kernel_size[0]
        L, N, D = seq.shape
        taps = nn.functional.pad(seq, (0, 0, 0, 0, k - 1, 0)).unfold(0, k, 1)  # [L, N, D, k]
        return nn.functional.linear(taps.reshape(L, N, D * k),
                                    self.weight.reshape(self.out_channels, D * k), self.bias)


class SpikeEncoding(nn.Module):
    """One of :data:`ENCODINGS` (see the module docstring).

    Args:
        kind: the encoding's name.
        input_size: inputs per step ``D``.
        hidden_size: encoded width ``E`` (``conv`` and ``delta``).
        unit: builds the encoding's neuron unit for a width (the architecture's LIF).
        kernel_size: temporal kernel of ``conv``.

    Attributes:
        output_size: ``E``.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, unit: UnitFactory,
                 kernel_size: int = 3):
        super().__init__()
        if kind not in ENCODINGS:
            raise ValueError(f"unknown encoding {kind!r}; valid: {list(ENCODINGS)}")
        self.kind = kind
        self.pad = kernel_size - 1
        self.output_size = input_size if kind == "direct" else hidden_size
        self.synapse: nn.Module
        if kind == "conv":
            self.synapse = CausalConv(input_size, hidden_size, kernel_size)
            self.norm = nn.BatchNorm1d(hidden_size)
        elif kind == "delta":
            self.synapse = nn.Linear(input_size, hidden_size)
        self.unit = unit(hidden_size) if kind != "direct" else None

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[L, N, D]`` -> ``[L, N, E]``."""
        if self.unit is None:  # "direct"
            return seq
        if self.kind == "delta":
            return self.unit(self.synapse(torch.diff(seq, dim=0, prepend=seq[:1])))
        z = self.synapse(seq)  # causal: t sees t-2..t; [L, N, E]
        # BatchNorm1d over [L·N, E]: the same statistics as over [N, E, L]
        z = self.norm(z.reshape(-1, z.shape[-1])).view(z.shape)
        return self.unit(z)

    def synapses(self) -> list[Synapse]:
        """The encoding's synaptic layer (fed by the analog data), if any."""
        return [] if self.unit is None else [Synapse(self.synapse)]

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The encoding's unit, or nothing for ``direct`` (analog output)."""
        return () if self.unit is None else (self.unit,)


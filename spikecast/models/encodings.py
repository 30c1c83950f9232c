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

__all__ = ["ENCODINGS", "SpikeEncoding"]

#: Valid ``encoding`` names.
ENCODINGS = ("direct", "conv", "delta")

UnitFactory = Callable[[int], NeuronUnit]


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
            self.synapse = nn.Conv1d(input_size, hidden_size, kernel_size)
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
        z = nn.functional.pad(seq.permute(1, 2, 0), (self.pad, 0))  # causal: t sees t-2..t
        z = self.norm(self.synapse(z))
        return self.unit(z.permute(2, 0, 1))

    def synapses(self) -> list[Synapse]:
        """The encoding's synaptic layer (fed by the analog data), if any."""
        return [] if self.unit is None else [Synapse(self.synapse)]

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The encoding's unit, or nothing for ``direct`` (analog output)."""
        return () if self.unit is None else (self.unit,)


"""``gru`` and ``lstm``: the analog recurrent baselines, as encoders with the same contract.

``torch.nn.GRU`` / ``torch.nn.LSTM`` (Cho et al., 2014; Hochreiter & Schmidhuber, 1997) over
the window, returning the hidden state of every step, so every readout (last, mean,
flatten, membrane) applies to them exactly as to the spiking architectures. They take no
neuron.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from spikecast.models.architectures.base import Encoder, Synapse
from spikecast.models.units import NeuronUnit

__all__ = ["GRU", "LSTM", "RecurrentEncoder"]


class RecurrentEncoder(Encoder):
    """A ``torch.nn`` recurrent network over the window (``cell`` set by the subclass).

    Args:
        input_size, hidden_size, num_layers, dropout: as for ``torch.nn.GRU``; dropout acts
            between layers.
        neuron, neuron_params, init_rate: must stay unset (an ANN has no neurons).
    """

    # the concrete classes: RNNBase's own constructor takes the cell's mode first
    cell: ClassVar[type[nn.GRU] | type[nn.LSTM]]
    default_neuron: ClassVar[str | None] = None

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = None):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate)
        if neuron_params:
            raise ValueError(f"{type(self).__name__} has no neurons: neuron_params "
                             f"{sorted(neuron_params)} do not apply")
        # torch's RNNs take Python ints only (numpy integers pass the checks above)
        self.rnn = self.cell(int(input_size), int(hidden_size), num_layers=int(num_layers),
                             dropout=float(dropout) if num_layers > 1 else 0.0)

    @classmethod
    def check_neuron(cls, neuron: str | None) -> None:
        """Only ``None``: a GRU or LSTM is an analog network with its own gates."""
        if neuron is not None:
            raise ValueError(f"encoder {cls.__name__.lower()!r} is an analog recurrent network "
                             f"and takes no neuron (got neuron={neuron!r}); leave neuron unset, "
                             "or use a spiking architecture such as encoder='spike_gru'")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> every step's hidden state ``[L, N, hidden]``."""
        out, _ = self.rnn(x.transpose(0, 1))
        return out

    def synapses(self) -> list[Synapse]:
        """The recurrent layer, fed by analog values."""
        return [Synapse(self.rnn)]

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """None: the hidden states are analog."""
        return ()


class GRU(RecurrentEncoder):
    """``torch.nn.GRU`` encoder (registry name ``"gru"``)."""

    cell = nn.GRU


class LSTM(RecurrentEncoder):
    """``torch.nn.LSTM`` encoder (registry name ``"lstm"``)."""

    cell = nn.LSTM

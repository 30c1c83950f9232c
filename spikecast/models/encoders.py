"""Sequence encoders: windows ``[N, L, D]`` to features ``[N, hidden]``.

Spiking encoders (built from :mod:`spikecast.neurons`) and recurrent ones (``torch.nn``
GRU / LSTM) share the same contract, so the forecasting network around them (input path,
normalisation, head) is identical and comparisons are fair.

The spiking encoder is the forecasting network of SeqSNN (Lv et al., ICML 2024) and TS-LIF
(Feng et al., ICLR 2025) in a cleaner form::

    encoding (direct | conv | delta) -> num_layers x [Linear -> neuron] over the L steps
    (each step optionally repeated ``spike_steps`` times) -> readout (last step | mean)

The synaptic Linear runs on the whole sequence as one matrix product; only the neuron
recurrence is sequential.
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast import neurons

__all__ = [
    "SPIKING_ENCODERS",
    "RECURRENT_ENCODERS",
    "ENCODERS",
    "ENCODINGS",
    "SpikingEncoder",
    "RecurrentEncoder",
    "build_encoder",
]

SPIKING_ENCODERS = ("lif", "plif", "liaf", "da_lif", "ts_lif", "tc_lif")
RECURRENT_ENCODERS = ("gru", "lstm")
ENCODERS = SPIKING_ENCODERS + RECURRENT_ENCODERS
ENCODINGS = ("direct", "conv", "delta")
READOUTS = ("last", "mean")


class ConvSpikeEncoding(nn.Module):
    """Conv1d over time, BatchNorm and a LIF neuron: analog input to spike trains.

    The temporal convolution (kernel 3, causal padding) lets each step see its neighbours
    before the first spike, as SeqSNN's convolutional encoder does.
    """

    def __init__(self, input_size: int, hidden_size: int, kernel_size: int = 3):
        super().__init__()
        self.pad = kernel_size - 1
        self.conv = nn.Conv1d(input_size, hidden_size, kernel_size)
        self.norm = nn.BatchNorm1d(hidden_size)
        self.neuron = neurons.LIF()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, D]`` -> spikes ``[T, N, hidden]``."""
        z = seq.permute(1, 2, 0)  # [N, D, T]
        z = nn.functional.pad(z, (self.pad, 0))  # causal: step t sees t-2..t only
        z = self.norm(self.conv(z))
        return self.neuron(z.permute(2, 0, 1).contiguous())


class DeltaSpikeEncoding(nn.Module):
    """Spikes driven by the change of the input: ``LIF(Linear(x[t] - x[t-1]))``."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(input_size, hidden_size)
        self.neuron = neurons.LIF()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, D]`` -> spikes ``[T, N, hidden]``."""
        delta = torch.diff(seq, dim=0, prepend=seq[:1])
        return self.neuron(self.proj(delta))


class SpikingLayer(nn.Module):
    """One synaptic Linear followed by a spiking neuron (and optional dropout)."""

    def __init__(self, in_features: int, out_features: int, neuron: str,
                 neuron_params: dict | None, dropout: float):
        super().__init__()
        self.synapse = nn.Linear(in_features, out_features)
        self.neuron = neurons.build(neuron, num_features=out_features, **(neuron_params or {}))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, in]`` -> ``[T, N, out]``."""
        return self.dropout(self.neuron(self.synapse(seq)))


class SpikingEncoder(nn.Module):
    """A stack of spiking layers over the time steps of a window.

    Args:
        neuron: neuron name (see :func:`spikecast.neurons.available`).
        input_size: features per time step ``D``.
        hidden_size: neurons per layer.
        num_layers: number of [Linear -> neuron] layers.
        encoding: ``"direct"`` (the analog input is the first layer's current), ``"conv"``
            (Conv1d + BatchNorm + LIF spike encoder) or ``"delta"`` (LIF on input changes).
        spike_steps: neuron steps per time point (the input is repeated; SeqSNN uses > 1).
        readout: ``"last"`` (output of the last step) or ``"mean"`` (mean over steps).
        dropout: dropout after every spiking layer.
        neuron_params: extra keyword arguments of the neuron (e.g. ``{"surrogate": "atan"}``).
    """

    def __init__(self, neuron: str, input_size: int, hidden_size: int = 128,
                 num_layers: int = 1, encoding: str = "direct", spike_steps: int = 1,
                 readout: str = "last", dropout: float = 0.0,
                 neuron_params: dict | None = None):
        super().__init__()
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; valid: {list(ENCODINGS)}")
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; valid: {list(READOUTS)}")
        if spike_steps < 1 or num_layers < 1:
            raise ValueError("spike_steps and num_layers must be at least 1")
        self.spike_steps = spike_steps
        self.readout = readout
        self.output_size = hidden_size
        if encoding == "conv":
            self.encoding = ConvSpikeEncoding(input_size, hidden_size)
        elif encoding == "delta":
            self.encoding = DeltaSpikeEncoding(input_size, hidden_size)
        else:
            self.encoding = nn.Identity()
        first = input_size if encoding == "direct" else hidden_size
        self.layers = nn.ModuleList(
            SpikingLayer(first if i == 0 else hidden_size, hidden_size, neuron, neuron_params,
                         dropout)
            for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[N, hidden]``."""
        seq = self.encoding(x.transpose(0, 1))  # time-major [L, N, .] for the neurons
        if self.spike_steps > 1:
            seq = seq.repeat_interleave(self.spike_steps, dim=0)
        for layer in self.layers:
            seq = layer(seq)
        return seq[-1] if self.readout == "last" else seq.mean(dim=0)

    def neurons(self) -> list[nn.Module]:
        """Every spiking neuron module, input encoding first."""
        return [m for m in self.modules() if isinstance(m, neurons.BaseNeuron)]


class RecurrentEncoder(nn.Module):
    """A ``torch.nn`` GRU or LSTM with the same contract as :class:`SpikingEncoder`."""

    def __init__(self, cell: str, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 readout: str = "last", dropout: float = 0.0):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; valid: {list(READOUTS)}")
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                       dropout=dropout if num_layers > 1 else 0.0)
        self.readout = readout
        self.output_size = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[N, hidden]``."""
        out, _ = self.rnn(x)
        return out[:, -1] if self.readout == "last" else out.mean(dim=1)


def build_encoder(name: str, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                  encoding: str = "direct", spike_steps: int = 1, readout: str = "last",
                  dropout: float = 0.0, neuron_params: dict | None = None) -> nn.Module:
    """The encoder called ``name`` (one of :data:`ENCODERS`)."""
    if name in RECURRENT_ENCODERS:
        return RecurrentEncoder(name, input_size, hidden_size, num_layers, readout, dropout)
    if name in SPIKING_ENCODERS:
        return SpikingEncoder(name, input_size, hidden_size, num_layers, encoding, spike_steps,
                              readout, dropout, neuron_params)
    raise ValueError(f"unknown encoder {name!r}; valid encoders: {list(ENCODERS)}")

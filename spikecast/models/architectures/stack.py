"""``stack``: layers of [synaptic Linear -> neuron] over the time steps of a window.

The network of SeqSNN's ``SNN`` (Lv et al., "Efficient and Effective Time-Series
Forecasting with Spiking Neural Networks", ICML 2024) and spikecast's first architecture::

    e[t]        = encoding(x)[t]                          (direct | conv | delta)
    I_1[t, k]   = W_1 e[t] + b_1                          (k = 1..K spike steps per point)
    s_l[t, k]   = neuron_l(I_l)[t, k]                     (state carried over t and k)
    I_{l+1}     = W_{l+1} s_l + b_{l+1}
    output      = s_num_layers  over the L x K steps

With ``spike_steps = K > 1`` every time point's first-layer current is presented K times
(SeqSNN's SNN2d uses K = 4); the membrane carries over time points and spike steps alike.
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast.models.architectures.base import (
    POSITIVE_INT,
    Encoder,
    Synapse,
    modules_of,
)
from spikecast.models.encodings import SpikeEncoding
from spikecast.models.units import NeuronUnit
from spikecast.validation import validate_params

__all__ = ["Stack"]


class Stack(Encoder):
    """``num_layers`` x [Linear -> neuron] over the time steps (see the module docstring).

    Args:
        encoding: ``"direct"``, ``"conv"`` or ``"delta"`` (:mod:`spikecast.models.encodings`).
        spike_steps: neuron steps per time point ``K``.
        (the rest: see :class:`~spikecast.models.architectures.base.Encoder`)
    """

    # its own options (``encoding`` is checked by SpikeEncoding)
    _parameter_constraints = {"spike_steps": [POSITIVE_INT]}

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15,
                 encoding: str = "direct", spike_steps: int = 1):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate)
        validate_params({"spike_steps": spike_steps}, Stack._parameter_constraints)
        self.spike_steps = spike_steps
        self.encoding = SpikeEncoding(encoding, input_size, hidden_size,
                                      lambda n: self.unit(n, "lif"))
        widths = [self.encoding.output_size] + [hidden_size] * num_layers
        self.synapse_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.units = nn.ModuleList(self.unit(hidden_size) for _ in range(num_layers))
        self.drop = self.layer_dropout()

    def output_steps(self, lookback: int) -> int:
        """``lookback x spike_steps``."""
        return lookback * self.spike_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[L x spike_steps, N, hidden]``."""
        seq = self.encoding(x.transpose(0, 1))
        for i, (synapse, unit) in enumerate(zip(self.synapse_layers, self.units)):
            current = synapse(seq)
            if i == 0 and self.spike_steps > 1:
                # the same current at every spike step: computed once, presented K times
                current = current.repeat_interleave(self.spike_steps, dim=0)
            seq = self.drop(unit(current))
        return seq

    def synapses(self) -> list[Synapse]:
        """The encoding's layer, then each Linear with the units before it."""
        sources: tuple[NeuronUnit, ...] = self.encoding.output_sources()
        found = self.encoding.synapses()
        units = modules_of(self.units, NeuronUnit)
        for i, (synapse, unit) in enumerate(zip(self.synapse_layers, units)):
            found.append(Synapse(synapse, sources, self.spike_steps if i == 0 else 1))
            sources = (unit,)
        return found

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The last layer's unit."""
        return (modules_of(self.units, NeuronUnit)[-1],)

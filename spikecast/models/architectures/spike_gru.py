"""``spike_gru``: a spiking GRU cell whose output drives a neuron, the network of TS-LIF.

The network of the official TS-LIF code (Feng et al., "TS-LIF: A Temporal Segment Spiking
Neuron Network for Time Series Forecasting", ICLR 2025; code kkking-kk/TS-LIF,
``SeqSNN/network/snn/spikegru.py``), itself SeqSNN's spiking GRU (Lv et al., "Efficient and
Effective Time-Series Forecasting with Spiking Neural Networks", ICML 2024) with TS-LIF in
place of the LIF. With ``Θ`` the Heaviside step (atan surrogate, α = 2), at every time point
``l`` of layer ``i`` (``x_l`` the encoding's output for the first layer, else the previous
layer's output; ``h_l`` this layer's neuron output, ``c_l`` the cell's gated state)::

    r_l       = Θ(W_ir x_l + b_ir + W_hr h_{l-1} + b_hr)             (reset gate)
    z_l       = Θ(W_iz x_l + b_iz + W_hz h_{l-1} + b_hz)             (update gate)
    n_l       = Θ(W_in x_l + b_in + r_l ⊙ (W_hn h_{l-1} + b_hn))     (candidate)
    c_l       = (1 - z_l) ⊙ n_l + z_l ⊙ c_{l-1}                      (the neuron's current)
    h_l       = neuron(c)_l                      (neuron state carried over l)
    output    = h_1..h_L of the last layer       ([L, N, hidden])

``recurrent=False`` (default, what the official code computes): the cell's state is zero at
every call (``h_{l-1} = c_{l-1} = 0`` above), so only the input weights and the hidden path's
biases act::

    r_l = Θ(W_ir x_l + b_ir + b_hr),  z_l = Θ(W_iz x_l + b_iz + b_hz),
    n_l = Θ(W_in x_l + b_in + r_l ⊙ b_hn),  c_l = (1 - z_l) ⊙ n_l   (binary)

and the only memory over time is the neuron's state. The gates of all L steps are then one
``Linear(E, 3H)`` over the whole sequence plus a learnable hidden-path bias ``b_h*``, and the
neuron runs over the L steps in one call.

``recurrent=True``: the GRU recurrence the cell is written for, one python step at a time,
from zero at ``l = 1`` (where it computes what the default does). The cell carries its gated
state ``c`` (the official code's ``h``, which it re-zeroes) and its gates read the layer's own
neuron output ``h_{l-1}`` through a ``Linear(H, 3H)`` (bias ``b_h*``): every synapse stays
fed by spikes, and the current stays a convex combination of gate values (binary for a
spiking neuron, in [0, 1] for an analog twin). Feeding the neuron's output back into the
current instead (``c_l = (1 - z) ⊙ n + z ⊙ h_{l-1}``) puts an unbounded output (the ReLU
twin, LIAF) in the loop, where it diverged (seen with the first, gain-based calibration).

An analog twin (``neuron="relu"``, ...) replaces every spiking nonlinearity by its analog
one: the gates use ``sigmoid`` (the smooth step, keeping the spiking cell's [0, 1] range) and
the neuron is the activation.

Differences from the official code: spikecast's ``conv`` encoding is causal with a LIF
carried over time (theirs: centred kernel, one LIF step per point, see
:mod:`spikecast.models.encodings`); every forward starts all layers from zero state (their
runner resets the first layer's TS-LIF only); the whole output sequence is returned (their
network keeps the last time point) and the readout chooses; the unused hidden weights
``W_h*`` (multiplied by the zero state) are not kept by the default variant.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from spikecast.models.architectures.base import Encoder, Synapse, modules_of
from spikecast.models.encodings import SpikeEncoding
from spikecast.models.units import Center, NeuronUnit
from spikecast.neurons import surrogate
from spikecast.validation import validate_params

__all__ = ["SpikeGRU"]

_State = tuple[torch.Tensor, ...] | None


class SpikeGRU(Encoder):
    """``num_layers`` x [spiking GRU cell -> neuron] over the time steps (see the module
    docstring).

    Args:
        encoding: ``"conv"`` (default, as the official code), ``"direct"`` or ``"delta"``
            (:mod:`spikecast.models.encodings`).
        recurrent: ``False`` (the official code: the cell's state is zero, all gates computed
            at once) or ``True`` (the GRU recurrence, the gates reading the layer's previous
            output).
        (the rest: see :class:`~spikecast.models.architectures.base.Encoder`)

    Attributes:
        gate_layers: per layer, ``Linear(in, 3H)``: ``W_ir, W_iz, W_in`` stacked, with biases
            ``b_ir, b_iz, b_in``.
        hidden_bias: per layer, the hidden path's biases ``b_hr, b_hz, b_hn`` (``[3H]``;
            ``recurrent=False`` only).
        hidden_layers: per layer, ``Linear(H, 3H)``: ``W_hr, W_hz, W_hn`` and their biases
            (``recurrent=True`` only).
        units: per layer, the neuron unit the gated current drives.
    """

    # its own options (``encoding`` is checked by SpikeEncoding)
    _parameter_constraints = {"recurrent": ["boolean"]}

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15,
                 encoding: str = "conv", recurrent: bool = False):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate)
        validate_params({"recurrent": recurrent}, SpikeGRU._parameter_constraints)
        self.recurrent = bool(recurrent)
        self.encoding = SpikeEncoding(encoding, input_size, hidden_size,
                                      lambda n: self.unit(n, "lif"))
        widths = [self.encoding.output_size] + [hidden_size] * (num_layers - 1)
        self.gate_layers = nn.ModuleList(nn.Linear(w, 3 * hidden_size) for w in widths)
        if recurrent:
            self.hidden_layers = nn.ModuleList(nn.Linear(hidden_size, 3 * hidden_size)
                                               for _ in range(num_layers))
        else:
            # the bias of the official code's Linear(H, 3H) on a zero state (nn.Linear's init)
            bound = 1 / math.sqrt(hidden_size)
            self.hidden_bias = nn.ParameterList(
                nn.Parameter(torch.empty(3 * hidden_size).uniform_(-bound, bound))
                for _ in range(num_layers))
        self.units = nn.ModuleList(self.unit(hidden_size) for _ in range(num_layers))
        # gate pre-activations centred on the first batch (with the units' calibration): a
        # gate whose bias outweighs its sparse spike input would stay shut
        on = init_rate is not None
        self.gate_norms = nn.ModuleList(
            nn.ModuleList([Center(2 * hidden_size, on), Center(hidden_size, on)])
            for _ in range(num_layers))
        self.drop = self.layer_dropout()
        # the gates' step: Heaviside with the atan surrogate, or its analog twin
        self.gate_fn = torch.sigmoid if self.analog else surrogate.get("atan", 2.0)

    def _current(self, gx: torch.Tensor, gh: torch.Tensor, norms: nn.ModuleList,
                 c_prev: torch.Tensor | None = None) -> torch.Tensor:
        """The gated current ``c`` from the input part ``gx`` and the hidden part ``gh`` of
        the gates (``[..., 3H]``, order r, z, n), each pre-activation centred by
        ``norms`` (r and z, then n); ``c_prev`` the previous current (None: zero)."""
        xr, xz, xn = gx.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r, z = self.gate_fn(norms[0](torch.cat([xr + hr, xz + hz], dim=-1))).chunk(2, dim=-1)
        n = self.gate_fn(norms[1](xn + r * hn))
        current = (1 - z) * n
        return current if c_prev is None else current + z * c_prev

    def _recurrent_layer(self, gx: torch.Tensor, hidden: nn.Linear, unit: NeuronUnit,
                         norms: nn.ModuleList) -> torch.Tensor:
        """The GRU recurrence over the steps of ``gx`` ``[L, N, 3H]``: ``[L, N, H]``."""
        if unit.needs_calibration:
            # the recurrent currents exist only once the unit is set: calibrate it on the
            # zero-state current (the l = 1 current) of every step of the window
            unit.calibrate(self._current(gx, hidden.bias, norms))
        h = gx.new_zeros(*gx.shape[1:-1], self.hidden_size)
        c = h
        state: _State = None
        outputs = []
        for gx_t in gx.unbind(0):
            c = self._current(gx_t, hidden(h), norms, c)
            h, state = unit.step(c, state)
            outputs.append(h)
        return torch.stack(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[L, N, hidden]``."""
        seq = self.encoding(x.transpose(0, 1))
        units = modules_of(self.units, NeuronUnit)
        norms = modules_of(self.gate_norms, nn.ModuleList)
        hidden = modules_of(self.hidden_layers, nn.Linear) if self.recurrent else []
        for i, (gates, unit) in enumerate(zip(self.gate_layers, units)):
            gx = gates(seq)  # the input part of every gate, all L steps at once
            if self.recurrent:
                out = self._recurrent_layer(gx, hidden[i], unit, norms[i])
            else:
                out = unit(self._current(gx, self.hidden_bias[i], norms[i]))
            seq = self.drop(out)
        return seq

    def synapses(self) -> list[Synapse]:
        """The encoding's layer, then per layer the gate Linear with the units before it and
        (``recurrent=True``) the hidden Linear fed by the layer's own unit. The gates' outputs
        multiply the current elementwise: they feed no synapse."""
        sources: tuple[NeuronUnit, ...] = self.encoding.output_sources()
        found = self.encoding.synapses()
        units = modules_of(self.units, NeuronUnit)
        for i, (gates, unit) in enumerate(zip(self.gate_layers, units)):
            found.append(Synapse(gates, sources))
            if self.recurrent:
                found.append(Synapse(self.hidden_layers[i], (unit,)))
            sources = (unit,)
        return found

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The last layer's unit."""
        return (modules_of(self.units, NeuronUnit)[-1],)

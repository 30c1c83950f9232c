"""What a forecasting network costs: parameters, firing rates, operations, energy, latency.

The energy convention is SeqSNN's and TS-LIF's (docs/protocols.md, P2): a layer fed by binary
spikes performs synaptic operations ``SOPs = firing rate x MACs`` of that layer, each an
accumulate (0.9 pJ at 45 nm); a layer fed by analog values performs multiply-accumulates
(4.6 pJ). The ANN reference is the same architecture with every layer a MAC layer, so an
analog twin (``neuron="relu"``) has an energy ratio of exactly 1.

What feeds each layer comes from the architecture itself: ``network.synapses()``
(:meth:`spikecast.models.architectures.Encoder.synapses` plus the readout's) lists every
synaptic layer with the neuron units whose outputs are its input. A synaptic layer that is
not listed is an error, never silently an ANN layer. The rules:

- Spike events per input value are measured on the given windows: a binary neuron's firing
  rate; TS-LIF's graded output ``w_s*S_s + w_d*S_d`` folds into the next layer's weights as two
  accumulate passes, so it carries both compartments' spikes; a sum of several units'
  outputs (residual streams) carries the sum of their events; an input averaged over K spike
  steps carries K times its units' events (``Synapse.repeats``).
- LIAF passes analog values on, but only when it fires (its relu output is 0 below
  threshold): the layer after it multiplies, at its events only. The analog twins'
  activations are dense: every product is a MAC.
- A ``readout="mean"`` head sees spike counts averaged over time (a rate): MACs.

Events are averaged over all the units' outputs, not over the part a layer reads (the
``last`` readout reads only the last step): an estimate, as in the papers. Neuron state
updates are not counted (as in the papers): they are elementwise and small next to the
synaptic layers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from spikecast.models.architectures import SpikeMatMul, Synapse
from spikecast.models.units import NeuronUnit

__all__ = ["E_AC_PJ", "E_MAC_PJ", "LayerCost", "measure_costs"]

E_AC_PJ = 0.9  # energy of one accumulate, picojoules (45 nm)
E_MAC_PJ = 4.6  # energy of one multiply-accumulate, picojoules (45 nm)

_SYNAPTIC = (nn.Linear, nn.Conv1d, nn.RNNBase, SpikeMatMul)


@dataclass
class LayerCost:
    """Operations of one synaptic layer per forecast window."""

    name: str
    macs: float  # multiply-accumulates of the same layer in an ANN, per window
    input_kind: str  # "analog", "spikes", "spike counts" or "analog events"
    input_rate: float | None  # events per input value (None: dense analog input)
    repeats: int = 1  # spike steps the input is presented at (see Synapse.repeats)

    @property
    def sops(self) -> float:
        """Synaptic (accumulate) operations per window; 0 for layers that multiply."""
        if self.input_rate is None or self.input_kind == "analog events":
            return 0.0
        return self.repeats * self.input_rate * self.macs

    @property
    def energy_pj(self) -> float:
        """Estimated energy per window in picojoules."""
        if self.input_rate is None:
            return self.macs * E_MAC_PJ
        if self.input_kind == "analog events":  # multiplies, but only at events
            return self.repeats * self.input_rate * self.macs * E_MAC_PJ
        return self.sops * E_AC_PJ


def _macs(module: nn.Module, inputs: tuple, output) -> float:
    """Multiply-accumulates of one call of a synaptic layer."""
    if isinstance(module, nn.Linear):
        return inputs[0].numel() * module.out_features
    if isinstance(module, nn.Conv1d):
        return output.numel() * module.kernel_size[0] * module.in_channels // module.groups
    if isinstance(module, SpikeMatMul):
        a, b = inputs
        return a.numel() * b.shape[-1]
    if not isinstance(module, nn.RNNBase):
        raise TypeError(f"no multiply-accumulate count for a {type(module).__name__} layer")
    # GRU / LSTM: gates x (input + hidden) products per step and layer, inputs time-major
    gates = {"GRU": 3, "LSTM": 4, "RNN_TANH": 1, "RNN_RELU": 1}[module.mode]
    x = inputs[0]
    steps = x.numel() / x.shape[-1]
    h = module.hidden_size
    return steps * sum(gates * h * ((module.input_size if i == 0 else h) + h)
                       for i in range(module.num_layers))


def measure_costs(network: nn.Module, windows: torch.Tensor) -> dict:
    """Run ``network`` on ``windows`` ``[N, L, C]`` and measure what it costs per window.

    Args:
        network: a module with ``synapses()`` (e.g.
            :class:`~spikecast.models.network.ForecastNetwork`).
        windows: input windows, scaled as in training.

    Returns:
        a dict with ``params``, ``layers`` (list of :class:`LayerCost`), ``firing_rates``
        (unit name -> firing rate of every spiking unit), ``sops``, ``macs_ann``,
        ``energy_pj``, ``energy_ann_pj`` and ``latency_ms`` (CPU, per window).

    Raises:
        ValueError: a synaptic layer of the network is not listed by ``synapses()``.
    """
    # the documented duck type; nn.Module types an unknown attribute as Tensor | Module
    synapses = cast(Callable[[], list[Synapse]], network.synapses)()
    names = {m: name for name, m in network.named_modules()}
    listed = {s.layer for s in synapses}
    missing = [name for name, m in network.named_modules()
               if isinstance(m, _SYNAPTIC) and m not in listed]
    if missing:
        raise ValueError(f"synaptic layers {missing} are not listed by the architecture's "
                         "synapses(): their cost cannot be told (spikes or analog?)")
    units = {name: m for name, m in network.named_modules() if isinstance(m, NeuronUnit)}
    macs = {s.layer: 0.0 for s in synapses}
    n_windows = windows.shape[0]

    def count(module, inputs, output):
        macs[module] += _macs(module, inputs, output) / n_windows

    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            # the counted pass also warms up the kernels (and calibrates a fresh network:
            # calibration calls no synaptic layer and counts no spikes) for the timed one
            hooks = [layer.register_forward_hook(count) for layer in listed]
            for unit in units.values():
                unit.start_monitor()
            try:
                network(windows)
            finally:
                for h in hooks:
                    h.remove()
                for unit in units.values():
                    unit.stop_monitor()
            start = time.perf_counter()
            network(windows)
            latency_ms = (time.perf_counter() - start) * 1e3 / n_windows
    finally:
        network.train(was_training)

    layers = [_layer_cost(names[s.layer], macs[s.layer], s) for s in synapses]
    return {
        "params": sum(p.numel() for p in network.parameters()),
        "layers": layers,
        "firing_rates": {name: u.firing_rate for name, u in units.items()
                         if u.firing_rate is not None},
        "sops": sum(layer.sops for layer in layers),
        "macs_ann": sum(layer.macs for layer in layers),
        "energy_pj": sum(layer.energy_pj for layer in layers),
        "energy_ann_pj": sum(layer.macs * E_MAC_PJ for layer in layers),
        "latency_ms": latency_ms,
    }


def _layer_cost(name: str, macs: float, synapse) -> LayerCost:
    events = [u.events_per_output for u in synapse.sources]
    if not events or any(e is None for e in events):
        return LayerCost(name, macs, "analog", None)
    if not all(u.spiking for u in synapse.sources):
        kind = "analog events"
    elif len(events) == 1 and synapse.repeats == 1 \
            and synapse.sources[0].neuron.num_spike_tensors == 1:
        kind = "spikes"
    else:
        kind = "spike counts"
    return LayerCost(name, macs, kind, float(sum(events)), synapse.repeats)

"""What a forecasting network costs: parameters, firing rates, operations, energy, latency.

The energy convention is SeqSNN's and TS-LIF's (PROTOCOLS.md, P2): a layer fed by binary
spikes performs synaptic operations ``SOPs = firing rate x MACs`` of that layer, each an
accumulate (0.9 pJ at 45 nm); a layer fed by analog values performs multiply-accumulates
(4.6 pJ). The ANN reference is the same architecture with every layer a MAC layer.

Two refinements keep the count honest:

- LIAF passes analog values on, so the layer after it does full MACs (no saving).
- TS-LIF's graded output ``w_s*S_s + w_d*S_d`` folds into the next layer's weights
  (``W diag(w_s) S_s + W diag(w_d) S_d``): two accumulate passes over binary spikes, so its
  SOPs are ``(rate_s + rate_d) x MACs``.
- A ``readout="mean"`` head sees spike counts averaged over time (not binary): MACs.

Neuron state updates are not counted (as in the papers): they are elementwise and small next
to the synaptic layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from spikecast import neurons

__all__ = ["E_AC_PJ", "E_MAC_PJ", "LayerCost", "measure_costs"]

E_AC_PJ = 0.9  # energy of one accumulate, picojoules (45 nm)
E_MAC_PJ = 4.6  # energy of one multiply-accumulate, picojoules (45 nm)


@dataclass
class LayerCost:
    """Operations of one synaptic layer per forecast window."""

    name: str
    macs: float  # multiply-accumulates of the same layer in an ANN, per window
    input_kind: str  # "analog", "spikes" or "graded spikes"
    input_rate: float | None  # firing rate of the spikes feeding the layer (None: analog)

    @property
    def sops(self) -> float:
        """Synaptic (accumulate) operations per window; 0 for analog-fed layers."""
        if self.input_rate is None:
            return 0.0
        passes = 2.0 if self.input_kind == "graded spikes" else 1.0
        return passes * self.input_rate * self.macs

    @property
    def energy_pj(self) -> float:
        """Estimated energy per window in picojoules."""
        return self.sops * E_AC_PJ if self.input_rate is not None else self.macs * E_MAC_PJ


def _feeding_neuron(network: nn.Module) -> dict[nn.Module, neurons.BaseNeuron | None]:
    """For every synaptic layer, the neuron whose output feeds it (None: analog input)."""
    from spikecast.models.encoders import SpikingEncoder

    feeds: dict[nn.Module, neurons.BaseNeuron | None] = {}
    encoder = getattr(network, "encoder", None)
    if isinstance(encoder, SpikingEncoder):
        previous = getattr(encoder.encoding, "neuron", None)
        if hasattr(encoder.encoding, "conv"):
            feeds[encoder.encoding.conv] = None
        if hasattr(encoder.encoding, "proj"):
            feeds[encoder.encoding.proj] = None
        for layer in encoder.layers:
            feeds[layer.synapse] = previous
            previous = layer.neuron
        feeds[network.head] = previous if encoder.readout == "last" else None
    return feeds


def measure_costs(network: nn.Module, windows: torch.Tensor) -> dict:
    """Run ``network`` on ``windows`` ``[N, L, C]`` and measure what it costs per window.

    Returns:
        a dict with ``params``, ``layers`` (list of :class:`LayerCost`), ``firing_rates``
        (name -> rate of every spiking neuron), ``sops``, ``macs_ann``, ``energy_pj``,
        ``energy_ann_pj`` and ``latency_ms`` (CPU, per window).
    """
    feeds = _feeding_neuron(network)
    spiking = {name: m for name, m in network.named_modules()
               if isinstance(m, neurons.BaseNeuron)}
    macs: dict[nn.Module, float] = {}

    def count(module, inputs, output):
        n_windows = windows.shape[0]
        if isinstance(module, nn.Linear):
            positions = inputs[0].numel() / module.in_features
            macs[module] = positions * module.in_features * module.out_features / n_windows
        elif isinstance(module, nn.Conv1d):
            k = module.kernel_size[0] * module.in_channels // module.groups
            macs[module] = output.numel() * k / n_windows

    hooks = [m.register_forward_hook(count) for m in network.modules()
             if isinstance(m, (nn.Linear, nn.Conv1d))]
    recurrent = [m for m in network.modules() if isinstance(m, (nn.GRU, nn.LSTM))]
    for m in spiking.values():
        m.monitor = True
    try:
        was_training = network.training
        network.eval()
        with torch.no_grad():
            network(windows)
            start = time.perf_counter()
            network(windows)
            latency_ms = (time.perf_counter() - start) * 1e3 / windows.shape[0]
    finally:
        for h in hooks:
            h.remove()
        for m in spiking.values():
            m.monitor = False
        network.train(was_training)

    names = {m: name for name, m in network.named_modules()}
    layers = []
    for module, n_macs in macs.items():
        neuron = feeds.get(module)
        if neuron is None or isinstance(neuron, neurons.LIAF):
            layers.append(LayerCost(names[module], n_macs, "analog", None))
        else:
            kind = "graded spikes" if isinstance(neuron, neurons.TSLIF) else "spikes"
            layers.append(LayerCost(names[module], n_macs, kind, float(neuron.last_firing_rate)))
    for rnn in recurrent:  # gates: 3 (GRU) or 4 (LSTM) input and hidden products per step
        gates = 3 if isinstance(rnn, nn.GRU) else 4
        steps = windows.shape[1] * _sequences_per_window(network)
        per_step = sum(gates * rnn.hidden_size * (rnn.input_size if i == 0 else rnn.hidden_size)
                       + gates * rnn.hidden_size * rnn.hidden_size
                       for i in range(rnn.num_layers))
        layers.append(LayerCost(names[rnn], steps * per_step, "analog", None))
    sops = sum(layer.sops for layer in layers)
    macs_ann = sum(layer.macs for layer in layers)
    return {
        "params": sum(p.numel() for p in network.parameters()),
        "layers": layers,
        "firing_rates": {name: float(m.last_firing_rate) for name, m in spiking.items()},
        "sops": sops,
        "macs_ann": macs_ann,
        "energy_pj": sum(layer.energy_pj for layer in layers),
        "energy_ann_pj": macs_ann * E_MAC_PJ,
        "latency_ms": latency_ms,
    }


def _sequences_per_window(network: nn.Module) -> int:
    """Sequences the encoder sees per window: one per target channel when channel-independent."""
    return int(network.n_out) if getattr(network, "channel_independent", False) else 1

"""The stack and SpikeRNN: equations against a step-by-step reference, causality, gradients,
and the cost hook."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikecast.models import architectures
from spikecast.models.architectures.spike_rnn import SpikeRNN
from spikecast.models.architectures.stack import Stack

N, L, D, H = 3, 9, 2, 6


def _x(seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(N, L, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _lif(currents: list[torch.Tensor], threshold: float = 1.0) -> list[torch.Tensor]:
    """docs/neurons.md's LIF, one step at a time: h = v + (I - v)/2, s = Θ(h - θ), hard reset."""
    v, spikes = torch.zeros_like(currents[0]), []
    for current in currents:
        h = v + (current - v) / 2
        s = (h >= threshold).to(h.dtype)
        v = h * (1 - s)
        spikes.append(s)
    return spikes


def _stack_reference(model: Stack, x: torch.Tensor) -> torch.Tensor:
    """Every time point's first current presented K times; the membrane runs on over t and k."""
    k = model.spike_steps
    seq = [x[:, t] for t in range(L)]
    for i, (lin, unit) in enumerate(zip(model.synapse_layers, model.units)):
        currents = [s @ lin.weight.T + lin.bias + unit.shift for s in seq]
        if i == 0:
            currents = [c for c in currents for _ in range(k)]
        seq = _lif(currents, unit.neuron.threshold)
    return torch.stack(seq)


def _spike_rnn_reference(model: SpikeRNN, x: torch.Tensor) -> torch.Tensor:
    """At every time point its own LIF run over the K spike steps, from rest."""
    k, out = model.spike_steps, []
    for t in range(L):
        seq = [x[:, t]] * k
        for lin, unit in zip(model.synapse_layers, model.units):
            seq = _lif([s @ lin.weight.T + lin.bias + unit.shift for s in seq],
                       unit.neuron.threshold)
        out.extend(seq)
    return torch.stack(out)


@pytest.mark.parametrize("spike_steps", [1, 3])
@pytest.mark.parametrize("cls, reference", [(Stack, _stack_reference),
                                            (SpikeRNN, _spike_rnn_reference)])
def test_equations_against_reference(cls, reference, spike_steps):
    torch.manual_seed(0)
    model = cls(D, H, num_layers=2, neuron="lif", encoding="direct", spike_steps=spike_steps)
    x = _x(1)
    with torch.no_grad():
        model(x)  # calibrates: the reference reads the units' biases
        out = model(x)
        ref = reference(model, x)
    assert out.shape == (L * spike_steps, N, H)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert 0 < out.mean() < 1  # neither silent nor saturated: the comparison means something


@pytest.mark.parametrize("cls", [Stack, SpikeRNN])
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_causal(cls, encoding):
    torch.manual_seed(0)
    model = cls(D, H, neuron="ts_lif", encoding=encoding, spike_steps=2).eval()
    x = _x(2)
    model(x)
    y = x.clone()
    y[:, 5] += 3.0
    k = model.spike_steps
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:5 * k], model(y)[:5 * k])
        assert not torch.equal(model(x)[5 * k:], model(y)[5 * k:])


@pytest.mark.parametrize("cls", [Stack, SpikeRNN])
def test_analog_twin_gradient_matches_finite_differences(cls):
    torch.manual_seed(0)
    model = cls(D, 4, num_layers=2, neuron="tanh", encoding="direct", spike_steps=2).double()
    x = _x(3, torch.float64).requires_grad_(True)
    model(x)  # calibrate first: the bias is a constant afterwards
    assert torch.autograd.gradcheck(model, (x,))


@pytest.mark.parametrize("cls", [Stack, SpikeRNN])
@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "da_lif"])
def test_surrogate_gradients_reach_every_weight(cls, neuron):
    torch.manual_seed(0)
    model = cls(D, H, num_layers=2, neuron=neuron, encoding="conv", spike_steps=2)
    model(torch.randn(16, L, D)).sum().backward()
    for name, param in model.named_parameters():
        if name.endswith("weight") and param.dim() > 1:
            assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cls", [Stack, SpikeRNN])
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_synapses_list_every_layer_with_its_feeders(cls, encoding):
    model = cls(D, H, num_layers=3, neuron="lif", encoding=encoding, spike_steps=4)
    synapses = model.synapses()
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]
    assert {s.layer for s in synapses} == set(layers) and len(synapses) == len(layers)
    first = synapses[0 if encoding == "direct" else 1]
    assert first.layer is model.synapse_layers[0] and first.repeats == 4
    assert first.sources == model.encoding.output_sources()
    for i, s in enumerate(synapses[-2:]):
        assert s.sources == (model.units[i],) and s.repeats == 1  # layers 1, 2
    assert model.output_sources() == (model.units[-1],)


def test_registry_builds_them_with_their_defaults():
    rnn = architectures.build("spike_rnn", input_size=D, hidden_size=H)
    assert isinstance(rnn, SpikeRNN) and rnn.spike_steps == 4 and rnn.encoding.kind == "conv"
    stack = architectures.build("stack", input_size=D, hidden_size=H)
    assert stack.spike_steps == 1 and stack.encoding.kind == "direct"
    with pytest.raises(ValueError, match="spike_steps must be a positive integer"):
        Stack(D, H, spike_steps=0)

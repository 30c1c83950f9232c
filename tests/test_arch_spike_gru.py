"""SpikeGRU (``spike_gru``): shapes, equations, causality, gradients and the cost hook."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikecast.models import architectures
from spikecast.models.architectures.spike_gru import SpikeGRU
from spikecast.models.efficiency import measure_costs

N, L, D, H = 3, 7, 2, 5


def _x(seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(N, L, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _model(seed: int = 0, **kwargs) -> SpikeGRU:
    torch.manual_seed(seed)
    kwargs = {"hidden_size": H, **kwargs}
    return SpikeGRU(D, **kwargs)


def reference(model: SpikeGRU, x: torch.Tensor) -> torch.Tensor:
    """The equations step by step: gates with Θ on the centred pre-activations, the
    gated current, a LIF (τ = 2, hard reset) behind each unit's affine; ``recurrent=True``
    carries the cell's current and feeds the layer's spikes back to the gates."""
    seq = x.transpose(0, 1)
    for i in range(model.num_layers):
        lin, unit = model.gate_layers[i], model.units[i]
        threshold = unit.neuron.threshold
        v = torch.zeros(N, H)
        h = torch.zeros(N, H)
        c = torch.zeros(N, H)
        outputs = []
        for t in range(L):
            gx = seq[t] @ lin.weight.T + lin.bias
            if model.recurrent:
                hid = model.hidden_layers[i]
                gh = h @ hid.weight.T + hid.bias
            else:
                gh = model.hidden_bias[i].expand(N, 3 * H)
            rz, nn_ = model.gate_norms[i]
            pre = gx[:, :2 * H] + gh[:, :2 * H] + rz.shift
            r = (pre[:, :H] >= 0).float()
            z = (pre[:, H:] >= 0).float()
            n = (gx[:, 2 * H:] + r * gh[:, 2 * H:] + nn_.shift >= 0).float()
            c = (1 - z) * n + (z * c if model.recurrent else 0)
            current = c + unit.shift
            pre = v + (current - v) / 2
            s = (pre >= threshold).float()
            v = pre * (1 - s)
            h = s
            outputs.append(s)
        seq = torch.stack(outputs)
    return seq


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "liaf", "relu"])
def test_output_shape(neuron, num_layers, recurrent):
    model = _model(neuron=neuron, num_layers=num_layers, recurrent=recurrent)
    out = model(_x())
    assert out.shape == (L, N, H)
    assert model.output_size == H
    assert model.output_steps(L) == L
    assert torch.isfinite(out).all()
    assert all(bool(u.calibrated) for u in model.units)


def test_registry_and_arguments():
    model = architectures.build("spike_gru", input_size=D, hidden_size=H, recurrent=True)
    assert isinstance(model, SpikeGRU)
    assert model.neuron == "liaf" and model.encoding.kind == "conv"
    with pytest.raises(ValueError, match="recurrent"):
        SpikeGRU(D, H, recurrent="yes")
    with pytest.raises(ValueError, match="encoding"):
        SpikeGRU(D, H, encoding="rate")


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("init_rate,params", [(None, {"threshold": 0.6}), (0.3, {})])
def test_equations_against_reference(recurrent, init_rate, params):
    model = _model(neuron="lif", neuron_params=params, init_rate=init_rate, encoding="direct",
                   num_layers=2, recurrent=recurrent)
    x = _x(1)
    model(x)  # calibrates (init_rate=0.3): the reference reads the units' affine
    with torch.no_grad():
        out = model(x)
        ref = reference(model, x)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert 0 < out.mean() < 1  # neither silent nor saturated: the comparison means something


def test_variants_agree_at_first_step():
    code = _model(neuron="ts_lif", encoding="direct", recurrent=False)
    rec = _model(neuron="ts_lif", encoding="direct", recurrent=True)
    with torch.no_grad():
        rec.gate_layers[0].load_state_dict(code.gate_layers[0].state_dict())
        rec.hidden_layers[0].bias.copy_(code.hidden_bias[0])
        rec.units[0].neuron.load_state_dict(code.units[0].neuron.state_dict())
        x = _x(2)
        a, b = code(x), rec(x)
    # the recurrent unit calibrates on the zero-state current: the default variant's current
    torch.testing.assert_close(rec.units[0].shift, code.units[0].shift)
    torch.testing.assert_close(a[0], b[0])


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_causal(encoding, recurrent):
    model = _model(neuron="ts_lif", encoding=encoding, num_layers=2, recurrent=recurrent,
                   hidden_size=16)
    model.eval()  # BatchNorm of the conv encoding: running statistics, no batch mixing
    x = _x(3)
    with torch.no_grad():
        before = model(x)  # calibrates
        t = 4
        changed = x.clone()
        changed[:, t:] += 5 * torch.randn(N, L - t, D)
        after = model(changed)
    torch.testing.assert_close(before[:t], after[:t], rtol=0, atol=0)
    assert not torch.equal(before[t:], after[t:])


@pytest.mark.parametrize("recurrent", [False, True])
def test_analog_twin_gradcheck(recurrent):
    model = _model(neuron="relu", init_rate=None, encoding="delta", num_layers=2,
                   recurrent=recurrent).double()
    x = _x(4, torch.float64).requires_grad_()
    weights = {"gate_layers.0.weight": model.gate_layers[0].weight.detach().clone()}
    if recurrent:
        weights["hidden_layers.1.weight"] = model.hidden_layers[1].weight.detach().clone()
    else:
        weights["hidden_bias.1"] = model.hidden_bias[1].detach().clone()
    names = list(weights)

    def f(x, *values):
        # summed over the items, which are independent: every item's jacobian is still checked
        return torch.func.functional_call(model, dict(zip(names, values)), (x,)).sum(dim=1)

    inputs = (x, *(w.requires_grad_() for w in weights.values()))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("neuron", ["lif", "ts_lif"])
def test_surrogate_gradient_reaches_the_gates(neuron, recurrent):
    model = _model(neuron=neuron, num_layers=2, recurrent=recurrent)
    model(_x(5)).sum().backward()
    for i in range(2):
        grad = model.gate_layers[i].weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
        hidden = model.hidden_layers[i].weight if recurrent else model.hidden_bias[i]
        assert hidden.grad is not None and hidden.grad.abs().sum() > 0
    assert model.encoding.synapse.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_synapses_list_every_layer(encoding, recurrent):
    model = _model(encoding=encoding, num_layers=2, recurrent=recurrent)
    synapses = model.synapses()
    layers = [s.layer for s in synapses]
    every = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]
    assert len(layers) == len(set(layers)) == len(every)
    assert set(layers) == set(every)
    by_layer = {s.layer: s.sources for s in synapses}
    assert by_layer[model.gate_layers[0]] == model.encoding.output_sources()
    assert by_layer[model.gate_layers[1]] == (model.units[0],)
    if recurrent:
        for hidden, unit in zip(model.hidden_layers, model.units):
            assert by_layer[hidden] == (unit,)
    assert model.output_sources() == (model.units[-1],)


@pytest.mark.parametrize("recurrent", [False, True])
def test_spike_counts_and_costs(recurrent):
    model = _model(neuron="lif", encoding="delta", recurrent=recurrent)
    x = _x(6)
    model(x)
    unit = model.units[0]
    unit.start_monitor()
    with torch.no_grad():
        out = model(x)
    unit.stop_monitor()
    assert unit.events_per_output == pytest.approx(float(out.mean()))
    costs = measure_costs(model, x)
    kinds = {layer.name: layer.input_kind for layer in costs["layers"]}
    assert kinds["gate_layers.0"] == "spikes"
    if recurrent:
        assert kinds["hidden_layers.0"] == "spikes"

"""SpikeTCN: shapes, the block equations against a step-by-step reference, causality,
gradients and the cost hook."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikecast.models.architectures import build
from spikecast.models.architectures.spike_tcn import SpikeTCN


def _windows(n: int, length: int, d: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, length, d, generator=gen, dtype=dtype)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "liaf", "relu"])
@pytest.mark.parametrize(("length", "d", "hidden", "levels"),
                         [(7, 1, 4, 1), (10, 3, 6, 2), (5, 2, 2, 3)])
def test_output_shape(neuron, length, d, hidden, levels):
    torch.manual_seed(0)
    model = SpikeTCN(d, hidden_size=hidden, num_layers=levels, neuron=neuron, spike_steps=2,
                     kernel_size=3)
    out = model(_windows(3, length, d))
    assert out.shape == (length, 3, hidden)
    assert model.output_steps(length) == length
    assert model.output_size == hidden
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_encodings_and_registry(encoding):
    model = build("spike_tcn", 2, hidden_size=4, num_layers=2, neuron="lif",
                  encoding=encoding, spike_steps=3)
    assert isinstance(model, SpikeTCN)
    assert model(_windows(2, 6, 2)).shape == (6, 2, 4)
    # a spiking neuron averaged over T = 3 sub-steps gives multiples of 1/3
    out = model(_windows(2, 6, 2, seed=1)) * 3
    torch.testing.assert_close(out, out.round())


@pytest.mark.parametrize(("name", "value"), [("kernel_size", 0), ("dilation_base", 0),
                                             ("spike_steps", 0), ("spike_steps", True),
                                             ("kernel_size", 2.0)])
def test_bad_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        SpikeTCN(2, hidden_size=4, **{name: value})


# ---------------------------------------------------------------------------- equations
def _conv(z: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """Causal dilated conv by explicit sums: ``z`` ``[N, C, L]`` -> ``[N, H, L]``."""
    k, d = conv.kernel_size[0], conv.dilation[0]
    w, b = conv.weight, conv.bias
    n, _, length = z.shape
    out = torch.zeros(n, w.shape[0], length, dtype=z.dtype)
    for t in range(length):
        acc = b.unsqueeze(0).expand(n, -1).clone()
        for j in range(k):
            src = t - (k - 1 - j) * d  # tap j of PyTorch's kernel looks (k - 1 - j) d back
            if src >= 0:
                acc = acc + z[:, :, src] @ w[:, :, j].T
        out[:, :, t] = acc
    return out


def _bn(c: torch.Tensor, bn: nn.BatchNorm1d) -> torch.Tensor:
    """BatchNorm in eval mode: running statistics."""
    shape = (1, -1, 1)
    return ((c - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps)
            * bn.weight.view(shape) + bn.bias.view(shape))


def _lif_average(current: torch.Tensor, steps: int, theta: float, tau: float = 2.0):
    """LIF (docs/neurons.md: decay_input, hard reset to 0) run ``steps`` sub-steps on the same
    current from rest, spikes averaged."""
    v = torch.zeros_like(current)
    total = torch.zeros_like(current)
    for _ in range(steps):
        h = v + (current - v) / tau
        s = (h >= theta).to(current.dtype)
        v = h * (1 - s)
        total = total + s
    return total / steps


@pytest.mark.parametrize(("d", "steps", "kernel", "base", "theta"),
                         [(3, 4, 3, 2, 1.0), (5, 1, 2, 3, 0.5), (2, 3, 2, 1, 0.5)])
def test_equations_against_reference(d, steps, kernel, base, theta):
    torch.manual_seed(1)
    model = SpikeTCN(d, hidden_size=4, num_layers=2, neuron="lif", init_rate=None,
                     neuron_params={"threshold": theta}, spike_steps=steps,
                     kernel_size=kernel, dilation_base=base).double()
    with torch.no_grad():  # weights and statistics that make the neurons fire
        for module in model.modules():
            if isinstance(module, nn.Conv1d):
                module.weight.mul_(3.0)
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(1.0, 3.0)
                module.bias.uniform_(0.0, 1.5)
    model.eval()
    x = _windows(3, 11, d, seed=2, dtype=torch.float64)
    out = model(x)

    z = x.permute(0, 2, 1)  # direct encoding, [N, D, L]
    rates = []
    for block in model.blocks:
        a1 = _lif_average(_bn(_conv(z, block.conv1), block.norm1), steps, theta)
        a2 = _lif_average(_bn(_conv(a1, block.conv2), block.norm2), steps, theta)
        res = z if block.downsample is None else _conv(z, block.downsample)
        z = _lif_average(a2 + res, steps, theta)
        rates += [float(a.mean()) for a in (a1, a2, z)]
    expected = z.permute(2, 0, 1)
    assert model.blocks[0].downsample is not None and model.blocks[1].downsample is None
    assert all(0 < r < 1 for r in rates), rates  # no neuron layer trivially silent or saturated
    torch.testing.assert_close(out, expected)


def test_relu_twin_is_the_plain_tcn():
    torch.manual_seed(3)
    model = SpikeTCN(2, hidden_size=3, num_layers=1, neuron="relu", init_rate=None,
                     spike_steps=4, kernel_size=2).double().eval()
    x = _windows(2, 6, 2, seed=4, dtype=torch.float64)
    block = model.blocks[0]
    z = x.permute(0, 2, 1)
    a1 = torch.relu(_bn(_conv(z, block.conv1), block.norm1))
    a2 = torch.relu(_bn(_conv(a1, block.conv2), block.norm2))
    expected = torch.relu(a2 + _conv(z, block.downsample)).permute(2, 0, 1)
    torch.testing.assert_close(model(x), expected)


# ---------------------------------------------------------------------------- causality
@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "relu"])
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
def test_causal_with_finite_receptive_field(neuron, encoding):
    torch.manual_seed(5)
    model = SpikeTCN(2, hidden_size=4, num_layers=2, neuron=neuron, encoding=encoding,
                     spike_steps=2, kernel_size=2, dilation_base=2)
    length, t = 16, 9
    x = _windows(4, length, 2, seed=6)
    model.eval()  # BatchNorm on running statistics; the first call calibrates the units
    model(x)
    base = model(x)
    changed = x.clone()
    changed[:, t] += 5.0
    out = model(changed)
    torch.testing.assert_close(out[:t], base[:t], rtol=0, atol=0)
    assert not torch.equal(out[t:], base[t:])
    # the direct encoding adds no memory: steps past the receptive field do not see x[t]
    if encoding == "direct":
        field = model.receptive_field()
        assert field == 1 + 2 * (1 + 2)
        torch.testing.assert_close(out[t + field:], base[t + field:], rtol=0, atol=0)


# ---------------------------------------------------------------------------- gradients
def test_gradcheck_relu_twin():
    torch.manual_seed(7)
    model = SpikeTCN(2, hidden_size=3, num_layers=2, neuron="relu", init_rate=None,
                     spike_steps=3, kernel_size=2).double().eval()
    x = _windows(2, 5, 2, seed=8, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(model, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "plif"])
def test_gradients_reach_every_parameter(neuron):
    torch.manual_seed(9)
    model = SpikeTCN(2, hidden_size=4, num_layers=2, neuron=neuron, encoding="conv",
                     spike_steps=2, kernel_size=2)
    model(_windows(32, 16, 2, seed=10))  # calibrate
    model.zero_grad()
    model(_windows(32, 16, 2, seed=11)).sum().backward()
    assert model.blocks[0].conv1.weight.grad.abs().sum() > 0
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_gradients_liaf():
    # LIAF's analog output is cut by its relu, so a tiny batch may leave a leak without
    # gradient: check that the gradient is finite and reaches the first convolution
    torch.manual_seed(9)
    model = SpikeTCN(2, hidden_size=4, num_layers=2, neuron="liaf", spike_steps=2)
    x = _windows(6, 8, 2, seed=10).requires_grad_(True)
    model(x).sum().backward()
    assert model.blocks[0].conv1.weight.grad.abs().sum() > 0
    assert x.grad.abs().sum() > 0
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


# ---------------------------------------------------------------------------- cost hook
@pytest.mark.parametrize("encoding", ["direct", "conv", "delta"])
@pytest.mark.parametrize("d", [1, 4])
def test_synapses_cover_every_layer(encoding, d):
    steps = 3
    model = SpikeTCN(d, hidden_size=4, num_layers=3, neuron="lif", encoding=encoding,
                     spike_steps=steps)
    found = model.synapses()
    layers = [s.layer for s in found]
    expected = [m for m in model.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
    assert len(layers) == len(set(map(id, layers)))
    assert {id(m) for m in layers} == {id(m) for m in expected}
    units = {id(m) for m in model.modules()}
    by_layer = {id(s.layer): s for s in found}
    for i, block in enumerate(model.blocks):
        inputs = model.encoding.output_sources() if i == 0 else (model.blocks[i - 1].unit3,)
        first = by_layer[id(block.conv1)]
        assert first.sources == inputs
        assert first.repeats == (1 if i == 0 else steps)
        second = by_layer[id(block.conv2)]
        assert second.sources == (block.unit1,) and second.repeats == steps
        if block.downsample is not None:
            assert by_layer[id(block.downsample)].sources == inputs
        for s in (first, second):
            assert all(id(u) in units for u in s.sources)
    assert model.output_sources() == (model.blocks[-1].unit3,)
    # the direct encoding with D != hidden needs a residual 1x1 conv in the first level only
    has_downsample = [b.downsample is not None for b in model.blocks]
    assert has_downsample == [encoding == "direct" and d != 4, False, False]

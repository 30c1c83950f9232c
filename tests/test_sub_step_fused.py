"""The fused sub-step average against the repeat / mean path it replaces.

``neuron.sub_step_average(x, T)`` must equal ``neuron(x.unsqueeze(0).repeat(T, ...)).mean(0)``
bit for bit in the forward pass (float32 and float64, ``-0.0`` included), and its gradients
(input and every learnable parameter) must agree within 1e-6 in float64, for every neuron
and option the fused kernels cover; the rest must take the repeat path unchanged.
"""

from __future__ import annotations

import copy

import pytest
import torch

from spikecast import neurons
from spikecast.models.architectures.spike_tcn import SpikeTCN
from spikecast.models.units import NeuronUnit
from spikecast.neurons import fused

pytestmark = pytest.mark.skipif(not fused.numba_available(), reason="needs numba")

C = 5  # channels (features, last)

CASES = [
    ("ts_lif", {}),
    ("ts_lif", {"per_channel": True, "surrogate": "sigmoid"}),
    ("ts_lif", {"output": "kappa", "detach_reset": True, "surrogate": "rect"}),
    ("ts_lif", {"output": "kappa", "per_channel": True, "surrogate": "triangle",
                "gamma": 0.3, "threshold": 0.9}),
    ("lif", {}),
    ("lif", {"reset": "soft", "surrogate": "sigmoid", "detach_reset": True}),
    ("lif", {"tau": 3.3, "threshold": 0.7, "v_reset": -0.3}),
    ("lif", {"decay_input": False, "v_reset": 0.2, "tau": 2.9, "reset": "soft"}),
    ("lif", {"decay_input": False, "tau": 1.7, "surrogate": "triangle"}),
    ("plif", {}),
    ("plif", {"per_channel": True, "reset": "soft", "surrogate": "triangle"}),
    ("plif", {"decay_input": False, "v_reset": -0.2, "per_channel": True,
              "detach_reset": True}),
    ("da_lif", {}),
    ("da_lif", {"per_channel": True, "reset": "soft", "surrogate": "sigmoid"}),
    ("da_lif", {"detach_reset": True, "surrogate": "rect", "threshold": 0.8}),
    ("tc_lif", {}),
    ("tc_lif", {"per_channel": True, "surrogate": "atan", "threshold": 1.0}),
    ("tc_lif", {"detach_reset": True, "surrogate": "sigmoid", "gamma": 0.7}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CASES]


def _neuron(name, kwargs, dtype, seed=0):
    torch.manual_seed(seed)
    neuron = neurons.build(name, num_features=C, **kwargs)
    with torch.no_grad():
        for p in neuron.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return neuron.to(dtype)


def _current(dtype, shape=(3, C, 7), seed=1):
    """A channels-first current seen through a transpose, as SpikeTCN hands it over."""
    g = torch.Generator().manual_seed(seed)
    return (1.5 * torch.randn(*shape, generator=g) + 0.6).to(dtype).transpose(-1, -2)


def _repeat_mean(neuron, x, steps):
    return neuron(x.unsqueeze(0).repeat(steps, *(1,) * x.dim())).mean(dim=0)


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.contiguous()
    return t.view(torch.int64 if t.dtype == torch.float64 else torch.int32)


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_forward_bit_identical(name, kwargs, dtype, steps):
    neuron = _neuron(name, kwargs, dtype)
    x = _current(dtype)
    with torch.no_grad():
        ref = _repeat_mean(neuron, x, steps)
        out = neuron.sub_step_average(x, steps)
    assert out.shape == ref.shape
    assert torch.equal(_bits(out), _bits(ref))
    if steps > fused.MAX_FUSED_STEPS:  # torch's mean adds 5+ rows in a shape-dependent order
        assert fused.sub_step_mean(neuron, x, steps) is None


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_gradients_float64(name, kwargs):
    ref_n = _neuron(name, kwargs, torch.float64)
    fast_n = copy.deepcopy(ref_n)
    base = _current(torch.float64)
    x_ref, x_fast = base.detach().clone(), base.detach().clone()
    x_ref.requires_grad_(True)
    x_fast.requires_grad_(True)
    y_ref = _repeat_mean(ref_n, x_ref, 4)
    y_fast = fast_n.sub_step_average(x_fast, 4)
    assert y_fast.grad_fn is not None and "SubStepMean" in type(y_fast.grad_fn).__name__
    g = torch.randn(y_ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grads_ref = torch.autograd.grad(y_ref, [x_ref, *ref_n.parameters()], g)
    grads_fast = torch.autograd.grad(y_fast, [x_fast, *fast_n.parameters()], g)
    names = ["x", *(n for n, _ in ref_n.named_parameters())]
    for label, a, b in zip(names, grads_ref, grads_fast):
        assert a.shape == b.shape, label
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-6, msg=label)


@pytest.mark.parametrize(("name", "shape"), [("lif", (C,)), ("ts_lif", (6, C)),
                                             ("ts_lif", (2, 3, 4, C)), ("plif", (2, 1, C))])
def test_any_shape_and_layout(name, shape):
    neuron = _neuron(name, {}, torch.float64)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    y = neuron.sub_step_average(x, 4)
    ref = _repeat_mean(neuron, x, 4)
    assert torch.equal(y, ref)
    (gy,) = torch.autograd.grad(y.sum(), x)
    (gr,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(gy, gr, rtol=1e-6, atol=1e-9)


def test_other_neurons_and_backends_take_the_repeat_path():
    x = _current(torch.float32)
    liaf = neurons.build("liaf", num_features=C)
    assert torch.equal(liaf.sub_step_average(x, 4), _repeat_mean(liaf, x, 4))
    ref = neurons.build("ts_lif", num_features=C, backend="reference")
    y = ref.sub_step_average(x.requires_grad_(), 4)
    assert "SubStepMean" not in type(y.grad_fn).__name__
    with fused.use_kernel("torch"):
        n = neurons.build("lif")
        assert fused.sub_step_mean(n, x, 4) is None
        assert torch.equal(n.sub_step_average(x, 4), _repeat_mean(n, x, 4))


def test_monitor_counts_as_the_repeat_path():
    neuron = _neuron("ts_lif", {}, torch.float32)
    x = _current(torch.float32)
    neuron.monitor = True
    neuron.sub_step_average(x, 4)
    fast = neuron.last_spike_count
    _repeat_mean(neuron, x, 4)
    assert fast == neuron.last_spike_count


def test_bad_steps_and_input():
    neuron = neurons.build("lif")
    with pytest.raises(ValueError, match="steps"):
        neuron.sub_step_average(torch.zeros(2, 3), 0)
    with pytest.raises(TypeError):
        neuron.sub_step_average([1.0], 2)


def test_unit_calibrates_and_then_fuses():
    torch.manual_seed(0)
    unit = NeuronUnit("ts_lif", C)
    twin = copy.deepcopy(unit)
    x = _current(torch.float32, shape=(4, C, 9))
    first = unit.sub_step_average(x, 4)  # calibrates on the T copies, as before
    assert torch.equal(first, twin(x.unsqueeze(0).repeat(4, 1, 1, 1)).mean(0))
    assert torch.equal(unit.shift, twin.shift)
    x2 = _current(torch.float32, shape=(4, C, 9), seed=5)
    assert torch.equal(_bits(unit.sub_step_average(x2, 4)),
                       _bits(twin(x2.unsqueeze(0).repeat(4, 1, 1, 1)).mean(0)))


@pytest.mark.parametrize("neuron", ["ts_lif", "lif", "liaf", "relu"])
def test_spike_tcn_unchanged(neuron):
    """The whole encoder, forward and gradients, against the repeat path."""
    torch.manual_seed(0)
    model = SpikeTCN(3, hidden_size=6, num_layers=2, neuron=neuron, spike_steps=4).double()
    model.train()
    x = torch.randn(4, 12, 3, dtype=torch.float64)
    model(x)  # calibrate
    twin = copy.deepcopy(model)
    y = model(x)
    with fused.use_kernel("torch"):  # no sub-step kernel: the repeat path
        y_ref = twin(x)
    assert torch.equal(y, y_ref)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, list(model.parameters()), g)
    with fused.use_kernel("torch"):
        grads_ref = torch.autograd.grad(y_ref, list(twin.parameters()), g)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


def test_kernels_split_over_threads():
    neuron = _neuron("ts_lif", {}, torch.float64)
    x = _current(torch.float64).requires_grad_()
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        y1 = neuron.sub_step_average(x, 4)
        g1 = torch.autograd.grad(y1.sum(), [x, *neuron.parameters()])
        torch.set_num_threads(3)
        y3 = neuron.sub_step_average(x, 4)
        g3 = torch.autograd.grad(y3.sum(), [x, *neuron.parameters()])
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(y1, y3)
    for a, b in zip(g1, g3):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)

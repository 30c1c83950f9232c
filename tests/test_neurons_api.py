"""The neuron interface: registry, defaults, shapes, options, monitoring, errors.

What every neuron promises alike (no-grad, dtypes, per-channel slices, monitor off,
backends, serialisation, docstrings, ...) is the contract suite of
``tests/test_neuron_contract.py`` (:mod:`spikecast.checks.neuron`); this file keeps the
per-neuron specifics.
"""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

from spikecast import neurons
from spikecast.neurons import BaseNeuron

ALL = ["da_lif", "liaf", "lif", "plif", "tc_lif", "ts_lif"]
CLASSES = {"lif": neurons.LIF, "plif": neurons.PLIF, "liaf": neurons.LIAF,
           "da_lif": neurons.DALIF, "ts_lif": neurons.TSLIF, "tc_lif": neurons.TCLIF}


# ----------------------------------------------------------------------------- registry
def test_available_and_build():
    assert neurons.available() == ALL
    for name in ALL:
        m = neurons.build(name, num_features=5)
        assert isinstance(m, CLASSES[name]) and isinstance(m, BaseNeuron)
        assert m.num_features == 5


def test_build_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        neurons.build("izhikevich")
    for name in ALL:
        assert name in str(err.value)


def test_build_passes_params():
    m = neurons.build("lif", tau=3.0, reset="soft", surrogate="sigmoid", alpha=2.0)
    assert m.tau == 3.0 and m.reset == "soft"
    assert m.surrogate == "sigmoid" and m.alpha == 2.0


# ----------------------------------------------------------------------------- defaults
@pytest.mark.parametrize("name,sg,alpha", [
    ("lif", "atan", 2.0), ("plif", "atan", 2.0), ("da_lif", "atan", 2.0),
    ("liaf", "rect", 1.0), ("ts_lif", "atan", 2.0), ("tc_lif", "triangle", 1.0)])
def test_default_surrogates(name, sg, alpha):
    m = neurons.build(name, num_features=3)
    assert (m.surrogate, m.alpha) == (sg, alpha)


def test_defaults_from_neurons_md():
    lif = neurons.LIF()
    assert (lif.tau, lif.threshold, lif.v_reset, lif.reset) == (2.0, 1.0, 0.0, "hard")
    plif = neurons.PLIF()
    assert plif.w.shape == () and plif.w.item() == 0.0  # w = -ln(2 - 1)
    assert plif.tau.item() == pytest.approx(2.0)
    assert neurons.PLIF(init_tau=4.0).tau.item() == pytest.approx(4.0)
    liaf = neurons.LIAF()
    assert (liaf.threshold, liaf.v_reset, liaf.beta, liaf.activation) == (0.5, 0.0, 0.0, "relu")
    assert liaf.leak.item() == pytest.approx(0.5) and liaf.norm is None
    da = neurons.DALIF()
    assert da.threshold == 1.0 and da.reset == "hard"
    ts = neurons.TSLIF(num_features=2)
    init = {"a_d": 0.8, "b_d": 0.2, "a_s": 0.3, "b_s": 0.7, "c_sd": 0.1, "c_ds": 0.8}
    for k, v in init.items():
        p = getattr(ts, k)
        assert isinstance(p, torch.nn.Parameter) and p.shape == ()
        assert p.item() == pytest.approx(v)
    assert ts.w_s.shape == ts.w_d.shape == (2,) and ts.output == "weighted"


def test_per_channel_parameter_shapes():
    expected = {"plif": ["w"], "liaf": ["a"], "da_lif": ["a", "b"], "tc_lif": ["c1", "c2"],
                "ts_lif": ["a_d", "b_d", "a_s", "b_s", "c_sd", "c_ds"]}
    for name, pnames in expected.items():
        layer = neurons.build(name, num_features=7)
        chan = neurons.build(name, num_features=7, per_channel=True)
        for p in pnames:
            assert getattr(layer, p).shape == ()
            assert getattr(chan, p).shape == (7,)


def test_learnable_parameters():
    def names(m):
        return sorted(k for k, _ in m.named_parameters())
    assert names(neurons.LIF()) == []
    assert names(neurons.PLIF()) == ["w"]
    assert names(neurons.LIAF()) == ["a"]
    assert names(neurons.LIAF(learn_alpha=False)) == []
    assert names(neurons.LIAF(norm="layer", num_features=3)) == ["a", "norm.bias", "norm.weight"]
    assert names(neurons.DALIF()) == ["a", "b"]
    assert names(neurons.TSLIF(num_features=3)) == sorted(
        ["a_d", "b_d", "a_s", "b_s", "c_sd", "c_ds", "w_s", "w_d"])
    assert names(neurons.TSLIF(output="kappa")) == sorted(
        ["a_d", "b_d", "a_s", "b_s", "c_sd", "c_ds", "kappa"])
    assert names(neurons.TCLIF()) == ["c1", "c2"]


def test_tslif_weight_init():
    torch.manual_seed(0)
    a = neurons.TSLIF(num_features=64)
    torch.manual_seed(0)
    b = neurons.TSLIF(num_features=64)
    assert torch.equal(a.w_s, b.w_s) and not torch.equal(a.w_s, a.w_d)
    assert 0.5 < a.w_s.std().item() < 1.5  # standard normal, as the official code
    c = neurons.TSLIF(num_features=4, weight_init=1.0)
    assert torch.equal(c.w_s.data, torch.ones(4)) and torch.equal(c.w_d.data, torch.ones(4))
    assert neurons.TSLIF(output="kappa").kappa.item() == 0.5


# ----------------------------------------------------------------------------- shapes
def _ok_params(name, shape):
    """Constructor params valid for an input of ``shape``."""
    if len(shape) >= 3:
        return {"num_features": shape[-1]}
    return {"output": "kappa"} if name == "ts_lif" else {}


SHAPES = [(6, 3), (6, 3, 4), (6, 2, 3, 4), (1, 3, 4), (5, 1, 4), (1, 1), (4, 1, 1, 1)]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_dtypes(name, shape, dtype):
    torch.manual_seed(0)
    m = neurons.build(name, **_ok_params(name, shape)).to(dtype)
    x = (torch.randn(shape, dtype=dtype) + 1.0).requires_grad_(True)
    y, state = m(x, return_state=True)
    assert y.shape == x.shape and y.dtype == dtype
    assert len(state) == len(m.state_names)
    for s in state:
        assert s.shape == x.shape[1:] and s.dtype == dtype
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    y_t, st = m.step(x[0].detach())
    assert y_t.shape == x.shape[1:]
    assert all(s.shape == x.shape[1:] for s in st)
    init = m.init_state(x[0])
    assert len(init) == len(m.state_names) and all(torch.count_nonzero(s) == 0 for s in init)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", ALL)
def test_cuda_matches_cpu(name):
    torch.manual_seed(0)
    m = neurons.build(name, num_features=4).double()
    x = torch.randn(8, 3, 4, dtype=torch.float64) + 0.5
    y_cpu = m(x)
    y_gpu = copy.deepcopy(m).cuda()(x.cuda())
    assert y_gpu.device.type == "cuda"
    torch.testing.assert_close(y_gpu.cpu(), y_cpu)


# ----------------------------------------------------------------------------- monitoring
@pytest.mark.parametrize("name", ["lif", "plif", "da_lif", "tc_lif"])
def test_monitor_binary_output_neurons(name):
    m = neurons.build(name, num_features=4)
    m.monitor = True
    torch.manual_seed(4)
    x = torch.randn(7, 3, 4) * 2 + 1
    y = m(x)
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert isinstance(m.last_firing_rate, float) and isinstance(m.last_spike_count, int)
    assert m.last_spike_count == int(y.sum().item()) > 0
    assert m.last_firing_rate == pytest.approx(y.mean().item())
    y_t, _ = m.step(x[0])
    assert m.last_firing_rate == pytest.approx(y_t.mean().item())
    with torch.no_grad():
        m(torch.full_like(x, -5.0))
    assert m.last_firing_rate == 0.0 and m.last_spike_count == 0


def test_monitor_liaf_counts_reset_spikes():
    m = neurons.LIAF(activation="identity", threshold_related=False, learn_alpha=False)
    m.monitor = True
    x = torch.tensor([[0.6], [0.1], [0.2], [0.9]])  # U = 0.6 (F), 0.1, 0.25, 1.025 (F)
    y = m(x)
    torch.testing.assert_close(y.flatten(), torch.tensor([0.6, 0.1, 0.25, 1.025]))
    assert m.last_spike_count == 2 and m.last_firing_rate == 0.5


# ----------------------------------------------------------------------------- backends
def test_multi_step_goes_through_one_method(monkeypatch):
    calls = []
    m = neurons.LIF()
    original = m._multi_step

    def spy(x, state):
        calls.append(x.shape)
        return original(x, state)

    monkeypatch.setattr(m, "_multi_step", spy)
    m(torch.randn(3, 2))
    assert calls == [(3, 2)]


# ----------------------------------------------------------------------------- errors
def test_constructor_errors():
    with pytest.raises(ValueError, match="num_features"):
        neurons.PLIF(per_channel=True)
    with pytest.raises(ValueError, match="num_features"):
        neurons.TSLIF()  # weighted output needs per-feature weights
    with pytest.raises(ValueError, match="num_features"):
        neurons.LIAF(norm="batch")
    with pytest.raises(ValueError, match="hard"):
        neurons.LIF(reset="medium")
    with pytest.raises(ValueError, match="relu"):
        neurons.LIAF(activation="swish")
    with pytest.raises(ValueError, match="layer"):
        neurons.LIAF(norm="group", num_features=3)
    with pytest.raises(ValueError, match="weighted"):
        neurons.TSLIF(output="mean", num_features=3)
    with pytest.raises(ValueError, match="atan"):
        neurons.LIF(surrogate="gauss")
    with pytest.raises(ValueError):
        neurons.LIF(tau=0.0)
    with pytest.raises(ValueError):
        neurons.PLIF(init_tau=1.0)
    with pytest.raises(ValueError):
        neurons.DALIF(alpha_init=1.0)
    with pytest.raises(ValueError):
        neurons.LIAF(alpha_init=0.0)
    with pytest.raises(ValueError):
        neurons.LIF(num_features=0)


def test_input_errors():
    m = neurons.DALIF(per_channel=True, num_features=4)
    with pytest.raises(ValueError, match="num_features"):
        m(torch.randn(3, 2, 5))
    with pytest.raises(ValueError):
        m(torch.randn(3, 2))  # [T, B] has no feature dimension
    with pytest.raises(ValueError):
        m(torch.randn(3))
    with pytest.raises(ValueError):
        m(torch.randn(0, 2, 4))
    with pytest.raises(TypeError):
        m(torch.ones(3, 2, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="state"):
        m(torch.randn(3, 2, 4), state=(torch.zeros(2, 3),))
    ts = neurons.TSLIF(num_features=4)
    with pytest.raises(ValueError, match="2 tensors"):
        ts(torch.randn(3, 2, 4), state=(torch.zeros(2, 4),))
    with pytest.raises(ValueError, match="num_features"):
        ts.step(torch.randn(2, 3))


def test_single_tensor_state_is_accepted_for_one_state_neurons():
    m = neurons.LIF()
    x = torch.randn(4, 2, 3) + 1
    v0 = torch.rand(2, 3)
    assert torch.equal(m(x, state=v0), m(x, state=(v0,)))


# ----------------------------------------------------------------------------- misc
def test_public_functions_have_docstrings():
    for obj in (neurons.build, neurons.available, neurons.surrogate.get,
                neurons.surrogate.available, BaseNeuron):
        assert inspect.getdoc(obj)
    assert inspect.getdoc(neurons)


def test_repr_mentions_options():
    r = repr(neurons.LIF(reset="soft", detach_reset=True))
    assert "soft" in r and "detach_reset=True" in r

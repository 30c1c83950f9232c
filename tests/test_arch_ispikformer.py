"""The ``ispikformer`` architecture: shapes, equations, equivariance, gradients, cost hook."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call

from spikecast.models.architectures import SpikeMatMul, build, resolve
from spikecast.models.architectures.ispikformer import ISpikformer
from spikecast.models.units import NeuronUnit

L, C, HIDDEN, HEADS = 12, 3, 16, 4


def make(**params) -> ISpikformer:
    """A tiny instance (window 12, hidden 16, 4 heads) with ``params`` overridden."""
    params = {"hidden_size": HIDDEN, "heads": HEADS, **params}
    torch.manual_seed(params.pop("seed", 0))
    return build("ispikformer", params.pop("input_size", L), **params)


# ---------------------------------------------------------------- registry and shapes
def test_registered_as_variate_tokens():
    assert resolve("ispikformer") is ISpikformer
    model = make(spike_steps=3)
    assert ISpikformer.tokens == "variates"
    assert model.output_steps(96) == 3
    assert model.output_size == HIDDEN


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("neuron", ["lif", "ts_lif", "liaf", "relu"])
def test_output_shape(neuron, num_layers):
    model = make(neuron=neuron, num_layers=num_layers, spike_steps=3)
    out = model(torch.randn(5, L, C))
    assert out.shape == (3, 5, C, HIDDEN)
    assert torch.isfinite(out).all()


def test_spiking_output_is_a_sum_of_spike_trains():
    # embedding + attention-out + MLP-out spikes per block: integers in [0, 2 layers + 1]
    model = make(neuron="lif", num_layers=2)
    out = model(torch.randn(6, L, C))
    assert torch.equal(out, out.round())
    assert out.min() >= 0 and out.max() <= 5
    assert 0 < out.mean() < 5


def test_dropout_runs_in_training_only():
    model = make(neuron="lif", dropout=0.5)
    x = torch.randn(4, L, C)
    assert model(x).shape == (4, 4, C, HIDDEN)
    model.eval()
    torch.testing.assert_close(model(x), model(x))


# ---------------------------------------------------------------- equations
def _lif(current: torch.Tensor) -> torch.Tensor:
    """docs/neurons.md's LIF (τ = 2, θ = 1, hard reset to 0) over the first dimension."""
    v = torch.zeros_like(current[0])
    spikes = []
    for i_t in current:
        h = v + (i_t - v) / 2.0
        s = (h >= 1.0).to(current.dtype)
        v = h * (1 - s)
        spikes.append(s)
    return torch.stack(spikes)


def _projection(proj, x: torch.Tensor) -> torch.Tensor:
    """Linear, then BatchNorm in eval mode (running statistics), written out."""
    lin, bn = proj.linear, proj.norm
    y = x @ lin.weight.T + lin.bias
    return (y - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def _randomise_norms(model: nn.Module) -> None:
    """BatchNorm statistics and affines away from the identity, biased so that every stage
    fires without calibration."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(1.5 + 1.5 * torch.rand(n, generator=gen))
                m.bias.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                m.running_mean.copy_(0.3 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))


def test_block_matches_step_by_step_reference():
    steps, scale = 4, 1.0
    model = make(neuron="lif", init_rate=None, num_layers=1, spike_steps=steps,
                 qk_scale=scale).double()
    _randomise_norms(model)
    model.eval()
    x = torch.randn(6, L, C, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    # the embedding: one analog current per token, the same at every spike step
    current = _projection(model.embedding, x.transpose(1, 2))  # [B, C, H]
    z = _lif(current.unsqueeze(0).repeat(steps, 1, 1, 1))
    attention, mlp = model.blocks[0].attention, model.blocks[0].mlp
    q, k, v = (_lif(_projection(p, z)) for p in (attention.q, attention.k, attention.v))
    width = HIDDEN // HEADS
    mixed = []
    for h in range(HEADS):  # each head on its own slice of the features
        part = slice(h * width, (h + 1) * width)
        scores = torch.einsum("tbid,tbjd->tbij", q[..., part], k[..., part]) * scale
        mixed.append(torch.einsum("tbij,tbjd->tbid", scores, v[..., part]))
    attended = _lif(torch.cat(mixed, dim=-1))
    z = z + _lif(_projection(attention.out, attended))
    expected = z + _lif(_projection(mlp.fc2, _lif(_projection(mlp.fc1, z))))

    # the test means something: every stage fires, none saturates
    for stage in (q, k, v, attended, expected):
        assert 0.02 < stage.clamp(max=1).mean() < 0.98
    torch.testing.assert_close(model(x), expected)


# ---------------------------------------------------------------- symmetry
@pytest.mark.parametrize("neuron", ["lif", "relu"])
def test_permuting_variates_permutes_tokens(neuron):
    model = make(neuron=neuron, num_layers=2).double()
    x = torch.randn(4, L, 5, dtype=torch.float64)
    model(x)  # calibrates the units on the first batch
    model.eval()
    perm = torch.tensor([3, 0, 4, 2, 1])
    out = model(x)
    assert out.std() > 0
    torch.testing.assert_close(model(x[:, :, perm]), out[:, :, perm])


def test_attention_mixes_variates():
    model = make(neuron="relu", num_layers=1).double()
    x = torch.randn(4, L, C, dtype=torch.float64)
    model(x)
    model.eval()
    changed = x.clone()
    changed[:, :, 0] += 1.0
    before, after = model(x), model(changed)
    assert not torch.allclose(before[:, :, 1:], after[:, :, 1:])


# ---------------------------------------------------------------- gradients
def test_analog_twin_gradients_match_finite_differences():
    model = make(neuron="relu", init_rate=None, input_size=4, hidden_size=4, heads=2,
                 spike_steps=2, ff_mult=1, num_layers=2).double()
    _randomise_norms(model)
    model.eval()
    names = ["embedding.linear.weight", "blocks.0.attention.q.linear.weight",
             "blocks.1.mlp.fc1.linear.weight"]
    params = dict(model.named_parameters())

    def run(x, *weights):
        return functional_call(model, {**params, **dict(zip(names, weights))}, (x,))

    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    weights = [params[n].detach().clone().requires_grad_(True) for n in names]
    assert torch.autograd.gradcheck(run, (x, *weights), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("neuron", ["lif", "ts_lif"])
def test_spiking_embedding_gets_a_gradient(neuron):
    model = make(neuron=neuron, num_layers=2)
    out = model(torch.randn(8, L, C))
    (out * torch.randn_like(out)).sum().backward()
    grad = model.embedding.linear.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# ---------------------------------------------------------------- cost hook
@pytest.mark.parametrize("num_layers", [1, 2])
def test_synapses_list_every_synaptic_layer(num_layers):
    model = make(neuron="lif", num_layers=num_layers)
    listed = [s.layer for s in model.synapses()]
    synaptic = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, SpikeMatMul))]
    assert len(listed) == len({id(m) for m in listed}) == 1 + 8 * num_layers
    assert {id(m) for m in listed} == {id(m) for m in synaptic}
    units = {id(m) for m in model.modules() if isinstance(m, NeuronUnit)}
    for synapse in model.synapses():
        assert all(id(u) in units for u in synapse.sources)
        assert synapse.repeats == 1
    assert model.synapses()[0].sources == ()  # the embedding reads the analog window


def test_residual_sources_and_output_sources():
    model = make(neuron="lif", num_layers=2)
    first, second = model.blocks
    stream0 = (model.embedding_unit,)
    stream1 = stream0 + (first.attention.out_unit, first.mlp.out_unit)
    by_layer = {id(s.layer): s.sources for s in model.synapses()}
    assert by_layer[id(first.attention.q.linear)] == stream0
    assert by_layer[id(first.mlp.fc1.linear)] == stream0 + (first.attention.out_unit,)
    assert by_layer[id(second.attention.v.linear)] == stream1
    assert by_layer[id(second.attention.scores)] == (second.attention.q_unit,)
    assert by_layer[id(second.attention.mix)] == (second.attention.v_unit,)
    assert by_layer[id(second.attention.out.linear)] == (second.attention.attn_unit,)
    assert by_layer[id(second.mlp.fc2.linear)] == (second.mlp.hidden_unit,)
    assert model.output_sources() == stream1 + (second.attention.out_unit,
                                                  second.mlp.out_unit)


# ---------------------------------------------------------------- bad arguments
def test_hidden_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"hidden_size=18.*heads=4"):
        make(hidden_size=18, heads=4)


@pytest.mark.parametrize("bad", [{"spike_steps": 0}, {"heads": 0}, {"ff_mult": 1.5},
                                 {"qk_scale": 0.0}, {"qk_scale": float("nan")},
                                 {"qk_scale": True}, {"num_layers": 0}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        make(**bad)


def test_wrong_window_length():
    model = make()
    with pytest.raises(ValueError, match="input_size = 12"):
        model(torch.randn(2, L + 1, C))

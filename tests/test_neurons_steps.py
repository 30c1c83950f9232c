"""Multi-step forward equals repeated single steps, for every neuron and every option."""

from __future__ import annotations

import pytest
import torch

from spikecast import neurons

F = 4

CONFIGS = [
    ("lif", {}),
    ("lif", {"reset": "soft"}),
    ("lif", {"detach_reset": True}),
    ("lif", {"decay_input": False}),
    ("lif", {"v_reset": -0.2, "tau": 4.0, "threshold": 0.7}),
    ("lif", {"v_reset": 0.3, "reset": "soft", "decay_input": False}),
    ("lif", {"surrogate": "sigmoid", "alpha": 2.0}),
    ("lif", {"surrogate": "rect"}),
    ("lif", {"surrogate": "triangle"}),
    ("plif", {}),
    ("plif", {"per_channel": True}),
    ("plif", {"reset": "soft", "detach_reset": True}),
    ("plif", {"decay_input": False, "init_tau": 5.0, "v_reset": 0.1}),
    ("liaf", {}),
    ("liaf", {"per_channel": True}),
    ("liaf", {"learn_alpha": False}),
    ("liaf", {"threshold_related": False}),
    ("liaf", {"activation": "selu"}),
    ("liaf", {"activation": "tanh"}),
    ("liaf", {"activation": "sigmoid"}),
    ("liaf", {"activation": "gelu"}),
    ("liaf", {"activation": "leaky_relu"}),
    ("liaf", {"activation": "identity", "v_reset": 0.2, "beta": 0.1}),
    ("liaf", {"norm": "batch"}),
    ("liaf", {"norm": "layer"}),
    ("liaf", {"detach_reset": True}),
    ("da_lif", {}),
    ("da_lif", {"reset": "soft"}),
    ("da_lif", {"per_channel": True}),
    ("da_lif", {"detach_reset": True, "alpha_init": 0.2, "beta_init": 0.9}),
    ("ts_lif", {}),
    ("ts_lif", {"output": "kappa"}),
    ("ts_lif", {"per_channel": True}),
    ("ts_lif", {"output": "kappa", "per_channel": True}),
    ("ts_lif", {"detach_reset": True}),
    ("ts_lif", {"weight_init": 0.5, "gamma": 0.2}),
    ("tc_lif", {}),
    ("tc_lif", {"per_channel": True}),
    ("tc_lif", {"detach_reset": True}),
    ("tc_lif", {"c1_init": 0.5, "c2_init": -0.5, "threshold": 1.0}),
]


def _id(cfg):
    name, params = cfg
    return name + ("-" + "-".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _make(name, params, dtype=torch.float64):
    torch.manual_seed(7)
    neuron = neurons.build(name, num_features=F, **params).to(dtype)
    with torch.no_grad():
        for p in neuron.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return neuron


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_id(c) for c in CONFIGS])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_multi_step_equals_single_steps(cfg, with_state):
    name, params = cfg
    neuron = _make(name, params)
    torch.manual_seed(3)
    T, B = 10, 3
    x = (1.5 * torch.randn(T, B, F, dtype=torch.float64) + 0.3).requires_grad_(True)
    state0 = None
    if with_state:
        state0 = tuple((0.5 * torch.randn(B, F, dtype=torch.float64)).requires_grad_(True)
                       for _ in neuron.state_names)

    y, final = neuron(x, state=state0, return_state=True)

    x2 = x.detach().clone().requires_grad_(True)
    state = None if state0 is None else tuple(s.detach().clone().requires_grad_(True)
                                              for s in state0)
    init = state
    ys = []
    for t in range(T):
        y_t, state = neuron.step(x2[t], state)
        ys.append(y_t)
    y2 = torch.stack(ys)

    assert torch.equal(y, y2)
    assert len(final) == len(state) == len(neuron.state_names)
    for a, b in zip(final, state):
        assert torch.equal(a, b)

    gy = torch.randn_like(y)
    gs = [torch.randn_like(s) for s in final]
    params_ = list(neuron.parameters())
    loss1 = (y * gy).sum() + sum((s * g).sum() for s, g in zip(final, gs))
    loss2 = (y2 * gy).sum() + sum((s * g).sum() for s, g in zip(state, gs))
    inputs1 = [x] + list(state0 or []) + params_
    inputs2 = [x2] + list(init or []) + params_
    g1 = torch.autograd.grad(loss1, inputs1, allow_unused=True)
    g2 = torch.autograd.grad(loss2, inputs2, allow_unused=True)
    for a, b in zip(g1, g2):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=[_id(c) for c in CONFIGS[::3]])
def test_chunked_sequence_equals_whole(cfg):
    """Running [0, k) then [k, T) from the returned state equals running [0, T)."""
    name, params = cfg
    neuron = _make(name, params)
    torch.manual_seed(5)
    x = 1.5 * torch.randn(12, 2, F, dtype=torch.float64) + 0.3
    y, final = neuron(x, return_state=True)
    ya, sa = neuron(x[:5], return_state=True)
    yb, sb = neuron(x[5:], state=sa, return_state=True)
    assert torch.equal(torch.cat([ya, yb]), y)
    for a, b in zip(sb, final):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cfg", CONFIGS[::4], ids=[_id(c) for c in CONFIGS[::4]])
def test_no_hidden_state_between_calls(cfg):
    name, params = cfg
    neuron = _make(name, params).eval()  # eval: BatchNorm running stats do not move
    x = torch.randn(6, 2, F, dtype=torch.float64) + 0.5
    first = neuron(x)
    neuron(torch.randn(6, 2, F, dtype=torch.float64) * 5)
    assert torch.equal(neuron(x), first)

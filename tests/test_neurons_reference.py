"""Every neuron against a plain reference written here straight from docs/neurons.md.

The references below use only elementary torch operations and their own spike function
(a straight-through form: exact step forward, derivative of a smooth primitive backward),
so they share no code with :mod:`spikecast.neurons`. Forward values, spike counts, final
states and the gradients w.r.t. the input and every learnable parameter must agree in
float64.
"""

from __future__ import annotations

import math

import pytest
import torch

from spikecast import neurons

T, B, F = 9, 3, 4


# ----------------------------------------------------------------------------- spike fn
def _primitive(name, x, a):
    if name == "atan":  # d/dx = (a/2) / (1 + (pi/2 a x)^2)
        return torch.atan(math.pi / 2 * a * x) / math.pi
    if name == "sigmoid":  # d/dx = a s (1 - s)
        return torch.sigmoid(a * x)
    if name == "rect":  # d/dx = a [|x| < 0.5/a]
        return torch.clamp(a * x, -0.5, 0.5)
    if name == "triangle":  # d/dx = max(0, a - a^2 |x|)
        u = torch.clamp(x.abs(), max=1 / a)
        return torch.sign(x) * (a * u - a * a * u * u / 2)
    raise AssertionError(name)


def spike(x, name, a):
    """Θ(x) forward (1 for x >= 0), surrogate ``name`` backward."""
    step = (x >= 0).to(x.dtype)
    p = _primitive(name, x, a)
    return step + (p - p.detach())


# ----------------------------------------------------------------------------- references
def ref_lif(x, p, tau=2.0, theta=1.0, v_reset=0.0, reset="hard", detach=False,
            decay_input=True, sg=("atan", 2.0), learn_tau=False):
    v = torch.zeros_like(x[0])
    ys, spikes = [], []
    for t in range(x.shape[0]):
        inv_tau = torch.sigmoid(p["w"]) if learn_tau else 1.0 / tau
        if decay_input:
            h = v + (x[t] - (v - v_reset)) * inv_tau
        else:
            h = v - (v - v_reset) * inv_tau + x[t]
        s = spike(h - theta, *sg)
        sr = s.detach() if detach else s
        v = h * (1 - sr) + v_reset * sr if reset == "hard" else h - theta * sr
        ys.append(s)
        spikes.append(s)
    return torch.stack(ys), (v,), torch.stack(spikes).sum()


def ref_liaf(x, p, theta=0.5, v_reset=0.0, alpha_fixed=None, beta=0.0, act="relu",
             threshold_related=True, norm=None, detach=False, sg=("rect", 1.0)):
    acts = {"relu": lambda u: torch.clamp(u, min=0), "tanh": torch.tanh,
            "identity": lambda u: u,
            "selu": lambda u: 1.0507009873554805 * torch.where(
                u > 0, u, 1.6732632423543772 * (torch.exp(u) - 1))}
    V = torch.zeros_like(x[0])
    ys, n = [], 0
    for t in range(x.shape[0]):
        U = x[t] + V
        if norm == "batch":  # training-mode batch statistics over everything but features
            flat = U.reshape(-1, U.shape[-1])
            mean = flat.mean(0)
            var = ((flat - mean) ** 2).mean(0)
            U = (U - mean) / torch.sqrt(var + 1e-5) * p["norm.weight"] + p["norm.bias"]
        elif norm == "layer":
            mean = U.mean(-1, keepdim=True)
            var = ((U - mean) ** 2).mean(-1, keepdim=True)
            U = (U - mean) / torch.sqrt(var + 1e-5) * p["norm.weight"] + p["norm.bias"]
        Fs = spike(U - theta, *sg)
        ys.append(acts[act](U - theta) if threshold_related else acts[act](U))
        Fr = Fs.detach() if detach else Fs
        R = Fr * v_reset + (1 - Fr) * U
        alpha = alpha_fixed if alpha_fixed is not None else torch.sigmoid(p["a"])
        V = alpha * R + beta
        n = n + Fs.detach().sum()
    return torch.stack(ys), (V,), n


def ref_dalif(x, p, theta=1.0, reset="hard", detach=False, sg=("atan", 2.0)):
    alpha, beta = torch.sigmoid(p["a"]), torch.sigmoid(p["b"])
    H = torch.zeros_like(x[0])
    ys = []
    for t in range(x.shape[0]):
        V = beta * H + alpha * x[t]
        S = spike(V - theta, *sg)
        Sr = S.detach() if detach else S
        H = V * (1 - Sr) if reset == "hard" else V - theta * Sr
        ys.append(S)
    y = torch.stack(ys)
    return y, (H,), y.detach().sum()


def ref_tslif(x, p, gamma=0.5, theta=1.0, output="weighted", detach=False,
              sg=("atan", 2.0)):
    Ud = torch.zeros_like(x[0])
    Us = torch.zeros_like(x[0])
    ys, n = [], 0
    for t in range(x.shape[0]):
        Ud = p["a_d"] * Ud + p["b_d"] * x[t] - p["c_sd"] * Us
        Us = p["a_s"] * Us + p["b_s"] * x[t] - p["c_ds"] * Ud
        Sd = spike(Ud - theta, *sg)
        Ss = spike(Us - theta, *sg)
        if output == "weighted":
            ys.append(p["w_s"] * Ss + p["w_d"] * Sd)
        else:
            ys.append(p["kappa"] * Sd + (1 - p["kappa"]) * Ss)
        Ud = Ud - gamma * (Sd.detach() if detach else Sd)
        Us = Us - theta * (Ss.detach() if detach else Ss)
        n = n + Sd.detach().sum() + Ss.detach().sum()
    return torch.stack(ys), (Ud, Us), n


def ref_tclif(x, p, gamma=0.5, theta=1.5, detach=False, sg=("triangle", 1.0)):
    Ud = torch.zeros_like(x[0])
    Us = torch.zeros_like(x[0])
    ys = []
    for t in range(x.shape[0]):
        Ud = Ud - torch.sigmoid(p["c1"]) * Us + x[t]
        Us = Us + torch.sigmoid(p["c2"]) * Ud
        S = spike(Us - theta, *sg)
        Sr = S.detach() if detach else S
        Ud = Ud - gamma * Sr
        Us = Us - theta * Sr
        ys.append(S)
    y = torch.stack(ys)
    return y, (Ud, Us), y.detach().sum()


# ----------------------------------------------------------------------------- cases
# (id, neuron name, constructor params, reference, reference kwargs, input scale/offset)
CASES = [
    ("lif", "lif", {}, ref_lif, {}),
    ("lif-soft", "lif", {"reset": "soft"}, ref_lif, {"reset": "soft"}),
    ("lif-detach", "lif", {"detach_reset": True}, ref_lif, {"detach": True}),
    ("lif-no-decay-input", "lif", {"decay_input": False, "tau": 3.0},
     ref_lif, {"decay_input": False, "tau": 3.0}),
    ("lif-vreset", "lif", {"v_reset": -0.3, "threshold": 0.8, "tau": 1.7},
     ref_lif, {"v_reset": -0.3, "theta": 0.8, "tau": 1.7}),
    ("lif-vreset-soft-nodecay", "lif",
     {"v_reset": 0.2, "reset": "soft", "decay_input": False},
     ref_lif, {"v_reset": 0.2, "reset": "soft", "decay_input": False}),
    ("lif-sigmoid", "lif", {"surrogate": "sigmoid"}, ref_lif, {"sg": ("sigmoid", 4.0)}),
    ("lif-rect", "lif", {"surrogate": "rect", "alpha": 0.5}, ref_lif,
     {"sg": ("rect", 0.5)}),
    ("lif-triangle", "lif", {"surrogate": "triangle"}, ref_lif, {"sg": ("triangle", 1.0)}),
    ("plif", "plif", {}, ref_lif, {"learn_tau": True}),
    ("plif-channel", "plif", {"per_channel": True}, ref_lif, {"learn_tau": True}),
    ("plif-soft-detach", "plif", {"reset": "soft", "detach_reset": True, "init_tau": 3.0},
     ref_lif, {"learn_tau": True, "reset": "soft", "detach": True}),
    ("plif-no-decay-input", "plif", {"decay_input": False, "v_reset": 0.1},
     ref_lif, {"learn_tau": True, "decay_input": False, "v_reset": 0.1}),
    ("liaf", "liaf", {}, ref_liaf, {}),
    ("liaf-channel", "liaf", {"per_channel": True}, ref_liaf, {}),
    ("liaf-fixed-alpha", "liaf", {"learn_alpha": False, "alpha_init": 0.3},
     ref_liaf, {"alpha_fixed": 0.3}),
    ("liaf-plain-output", "liaf", {"threshold_related": False, "activation": "tanh"},
     ref_liaf, {"threshold_related": False, "act": "tanh"}),
    ("liaf-selu", "liaf", {"activation": "selu"}, ref_liaf, {"act": "selu"}),
    ("liaf-identity-vreset-beta", "liaf",
     {"activation": "identity", "v_reset": 0.2, "beta": 0.1, "threshold": 0.7},
     ref_liaf, {"act": "identity", "v_reset": 0.2, "beta": 0.1, "theta": 0.7}),
    ("liaf-batchnorm", "liaf", {"norm": "batch"}, ref_liaf, {"norm": "batch"}),
    ("liaf-layernorm", "liaf", {"norm": "layer"}, ref_liaf, {"norm": "layer"}),
    ("liaf-detach-atan", "liaf", {"detach_reset": True, "surrogate": "atan"},
     ref_liaf, {"detach": True, "sg": ("atan", 2.0)}),
    ("da_lif", "da_lif", {}, ref_dalif, {}),
    ("da_lif-soft", "da_lif", {"reset": "soft"}, ref_dalif, {"reset": "soft"}),
    ("da_lif-channel-detach", "da_lif", {"per_channel": True, "detach_reset": True},
     ref_dalif, {"detach": True}),
    ("da_lif-init", "da_lif", {"alpha_init": 0.3, "beta_init": 0.8, "threshold": 0.6},
     ref_dalif, {"theta": 0.6}),
    ("ts_lif", "ts_lif", {}, ref_tslif, {}),
    ("ts_lif-kappa", "ts_lif", {"output": "kappa"}, ref_tslif, {"output": "kappa"}),
    ("ts_lif-channel", "ts_lif", {"per_channel": True}, ref_tslif, {}),
    ("ts_lif-detach-gamma", "ts_lif", {"detach_reset": True, "gamma": 0.3, "threshold": 0.8},
     ref_tslif, {"detach": True, "gamma": 0.3, "theta": 0.8}),
    ("ts_lif-kappa-channel-sigmoid", "ts_lif",
     {"output": "kappa", "per_channel": True, "surrogate": "sigmoid", "alpha": None},
     ref_tslif, {"output": "kappa", "sg": ("sigmoid", 4.0)}),
    ("tc_lif", "tc_lif", {}, ref_tclif, {}),
    ("tc_lif-channel", "tc_lif", {"per_channel": True}, ref_tclif, {}),
    ("tc_lif-detach", "tc_lif", {"detach_reset": True, "gamma": 0.8, "threshold": 1.2},
     ref_tclif, {"detach": True, "gamma": 0.8, "theta": 1.2}),
]


def _perturb(module: torch.nn.Module, scale: float = 0.1) -> None:
    """Move every learnable parameter off its initial value (per element)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn_like(p))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("perturb", [False, True], ids=["init", "perturbed"])
def test_matches_reference(case, perturb):
    _, name, params, ref, ref_kwargs = case
    torch.manual_seed(1234)
    neuron = neurons.build(name, num_features=F, **params).double()
    if perturb:
        _perturb(neuron)
    neuron.monitor = True
    x = (1.2 * torch.randn(T, B, F, dtype=torch.float64) + 0.4).requires_grad_(True)
    y, state = neuron(x, return_state=True)

    leaves = {k: p.detach().clone().requires_grad_(True) for k, p in neuron.named_parameters()}
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref, state_ref, n_ref = ref(x_ref, leaves, **ref_kwargs)

    # forward: values, final state, spike count
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    assert len(state) == len(state_ref)
    for s, s_ref in zip(state, state_ref):
        torch.testing.assert_close(s, s_ref, rtol=1e-12, atol=1e-12)
    assert neuron.last_spike_count == int(n_ref.item())
    assert 0 < neuron.last_spike_count, "inputs must make the neuron fire"

    # backward: a random cotangent on the output and on the final state
    gy = torch.randn_like(y)
    gs = [torch.randn_like(s) for s in state]
    loss = (y * gy).sum() + sum((s * g).sum() for s, g in zip(state, gs))
    loss_ref = (y_ref * gy).sum() + sum((s * g).sum() for s, g in zip(state_ref, gs))
    names = [k for k, _ in neuron.named_parameters()]
    grads = torch.autograd.grad(loss, [x] + [dict(neuron.named_parameters())[k] for k in names])
    grads_ref = torch.autograd.grad(loss_ref, [x_ref] + [leaves[k] for k in names])
    for label, g, g_ref in zip(["x"] + names, grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-10, atol=1e-12, msg=lambda m, lb=label:
                                   f"gradient w.r.t. {lb}: {m}")
    assert grads_ref[0].abs().sum() > 0
    for label, g in zip(names, grads_ref[1:]):
        assert g.abs().sum() > 0, f"reference gradient of {label} is zero: weak test"


def test_every_neuron_and_parameter_is_covered():
    covered = {c[1] for c in CASES}
    assert covered == set(neurons.available())

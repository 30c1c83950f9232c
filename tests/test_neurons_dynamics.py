"""Known dynamics: LIF firing period, DA-LIF == LIF(τ=2), TS-LIF filter, LIAF analog output."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikecast import neurons


# ----------------------------------------------------------------------------- LIF period
def lif_period(current: float, tau: float, theta: float) -> int:
    """First k with v_k = I (1 - (1 - 1/τ)^k) >= θ (hard reset to 0, decay_input)."""
    exact = math.log(1 - theta / current) / math.log(1 - 1 / tau)
    k = math.ceil(exact)
    assert abs(exact - round(exact)) > 1e-6, "choose a current away from the boundary"
    return max(k, 1)


@pytest.mark.parametrize("tau,theta", [(2.0, 1.0), (3.0, 1.0), (5.0, 0.7), (1.5, 2.0)])
def test_lif_constant_input_fires_with_analytic_period(tau, theta):
    currents = [theta * f for f in (1.013, 1.1, 1.37, 1.9, 2.6, 4.2, 11.0)]
    periods = [lif_period(c, tau, theta) for c in currents]
    assert len(set(periods)) >= 4, "the currents should give different periods"
    T = 5 * max(periods) + 3
    x = torch.tensor(currents, dtype=torch.float64).expand(T, 1, len(currents))
    s = neurons.LIF(tau=tau, threshold=theta)(x)[:, 0]
    for j, k in enumerate(periods):
        times = torch.nonzero(s[:, j]).flatten().tolist()
        assert times == list(range(k - 1, T, k)), (currents[j], k, times)


def test_lif_below_threshold_never_fires_and_converges_to_input():
    x = torch.full((200, 2, 3), 0.97, dtype=torch.float64)
    y, (v,) = neurons.LIF(tau=4.0)(x, return_state=True)
    assert y.sum() == 0
    torch.testing.assert_close(v, torch.full_like(v, 0.97), rtol=0, atol=1e-12)


def test_lif_soft_reset_keeps_the_excess():
    # I = 3 (τ = 2, θ = 1): h1 = 1.5 -> spike, soft reset leaves 0.5; hard reset leaves 0.
    x = torch.full((1, 1), 3.0, dtype=torch.float64)
    _, (v_soft,) = neurons.LIF(reset="soft")(x, return_state=True)
    _, (v_hard,) = neurons.LIF()(x, return_state=True)
    assert v_soft.item() == pytest.approx(0.5)
    assert v_hard.item() == 0.0
    _, (v_reset,) = neurons.LIF(v_reset=-0.25)(x, return_state=True)
    assert v_reset.item() == -0.25


# ----------------------------------------------------------------------------- DA-LIF
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dalif_at_init_is_exactly_lif_tau2(reset, dtype):
    torch.manual_seed(11)
    x = (1.5 * torch.randn(20, 4, 5, dtype=dtype) + 0.5)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    da = neurons.DALIF(reset=reset).to(dtype)
    lif = neurons.LIF(tau=2.0, reset=reset)
    y1, (h1,) = da(x1, return_state=True)
    y2, (h2,) = lif(x2, return_state=True)
    assert y1.sum() > 0
    assert torch.equal(y1, y2)
    assert torch.equal(h1, h2)
    g = torch.randn_like(y1)
    (y1 * g).sum().backward()
    (y2 * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-6, atol=1e-7)


def test_dalif_initial_decays_are_one_half():
    da = neurons.DALIF(per_channel=True, num_features=3)
    assert torch.equal(torch.sigmoid(da.a), torch.full((3,), 0.5))
    assert torch.equal(torch.sigmoid(da.b), torch.full((3,), 0.5))


# ----------------------------------------------------------------------------- TS-LIF
def _tslif_matrices(m):
    """[U_d, U_s] sub-threshold recurrence z[t] = A z[t-1] + B I[t], from the parameters."""
    a_d, b_d, a_s, b_s, c_sd, c_ds = (float(getattr(m, k).detach()) for k in
                                      ("a_d", "b_d", "a_s", "b_s", "c_sd", "c_ds"))
    # U_d' = a_d U_d - c_sd U_s + b_d I ;  U_s' = a_s U_s - c_ds U_d' + b_s I
    A = np.array([[a_d, -c_sd], [-c_ds * a_d, a_s + c_ds * c_sd]])
    Bv = np.array([b_d, b_s - c_ds * b_d])
    return A, Bv


def _gain(A, Bv, omega):
    z = np.exp(1j * omega)
    return np.linalg.solve(np.eye(2) - A / z, Bv)


def test_tslif_initial_values_and_transition_matrix():
    m = neurons.TSLIF(num_features=3)
    A, Bv = _tslif_matrices(m)
    np.testing.assert_allclose(A, [[0.8, -0.1], [-0.64, 0.38]], atol=1e-7)
    np.testing.assert_allclose(Bv, [0.2, 0.54], atol=1e-7)
    eig = sorted(np.linalg.eigvals(A).real)
    assert eig[1] == pytest.approx(0.919, abs=1e-3)
    assert eig[0] == pytest.approx(0.261, abs=1e-3)
    assert max(abs(np.linalg.eigvals(A))) < 1  # stable
    A_mod, B_mod = m.transition()
    np.testing.assert_allclose(A_mod.numpy(), A, atol=1e-7)
    np.testing.assert_allclose(B_mod.numpy(), Bv, atol=1e-7)
    assert m.gamma == 0.5 and m.threshold == 1.0
    assert m.spike_fn.name == "atan" and m.spike_fn.alpha == 2.0


def test_tslif_gains_match_neurons_md():
    A, Bv = _tslif_matrices(neurons.TSLIF(output="kappa"))
    dc, mid, nyq = _gain(A, Bv, 0.0), _gain(A, Bv, math.pi / 8), _gain(A, Bv, math.pi)
    assert abs(dc[0]) == pytest.approx(1.17, abs=0.01)  # dendrite: low-pass
    assert abs(nyq[0]) == pytest.approx(0.14, abs=0.01)
    assert dc[1].real == pytest.approx(-0.33, abs=0.01)  # soma: band-pass
    assert abs(mid[1]) == pytest.approx(0.74, abs=0.01)
    assert abs(nyq[1]) == pytest.approx(0.45, abs=0.01)
    assert abs(mid[1]) > abs(nyq[1]) > abs(dc[1])
    assert abs(dc[0]) > abs(mid[0]) > abs(nyq[0])


def _simulate_tslif(x):
    """Sub-threshold trajectory (threshold huge) of U_d and U_s for x [T]."""
    m = neurons.TSLIF(threshold=1e9, output="kappa").double()
    state = None
    u_d, u_s = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = m.step(x[t].reshape(1, 1), state)
            assert y.abs().sum() == 0
            u_d.append(state[0].item())
            u_s.append(state[1].item())
    return np.array(u_d), np.array(u_s)


def _amplitude(signal, omega, t):
    """Amplitude of the sinusoid at ``omega`` that best fits ``signal`` (least squares)."""
    if math.isclose(omega, math.pi):  # Nyquist: sin(pi t) = 0, cos(pi t) = (-1)^t
        basis = np.cos(omega * t)[:, None]
    else:
        basis = np.stack([np.cos(omega * t), np.sin(omega * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return float(np.linalg.norm(coef))


# docs/neurons.md: dendrite ~1.17 (DC), ~0.14 (Nyquist);
# soma ~0.33 (DC), ~0.74 (pi/8), ~0.45 (Nyquist)
NOMINAL = {0.0: (1.17, 0.33), math.pi / 8: (None, 0.74), math.pi: (0.14, 0.45)}


@pytest.mark.parametrize("omega", [0.0, math.pi / 8, math.pi])
def test_tslif_simulated_gains(omega):
    A, Bv = _tslif_matrices(neurons.TSLIF(output="kappa"))
    H = _gain(A, Bv, omega)
    T, amp = 400, 0.5
    t = np.arange(T)
    x = torch.tensor(amp * np.cos(omega * t), dtype=torch.float64)
    u_d, u_s = _simulate_tslif(x)
    tail = slice(240, T)  # transients (0.919^240 ~ 1e-9) have died out
    if omega == 0.0:
        assert u_d[-1] == pytest.approx(amp * 7 / 6, abs=1e-6)  # 1.1667 x
        assert u_s[-1] == pytest.approx(-amp / 3, abs=1e-6)  # -0.3333 x
        gains = (abs(u_d[-1]) / amp, abs(u_s[-1]) / amp)
    else:
        gains = tuple(_amplitude(u[tail], omega, t[tail]) / amp for u in (u_d, u_s))
    np.testing.assert_allclose(gains, np.abs(H), atol=1e-6)
    for g, nominal in zip(gains, NOMINAL[omega]):
        if nominal is not None:
            assert g == pytest.approx(nominal, abs=0.01)


def test_tslif_both_compartments_fire_and_reset_softly():
    m = neurons.TSLIF(num_features=1, weight_init=1.0).double()
    with torch.no_grad():
        m.w_d.fill_(2.0)  # output 1: soma only, 2: dendrite only, 3: both
    x = torch.full((40, 1, 1), 2.0, dtype=torch.float64)
    m.monitor = True
    y = m(x)
    vals = set(y.flatten().tolist())
    assert vals <= {0.0, 1.0, 2.0, 3.0}
    s_s = ((y == 1) | (y == 3)).double()
    s_d = ((y == 2) | (y == 3)).double()
    assert s_s.sum() > 0 and s_d.sum() > 0
    expected_rate = (s_s.mean().item() + s_d.mean().item()) / 2
    assert m.last_firing_rate == pytest.approx(expected_rate)
    assert m.last_spike_count == int(s_s.sum() + s_d.sum())


# ----------------------------------------------------------------------------- LIAF
def test_liaf_outputs_analog_values_and_resets_only_where_it_spikes():
    torch.manual_seed(2)
    m = neurons.LIAF(v_reset=0.2, beta=0.1, num_features=6).double()
    alpha = torch.sigmoid(m.a).item()
    assert alpha == pytest.approx(0.5)
    x = torch.randn(15, 4, 6, dtype=torch.float64) * 0.8 + 0.2
    state = None
    n_spiking = n_quiet = 0
    outputs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            v_prev = m.init_state(x[t])[0] if state is None else state[0]
            y, state = m.step(x[t], state)
            outputs.append(y)
            u = x[t] + v_prev
            fired = u >= m.threshold
            # analog output read before the reset: relu(U - θ)
            torch.testing.assert_close(y, torch.clamp(u - 0.5, min=0))
            v = state[0]
            torch.testing.assert_close(v[fired], torch.full_like(v[fired], alpha * 0.2 + 0.1))
            torch.testing.assert_close(v[~fired], alpha * u[~fired] + 0.1)
            n_spiking += int(fired.sum())
            n_quiet += int((~fired).sum())
    assert n_spiking > 0 and n_quiet > 0
    y = torch.stack(outputs)
    analog = y[(y != 0) & (y != 1)]
    assert analog.numel() > 0.2 * y.numel(), "LIAF must pass analog values on"


def test_liaf_threshold_unrelated_output_and_fixed_alpha():
    m = neurons.LIAF(threshold_related=False, activation="identity", learn_alpha=False,
                     alpha_init=0.25)
    assert m.a is None and len(list(m.parameters())) == 0
    x = torch.tensor([[0.3], [0.4], [0.1]])
    y = m(x)
    # U1 = 0.3 (no spike) -> V1 = 0.075; U2 = 0.475 (no spike) -> V2 = 0.11875; U3 = 0.21875
    torch.testing.assert_close(y.flatten(), torch.tensor([0.3, 0.475, 0.21875]))


def test_tclif_defaults():
    m = neurons.TCLIF()
    assert m.threshold == 1.5 and m.gamma == 0.5
    assert m.c1.item() == 0.0 and m.c2.item() == 0.0
    assert m.spike_fn.name == "triangle" and m.spike_fn.alpha == 1.0
    # constant input 1: U_d = 1, U_s = 0.5; then U_d = 1 - 0.25 + 1 = 1.75, U_s = 1.375;
    # then U_d = 1.75 - 0.6875 + 1 = 2.0625, U_s = 2.40625 -> spike at step 3
    y, (u_d, u_s) = m(torch.ones(3, 1), return_state=True)
    assert y.flatten().tolist() == [0.0, 0.0, 1.0]
    assert u_d.item() == pytest.approx(2.0625 - 0.5)
    assert u_s.item() == pytest.approx(2.40625 - 1.5)

"""Every architecture with every neuron: it learns, it starts alive, it is costed right.

The per-architecture files (``test_arch_*.py``) check each architecture's equations against
a step-by-step reference; this file checks what all of them promise together.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikecast.models import ForecastNetwork, NeuronUnit, architectures, neuron_names
from spikecast.models.efficiency import measure_costs
from spikecast.models.readouts import READOUTS
from spikecast.models.units import is_analog

SPIKING = [a for a in architectures.available() if a not in ("gru", "lstm")]
PAIRS = [(a, n) for a in SPIKING for n in neuron_names()]
L, H = 24, 6


@pytest.fixture(scope="module")
def windows(etth1_full) -> torch.Tensor:
    """Standardised ETTh1 windows ``[64, L, 7]`` (columns scaled on the rows they come from)."""
    data = etth1_full.to_numpy()[:2000]
    data = (data - data.mean(0)) / data.std(0)
    starts = np.linspace(0, len(data) - L - H, 64).astype(int)
    return torch.as_tensor(np.stack([data[s:s + L + H] for s in starts]), dtype=torch.float32)


def network(encoder: str, neuron: str | None, readout: str = "flatten") -> ForecastNetwork:
    torch.manual_seed(0)
    return ForecastNetwork(encoder, 7, None, L, H, readout=readout,
                           readout_size=4 if readout == "flatten" else None, hidden_size=16,
                           num_layers=2, neuron=neuron)


@pytest.mark.parametrize("encoder, neuron", PAIRS + [("gru", None), ("lstm", None)])
def test_every_pair_learns_on_small_data(encoder, neuron, windows):
    """Forty Adam steps on real windows lower the training loss, with finite gradients."""
    net = network(encoder, neuron)
    x, y = windows[:, :L], windows[:, L:]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.mean((net(x) - y) ** 2)
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5]), losses


@pytest.mark.parametrize("encoder, neuron", [p for p in PAIRS if not is_analog(p[1])])
def test_every_spiking_layer_starts_alive(encoder, neuron, windows):
    """At initialisation, on standardised data the network has not seen: every spiking
    layer fires 1-50 % of the time, and on every window at most 20 % of its neurons are
    silent.

    iSpikformer's window is seven tokens (one per column) presented at every spike step: a
    neuron whose current stays below threshold on those seven is silent on that window by
    construction, so there the bound is on neurons silent on every window (dead neurons).
    """
    net = network(encoder, neuron).eval()
    with torch.no_grad():
        net(windows[0::2, :L])  # the first batch calibrates the units
    units = {name: m for name, m in net.named_modules() if isinstance(m, NeuronUnit)}
    silent: dict[str, list[float]] = {name: [] for name in units}
    dead = {name: torch.ones(u.shift.shape[0], dtype=torch.bool) for name, u in units.items()}

    def hook(name):
        def record(module, inputs, output):
            fired = output.detach().reshape(-1, output.shape[-1]).ne(0).any(dim=0)
            silent[name].append(1 - fired.float().mean().item())
            dead[name] &= ~fired
        return record

    handles = [u.register_forward_hook(hook(name)) for name, u in units.items()]
    for u in units.values():
        u.start_monitor()
    try:
        with torch.no_grad():
            for window in windows[1::2, :L]:  # unseen windows, one at a time
                net(window[None])
    finally:
        for h in handles:
            h.remove()
    for name, unit in units.items():
        unit.stop_monitor()
        assert 0.01 <= unit.firing_rate <= 0.5, (name, unit.firing_rate)
        if architectures.resolve(encoder).tokens == "variates":
            assert dead[name].float().mean() <= 0.2, (name, dead[name])
        else:
            assert max(silent[name]) <= 0.2, (name, silent[name])


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("encoder, neuron", PAIRS)
def test_energy_ratio_below_one_for_spikes_and_exactly_one_for_the_twin(encoder, neuron,
                                                                      readout, windows):
    net = network(encoder, neuron, readout)
    costs = measure_costs(net, windows[:32, :L])
    ratio = costs["energy_pj"] / costs["energy_ann_pj"]
    if is_analog(neuron):
        assert ratio == 1.0
        assert costs["sops"] == 0 and not costs["firing_rates"]
    else:
        assert 0 < ratio < 1, ratio
        assert costs["sops"] > 0 or neuron == "liaf"


@pytest.mark.parametrize("encoder", ["gru", "lstm"])
def test_recurrent_baselines_cost_as_anns_with_every_readout(encoder, windows):
    for readout in READOUTS:
        costs = measure_costs(network(encoder, None, readout), windows[:8, :L])
        assert costs["energy_pj"] == costs["energy_ann_pj"] > 0


def test_a_layer_missing_from_synapses_is_an_error(windows):
    """A new architecture that forgets a layer is never silently costed as an ANN."""

    class Leaky(architectures.Encoder):
        def __init__(self, input_size, hidden_size=8, **kw):
            super().__init__(input_size, hidden_size, **kw)
            self.listed = torch.nn.Linear(input_size, hidden_size)
            self.forgotten = torch.nn.Linear(hidden_size, hidden_size)
            self.unit_ = self.unit(hidden_size)

        def forward(self, x):
            return self.forgotten(self.unit_(self.listed(x.transpose(0, 1))))

        def synapses(self):
            return [architectures.Synapse(self.listed)]

        def output_sources(self):
            return ()

    net = ForecastNetwork(Leaky, 7, None, L, H, neuron="lif", readout="last")
    with pytest.raises(ValueError, match=r"encoder.forgotten.*not listed"):
        measure_costs(net, windows[:8, :L])


def test_a_user_encoder_class_plugs_in(windows, tmp_path):
    """``encoder`` may be a user-written Encoder subclass; it trains through the forecaster."""
    import pandas as pd

    from spikecast import NeuralForecaster

    series = pd.Series(windows[:, :, 0].reshape(-1).numpy(), name="y")
    model = NeuralForecaster(encoder=_TwoLayer, neuron="lif", lookback=L, horizon=H,
                             hidden_size=8, max_epochs=1, verbose=False).fit(series)
    assert len(model.predict()) == H
    assert model.module_.hparams.encoder == f"{__name__}._TwoLayer"
    path = tmp_path / "user.safetensors"
    model.save(path)
    np.testing.assert_allclose(NeuralForecaster.load(path).predict(), model.predict())


class _TwoLayer(architectures.Encoder):
    """A user's own architecture: Linear -> neuron -> Linear -> neuron."""

    def __init__(self, input_size, hidden_size=8, num_layers=1, **kw):
        super().__init__(input_size, hidden_size, num_layers, **kw)
        self.a = torch.nn.Linear(input_size, hidden_size)
        self.b = torch.nn.Linear(hidden_size, hidden_size)
        self.ua, self.ub = self.unit(hidden_size), self.unit(hidden_size)

    def forward(self, x):
        return self.ub(self.b(self.ua(self.a(x.transpose(0, 1)))))

    def synapses(self):
        return [architectures.Synapse(self.a), architectures.Synapse(self.b, (self.ua,))]

    def output_sources(self):
        return (self.ub,)

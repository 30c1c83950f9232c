"""Neuron units: the calibrated initialisation, the analog twins, spike counting."""

from __future__ import annotations

import pytest
import torch

from spikecast.models import NeuronUnit, neuron_names
from spikecast.models.units import Center
from spikecast.neurons import available


def _current(scale: float = 0.1, offset: float = -2.0) -> torch.Tensor:
    """A current that leaves a default layer dead: small spread, far below threshold."""
    g = torch.Generator().manual_seed(0)
    return offset + scale * torch.randn(48, 64, 12, generator=g).cumsum(0) / 7


@pytest.mark.parametrize("neuron", available())
def test_calibration_brings_every_feature_to_the_rate(neuron):
    current = _current()
    unit = NeuronUnit(neuron, 12, init_rate=0.15).eval()
    assert NeuronUnit(neuron, 12, init_rate=None)(current).count_nonzero() == 0  # dead
    out = unit(current)
    rate = out.ne(0).float().mean(dim=(0, 1))
    assert ((rate >= 0.15) & (rate <= 0.3)).all(), rate
    assert int(unit.calibrated) == 1


def test_calibration_is_a_bias_only():
    """Scaling the current would scale the synapses' learning rate: only a bias is added."""
    current = _current()
    unit = NeuronUnit("lif", 12)
    unit(current)
    x = torch.randn(3, 2, 12)
    torch.testing.assert_close(unit(x), unit.neuron(x + unit.shift))


def test_eval_calibration_is_redone_on_the_first_training_batch_then_kept():
    unit = NeuronUnit("ts_lif", 12).eval()
    unit(_current(offset=0.0))
    eval_shift = unit.shift.clone()
    unit.train()
    unit(_current(offset=5.0))  # a BatchNorm before it may shift the current in training
    assert int(unit.calibrated) == 2
    assert not torch.allclose(unit.shift, eval_shift)
    kept = unit.shift.clone()
    unit(_current(offset=-5.0))
    unit.eval()(_current(offset=3.0))
    torch.testing.assert_close(unit.shift, kept)


def test_a_loaded_unit_never_recalibrates():
    unit = NeuronUnit("liaf", 12).train()
    unit(_current())
    fresh = NeuronUnit("liaf", 12).train()
    fresh.load_state_dict(unit.state_dict())
    fresh(_current(offset=4.0))
    torch.testing.assert_close(fresh.shift, unit.shift)


def test_analog_twin_is_centred_and_takes_no_neuron_params():
    unit = NeuronUnit("relu", 12)
    out = unit(_current())
    expected = torch.relu(_current() - _current().reshape(-1, 12).mean(0))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert unit.events_per_output is None and unit.firing_rate is None
    with pytest.raises(ValueError, match="analog activation and takes no neuron_params"):
        NeuronUnit("relu", 12, {"tau": 2.0})
    with pytest.raises(ValueError, match=r"unknown neuron 'spiky'.*relu"):
        NeuronUnit("spiky", 12)
    assert {"relu", "tanh", "gelu"} < set(neuron_names())


def test_spike_events_count_both_ts_lif_compartments():
    unit = NeuronUnit("ts_lif", 12)
    unit(_current())
    unit.start_monitor()
    unit(_current())
    unit.stop_monitor()
    assert unit.events_per_output == pytest.approx(2 * unit.firing_rate)
    assert 0 < unit.firing_rate < 1


def test_step_matches_the_sequence_forward():
    unit = NeuronUnit("lif", 12)
    current = _current()
    whole = unit(current)
    state, steps = None, []
    for x_t in current:
        y, state = unit.step(x_t, state)
        steps.append(y)
    torch.testing.assert_close(torch.stack(steps), whole)


def test_center_subtracts_the_first_batch_mean():
    center = Center(3, enabled=True)
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    torch.testing.assert_close(center(x), x - x.mean(0))
    torch.testing.assert_close(center(x + 1), x - x.mean(0) + 1)  # a constant afterwards
    assert torch.equal(Center(3, enabled=False)(x), x)

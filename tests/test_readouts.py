"""Readouts: each against its definition, step by step, and what feeds its layers."""

from __future__ import annotations

import pytest
import torch

from spikecast.models import NeuronUnit
from spikecast.models.readouts import READOUTS, Readout

S, N, F, OUT = 7, 5, 4, 3


def _seq() -> torch.Tensor:
    return torch.randn(S, N, F, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _readout(kind: str, size: int | None = None) -> Readout:
    torch.manual_seed(1)
    return Readout(kind, F, S, OUT, size).double()


def test_last_and_mean():
    seq = _seq()
    last, mean = _readout("last"), _readout("mean")
    torch.testing.assert_close(last(seq), seq[-1] @ last.head.weight.T + last.head.bias)
    torch.testing.assert_close(mean(seq), seq.mean(0) @ mean.head.weight.T + mean.head.bias)


@pytest.mark.parametrize("size", [None, 2])
def test_flatten_reads_every_step_in_order(size):
    seq, readout = _seq(), _readout("flatten", size)
    steps = [seq[t] if size is None else readout.project(seq[t]) for t in range(S)]
    expected = torch.cat(steps, dim=-1) @ readout.head.weight.T + readout.head.bias
    torch.testing.assert_close(readout(seq), expected)
    assert readout.head.in_features == S * (size or F)


def test_membrane_is_a_leaky_integrator_read_after_the_last_step():
    seq, readout = _seq(), _readout("membrane")
    with torch.no_grad():
        readout.decay.copy_(torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64))
    beta = torch.sigmoid(readout.decay)
    v = torch.zeros(N, OUT, dtype=torch.float64)
    for t in range(S):  # v[t] = β v[t-1] + (1 - β) (W o[t] + b)
        v = beta * v + (1 - beta) * (seq[t] @ readout.head.weight.T + readout.head.bias)
    torch.testing.assert_close(readout(seq), v)


def test_membrane_gradient_matches_finite_differences():
    seq = _seq().requires_grad_(True)
    readout = _readout("membrane")
    assert torch.autograd.gradcheck(lambda s: readout(s), (seq,))


def test_readouts_take_extra_item_dimensions():
    """Inverted encoders emit ``[S, B, C, F]``: every readout keeps ``B, C``."""
    seq = torch.randn(S, 2, 3, F, dtype=torch.float64)
    for kind in READOUTS:
        assert _readout(kind, 2 if kind == "flatten" else None)(seq).shape == (2, 3, OUT)


def test_synapses_name_what_feeds_the_head():
    unit = NeuronUnit("lif", F)
    assert _readout("last").synapses((unit,))[0].sources == (unit,)
    assert _readout("mean").synapses((unit,))[0].sources == ()  # a rate: multiplies
    project, head = _readout("flatten", 2).synapses((unit,), repeats=4)
    assert project.sources == (unit,) and project.repeats == 4 and head.sources == ()
    assert _readout("membrane").synapses((unit,))[0].sources == (unit,)


def test_bad_readouts_say_what_is_valid():
    with pytest.raises(ValueError, match=r"unknown readout 'max'.*flatten.*membrane"):
        Readout("max", F, S, OUT)
    with pytest.raises(ValueError, match="readout_size must be a positive integer"):
        Readout("flatten", F, S, OUT, size=0)
    with pytest.raises(ValueError, match="built for 7 steps, got 6"):
        _readout("flatten", 2)(_seq()[1:])

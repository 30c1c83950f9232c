"""The fused CPU kernels reuse output buffers only once nothing refers to them: an output
the caller still holds (directly, as a view, as a NumPy export, or saved for a second
backward) is never overwritten by a later call."""

from __future__ import annotations

import pytest
import torch

from spikecast import neurons
from spikecast.neurons.fused import _numba_kernels as kernels

pytestmark = pytest.mark.skipif(kernels._use_count is None,
                                reason="this torch cannot count storage references")
T, B, N = 64, 4, 512  # outputs (512 KiB) above the cache's minimum size


def _run(neuron, seed):
    x = torch.randn(T, B, N, generator=torch.Generator().manual_seed(seed), requires_grad=True)
    return x, neuron(x)


@pytest.mark.parametrize("name", ["lif", "ts_lif", "liaf"])
def test_held_outputs_survive_later_calls(name):
    kernels.clear_buffer_cache()
    neuron = neurons.build(name, num_features=N, backend="fused")
    _, first = _run(neuron, 0)
    kept = first.detach().clone()
    view, exported = first[1:], first.detach().numpy()
    for seed in range(1, 4):  # later calls that would like the same buffers
        _, out = _run(neuron, seed)
        out.sum().backward()
    assert kernels._cache  # the later calls did take and return cached buffers
    torch.testing.assert_close(first, kept, rtol=0, atol=0)
    torch.testing.assert_close(view, kept[1:], rtol=0, atol=0)
    torch.testing.assert_close(torch.from_numpy(exported), kept, rtol=0, atol=0)


def test_a_retained_graph_backs_up_twice_to_the_same_gradient():
    kernels.clear_buffer_cache()
    neuron = neurons.build("ts_lif", num_features=N, backend="fused")
    x, out = _run(neuron, 0)
    (first,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
    first = first.clone()
    _run(neuron, 1)[1].sum().backward()  # another call in between
    (second,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(second, first, rtol=0, atol=0)


def test_the_cache_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("SPIKECAST_FUSED_CACHE_MB", "0")
    kernels.clear_buffer_cache()
    neuron = neurons.build("lif", num_features=N, backend="fused")
    _run(neuron, 0)[1].sum().backward()
    assert kernels._cache == []

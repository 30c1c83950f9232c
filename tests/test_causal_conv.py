"""CausalConv (one GEMM over the stacked past steps) is the causal convolution of
``nn.Conv1d``: same output and gradients on the left-padded sequence."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikecast.models.encodings import CausalConv


@pytest.mark.parametrize("D, E, k", [(1, 8, 3), (3, 5, 1), (4, 6, 5)])
def test_causal_conv_is_the_left_padded_conv1d(D, E, k):
    torch.manual_seed(0)
    conv = CausalConv(D, E, k).double()
    seq = torch.randn(11, 7, D, dtype=torch.float64, requires_grad=True)  # [L, N, D]
    out = conv(seq)
    # the reference: nn.Conv1d's own convolution of [N, D, L], zeros before t = 0
    ref = F.conv1d(F.pad(seq.permute(1, 2, 0), (k - 1, 0)), conv.weight, conv.bias)
    ref = ref.permute(2, 0, 1)  # [L, N, E]
    assert out.shape == (11, 7, E)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    # causal: step t never reads a later step
    assert torch.equal(conv(seq[:5]), out[:5])
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (seq, conv.weight, conv.bias), grad)
    want = torch.autograd.grad(ref, (seq, conv.weight, conv.bias), grad)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert set(conv.state_dict()) == {"weight", "bias"}

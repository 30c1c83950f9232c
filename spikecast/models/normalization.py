"""Per-window instance normalisation (RevIN-style).

Each window is standardised with its own mean and standard deviation over time before the
encoder, and forecasts are mapped back with the same statistics after the head. This removes
level shifts between windows, which is what lets a small encoder forecast non-stationary
series (Kim et al., ICLR 2022; used by SeqSNN and TS-LIF).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["InstanceNorm"]


class InstanceNorm(nn.Module):
    """Normalise windows ``[B, L, C]`` per window and channel; undo it on forecasts.

    Args:
        num_channels: number of channels ``C``.
        affine: learn a per-channel scale and shift applied after normalising.
        eps: added to the variance so constant windows stay finite.
    """

    def __init__(self, num_channels: int, affine: bool = False, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Return the normalised window and the statistics needed to undo it."""
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        z = (x - mean) / std
        if self.affine:
            z = z * self.weight + self.bias
        return z, (mean, std)

    def denormalize(self, y: torch.Tensor, stats, channels: torch.Tensor | None = None):
        """Map forecasts ``[B, H, C_out(, Q)]`` back; ``channels`` picks the input channels
        the outputs belong to."""
        mean, std = stats
        if channels is not None:
            mean, std = mean[..., channels], std[..., channels]
        extra = y.dim() - mean.dim()  # quantile dimension, if any
        shape = mean.shape + (1,) * extra
        mean, std = mean.reshape(shape), std.reshape(shape)
        if self.affine:
            weight: torch.Tensor = self.weight
            bias: torch.Tensor = self.bias
            if channels is not None:
                weight, bias = weight[channels], bias[channels]
            wshape = weight.shape + (1,) * extra
            y = (y - bias.reshape(wshape)) / (weight.reshape(wshape) + self.eps)
        return y * std + mean

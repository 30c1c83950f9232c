"""Training losses for point and quantile forecasts."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PinballLoss", "build_loss", "LOSSES"]

LOSSES = ("mse", "mae", "huber", "quantile")


class PinballLoss(nn.Module):
    """Mean pinball (quantile) loss over the last dimension of the prediction.

    ``loss_q(y, ŷ) = max(q·(y - ŷ), (q - 1)·(y - ŷ))``, averaged over quantiles and elements.

    Args:
        quantiles: the quantile levels, each in (0, 1).
    """

    quantiles: torch.Tensor  # a registered buffer (nn.Module would type it Tensor | Module)

    def __init__(self, quantiles: list[float]):
        super().__init__()
        self.register_buffer("quantiles", torch.as_tensor(quantiles, dtype=torch.float32))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``pred`` ``[..., Q]``, ``target`` ``[...]``."""
        diff = target.unsqueeze(-1) - pred
        q = self.quantiles.to(pred.dtype)
        return torch.maximum(q * diff, (q - 1) * diff).mean()


def build_loss(name: str, quantiles: list[float] | None = None) -> nn.Module:
    """The loss module called ``name`` (one of :data:`LOSSES`)."""
    if name == "mse":
        return nn.MSELoss()
    if name == "mae":
        return nn.L1Loss()
    if name == "huber":
        return nn.HuberLoss()
    if name == "quantile":
        if not quantiles:
            raise ValueError("loss='quantile' needs quantiles=[...], e.g. [0.1, 0.5, 0.9]")
        bad = [q for q in quantiles if not 0.0 < float(q) < 1.0]
        if bad:
            raise ValueError(f"quantiles must lie in (0, 1); got {bad}")
        return PinballLoss(sorted(float(q) for q in quantiles))
    raise ValueError(f"unknown loss {name!r}; valid losses: {list(LOSSES)}")

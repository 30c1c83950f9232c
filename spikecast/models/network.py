"""The forecasting network: normalise -> encode -> head -> de-normalise.

Channel-independent by default (every target variable its own sequence through shared
weights, with the covariates as extra inputs at each step, as PatchTST, SeqSNN and TS-LIF
do); ``channel_independent=False`` feeds all variables jointly and mixes them.
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast.models.encoders import build_encoder
from spikecast.models.normalization import InstanceNorm

__all__ = ["ForecastNetwork"]


class ForecastNetwork(nn.Module):
    """Map windows ``[B, L, C_in]`` to forecasts ``[B, H, C_out]`` (or ``[B, H, C_out, Q]``).

    Args:
        encoder: encoder name (:data:`spikecast.models.encoders.ENCODERS`).
        input_size: input columns ``C_in`` (targets and covariates).
        target_positions: the input columns that are forecast (default: all).
        horizon: forecast length ``H``.
        hidden_size: encoder width.
        num_layers: encoder depth.
        channel_independent: one sequence per target with shared weights (default), or all
            channels mixed.
        instance_norm: per-window normalisation, undone after the head.
        affine: learned affine parameters in the instance normalisation.
        n_quantiles: emit this many quantiles per step (``None`` for a point forecast).
        **encoder_kwargs: passed to :func:`~spikecast.models.encoders.build_encoder`.
    """

    def __init__(self, encoder: str, input_size: int, target_positions: list[int] | None,
                 horizon: int, hidden_size: int = 128, num_layers: int = 1,
                 channel_independent: bool = True, instance_norm: bool = True,
                 affine: bool = False, n_quantiles: int | None = None, **encoder_kwargs):
        super().__init__()
        targets = list(range(input_size)) if target_positions is None else list(target_positions)
        covariates = [c for c in range(input_size) if c not in targets]
        self.register_buffer("targets", torch.as_tensor(targets, dtype=torch.long),
                             persistent=False)
        self.register_buffer("covariates", torch.as_tensor(covariates, dtype=torch.long),
                             persistent=False)
        self.horizon = horizon
        self.n_out = len(targets)
        self.n_quantiles = n_quantiles
        self.channel_independent = channel_independent
        self.norm = InstanceNorm(input_size, affine=affine) if instance_norm else None
        step_inputs = 1 + len(covariates) if channel_independent else input_size
        self.encoder = build_encoder(encoder, step_inputs, hidden_size, num_layers,
                                     **encoder_kwargs)
        per_item = horizon * (n_quantiles or 1) * (1 if channel_independent else self.n_out)
        self.head = nn.Linear(self.encoder.output_size, per_item)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, C_in]`` -> ``[B, H, C_out]`` (``[B, H, C_out, Q]`` for quantiles)."""
        batch, length, _ = x.shape
        stats = None
        if self.norm is not None:
            x, stats = self.norm.normalize(x)
        q = self.n_quantiles or 1
        if self.channel_independent:
            target = x.index_select(2, self.targets).permute(0, 2, 1).unsqueeze(-1)
            cov = x.index_select(2, self.covariates).unsqueeze(1)
            cov = cov.expand(batch, self.n_out, length, cov.shape[-1])
            items = torch.cat([target, cov], dim=-1).reshape(batch * self.n_out, length, -1)
            out = self.head(self.encoder(items)).reshape(batch, self.n_out, self.horizon, q)
            out = out.permute(0, 2, 1, 3)
        else:
            out = self.head(self.encoder(x)).reshape(batch, self.horizon, self.n_out, q)
        if self.n_quantiles is None:
            out = out.squeeze(-1)
        if stats is not None:
            out = self.norm.denormalize(out, stats, self.targets)
        return out

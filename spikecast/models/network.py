"""The forecasting network: normalise -> encode -> readout and head -> de-normalise.

Channel-independent by default (every target variable its own sequence through shared
weights, with the covariates as extra inputs at each step, as PatchTST, SeqSNN and TS-LIF
do); ``channel_independent=False`` feeds all variables jointly and mixes them. Inverted
architectures (``tokens="variates"``, e.g. iSpikformer) see whole windows with every column
a token, and the head forecasts each target column from its own token.
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast.models import architectures
from spikecast.models.architectures import Synapse
from spikecast.models.normalization import InstanceNorm
from spikecast.models.readouts import Readout
from spikecast.validation import validate_params

__all__ = ["ForecastNetwork"]


class ForecastNetwork(nn.Module):
    """Map windows ``[B, L, C_in]`` to forecasts ``[B, H, C_out]`` (or ``[B, H, C_out, Q]``).

    Args:
        encoder: an architecture name (:func:`spikecast.models.architectures.available`), an
            import path or an :class:`~spikecast.models.architectures.Encoder` subclass.
        input_size: input columns ``C_in`` (targets and covariates).
        target_positions: the input columns that are forecast (default: all).
        lookback: window length ``L``.
        horizon: forecast length ``H``.
        channel_independent: one sequence per target with shared weights (default), or all
            channels mixed. Inverted architectures need the default.
        instance_norm: per-window normalisation, undone after the head.
        affine: learned affine parameters in the instance normalisation.
        n_quantiles: emit this many quantiles per step (``None`` for a point forecast).
        readout: a name of :data:`spikecast.models.readouts.READOUTS`.
        readout_size: per-step projection width of the ``flatten`` readout.
        linear_skip: add a linear forecast from each target's own (normalised) window,
            ``W_skip x_c + b``, to the head's output, as DLinear and RLinear forecast: the
            encoder then models what a linear forecast misses. Its products are MACs.
        future_positions: the input columns that are known-future covariates (calendar
            features, planned values): besides their past in the window, their values at
            every forecast step ``x_f[t]`` enter the head, ``W_f x_f[t] + b_f`` per step and
            target, normalised with the window's own statistics of those columns (so a
            target that moves with a covariate is a linear map in normalised units, as in
            TiDE's and NBEATSx's exogenous paths). Its products are MACs.
        static_positions: the input columns that are static covariates (constant within a
            series, one value per series of long data). They bypass the encoder (instance
            normalisation would zero a constant column) and enter the head,
            ``W_s s + b_s`` per step and target, from their globally scaled values in the
            window's last row, in the normalised units of the targets (as TFT's and TiDE's
            static paths). Its products are MACs.
        **encoder_params: the architecture's arguments (``hidden_size``, ``neuron``, ...).
    """

    #: its own options checked here (the encoder and the readout check theirs)
    _parameter_constraints = {"linear_skip": ["boolean"]}

    # registered buffers: declared so that they type as tensors, not nn.Module's Tensor | Module
    targets: torch.Tensor
    covariates: torch.Tensor
    mixed: torch.Tensor
    future_positions: torch.Tensor
    static_positions: torch.Tensor

    def __init__(self, encoder, input_size: int, target_positions: list[int] | None,
                 lookback: int, horizon: int, channel_independent: bool = True,
                 instance_norm: bool = True, affine: bool = False,
                 n_quantiles: int | None = None, readout: str = "last",
                 readout_size: int | None = None, linear_skip: bool = False,
                 future_positions: list[int] | None = None,
                 static_positions: list[int] | None = None, **encoder_params):
        super().__init__()
        targets = list(range(input_size)) if target_positions is None else list(target_positions)
        static = list(static_positions or [])
        covariates = [c for c in range(input_size) if c not in targets and c not in static]
        self.register_buffer("targets", torch.as_tensor(targets, dtype=torch.long),
                             persistent=False)
        self.register_buffer("covariates", torch.as_tensor(covariates, dtype=torch.long),
                             persistent=False)
        # what a mixing (channel_independent=False) encoder reads: all but static columns
        self.register_buffer("mixed", torch.as_tensor(sorted(targets + covariates),
                                                      dtype=torch.long), persistent=False)
        self.horizon = horizon
        self.n_out = len(targets)
        self.n_quantiles = n_quantiles
        self.norm = InstanceNorm(input_size, affine=affine) if instance_norm else None
        self.inverted = architectures.resolve(encoder).tokens == "variates"
        if self.inverted and not channel_independent:
            raise ValueError(f"encoder {architectures.encoder_name(encoder)!r} makes every "
                             "column a token and forecasts each from its own: it needs "
                             "channel_independent=True")
        self.channel_independent = channel_independent
        if self.inverted:
            step_inputs = lookback
        else:
            step_inputs = (1 + len(covariates) if channel_independent
                           else len(targets) + len(covariates))
        self.encoder = architectures.build(encoder, step_inputs, **encoder_params)
        per_item = horizon * (n_quantiles or 1)
        if not (channel_independent or self.inverted):
            per_item *= self.n_out
        self.readout = Readout(readout, self.encoder.output_size,
                               self.encoder.output_steps(lookback), per_item, readout_size)
        validate_params({"linear_skip": linear_skip}, self._parameter_constraints)
        self.skip = nn.Linear(lookback, horizon * (n_quantiles or 1)) if linear_skip else None
        future = list(future_positions or [])
        self.register_buffer("future_positions", torch.as_tensor(future, dtype=torch.long),
                             persistent=False)
        self.future = (nn.Linear(len(future), self.n_out * (n_quantiles or 1))
                       if future else None)
        self.register_buffer("static_positions", torch.as_tensor(static, dtype=torch.long),
                             persistent=False)
        self.static = (nn.Linear(len(static), horizon * self.n_out * (n_quantiles or 1))
                       if static else None)

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, L, C_in]`` (and the known-future covariates over the horizon,
        ``x_future [B, H, F]``) -> ``[B, H, C_out]`` (``[B, H, C_out, Q]`` for quantiles)."""
        batch, length, _ = x.shape
        norm = self.norm
        stats = None
        static = x[:, -1].index_select(1, self.static_positions)  # before normalising
        if (x_future is None) != (self.future is None):
            raise ValueError("x_future is required exactly when the network has "
                             f"future_positions (it has {len(self.future_positions)})")
        if norm is not None:
            x, stats = norm.normalize(x)
        q = self.n_quantiles or 1
        if self.inverted:
            tokens = self.encoder(x).index_select(2, self.targets)  # [S, B, C_out, F]
            out = self.readout(tokens).reshape(batch, self.n_out, self.horizon, q)
            out = out.permute(0, 2, 1, 3)
        elif self.channel_independent:
            target = x.index_select(2, self.targets).permute(0, 2, 1).unsqueeze(-1)
            cov = x.index_select(2, self.covariates).unsqueeze(1)
            cov = cov.expand(batch, self.n_out, length, cov.shape[-1])
            items = torch.cat([target, cov], dim=-1).reshape(batch * self.n_out, length, -1)
            out = self.readout(self.encoder(items)).reshape(batch, self.n_out, self.horizon, q)
            out = out.permute(0, 2, 1, 3)
        else:
            out = self.readout(self.encoder(x.index_select(2, self.mixed)))
            out = out.reshape(batch, self.horizon, self.n_out, q)
        if self.skip is not None:  # [B, L, C_out] -> [B, C_out, H*q] -> [B, H, C_out, q]
            linear = self.skip(x.index_select(2, self.targets).transpose(1, 2))
            out = out + linear.reshape(batch, self.n_out, self.horizon, q).permute(0, 2, 1, 3)
        if self.future is not None and x_future is not None:
            out = out + self._future_term(x_future, stats, q)
        if self.static is not None:
            out = out + self.static(static).reshape(batch, self.horizon, self.n_out, q)
        if self.n_quantiles is None:
            out = out.squeeze(-1)
        if norm is not None:
            out = norm.denormalize(out, stats, self.targets)
        return out

    def _future_term(self, x_future: torch.Tensor, stats, q: int) -> torch.Tensor:
        """``W_f x_f[t] + b_f`` for every step and target: ``[B, H, C_out, q]``."""
        assert self.future is not None
        if stats is not None:  # the same statistics as these columns' past in the window
            mean, std = stats
            x_future = ((x_future - mean[..., self.future_positions])
                        / std[..., self.future_positions])
        batch, steps, _ = x_future.shape
        return self.future(x_future).reshape(batch, steps, self.n_out, q)

    def synapses(self) -> list[Synapse]:
        """Every synaptic layer of the network with what feeds it: the encoder's, then the
        readout's (see :mod:`spikecast.models.efficiency`)."""
        found = self.encoder.synapses() + self.readout.synapses(self.encoder.output_sources(),
                                                                self.encoder.output_repeats)
        found += [Synapse(self.skip)] if self.skip is not None else []
        found += [Synapse(self.future)] if self.future is not None else []
        return found + ([Synapse(self.static)] if self.static is not None else [])

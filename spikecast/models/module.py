"""``ForecastModule``: any encoder and head as a LightningModule.

Works with any Trainer setting (callbacks, loggers, checkpoints, precision, accelerators,
strategies such as DDP) because it only implements the standard hooks. Metrics logged on
the scaled data: ``train_loss``, ``val_loss``, and ``test_mse`` / ``test_mae`` (averaged over
windows, steps and channels, as the P1 protocol reports them).
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch

from spikecast.models import architectures
from spikecast.models.losses import build_loss
from spikecast.models.network import ForecastNetwork

__all__ = ["DEFAULT_ENCODER", "DEFAULT_LINEAR_SKIP", "DEFAULT_READOUT", "DEFAULT_READOUT_SIZE",
           "ForecastModule", "OPTIMIZERS", "SCHEDULERS"]

#: The defaults of a bare ``NeuralForecaster()`` / ``ForecastModule()``: the spiking
#: configuration with the lowest ETTh1 P1 validation loss in the search of docs/defaults.md
#: (SpikeTCN of TS-LIF neurons, the flatten readout); the neuron is the architecture's
#: ``default_neuron``.
DEFAULT_ENCODER = "spike_tcn"
DEFAULT_READOUT = "flatten"
DEFAULT_READOUT_SIZE = 8
DEFAULT_LINEAR_SKIP = False

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
SCHEDULERS = (None, "cosine", "plateau", "step")


class ForecastModule(pl.LightningModule):
    """A forecasting network trained with Lightning.

    Args:
        encoder: the architecture: a name of
            :func:`spikecast.models.architectures.available` (``"stack"``, ``"spike_rnn"``,
            ``"spike_tcn"``, ``"spike_gru"``, ``"ispikformer"``, ``"gru"``, ``"lstm"``), an
            :class:`~spikecast.models.architectures.Encoder` subclass or its import path.
        neuron: the neuron of spiking architectures: a name of
            :func:`spikecast.models.units.neuron_names` (``"ts_lif"``, ``"liaf"``, ...) or an
            analog twin (``"relu"``, ...); ``None`` is the architecture's default (none for
            GRU and LSTM).
        input_size: input columns (targets and covariates).
        target_positions: the forecast columns among the inputs (default: all).
        lookback: input window length.
        horizon: forecast length.
        hidden_size: encoder width.
        num_layers: encoder depth.
        channel_independent: one sequence per variable with shared weights (default).
        encoding: spike encoding (``"direct"``, ``"conv"``, ``"delta"``) of architectures
            that take one; ``None`` is the architecture's default.
        spike_steps: neuron steps per time point (``None``: the architecture's default).
        readout: ``"last"``, ``"mean"``, ``"flatten"`` or ``"membrane"``
            (:mod:`spikecast.models.readouts`).
        readout_size: per-step projection width of the ``flatten`` readout (``None``: none).
        linear_skip: add a linear forecast from each target's own window to the head's
            (:class:`~spikecast.models.network.ForecastNetwork`).
        dropout: dropout after each encoder layer.
        neuron_params: keyword arguments of the neurons.
        encoder_params: further arguments of the architecture (e.g. ``{"kernel_size": 3}``
            for SpikeTCN, ``{"init_rate": None}`` to switch the calibrated initialisation off).
        instance_norm: per-window normalisation (on by default).
        affine: learned affine parameters in the instance normalisation.
        loss: ``"mse"``, ``"mae"``, ``"huber"`` or ``"quantile"``.
        quantiles: quantile levels for ``loss="quantile"``.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (the CLI's ``--optimizer`` overrides).
        lr: learning rate.
        weight_decay: weight decay.
        scheduler: ``None``, ``"cosine"`` (over ``max_epochs``), ``"plateau"`` (on
            ``val_loss``) or ``"step"`` (halve every epoch, as the P1 reference code does).
        future_positions: the input columns that are known-future covariates; their values
            over the horizon enter the head (:class:`~spikecast.models.network.ForecastNetwork`)
            and batches are ``(x, x_future, y)``.
        static_positions: the input columns that are static covariates (constant per
            series); they enter the head (:class:`~spikecast.models.network.ForecastNetwork`).
    """

    def __init__(self, encoder: str = DEFAULT_ENCODER, neuron: str | None = None,
                 input_size: int = 1, target_positions: list[int] | None = None,
                 lookback: int = 96, horizon: int = 24, hidden_size: int = 128,
                 num_layers: int = 1, channel_independent: bool = True,
                 encoding: str | None = None, spike_steps: int | None = None,
                 readout: str = DEFAULT_READOUT, readout_size: int | None = DEFAULT_READOUT_SIZE,
                 linear_skip: bool = DEFAULT_LINEAR_SKIP, dropout: float = 0.0,
                 neuron_params: dict | None = None, encoder_params: dict | None = None,
                 instance_norm: bool = True,
                 affine: bool = False, loss: str = "mse", quantiles: list[float] | None = None,
                 optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
                 scheduler: str | None = None, future_positions: list[int] | None = None,
                 static_positions: list[int] | None = None):
        super().__init__()
        self.save_hyperparameters()
        if not isinstance(encoder, str):
            # checkpoints hold plain data (weights_only loading): a class by its import path
            self.hparams.encoder = architectures.encoder_name(encoder)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; valid: {list(OPTIMIZERS)}")
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}; valid: {list(SCHEDULERS)}")
        self.loss_fn = build_loss(loss, quantiles)
        self.quantiles: list[float] | None = None
        if loss == "quantile":
            assert quantiles is not None  # build_loss refused loss="quantile" without them
            self.quantiles = sorted(quantiles)
        shared = {"encoding": encoding, "spike_steps": spike_steps}
        arch_params = {**{k: v for k, v in shared.items() if v is not None},
                       **(encoder_params or {})}
        if neuron_params:
            arch_params["neuron_params"] = neuron_params
        self.network = ForecastNetwork(
            encoder, input_size, target_positions, lookback, horizon,
            channel_independent=channel_independent, instance_norm=instance_norm,
            affine=affine, n_quantiles=len(self.quantiles) if self.quantiles else None,
            readout=readout, readout_size=readout_size, linear_skip=linear_skip,
            future_positions=future_positions, static_positions=static_positions,
            hidden_size=hidden_size, num_layers=num_layers, neuron=neuron, dropout=dropout,
            **arch_params,
        )

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """Forecasts ``[B, H, C_out]`` (``[B, H, C_out, Q]`` for quantile models) from
        windows ``[B, L, C_in]`` and, with ``future_positions``, the known-future covariates
        over the horizon ``[B, H, F]``."""
        return self.network(x, x_future)

    def point_forecast(self, x: torch.Tensor, x_future: torch.Tensor | None = None
                       ) -> torch.Tensor:
        """Point forecasts ``[B, H, C_out]``: the median quantile for quantile models."""
        return self.point_of(self(x, x_future))

    def point_of(self, out):
        """The point forecasts in an output of :meth:`forward` (a tensor or an array of the
        same layout, e.g. unscaled): ``out`` itself, or its quantile nearest the median."""
        quantiles = self.quantiles
        if quantiles is None:
            return out
        return out[..., min(range(len(quantiles)), key=lambda i: abs(quantiles[i] - 0.5))]

    @staticmethod
    def unpack(batch) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """``(x, x_future, y)`` of a batch ``(x, y)`` or ``(x, x_future, y)`` (windows of a
        :class:`~spikecast.data.windows.WindowDataModule` with future covariates)."""
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        return batch[0], None, batch[1]

    def _step(self, batch, name: str) -> torch.Tensor:
        x, x_future, y = self.unpack(batch)
        loss = self.loss_fn(self(x, x_future), y)
        self.log(name, loss, prog_bar=True, batch_size=x.shape[0],
                 on_step=name == "train_loss", on_epoch=True, sync_dist=name != "train_loss")
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        """Loss on one training batch."""
        loss = self._step(batch, "train_loss")
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at epoch {self.current_epoch}, "
                f"step {self.global_step} (batch {batch_idx}); lower the learning rate or "
                "check the data for extreme values"
            )
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        """Loss on one validation batch (logged as ``val_loss``)."""
        self._step(batch, "val_loss")

    def test_step(self, batch, batch_idx: int) -> None:
        """MSE and MAE of the point forecast on one test batch."""
        x, x_future, y = self.unpack(batch)
        pred = self.point_forecast(x, x_future)
        n = x.shape[0]
        self.log("test_mse", torch.mean((pred - y) ** 2), batch_size=n, sync_dist=True)
        self.log("test_mae", torch.mean(torch.abs(pred - y)), batch_size=n, sync_dist=True)

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Forecasts of one batch of windows (quantiles included for quantile models)."""
        if not isinstance(batch, (list, tuple)):
            return self(batch)
        return self(batch[0], batch[1] if len(batch) > 1 else None)

    def configure_optimizers(self):
        """The optimizer and, if set, its learning-rate scheduler."""
        # item access: Lightning types hparams as a plain MutableMapping (it is an AttributeDict)
        hp = self.hparams
        opt = OPTIMIZERS[hp["optimizer"]](self.parameters(), lr=hp["lr"],
                                          weight_decay=hp["weight_decay"])
        if hp["scheduler"] is None:
            return opt
        if hp["scheduler"] == "cosine":
            epochs = max(1, int(self.trainer.max_epochs or 1)) if self._trainer else 1
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
            return {"optimizer": opt, "lr_scheduler": cosine}
        if hp["scheduler"] == "step":
            step = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
            return {"optimizer": opt, "lr_scheduler": step}
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
        return {"optimizer": opt,
                "lr_scheduler": {"scheduler": plateau, "monitor": "val_loss"}}

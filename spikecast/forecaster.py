"""``NeuralForecaster``: spiking and recurrent encoders behind an sklearn-style estimator."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from sklearn.utils.validation import check_is_fitted

from spikecast import __version__
from spikecast.base import BaseForecaster, ForecasterTags
from spikecast.covariates import CALENDAR_FEATURES
from spikecast.data.frames import MISSING_POLICIES, Panel
from spikecast.data.scaling import StandardScaler
from spikecast.data.windows import (
    HELD_OUT_CONSTRAINTS,
    WindowDataModule,
    last_windows,
    min_training_rows,
    spread_windows,
    unscale_forecasts,
)
from spikecast.devices import excess_devices
from spikecast.exceptions import DataValidationError, InvalidParameterError, ModelFileError
from spikecast.model_file import (
    decode_label,
    encode_label,
    index_from_json,
    index_to_json,
    read_model_file,
    write_model_file,
)
from spikecast.models import READOUTS, ForecastModule, architectures, build_loss
from spikecast.models.encodings import ENCODINGS
from spikecast.models.losses import LOSSES
from spikecast.models.module import (
    DEFAULT_ENCODER,
    DEFAULT_LINEAR_SKIP,
    DEFAULT_READOUT,
    DEFAULT_READOUT_SIZE,
    OPTIMIZERS,
    SCHEDULERS,
)
from spikecast.validation import (
    Check,
    Integral,
    Interval,
    Options,
    Real,
    Registered,
    to_builtin,
)

__all__ = ["NeuralForecaster"]

_FORMAT = "spikecast.NeuralForecaster"
_FORMAT_VERSION = 2  # 2: architecture and neuron separate (spikecast 0.2)
# Constructor arguments that configure the network (passed to ForecastModule unchanged).
_MODULE_ARGS = ("encoder", "neuron", "lookback", "horizon", "hidden_size", "num_layers",
                "channel_independent", "encoding", "spike_steps", "readout", "readout_size",
                "linear_skip", "dropout", "neuron_params", "encoder_params", "instance_norm",
                "affine", "loss", "quantiles", "optimizer", "lr", "weight_decay", "scheduler")


# Lightning (<= 2.6) builds torch's LeafSpec, deprecated in torch 2.13: a FutureWarning at
# every fit about neither the user's data nor model. Only this message is filtered.
_LEAFSPEC_DEPRECATION = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


@contextlib.contextmanager
def _quiet_lightning(verbose: bool):
    """Silence Lightning unless ``verbose``: its info messages (GPU available, checkpoint
    paths, seed, logger tips, model summary) and its deprecation warning about torch's
    ``LeafSpec``. Everything else Lightning warns about still comes through."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_LEAFSPEC_DEPRECATION,
                                    category=FutureWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _check_calendar(value) -> bool:
    """Whether ``value`` is a non-empty list of names of calendar features."""
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, str) and v in CALENDAR_FEATURES for v in value))


class NeuralForecaster(BaseForecaster):
    """Forecast with a spiking (or GRU / LSTM) encoder, the scikit-learn way.

    The architecture (``encoder``) and the neuron it is built from (``neuron``) are separate
    choices: ``NeuralForecaster(encoder="spike_tcn", neuron="liaf")``; ``neuron="relu"`` runs
    the same architecture as an ANN (its analog twin). A bare ``NeuralForecaster()`` is the
    best spiking configuration found on ETTh1 (docs/defaults.md).

    ``fit`` trains a :class:`~spikecast.models.ForecastModule` with a Lightning ``Trainer``
    on windows of the data (early stopping on the last ``val_size`` of every series, best
    weights restored); ``predict`` forecasts ``horizon`` steps after the end of the given (or
    the training) series without refitting.

    Args:
        encoder: the architecture: ``"stack"``, ``"spike_rnn"``, ``"spike_tcn"``,
            ``"spike_gru"``, ``"ispikformer"``, ``"gru"`` or ``"lstm"``
            (:func:`spikecast.models.architectures.available`), or your own
            :class:`~spikecast.models.architectures.Encoder` subclass (or its import path).
        neuron: the neuron of a spiking architecture: ``"ts_lif"``, ``"liaf"``, ``"da_lif"``,
            ``"lif"``, ``"plif"``, ``"tc_lif"``, or an analog twin ``"relu"``, ``"tanh"``,
            ``"gelu"``; ``None`` is the architecture's default (none for GRU and LSTM).
        lookback: input window length.
        horizon: number of steps to forecast.
        hidden_size: neurons (units) per encoder layer.
        num_layers: encoder layers.
        channel_independent: one sequence per target variable with shared weights (default);
            ``False`` mixes all variables.
        encoding: spike encoding: ``"direct"``, ``"conv"``, ``"delta"``; ``None`` is the
            architecture's default.
        spike_steps: neuron steps per time point (``None``: the architecture's default).
        readout: how the head reads the encoder's steps: ``"last"``, ``"mean"``,
            ``"flatten"`` (every step, projected to ``readout_size`` features) or
            ``"membrane"`` (leaky integrator neurons); :mod:`spikecast.models.readouts`.
        readout_size: per-step width of the ``flatten`` readout (``None``: no projection).
        linear_skip: add a linear forecast from each target's own window to the head's (the
            encoder then models what a linear forecast misses, as in DLinear / RLinear).
        dropout: dropout after each encoder layer.
        neuron_params: keyword arguments for the neurons (e.g. ``{"surrogate": "atan"}``).
        encoder_params: further arguments of the architecture (e.g. ``{"kernel_size": 3}``).
        instance_norm: per-window normalisation inside the model (default on).
        affine: learned affine parameters in the instance normalisation.
        target: the columns to forecast (default all); other columns are past covariates.
        loss: ``"mse"``, ``"mae"``, ``"huber"`` or ``"quantile"``.
        quantiles: quantile levels for ``loss="quantile"``.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: learning rate.
        weight_decay: weight decay.
        scheduler: ``None``, ``"cosine"``, ``"plateau"`` or ``"step"``.
        max_epochs: training epochs at most.
        batch_size: windows per batch.
        val_size: validation rows at the end of every series (fraction or count); 0 trains
            on everything without early stopping.
        early_stopping_patience: epochs without validation improvement before stopping
            (``None`` disables early stopping; the best weights are restored either way).
        stride: step between training windows.
        random_state: seed of weights, shuffling and dropout.
        accelerator: Lightning accelerator (``"auto"``, ``"cpu"``, ``"gpu"``, ...).
        devices: Lightning devices.
        trainer_kwargs: further ``lightning.pytorch.Trainer`` arguments (callbacks, logger,
            precision, strategy, ...).
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
        checkpoint_dir: keep Lightning checkpoints here (``last.ckpt`` allows
            ``fit(..., ckpt_path="last")`` to resume); default: a temporary directory.
        verbose: show Lightning's progress bar and messages.
        calendar: calendar features to add as known-future covariates, e.g.
            ``["hour", "dayofweek"]`` (sine and cosine of each,
            :func:`spikecast.covariates.calendar_features`; like Darts' ``add_encoders``):
            computed from the time stamps in ``fit`` and for the forecast period in
            ``predict``, so no ``X_future`` is needed for them.

    Attributes:
        module_: the trained :class:`~spikecast.models.ForecastModule` (on CPU, eval mode).
        scaler_: column statistics of the training rows.
        best_val_loss_: the best validation loss (``None`` without validation).
        n_epochs_: epochs trained.
        fit_time_s_: training wall time in seconds.
    """

    def __init__(self, encoder=DEFAULT_ENCODER, neuron: str | None = None, lookback: int = 96,
                 horizon: int = 24, hidden_size: int = 128, num_layers: int = 1,
                 channel_independent: bool = True, encoding: str | None = None,
                 spike_steps: int | None = None, readout: str = DEFAULT_READOUT,
                 readout_size: int | None = DEFAULT_READOUT_SIZE,
                 linear_skip: bool = DEFAULT_LINEAR_SKIP, dropout: float = 0.0,
                 neuron_params: dict | None = None, encoder_params: dict | None = None,
                 instance_norm: bool = True, affine: bool = False, target=None,
                 loss: str = "mse", quantiles: list[float] | None = None,
                 optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
                 scheduler: str | None = None, max_epochs: int = 20, batch_size: int = 32,
                 val_size: float | int = 0.2, early_stopping_patience: int | None = 3,
                 stride: int = 1, random_state: int | None = 0, accelerator: str = "auto",
                 devices="auto", trainer_kwargs: dict | None = None, missing: str = "raise",
                 checkpoint_dir: str | None = None, verbose: bool = True,
                 calendar: list[str] | None = None):
        self.encoder = encoder
        self.neuron = neuron
        self.lookback = lookback
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.channel_independent = channel_independent
        self.encoding = encoding
        self.spike_steps = spike_steps
        self.readout = readout
        self.readout_size = readout_size
        self.linear_skip = linear_skip
        self.dropout = dropout
        self.neuron_params = neuron_params
        self.encoder_params = encoder_params
        self.instance_norm = instance_norm
        self.affine = affine
        self.target = target
        self.loss = loss
        self.quantiles = quantiles
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.scheduler = scheduler
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.val_size = val_size
        self.early_stopping_patience = early_stopping_patience
        self.stride = stride
        self.random_state = random_state
        self.accelerator = accelerator
        self.devices = devices
        self.trainer_kwargs = trainer_kwargs
        self.missing = missing
        self.checkpoint_dir = checkpoint_dir
        self.verbose = verbose
        self.calendar = calendar

    # ------------------------------------------------------------------ validation
    _parameter_constraints = {
        "encoder": [Check(architectures.resolve,
                          "a registered architecture name, an Encoder subclass or its import "
                          "path")],
        "neuron": [str, None],  # which neurons suit the architecture: _validate_params_extra
        "lookback": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "channel_independent": ["boolean"],
        "encoding": [Registered("encoding", ENCODINGS), None],
        "spike_steps": [Interval(Integral, 1, None, closed="left"), None],
        "readout": [Registered("readout", READOUTS)],
        "readout_size": [Interval(Integral, 1, None, closed="left"), None],
        "linear_skip": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "neuron_params": [dict, None],
        "encoder_params": [dict, None],
        "instance_norm": ["boolean"],
        "affine": ["boolean"],
        "target": [None, str, Integral, list, tuple],
        "loss": [Registered("loss", LOSSES)],
        "quantiles": [list, tuple, None],  # their levels: _validate_params_extra
        "optimizer": [Registered("optimizer", OPTIMIZERS)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "scheduler": [Registered("scheduler", SCHEDULERS)],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        # the data module's rule (held_out_rows): a fraction in [0, 1) or a row count
        "val_size": HELD_OUT_CONSTRAINTS["val_size"],
        "early_stopping_patience": [Interval(Integral, 0, None, closed="left"), None],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, 2**32 - 1), None],
        "accelerator": [str, pl.accelerators.Accelerator],
        "devices": [str, Integral, list, tuple],
        "trainer_kwargs": [dict, None],
        "missing": [Options(*MISSING_POLICIES)],
        "checkpoint_dir": [str, os.PathLike, None],
        "verbose": ["boolean"],
        "calendar": [Check(_check_calendar, f"a list of calendar features from "
                           f"{list(CALENDAR_FEATURES)}"), None],
    }

    def _validate_params_extra(self) -> None:
        """The neuron must suit the architecture, ``neuron_params`` must be keyword arguments
        of that neuron, and ``loss="quantile"`` needs ``quantiles`` in (0, 1)."""
        from spikecast import neurons

        cls = architectures.resolve(self.encoder)
        neuron = cls.default_neuron if self.neuron is None else self.neuron
        try:
            cls.check_neuron(neuron)
            if self.loss == "quantile":
                build_loss(self.loss, self.quantiles)
        except ValueError as err:  # the message lists the valid neurons / levels
            raise InvalidParameterError(str(err)) from err
        _check_trainer_kwargs(self.trainer_kwargs)
        too_many = excess_devices(self.devices, self.accelerator)
        if too_many:  # 64 "devices" on 2 cores start 64 processes and hold the machine
            raise InvalidParameterError(f"devices={self.devices!r} {too_many}")
        if not self.neuron_params:
            return
        if neuron not in neurons.NEURONS:
            raise InvalidParameterError(
                f"neuron_params apply to spiking neurons {neurons.available()}, not to "
                f"encoder={architectures.encoder_name(self.encoder)!r} with neuron={neuron!r}"
            )
        accepted = inspect.signature(neurons.NEURONS[neuron].__init__).parameters
        valid = [k for k in accepted if k not in ("self", "num_features")]
        unknown = [k for k in self.neuron_params if k not in valid]
        if unknown:
            raise InvalidParameterError(
                f"unknown neuron_params {unknown} for neuron {neuron!r}; valid: {valid}"
            )

    def _min_train_length(self) -> int:
        """lookback + horizon training rows, plus the validation rows held out after them
        (as :class:`~spikecast.data.windows.WindowDataModule` counts them)."""
        need = int(self.lookback) + int(self.horizon)
        try:
            return min_training_rows(self.lookback, self.horizon, self.val_size)
        except InvalidParameterError:  # a bad val_size: validate_params names it in fit
            return need

    def _length_hint(self, stage: str) -> str:
        if stage != "fit" or not self.val_size:
            return super()._length_hint(stage)
        return (f"NeuralForecaster trains on windows of lookback + horizon = {self.lookback} + "
                f"{self.horizon} rows and holds val_size={self.val_size!r} of the rows out "
                "for validation after them; pass a longer series or lower lookback / horizon "
                "/ val_size")

    def _min_predict_length(self) -> int:
        return int(self.lookback)

    # ------------------------------------------------------------------ fitting
    def fit(self, y, X=None, X_future=None, X_static=None, ckpt_path: str | None = None,
            **fit_params):
        """Train on ``y`` (and past covariates ``X``, known-future covariates ``X_future``).

        Args:
            y: wide DataFrame, Series, 2-D array, or long DataFrame (unique_id, ds, y).
            X: past covariates with the same index as ``y``.
            X_future: known-future covariates with the same index as ``y`` (calendar
                features, planned values); their past enters the encoder with the other
                covariates and their values at every forecast step enter the head
                (:class:`~spikecast.models.network.ForecastNetwork`); ``predict`` then needs
                them for the forecast period.
            X_static: static covariates of long data, one row per ``unique_id`` (a
                ``unique_id`` column or index, one numeric column per variable); they
                enter the head (:class:`~spikecast.models.network.ForecastNetwork`) and are
                kept for ``predict`` (``static_``).
            ckpt_path: resume from a Lightning checkpoint: a path, or ``"last"`` for
                ``checkpoint_dir/last.ckpt`` of an interrupted run.
            **fit_params: none today (an unknown one is a ``TypeError``).

        Returns:
            self
        """
        return super().fit(y, X, X_future, X_static, ckpt_path=ckpt_path, **fit_params)

    def _data_module(self, panel: Panel) -> WindowDataModule:
        return WindowDataModule(
            panel, lookback=int(self.lookback), horizon=int(self.horizon),
            target=self.target_columns_, split="ratio", val_size=self.val_size, test_size=0,
            batch_size=int(self.batch_size), stride=int(self.stride), scale=True,
            shuffle=True, seed=int(self.random_state or 0), missing=self.missing,
            future=self.future_columns_ or None,
        )

    def _build_module(self, n_columns: int) -> ForecastModule:
        # plain Python values: Lightning stores them in checkpoints that fit reloads with
        # weights_only=True, which refuses NumPy scalars
        kwargs = {name: to_builtin(getattr(self, name)) for name in _MODULE_ARGS}
        try:
            return ForecastModule(
                input_size=n_columns, target_positions=self.target_positions_,
                future_positions=[self.columns_.index(c) for c in self.future_columns_] or None,
                static_positions=[self.columns_.index(c) for c in self.static_columns_]
                or None, **kwargs)
        except ValueError as err:  # a value the architecture, readout or neuron rejects
            raise InvalidParameterError(str(err)) from err

    def _fit(self, panel: Panel, ckpt_path: str | None = None) -> None:
        """Seed, build the data and the network, train with a Lightning ``Trainer`` and
        keep the best weights; the global random state is restored afterwards, so that a
        fit does not change what the caller's own random draws give."""
        _check_ckpt_path(ckpt_path)
        with _restored_global_rng():
            if self.random_state is not None:
                pl.seed_everything(int(self.random_state), workers=True, verbose=False)
            self._train(panel, ckpt_path)

    def _train(self, panel: Panel, ckpt_path: str | None) -> None:
        """Build the data and the network, train, and keep the best weights."""
        datamodule = self._data_module(panel)
        datamodule.setup()
        has_val = datamodule.num_windows("val") > 0
        module = self._build_module(panel.n_columns)
        with contextlib.ExitStack() as stack:
            ckpt_dir, ckpt_path = self._checkpoint_dir(stack, ckpt_path)
            best = self._best_checkpoint(ckpt_dir) if has_val else None
            trainer = self._trainer(ckpt_dir, best, has_val)
            start = time.perf_counter()
            with _quiet_lightning(bool(self.verbose)):
                # weights_only whatever torch's default: a checkpoint never runs code
                trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path,
                            weights_only=True)
            self.fit_time_s_ = time.perf_counter() - start
            _restore_best(trainer, module, best)
            self.best_val_loss_ = (float(best.best_model_score)
                                   if best is not None and best.best_model_score is not None
                                   else None)
            self.n_epochs_ = int(trainer.current_epoch)
        self.module_ = module.cpu().eval()
        self.scaler_ = datamodule.scaler

    def _checkpoint_dir(self, stack: contextlib.ExitStack, ckpt_path: str | None
                        ) -> tuple[str, str | None]:
        """Where checkpoints go and the checkpoint to resume from (``"last"`` resolved).

        Without ``checkpoint_dir``: a temporary directory that ``stack`` removes. With it: a
        fresh ``fit-*`` subdirectory of it for this fit alone (kept, and named by
        ``checkpoint_path_``), so that fits sharing a ``checkpoint_dir`` never restore each
        other's ``best.ckpt``; ``"last"`` is the ``last.ckpt`` of its newest subdirectory.
        """
        if self.checkpoint_dir is None:
            if ckpt_path == "last":
                raise DataValidationError(
                    "ckpt_path='last' needs checkpoint_dir= (where the interrupted run saved "
                    "its checkpoints)"
                )
            return stack.enter_context(tempfile.TemporaryDirectory(prefix="spikecast-")), \
                ckpt_path
        root = Path(self.checkpoint_dir)
        if ckpt_path == "last":
            ckpt_path = _last_checkpoint(root)
        root.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path_ = tempfile.mkdtemp(prefix="fit-", dir=root)
        return self.checkpoint_path_, ckpt_path

    @staticmethod
    def _best_checkpoint(ckpt_dir: str) -> ModelCheckpoint:
        """The checkpoint of the best validation loss, whose weights ``fit`` restores."""
        return ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss",
                               mode="min", save_top_k=1, enable_version_counter=False)

    def _trainer(self, ckpt_dir: str, best: ModelCheckpoint | None,
                 has_val: bool) -> pl.Trainer:
        """The Lightning ``Trainer``: checkpoints, early stopping and ``trainer_kwargs``."""
        # "last" is rewritten every epoch so that an interrupted run can resume from its
        # latest state; with validation, "best" keeps the weights to restore. (Two
        # unmonitored ModelCheckpoints would share one state key, so without validation
        # there is only "last".)
        last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None,
                               save_top_k=1, enable_version_counter=False)
        callbacks: list = [last] if best is None else [best, last]
        if has_val and self.early_stopping_patience is not None:
            callbacks.append(EarlyStopping(monitor="val_loss", mode="min",
                                           patience=int(self.early_stopping_patience)))
        kwargs = dict(self.trainer_kwargs or {})
        callbacks += list(kwargs.pop("callbacks", None) or [])
        kwargs.setdefault("logger", False)
        kwargs.setdefault("enable_progress_bar", bool(self.verbose))
        kwargs.setdefault("enable_model_summary", bool(self.verbose))
        kwargs.setdefault("deterministic", "warn")
        kwargs.setdefault("num_sanity_val_steps", 0)
        if not has_val:
            kwargs.setdefault("limit_val_batches", 0)
        with _quiet_lightning(bool(self.verbose)):
            return pl.Trainer(max_epochs=int(self.max_epochs), accelerator=self.accelerator,
                              devices=self.devices, callbacks=callbacks,
                              default_root_dir=ckpt_dir, **kwargs)

    # ------------------------------------------------------------------ prediction
    def __spikecast_tags__(self) -> ForecasterTags:
        """Covariates, batched historical forecasts and costs always; quantiles when
        trained with ``loss="quantile"``."""
        return dataclasses.replace(
            super().__spikecast_tags__(), supports_covariates=True, batched_history=True,
            reports_costs=True, supports_future_covariates=True,
            supports_static_covariates=True,
            supports_quantiles=self.loss == "quantile" and bool(self.quantiles))

    def _windows(self, panel: Panel) -> torch.Tensor:
        """The last ``lookback`` rows of every series, scaled: ``[n_series, L, C]``."""
        return last_windows(panel, int(self.lookback), self.scaler_)

    @torch.no_grad()
    def _forward(self, windows: torch.Tensor, x_future: np.ndarray | None = None
                 ) -> np.ndarray:
        """The model's raw output on windows (and the known-future covariates over the
        horizon, ``[N, H, F]`` in original units), in batches, with the targets' scaling
        undone: ``[N, H, C_out]``, or ``[N, H, C_out, Q]`` for quantile models."""
        module = self.module_
        size = max(256, int(self.batch_size))
        chunks = torch.split(windows, size)
        futures: list = [None] * len(chunks)
        if x_future is not None:
            positions = [self.columns_.index(c) for c in self.future_columns_]
            scaled = self.scaler_.transform_columns(x_future, positions)
            futures = list(torch.split(torch.as_tensor(scaled, dtype=torch.float32), size))
        out = torch.cat([module(chunk, future) for chunk, future in zip(chunks, futures)])
        return unscale_forecasts(out, self.scaler_, self.target_positions_)

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        return list(self.module_.point_of(self._forward(self._windows(panel))))

    def _forecast_panels(self, panels: list[Panel]):
        """Every truncation in batched passes; quantiles from the same pass."""
        return self._forecast_future_panels(panels, None)

    def _forecast_future_panels(self, panels: list[Panel], futures: list[np.ndarray] | None):
        """Every truncation in batched passes (with the known-future covariates over the
        horizon after each); quantiles from the same pass."""
        if not panels:
            return [], None, None
        out = self._forward(torch.cat([self._windows(p) for p in panels]),
                            None if futures is None else np.concatenate(futures))
        points = self.module_.point_of(out)
        levels = self.module_.quantiles
        points_by: list[list[np.ndarray]] = []
        quantiles_by: list[list[np.ndarray]] | None = [] if levels else None
        i = 0
        for p in panels:
            points_by.append(list(points[i:i + p.n_series]))
            if quantiles_by is not None:
                quantiles_by.append(list(out[i:i + p.n_series]))
            i += p.n_series
        return points_by, quantiles_by, (list(levels) if levels else None)

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        return self._forecast_panels(panels)[0]

    def predict_quantiles(self, y=None, X=None, horizon: int | None = None) -> dict:
        """Quantile forecasts of a model trained with ``loss="quantile"``.

        Args:
            y: the recent history (default: the training data).
            X: its past covariates, as in ``fit``.
            horizon: forecast only the first ``horizon`` steps (see :meth:`predict`).

        Returns:
            ``{level: forecast}``, each forecast in the form :meth:`predict` returns.
        """
        check_is_fitted(self, "module_")
        if self.module_.quantiles is None:
            raise DataValidationError(
                "predict_quantiles needs a model trained with loss='quantile' and quantiles=[...]"
            )
        steps = self._steps(horizon)
        panel = self._prediction_panel(y, X)
        out = self._forward(self._windows(panel))[:, :steps]
        return {q: self._format(panel, list(out[..., i]), steps)
                for i, q in enumerate(self.module_.quantiles)}

    # ------------------------------------------------------------------ cost
    def efficiency(self, y=None, X=None, max_windows: int = 256) -> dict:
        """Parameters, firing rates, operations, estimated energy and CPU latency.

        Runs the model on up to ``max_windows`` windows spread evenly over ``y`` (default: the
        training data) and counts, per synaptic layer, the synaptic operations (firing rate x
        MACs, 0.9 pJ each) against the multiply-accumulates of the same architecture run as
        an ANN (4.6 pJ each); see :mod:`spikecast.models.efficiency` for the convention.

        Returns:
            dict with ``params``, ``firing_rates`` (per spiking layer), ``sops``,
            ``macs_ann``, ``energy_pj``, ``energy_ann_pj``, ``energy_ratio`` (SNN / ANN),
            ``latency_ms`` per window, and ``layers`` (a DataFrame, one row per layer).
        """
        from spikecast.models.efficiency import measure_costs

        check_is_fitted(self, "module_")
        panel = self._prediction_panel(y, X)
        windows = spread_windows(panel, int(self.lookback), self.scaler_, max_windows,
                                 what="efficiency")
        report = measure_costs(self.module_.network, windows)
        report["energy_ratio"] = report["energy_pj"] / report["energy_ann_pj"]
        report["layers"] = pd.DataFrame([
            {"layer": c.name, "input": c.input_kind, "input_rate": c.input_rate,
             "macs": c.macs, "sops": c.sops, "energy_pj": c.energy_pj}
            for c in report["layers"]
        ])
        return report

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Save the fitted model to one safetensors file (weights + JSON metadata).

        The write is atomic (temporary file, then rename) and keeps an existing file's mode
        and a symbolic link; loading never unpickles. ``checkpoint_dir`` and
        ``trainer_kwargs`` (callbacks, loggers: where a fit writes) are not part of the
        model and are not saved.

        Raises:
            ModelFileError: a parameter or label (series name, id, column) that cannot be
                stored (named).
            OSError: the file cannot be written (a full disk: ``errno.ENOSPC``).
        """
        check_is_fitted(self, "module_")
        history = self.train_panel_.last_rows(int(self.lookback))
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "spikecast_version": __version__,
            "params": self._savable_params(),
            "columns": [encode_label(c) for c in self.columns_],
            "column_labels": [[c, encode_label(label)]
                              for c, label in self.column_labels_.items()],
            "target_columns": [encode_label(c) for c in self.target_columns_],
            "future_columns": [encode_label(c) for c in self.future_columns_],
            "static_columns": [encode_label(c) for c in self.static_columns_],
            "static": None if self.static_ is None else {
                "ids": [encode_label(i) for i in self.static_.index],
                "values": self.static_.to_numpy().tolist()},
            "input_kind": self.input_kind_,
            "series_name": encode_label(history.name),
            "ids": [encode_label(i) for i in history.ids],
            "index": [index_to_json(ix, f) for ix, f in zip(history.indexes, history.freqs)],
            "scaler_mean": self.scaler_.mean_.tolist(),
            "scaler_std": self.scaler_.scale_.tolist(),
            "best_val_loss": self.best_val_loss_,
            "n_epochs": self.n_epochs_,
            "fit_time_s": self.fit_time_s_,
        }
        tensors = {f"model.{k}": v.detach().cpu().contiguous()
                   for k, v in self.module_.state_dict().items()}
        for i, v in enumerate(history.values):
            tensors[f"history.{i}"] = torch.as_tensor(np.ascontiguousarray(v))
        write_model_file(path, meta, tensors)

    def _savable_params(self) -> dict:
        """The constructor parameters as JSON values (NumPy scalars as Python numbers, the
        encoder class by its path), without where-to-write settings."""
        params = to_builtin(self.get_params())
        params["encoder"] = architectures.encoder_name(self.encoder)
        for name in _NOT_SAVED:
            params[name] = None
        if not isinstance(params["accelerator"], str):  # an Accelerator instance
            params["accelerator"] = "auto"
        for name, value in params.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError) as err:
                raise ModelFileError(f"cannot save parameter {name}={value!r}: {err}") from err
        return params

    @classmethod
    def load(cls, path) -> NeuralForecaster:
        """Load a model written by :meth:`save`; predictions are identical.

        The stored parameters are checked against the same constraints as ``fit`` and
        against upper bounds (:data:`LOAD_LIMITS`), and the stored weights against the
        architecture's, before any network is built; the loaded model holds copies of
        its weights and history (the file can be removed or replaced afterwards).

        Raises:
            ModelFileError: not a regular readable model file, written by another format,
                or with parameters, history or weights that do not fit together.
        """
        meta, tensors = read_model_file(path)
        _check_format(path, meta)
        try:
            return cls._restore(meta, tensors)
        except ModelFileError as err:
            raise ModelFileError(f"{path}: {err}") from err
        except (InvalidParameterError, KeyError, IndexError, TypeError, ValueError,
                RuntimeError) as err:
            # a file whose metadata or tensors were edited: never a deep traceback
            raise ModelFileError(
                f"{path}: the stored parameters, history or weights do not match the architecture "
                f"(edited or tampered file?): {type(err).__name__}: {err}"
            ) from err

    @classmethod
    def _restore(cls, meta: dict, tensors: dict) -> NeuralForecaster:
        """Rebuild a fitted forecaster from the metadata and tensors of a model file."""
        params = dict(meta["params"])
        params.update({name: None for name in _NOT_SAVED})  # never from a file
        self = cls(**params)
        self.validate_params()
        _check_load_limits(self)
        self.columns_ = [decode_label(c) for c in meta["columns"]]
        self.column_labels_ = {c: decode_label(label)
                               for c, label in meta.get("column_labels", [])}
        self.target_columns_ = [decode_label(c) for c in meta["target_columns"]]
        self.future_columns_ = [decode_label(c) for c in meta.get("future_columns", [])]
        self.static_columns_ = [decode_label(c) for c in meta.get("static_columns", [])]
        self.static_ = _stored_static(meta.get("static"), self.static_columns_)
        self.target_positions_ = [self.columns_.index(t) for t in self.target_columns_]
        self.covariate_columns_ = [c for c in self.columns_ if c not in self.target_columns_]
        self.input_kind_ = meta["input_kind"]
        ids = [decode_label(i) for i in meta["ids"]]
        self.n_series_ = len(ids)
        self.scaler_ = _stored_scaler(meta, len(self.columns_))
        self.best_val_loss_ = meta["best_val_loss"]
        self.n_epochs_ = meta["n_epochs"]
        self.fit_time_s_ = meta["fit_time_s"]
        indexes, freqs = zip(*(index_from_json(d) for d in meta["index"]))
        self.train_panel_ = Panel(
            values=_stored_history(tensors, self.n_series_, int(self.lookback),
                                   len(self.columns_)),
            indexes=list(indexes), ids=ids, columns=self.columns_,
            kind=self.input_kind_, name=decode_label(meta["series_name"]), freqs=list(freqs),
        )
        state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        self.module_ = self._module_for(state)
        return self

    def _module_for(self, state: dict) -> ForecastModule:
        """A network with the weights ``state``, built only after a weightless (meta
        device) copy showed that the shapes match: a tampered size never allocates."""
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in
                      self._build_module(len(self.columns_)).state_dict().items()}
        stored = {k: tuple(v.shape) for k, v in state.items()}
        if shapes != stored:
            wrong = sorted(set(shapes.items()) ^ set(stored.items()))[:3]
            raise ModelFileError(f"the stored weights do not match the architecture of the "
                                 "stored parameters "
                                 f"(first differences: {wrong})")
        module = self._build_module(len(self.columns_))
        module.load_state_dict(state)
        return module.eval()


# Where a fit writes: never saved to, or restored from, a model file.
_NOT_SAVED = ("checkpoint_dir", "trainer_kwargs")

#: Upper bounds on a loaded model's sizes (``fit`` has none); a file beyond them was
#: edited, and would ask for more memory or time than any real forecasting network.
LOAD_LIMITS = {"lookback": 100_000, "horizon": 100_000, "hidden_size": 16_384,
               "num_layers": 64, "spike_steps": 64, "readout_size": 16_384,
               "batch_size": 65_536}


def _check_load_limits(model: NeuralForecaster) -> None:
    for name, limit in LOAD_LIMITS.items():
        value = getattr(model, name)
        if value is not None and value > limit:
            raise ModelFileError(f"stored parameter {name}={value} is above the {limit} a "
                                 "model file may have")


def _check_format(path, meta: dict) -> None:
    """The file is a NeuralForecaster file of the current format version."""
    version = meta.get("format_version")
    if meta.get("format") != _FORMAT or type(version) is not int:
        raise ModelFileError(f"{path} has no valid spikecast metadata (format "
                             f"{meta.get('format')!r}, version {version!r}; not a "
                             "NeuralForecaster file)")
    if version > _FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer spikecast (format {version})")
    if version < _FORMAT_VERSION:
        stored = meta.get("params")
        params: dict = stored if isinstance(stored, dict) else {}
        raise ModelFileError(
            f"{path} was written by spikecast {meta.get('spikecast_version')} (format "
            f"{version}), whose encoders were neuron names and whose networks had no "
            "calibrated units; refit it, with e.g. encoder='stack', "
            f"neuron={params.get('encoder')!r}"
        )


def _stored_scaler(meta: dict, n_columns: int) -> StandardScaler:
    """The column statistics: one finite mean and one finite positive scale per column."""
    mean = np.asarray(meta["scaler_mean"], dtype=float)
    std = np.asarray(meta["scaler_std"], dtype=float)
    if mean.shape != (n_columns,) or std.shape != (n_columns,):
        raise ModelFileError(f"the stored scaler has {mean.shape} means and {std.shape} "
                             f"scales for {n_columns} columns")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ModelFileError("the stored scaler has a non-finite mean or a scale <= 0")
    return StandardScaler.from_statistics(mean.tolist(), std.tolist())


def _stored_static(stored: dict | None, columns: list) -> pd.DataFrame | None:
    """The static covariates kept from ``fit``: one finite row per series id."""
    if stored is None:
        if columns:
            raise ModelFileError(f"static columns {columns} are stored without their values")
        return None
    values = np.asarray(stored["values"], dtype=float)
    ids = [decode_label(i) for i in stored["ids"]]
    if values.shape != (len(ids), len(columns)) or not np.isfinite(values).all():
        raise ModelFileError(f"the stored static covariates {values.shape} do not fit "
                             f"{len(ids)} series and the columns {columns}, or are not finite")
    return pd.DataFrame(values, index=pd.Index(ids, name="unique_id"), columns=columns)


def _stored_history(tensors: dict, n_series: int, lookback: int, n_columns: int
                    ) -> list[np.ndarray]:
    """The last ``lookback`` rows of every training series, ``[lookback, n_columns]``."""
    values = []
    for i in range(n_series):
        v = tensors[f"history.{i}"].numpy()
        if v.shape != (lookback, n_columns):
            raise ModelFileError(f"stored history.{i} has shape {v.shape}, not "
                                 f"(lookback, columns) = {(lookback, n_columns)}")
        values.append(v)
    return values


def _restore_best(trainer: pl.Trainer, module: ForecastModule,
                  best: ModelCheckpoint | None) -> None:
    """Load the best checkpoint's weights into ``module`` (on every DDP rank)."""
    # under DDP every rank uses rank 0's checkpoint directory (ModelCheckpoint broadcasts
    # it), so all ranks restore the same best weights
    if best is not None:
        path = trainer.strategy.broadcast(best.best_model_path)
        if path and os.path.exists(path):
            state = torch.load(path, map_location="cpu", weights_only=True)
            module.load_state_dict(state["state_dict"])
    trainer.strategy.barrier()  # rank 0 must not delete its directory before others read


def _last_checkpoint(root: Path) -> str:
    """The ``last.ckpt`` of the newest fit under ``checkpoint_dir`` (or, from spikecast
    0.1, directly in it)."""
    found = sorted(root.glob("fit-*/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found and (root / "last.ckpt").is_file():
        found = [root / "last.ckpt"]
    if not found:
        raise DataValidationError(f"no checkpoint to resume from: no last.ckpt in {root} "
                                  "or its fit-* subdirectories")
    return str(found[-1])


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _check_ckpt_path(ckpt_path) -> None:
    """Only local checkpoint files: Lightning downloads a URL and unpickles it (any code)."""
    if ckpt_path is None or ckpt_path == "last":
        return
    if not isinstance(ckpt_path, (str, os.PathLike)):
        raise InvalidParameterError(f"ckpt_path must be a path or 'last', got {ckpt_path!r}")
    if _URL.match(os.fspath(ckpt_path)):
        raise InvalidParameterError(
            f"ckpt_path={os.fspath(ckpt_path)!r} is a URL; spikecast resumes only from local "
            "checkpoint files (download it yourself, check it, and pass its path)")
    if not Path(ckpt_path).is_file():
        raise DataValidationError(f"no checkpoint to resume from: {ckpt_path} is not a file")


# Lightning Trainer arguments that the estimator's own parameters set.
_TRAINER_OWNED = {"max_epochs": "max_epochs", "default_root_dir": "checkpoint_dir",
                  "accelerator": "accelerator", "devices": "devices",
                  "enable_checkpointing": None}


def _check_trainer_kwargs(trainer_kwargs: dict | None) -> None:
    """``trainer_kwargs`` are Trainer arguments that spikecast does not set itself."""
    if not trainer_kwargs:
        return
    accepted = inspect.signature(pl.Trainer.__init__).parameters
    for key, value in trainer_kwargs.items():
        if key in _TRAINER_OWNED:
            own = _TRAINER_OWNED[key]
            raise InvalidParameterError(
                f"trainer_kwargs[{key!r}]: " + (f"set NeuralForecaster({own}=...) instead" if own
                else "fit needs checkpoints to restore the best weights; leave it out"))
        if key not in accepted or key == "self":
            raise InvalidParameterError(
                f"trainer_kwargs[{key!r}] is not an argument of lightning.pytorch.Trainer")
        if key == "callbacks" and not isinstance(value, (list, tuple, type(None))):
            raise InvalidParameterError(
                f"trainer_kwargs['callbacks'] must be a list of callbacks, got {value!r}")


@contextlib.contextmanager
def _restored_global_rng():
    """Restore Python's, NumPy's and torch's global random state and Lightning's seed
    variables after the block (``seed_everything`` sets them all)."""
    import random

    # the legacy global NumPy state is what seed_everything changes (NPY002 is about new code
    # drawing from it)
    states = (random.getstate(), np.random.get_state(),  # noqa: NPY002
              torch.random.get_rng_state())
    env = {k: os.environ.get(k) for k in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")}
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])  # noqa: NPY002
        torch.random.set_rng_state(states[2])
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

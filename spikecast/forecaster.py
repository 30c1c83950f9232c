"""``NeuralForecaster``: spiking and recurrent encoders behind an sklearn-style estimator."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from sklearn.utils.validation import check_is_fitted

from spikecast import __version__
from spikecast._atomic import atomic_path
from spikecast.base import BaseForecaster
from spikecast.data.frames import Panel
from spikecast.data.windows import StandardScaler, WindowDataModule
from spikecast.exceptions import DataValidationError, ModelFileError
from spikecast.models import ForecastModule, architectures
from spikecast.models.module import (
    DEFAULT_ENCODER,
    DEFAULT_LINEAR_SKIP,
    DEFAULT_READOUT,
    DEFAULT_READOUT_SIZE,
)

__all__ = ["NeuralForecaster"]

_FORMAT = "spikecast.NeuralForecaster"
_FORMAT_VERSION = 2  # 2: architecture and neuron separate (spikecast 0.2)
# Constructor arguments that configure the network (passed to ForecastModule unchanged).
_MODULE_ARGS = ("encoder", "neuron", "lookback", "horizon", "hidden_size", "num_layers",
                "channel_independent", "encoding", "spike_steps", "readout", "readout_size",
                "linear_skip", "dropout", "neuron_params", "encoder_params", "instance_norm",
                "affine", "loss", "quantiles", "optimizer", "lr", "weight_decay", "scheduler")


@contextlib.contextmanager
def _quiet_lightning(verbose: bool):
    """Silence Lightning's info messages (GPU available, checkpoint paths) unless verbose."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


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

    Attributes:
        module_: the trained :class:`~spikecast.models.ForecastModule` (on CPU, eval mode).
        scaler_: column statistics of the training rows.
        best_val_loss_: the best validation loss (``None`` without validation).
        n_epochs_: epochs trained.
        fit_time_s_: training wall time in seconds.
    """

    _uses_covariates = True

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
                 checkpoint_dir: str | None = None, verbose: bool = True):
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

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        try:
            cls = architectures.resolve(self.encoder)
            cls.check_neuron(self._neuron_name(cls))
        except ValueError as err:
            raise DataValidationError(str(err)) from err
        lookback = self.lookback
        if isinstance(lookback, bool) or not isinstance(lookback, (int, np.integer)) \
                or lookback < 1:
            raise DataValidationError(
                f"lookback must be a positive integer (input window length), got {lookback!r}"
            )
        self._check_horizon()
        for name in ("hidden_size", "num_layers", "max_epochs", "batch_size", "spike_steps",
                     "stride", "readout_size"):
            value = getattr(self, name)
            if value is None and name in ("spike_steps", "readout_size"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise DataValidationError(f"{name} must be a positive integer, got {value!r}")
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise DataValidationError(f"lr must be a finite number > 0, got {lr!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0 <= self.dropout < 1:
            raise DataValidationError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        for name in ("encoder_params", "neuron_params"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise DataValidationError(f"{name} must be a dict of keyword arguments, got "
                                          f"{value!r}")
        self._check_neuron_params(cls)

    def _neuron_name(self, cls: type) -> str | None:
        """The neuron the architecture ``cls`` will be built with."""
        return cls.default_neuron if self.neuron is None else self.neuron

    def _check_neuron_params(self, cls: type) -> None:
        """``neuron_params`` must be keyword arguments the chosen neuron accepts."""
        params = self.neuron_params
        if not params:
            return
        from spikecast import neurons

        neuron = self._neuron_name(cls)
        if neuron not in neurons.NEURONS:
            raise DataValidationError(
                f"neuron_params apply to spiking neurons {neurons.available()}, not to "
                f"encoder={architectures.encoder_name(self.encoder)!r} with neuron={neuron!r}"
            )
        accepted = inspect.signature(neurons.NEURONS[neuron].__init__).parameters
        valid = [k for k in accepted if k not in ("self", "num_features")]
        unknown = [k for k in params if k not in valid]
        if unknown:
            raise DataValidationError(
                f"unknown neuron_params {unknown} for neuron {neuron!r}; valid: {valid}"
            )

    def _val_rows_needed(self, n: int) -> int:
        """Validation rows held out of an ``n``-row series (as WindowDataModule counts)."""
        v = self.val_size
        return int(round(n * v)) if isinstance(v, float) else int(v)

    def _min_train_length(self) -> int:
        """lookback + horizon training rows, plus the validation rows held out after them."""
        need = int(self.lookback) + int(self.horizon)
        if isinstance(self.val_size, bool) or not isinstance(self.val_size, (int, float)):
            return need  # WindowDataModule names the bad val_size
        if isinstance(self.val_size, int):
            return need + max(int(self.val_size), 0)
        if not 0 <= self.val_size < 1:
            return need
        n = need  # smallest n with n - round(f * n) >= need
        while n - self._val_rows_needed(n) < need:
            n += 1
        return n

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
    def fit(self, y, X=None, ckpt_path: str | None = None):
        """Train on ``y`` (and past covariates ``X``).

        Args:
            y: wide DataFrame, Series, 2-D array, or long DataFrame (unique_id, ds, y).
            X: past covariates with the same index as ``y``.
            ckpt_path: resume from a Lightning checkpoint: a path, or ``"last"`` for
                ``checkpoint_dir/last.ckpt`` of an interrupted run.

        Returns:
            self
        """
        self._check_params()
        self._ckpt_path = ckpt_path
        try:
            return super().fit(y, X)
        finally:
            del self._ckpt_path

    def _data_module(self, panel: Panel) -> WindowDataModule:
        return WindowDataModule(
            panel, lookback=int(self.lookback), horizon=int(self.horizon),
            target=self.target_columns_, split="ratio", val_size=self.val_size, test_size=0,
            batch_size=int(self.batch_size), stride=int(self.stride), scale=True,
            shuffle=True, seed=int(self.random_state or 0), missing=self.missing,
        )

    def _build_module(self, n_columns: int) -> ForecastModule:
        kwargs = {name: getattr(self, name) for name in _MODULE_ARGS}
        try:
            return ForecastModule(input_size=n_columns,
                                  target_positions=self.target_positions_, **kwargs)
        except ValueError as err:  # a value the architecture, readout or neuron rejects
            raise DataValidationError(str(err)) from err

    def _fit(self, panel: Panel) -> None:
        if self.random_state is not None:
            pl.seed_everything(int(self.random_state), workers=True, verbose=False)
        datamodule = self._data_module(panel)
        datamodule.setup()
        has_val = datamodule.num_windows("val") > 0
        module = self._build_module(panel.n_columns)

        ckpt_path = self._ckpt_path
        with contextlib.ExitStack() as stack:
            if self.checkpoint_dir is None:
                if ckpt_path == "last":
                    raise DataValidationError(
                        "ckpt_path='last' needs checkpoint_dir= (where the interrupted run "
                        "saved its checkpoints)"
                    )
                ckpt_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="spikecast-"))
            else:
                ckpt_dir = str(self.checkpoint_dir)
                if ckpt_path == "last":
                    ckpt_path = os.path.join(ckpt_dir, "last.ckpt")
                    if not os.path.exists(ckpt_path):
                        raise DataValidationError(
                            f"no checkpoint to resume from: {ckpt_path} does not exist"
                        )
            # "last" is rewritten every epoch so that an interrupted run can resume from its
            # latest state; with validation, "best" keeps the weights to restore. (Two
            # unmonitored ModelCheckpoints would share one state key, so without validation
            # there is only "last".)
            last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None,
                                   save_top_k=1, enable_version_counter=False)
            checkpoint = ModelCheckpoint(
                dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min",
                save_top_k=1, enable_version_counter=False,
            ) if has_val else None
            callbacks = [last] if checkpoint is None else [checkpoint, last]
            if has_val and self.early_stopping_patience is not None:
                callbacks.append(EarlyStopping(monitor="val_loss", mode="min",
                                               patience=int(self.early_stopping_patience)))
            kwargs = dict(self.trainer_kwargs or {})
            callbacks += list(kwargs.pop("callbacks", []))
            kwargs.setdefault("logger", False)
            kwargs.setdefault("enable_progress_bar", bool(self.verbose))
            kwargs.setdefault("enable_model_summary", bool(self.verbose))
            kwargs.setdefault("deterministic", "warn")
            kwargs.setdefault("num_sanity_val_steps", 0)
            if not has_val:
                kwargs.setdefault("limit_val_batches", 0)
            start = time.perf_counter()
            with _quiet_lightning(bool(self.verbose)):
                trainer = pl.Trainer(max_epochs=int(self.max_epochs),
                                     accelerator=self.accelerator, devices=self.devices,
                                     callbacks=callbacks, default_root_dir=ckpt_dir, **kwargs)
                trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
            self.fit_time_s_ = time.perf_counter() - start
            # under DDP every rank uses rank 0's checkpoint directory (ModelCheckpoint
            # broadcasts it), so all ranks restore the same best weights
            if checkpoint is not None:
                best = trainer.strategy.broadcast(checkpoint.best_model_path)
                if best and os.path.exists(best):
                    state = torch.load(best, map_location="cpu", weights_only=True)
                    module.load_state_dict(state["state_dict"])
            trainer.strategy.barrier()  # rank 0 must not delete its directory before others read
            self.best_val_loss_ = (float(checkpoint.best_model_score)
                                   if checkpoint is not None
                                   and checkpoint.best_model_score is not None else None)
            self.n_epochs_ = int(trainer.current_epoch)
        self.module_ = module.cpu().eval()
        self.scaler_ = datamodule.scaler

    # ------------------------------------------------------------------ prediction
    def _windows(self, panel: Panel) -> torch.Tensor:
        """The last ``lookback`` rows of every series, scaled: ``[n_series, L, C]``."""
        L = int(self.lookback)
        for uid, v in zip(panel.ids, panel.values):
            if len(v) < L:
                where = f"series {uid!r}" if uid is not None else "y"
                raise DataValidationError(
                    f"{where} has {len(v)} rows but predict needs the last lookback={L}"
                )
        block = self.scaler_.transform(np.stack([v[-L:] for v in panel.values]))
        return torch.as_tensor(np.ascontiguousarray(block), dtype=torch.float32)

    @torch.no_grad()
    def _forward(self, windows: torch.Tensor, point: bool = True) -> np.ndarray:
        """Run the model on windows in batches and undo the scaling of the targets."""
        module = self.module_
        outs = []
        for chunk in torch.split(windows, max(256, int(self.batch_size))):
            outs.append(module.point_forecast(chunk) if point else module(chunk))
        out = torch.cat(outs).double().numpy()
        pos = self.target_positions_
        if out.ndim == 4:  # quantiles [N, H, C, Q]: scale each quantile column alike
            return np.stack([self.scaler_.inverse_transform(out[..., q], pos)
                             for q in range(out.shape[-1])], axis=-1)
        return self.scaler_.inverse_transform(out, pos)

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        return list(self._forward(self._windows(panel)))

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        """All truncations in batched passes (a no-refit backtest calls this once)."""
        if not panels:
            return []
        windows = torch.cat([self._windows(p) for p in panels])
        out = self._forward(windows)
        result, i = [], 0
        for p in panels:
            result.append(list(out[i:i + p.n_series]))
            i += p.n_series
        return result

    def predict_quantiles(self, y=None, X=None) -> dict:
        """Quantile forecasts of a model trained with ``loss="quantile"``.

        Returns:
            ``{level: forecast}``, each forecast in the form :meth:`predict` returns.
        """
        check_is_fitted(self, "module_")
        if self.module_.quantiles is None:
            raise DataValidationError(
                "predict_quantiles needs a model trained with loss='quantile' and quantiles=[...]"
            )
        panel = self._prediction_panel(y, X)
        out = self._forward(self._windows(panel), point=False)
        return {q: self._format(panel, list(out[..., i]))
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
        L = int(self.lookback)
        starts = [(i, s) for i, v in enumerate(panel.values) for s in range(len(v) - L + 1)]
        if not starts:
            raise DataValidationError(f"efficiency needs series of at least lookback={L} rows")
        pick = np.linspace(0, len(starts) - 1, min(max_windows, len(starts))).round()
        block = np.stack([panel.values[i][s:s + L] for i, s in
                          (starts[int(k)] for k in pick)])
        windows = torch.as_tensor(np.ascontiguousarray(self.scaler_.transform(block)),
                                  dtype=torch.float32)
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

        The write is atomic (temporary file, then rename); loading never unpickles.
        """
        from safetensors.torch import save_file

        check_is_fitted(self, "module_")
        params = self.get_params()
        params["encoder"] = architectures.encoder_name(self.encoder)  # a class by its path
        try:
            json.dumps(params)
        except TypeError:
            params["trainer_kwargs"] = None  # callbacks/loggers are not part of the model
        panel = self.train_panel_
        L = int(self.lookback)
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "spikecast_version": __version__,
            "params": params,
            "columns": self.columns_,
            "target_columns": self.target_columns_,
            "input_kind": self.input_kind_,
            "series_name": panel.name,
            "ids": panel.ids,
            "index": [_index_to_json(ix[-L:], f) for ix, f in zip(panel.indexes, panel.freqs)],
            "scaler_mean": self.scaler_.mean.tolist(),
            "scaler_std": self.scaler_.std.tolist(),
            "best_val_loss": self.best_val_loss_,
            "n_epochs": self.n_epochs_,
            "fit_time_s": self.fit_time_s_,
        }
        tensors = {f"model.{k}": v.detach().cpu().contiguous()
                   for k, v in self.module_.state_dict().items()}
        for i, v in enumerate(panel.values):
            tensors[f"history.{i}"] = torch.as_tensor(np.ascontiguousarray(v[-L:]))
        path = Path(path)
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"spikecast": json.dumps(meta)})

    @classmethod
    def load(cls, path) -> NeuralForecaster:
        """Load a model written by :meth:`save`; predictions are identical."""
        from safetensors import SafetensorError
        from safetensors.torch import safe_open

        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist")
        try:
            with safe_open(str(path), framework="pt") as f:
                raw = (f.metadata() or {}).get("spikecast")
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except (SafetensorError, OSError, ValueError) as err:
            raise ModelFileError(
                f"{path} is not a readable spikecast model file (truncated or corrupt?): {err}"
            ) from err
        try:
            meta = json.loads(raw)
            assert meta["format"] == _FORMAT, "not a NeuralForecaster file"
        except Exception as err:
            raise ModelFileError(f"{path} has no valid spikecast metadata: {err}") from err
        if meta["format_version"] > _FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was written by a newer spikecast (format {meta['format_version']})"
            )
        if meta["format_version"] < _FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was written by spikecast {meta.get('spikecast_version')} (format "
                f"{meta['format_version']}), whose encoders were neuron names and whose "
                "networks had no calibrated units; refit it, with e.g. encoder='stack', "
                f"neuron={meta['params'].get('encoder')!r}"
            )
        try:
            return cls._restore(meta, tensors)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
            # a file whose metadata or tensors were edited: never a deep traceback
            raise ModelFileError(
                f"{path}: the stored parameters, history or weights do not match the architecture "
                f"(edited or tampered file?): {type(err).__name__}: {err}"
            ) from err

    @classmethod
    def _restore(cls, meta: dict, tensors: dict) -> NeuralForecaster:
        """Rebuild a fitted forecaster from the metadata and tensors of a model file."""
        self = cls(**meta["params"])
        self.columns_ = meta["columns"]
        self.target_columns_ = meta["target_columns"]
        self.target_positions_ = [self.columns_.index(t) for t in self.target_columns_]
        self.covariate_columns_ = [c for c in self.columns_ if c not in self.target_columns_]
        self.input_kind_ = meta["input_kind"]
        self.n_series_ = len(meta["ids"])
        self.scaler_ = StandardScaler(np.array(meta["scaler_mean"]), np.array(meta["scaler_std"]))
        self.best_val_loss_ = meta["best_val_loss"]
        self.n_epochs_ = meta["n_epochs"]
        self.fit_time_s_ = meta["fit_time_s"]
        indexes, freqs = zip(*(_index_from_json(d) for d in meta["index"]))
        self.train_panel_ = Panel(
            values=[tensors[f"history.{i}"].numpy() for i in range(self.n_series_)],
            indexes=list(indexes), ids=meta["ids"], columns=self.columns_,
            kind=self.input_kind_, name=meta["series_name"], freqs=list(freqs),
        )
        module = self._build_module(len(self.columns_))
        state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        module.load_state_dict(state)
        self.module_ = module.eval()
        return self


def _index_to_json(index: pd.Index, freq) -> dict:
    if isinstance(index, pd.DatetimeIndex):
        return {"type": "datetime", "values": [t.isoformat() for t in index],
                "tz": str(index.tz) if index.tz is not None else None,
                "freq": freq.freqstr if freq is not None else None, "name": index.name}
    return {"type": "int", "values": [int(v) for v in index],
            "freq": int(freq) if freq is not None else None, "name": index.name}


def _index_from_json(d: dict):
    if d["type"] == "datetime":
        index = pd.DatetimeIndex(pd.to_datetime(d["values"]), name=d["name"])
        freq = pd.tseries.frequencies.to_offset(d["freq"]) if d["freq"] else None
        return index, freq
    return pd.Index(d["values"], dtype="int64", name=d["name"]), d["freq"]

"""The best configuration as a file that reproduces it with one command.

- A :class:`~spikecast.NeuralForecaster` becomes a Lightning CLI config (the format of
  ``configs/fast/*.yaml``, one self-contained file): ``spikecast fit --config best.yaml``
  trains it on the same training rows, validates (early stopping, best checkpoint) on the
  same validation rows, and ``spikecast test`` scores it on the rows after the tuning data.
- Any other forecaster becomes a backtest config (:mod:`spikecast.experiment.config`):
  ``spikecast backtest --config best.yaml`` fits it on the tuning data and forecasts the
  test part after it, or, when there is none, the validation part it was selected on.

Both name the data as the user did (a registered dataset or a file); data that exists only
in memory is written beside the config as ``<config stem>.data.csv`` and named by its path.
Files are replaced atomically (:func:`spikecast.atomic.atomic_path`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from spikecast.atomic import atomic_path
from spikecast.exceptions import InvalidParameterError

__all__ = ["data_reference", "lightning_config", "backtest_config", "write_yaml", "plain"]

_FILE_KEYS = ("time_col", "id_col", "freq")
#: ForecastModule arguments that the Lightning CLI links from the data module
_LINKED = ("lookback", "horizon", "input_size", "target_positions", "future_positions")


class _Unwritable(ValueError):
    """A parameter value that a YAML config cannot hold (an object)."""


def plain(value):
    """``value`` as plain YAML data (tuples as lists, numpy scalars as Python numbers).

    Raises:
        ValueError: a value YAML cannot hold as data (an object, a class).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (Integral, np.integer)):
        return int(value)
    if isinstance(value, (Real, np.floating)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    raise _Unwritable(f"{type(value).__name__} value {value!r}")


def _write_data(data, path: Path) -> str:
    """Write in-memory data as the CSV beside the config; return its path."""
    csv = path.with_name(f"{path.stem}.data.csv")
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data, columns=[f"y{i}" for i in range(data.shape[1])]
                            if data.ndim == 2 else ["y"])
    frame = data.to_frame(name=data.name if data.name is not None else "y") \
        if isinstance(data, pd.Series) else data
    long = {"unique_id", "ds", "y"}.issubset(frame.columns)
    with atomic_path(csv, suffix=".csv") as tmp:
        if long:
            frame.to_csv(tmp, index=False)
        else:
            frame.to_csv(tmp, index_label=frame.index.name or "ds")
    return str(csv)


def data_reference(data, y, path: str | os.PathLike) -> dict:
    """How a config names its data: ``{"data": name or path, ...}`` with ``time_col``,
    ``id_col``, ``freq`` and ``target`` where given.

    Args:
        data: a registered dataset name or a ``.csv`` / ``.parquet`` path; a mapping with
            ``data`` (or ``name`` / ``path``) and optional ``time_col``, ``id_col``, ``freq``,
            ``target``; a DataFrame, Series or array (written beside the config); or
            ``None``: ``y`` (written beside the config).
        y: the tuning data.
        path: the config file (in-memory data goes to ``<stem>.data.csv`` beside it).
    """
    if data is None:
        data = y
    if isinstance(data, (str, os.PathLike)):
        return {"data": os.fspath(data)}
    if isinstance(data, Mapping):
        ref = dict(data)
        source = ref.pop("data", None) or ref.pop("name", None) or ref.pop("path", None)
        if source is None:
            raise InvalidParameterError("data: a mapping needs 'data' (a dataset name or a "
                                        f"file path), got keys {sorted(data)}")
        return {"data": os.fspath(source), **{k: v for k, v in ref.items() if v is not None}}
    return {"data": _write_data(data, Path(path))}


def _module_params(model) -> tuple[dict, list[str]]:
    """The model's ForecastModule arguments (YAML data) and the names that were skipped."""
    from spikecast.models import architectures
    from spikecast.models.module import ForecastModule

    accepted = set(inspect.signature(ForecastModule.__init__).parameters) - set(_LINKED)
    params, skipped = {}, []
    for name, value in model.get_params(deep=False).items():
        if name not in accepted:
            continue
        if name == "encoder":
            value = architectures.encoder_name(value)
        try:
            params[name] = plain(value)
        except _Unwritable:
            skipped.append(name)
    return params, skipped


def _trainer(model, root_dir: str) -> tuple[dict, list[str]]:
    """The Trainer section: what ``NeuralForecaster`` gives its Trainer, plainly."""
    checkpoint = {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                  "init_args": {"dirpath": f"{root_dir}/checkpoints", "filename": "best",
                                "monitor": "val_loss", "mode": "min", "save_top_k": 1,
                                "enable_version_counter": False}}
    callbacks = [checkpoint]
    if model.early_stopping_patience is not None:
        callbacks.append({"class_path": "lightning.pytorch.callbacks.EarlyStopping",
                          "init_args": {"monitor": "val_loss", "mode": "min",
                                        "patience": int(model.early_stopping_patience)}})
    trainer = {"max_epochs": int(model.max_epochs), "accelerator": plain(model.accelerator)
               if isinstance(model.accelerator, str) else "auto",
               "devices": plain(model.devices), "logger": False, "deterministic": "warn",
               "num_sanity_val_steps": 0, "default_root_dir": root_dir}
    skipped = []
    for key, value in (model.trainer_kwargs or {}).items():
        try:
            if key != "callbacks":
                trainer[key] = plain(value)
                continue
        except _Unwritable:
            pass
        skipped.append(f"trainer_kwargs[{key!r}]")
    trainer["callbacks"] = callbacks
    return trainer, skipped


def _held_out(val_rows: int, n_rows: int, test_rows: int) -> dict:
    """``val_size`` and ``test_size`` as fractions of all ``n_rows + test_rows`` rows that
    round back to exactly ``val_rows`` and ``test_rows`` (the Lightning CLI reads a whole
    number there as a float, which the data module refuses as a fraction >= 1)."""
    total = int(n_rows) + int(test_rows)
    return {"val_size": int(val_rows) / total, "test_size": int(test_rows) / total}


def lightning_config(model, data: dict, *, val_rows: int, n_rows: int, test_rows: int = 0,
                     root_dir: str = "outputs/tune") -> tuple[dict, list[str]]:
    """The Lightning CLI config of a :class:`~spikecast.NeuralForecaster` and the names of
    settings it cannot hold (objects such as extra callbacks, ``calendar`` features).

    Args:
        model: the forecaster with the best parameters.
        data: :func:`data_reference`'s mapping.
        val_rows: validation rows at the end of the tuning data.
        n_rows: rows of the tuning data.
        test_rows: rows after the tuning data in ``data`` (its test part).
        root_dir: the run's ``trainer.default_root_dir`` (checkpoints go below it).
    """
    params, skipped = _module_params(model)
    trainer, more = _trainer(model, root_dir)
    section = {**data, "lookback": int(model.lookback), "horizon": int(model.horizon),
               "split": "ratio", **_held_out(val_rows, n_rows, test_rows),
               "batch_size": int(model.batch_size), "stride": int(model.stride),
               "missing": model.missing, "seed": int(model.random_state or 0)}
    if model.target is not None:
        section["target"] = plain(model.target)
    if model.calendar:
        skipped.append("calendar")
    config = {"seed_everything": None if model.random_state is None
              else int(model.random_state), "trainer": trainer, "model": params,
              "data": section}
    return config, skipped + more


def _model_params(model) -> tuple[dict, list[str]]:
    """A baseline's parameters that differ from its defaults (horizon aside)."""
    defaults = {name: p.default for name, p in
                inspect.signature(type(model).__init__).parameters.items()}
    params, skipped = {}, []
    for name, value in model.get_params(deep=False).items():
        if name == "horizon" or (name in defaults and _same(defaults[name], value)):
            continue
        try:
            params[name] = plain(value)
        except _Unwritable:
            skipped.append(name)
    return params, skipped


def _same(default, value) -> bool:
    try:
        return bool(default == value) and type(default) is type(value)
    except (TypeError, ValueError):
        return False


def backtest_config(model, data: dict, *, registry_name: str, label: str, start: int,
                    stride: int = 1, output_dir: str = "outputs/tune"
                    ) -> tuple[dict, list[str]]:
    """The backtest config (:mod:`spikecast.experiment.config`) of a non-neural forecaster
    and the names of parameters it cannot hold.

    Args:
        model: the forecaster with the best parameters.
        data: :func:`data_reference`'s mapping.
        registry_name: its key in :data:`spikecast.experiment.registry.MODELS`.
        label: the model's name in the results.
        start: the first cutoff (a row position).
        stride: rows between cutoffs.
        output_dir: where ``spikecast backtest`` writes.
    """
    from spikecast.data.files import is_table_path

    source = data["data"]
    dataset = {"path" if is_table_path(source) else "name": source}
    dataset.update({k: data[k] for k in (*_FILE_KEYS, "target", "columns") if k in data})
    params, skipped = _model_params(model)
    entry: dict = {"name": label, "model": registry_name}
    if params:
        entry["params"] = params
    config = {"dataset": dataset,
              "backtest": {"horizon": int(model.horizon), "start": int(start),
                           "stride": int(stride), "window": "expanding", "refit": False},
              "models": [entry], "seed": 0, "output_dir": output_dir}
    return config, skipped


def write_yaml(config: dict, path: str | os.PathLike, header: str = "") -> Path:
    """Write ``config`` as YAML (``header`` as ``#`` comment lines first), atomically."""
    path = Path(path)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    text = lines + yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    with atomic_path(path, suffix=path.suffix or ".yaml") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path

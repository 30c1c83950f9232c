"""Backtest configurations: a YAML file (or dict) checked into a :class:`BacktestSpec`.

A configuration names a dataset, the backtest settings and the models::

    dataset:
      name: co2            # a name from spikecast.data.list_datasets() (or a file path)
      columns: [co2]       # optional: the columns to load (default: all)
      target: co2          # optional: the columns to forecast (default: all loaded)
      head: 14400          # optional: keep only the first rows (of every series)
      tail: 520            # optional: then keep only the last rows (of every series)
      data_dir: null       # optional: where files are (default: $SPIKECAST_DATA_DIR, cache)
    backtest:
      horizon: 13          # every model forecasts this many steps
      start: 0.75          # first cutoff: fraction, int position or date
      stride: 13           # rows between cutoffs
      window: expanding    # or sliding (with train_length)
      refit: false         # true, false or every k cutoffs
      n_jobs: 1            # parallel fits (joblib workers)
      metrics: [mae, mse, smape, mase]
      season_length: 52    # period of MASE's seasonal-naive scale
    models:
      - {model: seasonal_naive, params: {season_length: 52}}
      - {name: ts_lif, model: neural, params: {encoder: stack, neuron: ts_lif, lookback: 52}}
    seed: 0                # random_state of models that have one and do not set it
    output_dir: outputs/backtest/co2

Instead of a registered ``name``, ``dataset`` may give the ``path`` of your own ``.csv`` or
``.parquet`` file (a ``name`` ending in ``.csv`` / ``.parquet`` is a path too), read by
:func:`spikecast.data.read_table`; a relative path is relative to the working directory::

    dataset:
      path: data/my_hourly.csv
      time_col: timestamp  # optional: the time column (default: date/ds/time/timestamp/
                           #   datetime, else the first column)
      id_col: null         # optional: the series id column of a long file (default:
                           #   unique_id when the file has it)
      freq: h              # optional: the time stamps' frequency (default: inferred)
      target: load         # optional, as above (a long file: its one value column)

``time_col``, ``id_col`` and ``freq`` apply to files only. Every mistake is a
:class:`~spikecast.experiment.registry.ConfigError` naming the file and the key; a bad data
file raises :class:`~spikecast.exceptions.DataValidationError` (or
:class:`~spikecast.exceptions.DatasetNotFoundError`) naming the data file, the column and
the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from spikecast import safe_yaml
from spikecast.backtest.params import check_backtest_params
from spikecast.devices import excess_devices, excess_jobs
from spikecast.exceptions import InvalidParameterError
from spikecast.experiment.registry import MODELS, ConfigError, build_model, model_params
from spikecast.validation import Integral, Interval, validate_params

__all__ = ["BacktestSpec", "load_spec", "spec_from_dict", "read_yaml", "DEFAULT_METRICS",
           "check_devices", "check_n_jobs", "check_output_dir"]

DEFAULT_METRICS = ("mae", "mse", "smape", "mase")
_TOP = {"dataset": True, "backtest": True, "models": True, "seed": False, "output_dir": False}
#: the keys of ``dataset``: ``name`` or ``path`` is required (checked in ``_dataset``)
_DATASET = {"name": False, "path": False, "columns": False, "target": False, "head": False,
            "tail": False,
            "data_dir": False, "time_col": False, "id_col": False, "freq": False}
_FILE_KEYS = ("time_col", "id_col", "freq")
_BACKTEST = {"horizon": True, "start": True, "stride": False, "window": False,
             "train_length": False, "refit": False, "n_jobs": False, "metrics": False,
             "season_length": False}
_MODEL = {"name": False, "model": True, "params": False}


_short = safe_yaml.short_repr  # a value quoted in a message: at most ~200 characters


def _at_least(minimum: int) -> Interval:
    return Interval(Integral, minimum, None, closed="left", desc=f"an integer >= {minimum}")


#: what the configuration's own keys may be (:mod:`spikecast.validation`), by their dotted
#: path; the backtest's settings are checked with
#: :data:`~spikecast.backtest.params.BACKTEST_CONSTRAINTS`, a model's parameters by the model
CONFIG_CONSTRAINTS: dict[str, list] = {
    "seed": [_at_least(0), None],
    "dataset.head": [_at_least(2), None],
    "dataset.tail": [_at_least(2), None],
    "backtest.horizon": [_at_least(1)],
    "backtest.season_length": [_at_least(1)],
}


def _is_long(frame) -> bool:
    """Whether ``frame`` is long data as :func:`spikecast.data.read_table` returns it."""
    return list(frame.columns) == ["unique_id", "ds", "y"]


@dataclass
class BacktestSpec:
    """A checked backtest configuration (see the module docstring for the keys)."""

    dataset: str  # the registered name, or the data file's path
    horizon: int
    start: int | float | str
    models: dict[str, tuple[str, dict]]  # label -> (registry name, constructor params)
    columns: list[str] | None = None
    target: list[str] | None = None
    head: int | None = None
    tail: int | None = None
    data_dir: str | None = None
    path: str | None = None  # the data file (read_table), else None for a registered name
    time_col: str | None = None
    id_col: str | None = None
    freq: str | None = None
    stride: int = 1
    window: str = "expanding"
    train_length: int | None = None
    refit: bool | int = False
    n_jobs: int | None = 1
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    season_length: int = 1
    seed: int | None = 0
    output_dir: str | None = None
    source: str = "<config>"

    def load_data(self):
        """The dataset as a wide DataFrame: the configured columns, the first ``head`` rows,
        then the last ``tail`` of those (a long file: a long DataFrame ``unique_id, ds, y``,
        the same rows of every series)."""
        if self.path is not None:
            return self._load_file()
        from spikecast.data import load_dataset

        frame = load_dataset(self.dataset, data_dir=self.data_dir)
        columns = self.columns or (self.target if self.target else None)
        if columns is not None:
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ConfigError(f"{self.source}: dataset.columns/target {missing} are not "
                                  f"columns of {self.dataset!r}: {list(frame.columns)}")
            frame = frame[columns]
        return self._rows(frame)

    def _load_file(self):
        from spikecast.data.files import read_table

        assert self.path is not None
        frame = read_table(self.path, time_col=self.time_col, id_col=self.id_col,
                           value_cols=self.columns or self.target, freq=self.freq)
        return self._rows(frame)

    def _rows(self, frame):
        """The first ``head`` rows, then the last ``tail`` of them (of every series)."""
        for keep, n in (("head", self.head), ("tail", self.tail)):
            if not n:
                continue
            if _is_long(frame):
                groups = frame.groupby("unique_id", sort=False)
                frame = getattr(groups, keep)(n).reset_index(drop=True)
            else:
                frame = frame.iloc[:n] if keep == "head" else frame.iloc[-n:]
        return frame

    def build_models(self, data=None) -> dict:
        """``{label: unfitted forecaster}`` with the common horizon, target and seed.

        Args:
            data: what :meth:`load_data` returned, if loaded: long data (one value column
                per series) takes no ``target``.
        """
        long = data is not None and _is_long(data)
        return {label: build_model(kind, self._params(label, kind, params, long),
                                   where=f"{self.source}: models[{label!r}]")
                for label, (kind, params) in self.models.items()}

    def _params(self, label: str, kind: str, params: dict, long: bool) -> dict:
        accepted = model_params(kind)
        params = {"horizon": self.horizon, **params}
        if self.target and "target" in accepted and not long:
            params.setdefault("target", self.target)
        elif self.target and self.columns and set(self.columns) != set(self.target):
            raise ConfigError(
                f"{self.source}: models[{label!r}]: model {kind!r} forecasts every column it "
                f"gets and cannot use covariates; drop dataset.columns or keep only the "
                f"target columns {self.target}")
        if "random_state" in accepted and self.seed is not None:
            params.setdefault("random_state", self.seed)
        if "verbose" in accepted:  # one summary table, not a progress bar per fit
            params.setdefault("verbose", False)
        return params

    def backtest_kwargs(self) -> dict:
        """Keyword arguments of :func:`spikecast.backtest.compare` (``metrics`` aside)."""
        return {"start": self.start, "stride": self.stride, "window": self.window,
                "train_length": self.train_length, "refit": self.refit, "n_jobs": self.n_jobs}


# ------------------------------------------------------------------------------ checks
def check_devices(devices, accelerator: object, key: str) -> None:
    """Refuse ``devices`` (Lightning's: a count, a list of ids, ``"auto"``, ``-1``) beyond
    what ``accelerator`` has on this machine (:func:`spikecast.devices.excess_devices`):
    64 "devices" on 2 cores start 64 processes and hold the machine.

    Raises:
        ConfigError: naming ``key``, the count asked for and the count available.
    """
    problem = excess_devices(devices, accelerator)
    if problem:
        raise ConfigError(f"{key}: {_short(devices)} {problem}")


def check_output_dir(path: str | os.PathLike, key: str) -> None:
    """Refuse an output directory that cannot be created or written: it (or its nearest
    existing parent) is a file, or is not writable.

    Raises:
        ConfigError: naming ``key`` and the path.
    """
    target = Path(path).expanduser()
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is" if existing == target else f"cannot be created: {existing} is"
        raise ConfigError(f"{key}: {_short(str(path))} {what} a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: {_short(str(path))} cannot be written: {existing} is not "
                          "writable")


def check_n_jobs(n_jobs, key: str) -> None:
    """Refuse more parallel workers ``n_jobs`` than this machine has CPU cores.

    Raises:
        ConfigError: naming ``key``.
    """
    problem = excess_jobs(n_jobs)
    if problem:
        raise ConfigError(f"{key}: {problem}")


def _section(value, keys: dict[str, bool], where: str) -> dict:
    """``value`` as a mapping with only known keys and every required key."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping with keys {list(keys)}, got "
                          f"{type(value).__name__}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {_short(unknown)}; valid keys: {list(keys)}")
    missing = [k for k, required in keys.items() if required and k not in value]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")
    return value


def _checked(value, key: str, source: str):
    """``value`` of ``key`` (a dotted path) if it meets :data:`CONFIG_CONSTRAINTS`, else a
    :class:`ConfigError` naming ``source`` (the file) and the key."""
    try:
        validate_params({key: value}, {key: CONFIG_CONSTRAINTS[key]}, where=source)
    except InvalidParameterError as err:
        raise ConfigError(str(err)) from err
    return value


def _names(value, where: str) -> list[str] | None:
    """A column name or list of names as a list (``None`` stays ``None``)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where} must be a column name or a non-empty list of names, "
                          f"got {_short(value)}")
    return list(names)


def _data_file(section: dict, where: str) -> dict:
    """The ``path``, ``time_col``, ``id_col`` and ``freq`` of a dataset read from a file
    (``path``, or a ``name`` that is a file path); a registered name gets ``path: None`` and
    none of the file keys."""
    from spikecast.data.files import TABLE_SUFFIXES, is_frequency, is_table_path

    key = "path" if "path" in section else "name"
    value = section[key]
    if key == "name" and not is_table_path(value):
        extra = [k for k in _FILE_KEYS if section.get(k) is not None]
        if extra:
            raise ConfigError(f"{where}: {extra} apply only to a data file (dataset.path), "
                              f"not to the registered dataset {_short(value)}")
        return {"path": None}
    if not isinstance(value, str) or not is_table_path(value):
        raise ConfigError(f"{where}.{key} must be the path of a {' or '.join(TABLE_SUFFIXES)}"
                          f" file, got {_short(value)}")
    if not os.path.isfile(os.path.expanduser(value)):
        raise ConfigError(f"{where}.{key}: data file {value} does not exist (relative "
                          f"paths start from the working directory, {os.getcwd()})")
    for name in _FILE_KEYS:
        if section.get(name) is not None and not isinstance(section[name], str):
            raise ConfigError(f"{where}.{name} must be a column name / frequency string, "
                              f"got {_short(section[name])}")
    if section.get("freq") is not None and not is_frequency(section["freq"]):
        raise ConfigError(f"{where}.freq: {_short(section['freq'])} is not a pandas frequency "
                          "(e.g. h, D, W-SUN, MS)")
    return {"path": value, **{name: section.get(name) for name in _FILE_KEYS}}


def _dataset(section: dict, source: str) -> dict:
    from spikecast.data import dataset_card

    where = f"{source}: dataset"
    if "name" not in section and "path" not in section:
        raise ConfigError(f"{where}: missing required key(s) ['name'] (a registered "
                          "dataset) or ['path'] (a .csv or .parquet file)")
    if "name" in section and "path" in section:
        raise ConfigError(f"{where}: give name (a registered dataset) or path (a .csv or "
                          ".parquet file), not both")
    data_file = _data_file(section, where)
    name = data_file["path"] or section["name"]
    if data_file["path"] is None:
        try:
            dataset_card(name)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}.name: {err}") from err
    return {"dataset": name, **data_file,
            "columns": _names(section.get("columns"), f"{where}.columns"),
            "target": _names(section.get("target"), f"{where}.target"),
            "head": _checked(section.get("head"), "dataset.head", source),
            "tail": _checked(section.get("tail"), "dataset.tail", source),
            "data_dir": section.get("data_dir")}


def _backtest(section: dict, source: str) -> dict:
    from spikecast.metrics import METRICS

    where = f"{source}: backtest"
    settings = {"start": section["start"], "stride": section.get("stride", 1),
                "window": section.get("window", "expanding"),
                "train_length": section.get("train_length"),
                "refit": section.get("refit", False), "n_jobs": section.get("n_jobs", 1)}
    try:  # the rules backtest() applies; its messages start with the key
        check_backtest_params(**settings)
    except InvalidParameterError as err:
        raise ConfigError(f"{where}.{err}") from err
    check_n_jobs(settings["n_jobs"], f"{where}.n_jobs")
    metrics = section.get("metrics", list(DEFAULT_METRICS))
    valid = sorted({*METRICS, "mase"})
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics:
        raise ConfigError(f"{where}.metrics must be a non-empty list of names from {valid}")
    unknown = [m for m in metrics if not isinstance(m, str) or m.lower() not in valid]
    if unknown:
        raise ConfigError(f"{where}.metrics: unknown metric(s) {_short(unknown)}; valid: {valid}")
    return {"horizon": _checked(section["horizon"], "backtest.horizon", source),
            **settings,
            "metrics": [m.lower() for m in metrics],
            "season_length": _checked(section.get("season_length", 1),
                                      "backtest.season_length", source)}


def _model_params(kind: str, params, here: str) -> dict:
    """A model entry's ``params``: a mapping without ``horizon``, asking for no more
    ``devices`` than the machine has."""
    if not isinstance(params, dict):
        raise ConfigError(f"{here}.params must be a mapping of {kind} parameters")
    if "devices" in params:
        check_devices(params["devices"], params.get("accelerator", "auto"),
                      f"{here}.params.devices")
    if "horizon" in params:
        raise ConfigError(f"{here}.params: set the horizon once, as backtest.horizon "
                          "(compare needs the same horizon for every model)")
    return params


def _models(entries, where: str) -> dict[str, tuple[str, dict]]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where} must be a non-empty list of {{model: NAME, params: "
                          f"{{...}}}} entries; valid model names: {sorted(MODELS)}")
    models: dict[str, tuple[str, dict]] = {}
    for i, entry in enumerate(entries):
        here = f"{where}[{i}]"
        entry = _section(entry, _MODEL, here)
        kind = entry["model"]
        if not isinstance(kind, str) or kind not in MODELS:
            raise ConfigError(f"{here}: unknown model {_short(kind)}; valid models: "
                              f"{sorted(MODELS)}")
        params = _model_params(kind, entry.get("params") or {}, here)
        # a neural model is labelled by its architecture and neuron unless named: "gru",
        # "spike_tcn_liaf", and the stack by its neuron alone ("ts_lif"), not "neural"
        label = entry.get("name") or (_neural_label(params) if kind == "neural" else kind)
        if not isinstance(label, str):
            raise ConfigError(f"{here}.name must be a string, got {_short(label)}")
        if label in models:
            raise ConfigError(f"{here}: two models are called {label!r}; give one a "
                              "different name")
        models[label] = (kind, dict(params))
    return models


def _neural_label(params: dict) -> str:
    from spikecast.models.module import DEFAULT_ENCODER

    encoder = params.get("encoder", DEFAULT_ENCODER)
    encoder = encoder if isinstance(encoder, str) else getattr(encoder, "__name__", "neural")
    neuron = params.get("neuron")
    if not isinstance(neuron, str):
        return encoder
    return neuron if encoder == "stack" else f"{encoder}_{neuron}"


def spec_from_dict(config: dict, source: str = "<config>") -> BacktestSpec:
    """Check a configuration mapping and return its :class:`BacktestSpec`.

    Every model is built once here, so unknown parameters and encoders are reported before
    any data is loaded or model trained.

    Raises:
        ConfigError: the first problem found, naming ``source`` and the key.
    """
    config = _section(config, _TOP, source)
    seed = _checked(config.get("seed", 0), "seed", source)
    output_dir = config.get("output_dir")
    if output_dir is not None and not isinstance(output_dir, str):
        raise ConfigError(f"{source}: output_dir must be a path, got {_short(output_dir)}")
    spec = BacktestSpec(
        **_dataset(_section(config["dataset"], _DATASET, f"{source}: dataset"), source),
        **_backtest(_section(config["backtest"], _BACKTEST, f"{source}: backtest"), source),
        models=_models(config["models"], f"{source}: models"),
        seed=seed, output_dir=output_dir, source=source,
    )
    spec.build_models()
    return spec


def read_yaml(path: str | os.PathLike):
    """The YAML document at ``path``, read with :mod:`spikecast.safe_yaml` (no aliases, at
    most ``MAX_BYTES`` bytes, bounded nesting).

    Raises:
        ConfigError: the file does not exist, is not a regular file, is too large, or is not
            valid YAML (with the line and column).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a regular file")
    try:
        return safe_yaml.load_file(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read: {err}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}") from err


def load_spec(path: str | os.PathLike) -> BacktestSpec:
    """Read and check the YAML configuration at ``path``.

    Raises:
        ConfigError: missing file, invalid YAML or an invalid configuration.
    """
    config = read_yaml(path)
    if config is None:
        raise ConfigError(f"{path} is empty; it needs the keys {list(_TOP)}")
    return spec_from_dict(config, source=str(path))

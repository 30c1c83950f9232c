"""Sliding windows over series as a LightningDataModule.

Windows are built lazily by index: the data module keeps each series once (as a float32
tensor) and, per split, only the start positions of its windows. Memory grows with the
series length, never with ``length x lookback``.

Rows of every series are split chronologically into train / validation / test parts. A
window belongs to a part when all its *target* rows lie in that part; its input rows may
reach back into the previous part (as in the P1 / P2 protocols, where validation and test
windows start ``lookback`` rows before their border). Scaling statistics come from the
training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from spikecast.data.files import is_frequency, is_table_path, read_table
from spikecast.data.frames import Panel, to_panel
from spikecast.data.scaling import StandardScaler
from spikecast.exceptions import DataValidationError
from spikecast.validation import Check, Interval, Options, validate_params

__all__ = ["WindowDataset", "WindowDataModule", "RowSplit", "count_windows", "StandardScaler",
           "held_out_rows", "min_training_rows", "last_windows", "spread_windows",
           "unscale_forecasts"]


def count_windows(length: int, lookback: int, horizon: int, stride: int = 1) -> int:
    """Number of full windows (``lookback`` inputs then ``horizon`` targets) in ``length`` rows."""
    span = lookback + horizon
    return 0 if length < span else (length - span) // stride + 1


@dataclass(frozen=True)
class RowSplit:
    """Row borders of one series: targets of train in ``[0, train_end)``, validation in
    ``[train_end, val_end)``, test in ``[val_end, test_end)``."""

    train_end: int
    val_end: int
    test_end: int


class EpochShuffleSampler(Sampler[int]):
    """A random order of ``n`` windows that depends only on ``seed`` and the epoch.

    Lightning calls :meth:`set_epoch` before every epoch, so a run resumed from a checkpoint
    sees exactly the batches an uninterrupted run would have seen (a sampler drawing from the
    global RNG would not).
    """

    def __init__(self, n: int, seed: int = 0):
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())


class WindowDataset(Dataset):
    """Windows ``(x [lookback, C], y [horizon, n_targets])`` over a list of series, or
    ``(x, x_future [horizon, F], y)`` with known-future covariates.

    Args:
        series: one float tensor ``[T_i, C]`` per series (already scaled).
        starts: ``[N, 2]`` int64 tensor of ``(series number, first input row)``.
        lookback: input length.
        horizon: target length.
        target_positions: the columns forecast (targets), in order.
        future_positions: the known-future covariate columns, whose values over the horizon
            come with every window (none by default).
    """

    def __init__(self, series: list[torch.Tensor], starts: torch.Tensor, lookback: int,
                 horizon: int, target_positions: list[int],
                 future_positions: list[int] | None = None):
        self.series = series
        self.starts = starts
        self.lookback = lookback
        self.horizon = horizon
        self.target_positions = torch.as_tensor(target_positions, dtype=torch.long)
        self.future_positions = (torch.as_tensor(future_positions, dtype=torch.long)
                                 if future_positions else None)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int):
        sid, start = (int(v) for v in self.starts[i])
        data = self.series[sid]
        x = data[start:start + self.lookback]
        ahead = data[start + self.lookback:start + self.lookback + self.horizon]
        y = ahead.index_select(1, self.target_positions)
        if self.future_positions is None:
            return x, y
        return x, ahead.index_select(1, self.future_positions), y


def _is_fraction(size) -> bool:
    """A real number that is no integer (``float``, ``np.float32``, ...)."""
    return isinstance(size, Real) and not isinstance(size, (Integral, bool, np.bool_))


def _held_out(what: str) -> Check:
    """The constraint of ``val_size`` / ``test_size``: a fraction in [0, 1) or a row count
    (an integer >= 0); a number outside those ranges gets its own message."""
    def check(size) -> bool:
        if _is_fraction(size):
            if not 0.0 <= size < 1.0:
                raise ValueError(f"{what}={size} must be a fraction in [0, 1)")
            return True
        if isinstance(size, Integral) and not isinstance(size, (bool, np.bool_)):
            if size < 0:
                raise ValueError(f"{what}={size} must not be negative")
            return True
        return False

    return Check(check, "a fraction in [0, 1) or a row count")


#: what the rows a ``"ratio"`` split holds out may be (:func:`held_out_rows`)
HELD_OUT_CONSTRAINTS: dict[str, list] = {
    "val_size": [_held_out("val_size")],
    "test_size": [_held_out("test_size")],
}


def held_out_rows(size, n: int, what: str = "val_size") -> int:
    """``size`` as a number of rows of an ``n``-row series: a fraction (rounded to the
    nearest row) or a count. The one rule for the rows a ``"ratio"`` split holds out (the
    ``"p1"`` / ``"p2"`` splits instead truncate, ``int(n * ratio)``, as the protocols'
    reference code does: :func:`spikecast.data.splits.ratio_borders`).

    Raises:
        spikecast.exceptions.InvalidParameterError: ``size`` (called ``what`` in the
            message) is neither a fraction in [0, 1) nor a row count.
    """
    constraints = HELD_OUT_CONSTRAINTS.get(what) or [_held_out(what)]
    validate_params({what: size}, {what: constraints})
    if _is_fraction(size):
        return int(round(n * size))
    return int(size)


def min_training_rows(lookback: int, horizon: int, val_size=0, test_size=0) -> int:
    """The fewest rows a series needs for one training window (``lookback + horizon``
    rows) once ``val_size`` and ``test_size`` rows (:func:`held_out_rows`) are held out."""
    need = int(lookback) + int(horizon)
    n = need
    while n - held_out_rows(val_size, n) - held_out_rows(test_size, n, "test_size") < need:
        n += 1
    return n


def last_windows(panel: Panel, lookback: int, scaler: StandardScaler) -> torch.Tensor:
    """The last ``lookback`` rows of every series, scaled: ``[n_series, lookback, C]``.

    Raises:
        DataValidationError: a series is shorter than ``lookback`` (named in the message).
    """
    block = scaler.transform_columns(np.stack(panel.last_rows(lookback).values))
    return torch.as_tensor(np.ascontiguousarray(block), dtype=torch.float32)


def spread_windows(panel: Panel, lookback: int, scaler: StandardScaler,
                   max_windows: int, what: str = "spread_windows") -> torch.Tensor:
    """Up to ``max_windows`` input windows spread evenly over all series, scaled:
    ``[N, lookback, C]`` (e.g. to measure what a model costs on typical inputs); ``what``
    names the caller in the error for series that are too short."""
    starts = [(i, s) for i, v in enumerate(panel.values) for s in range(len(v) - lookback + 1)]
    if not starts:
        raise DataValidationError(f"{what} needs series of at least lookback={lookback} rows")
    pick = np.linspace(0, len(starts) - 1, min(max_windows, len(starts))).round()
    block = np.stack([panel.values[i][s:s + lookback] for i, s in
                      (starts[int(k)] for k in pick)])
    return torch.as_tensor(np.ascontiguousarray(scaler.transform_columns(block)),
                           dtype=torch.float32)


def unscale_forecasts(out, scaler: StandardScaler, target_positions: list[int]) -> np.ndarray:
    """Model outputs ``[N, H, n_targets]`` (or ``[N, H, n_targets, Q]`` quantiles) in the
    targets' original units: the one inverse of the window scaling, shared by
    ``NeuralForecaster.predict`` and ``spikecast predict``."""
    out = out.detach().double().cpu().numpy() if isinstance(out, torch.Tensor) else out
    if out.ndim == 4:  # quantiles: every quantile column is scaled like its target
        return np.stack([scaler.inverse_transform_columns(out[..., q], target_positions)
                         for q in range(out.shape[-1])], axis=-1)
    return scaler.inverse_transform_columns(out, target_positions)


_POSITIVE_INT = Interval(Integral, 1, None, closed="left")


class WindowDataModule(pl.LightningDataModule):
    """Train / validation / test / predict windows over one or many series.

    Args:
        data: the series: a wide DataFrame, Series, array, long DataFrame (unique_id, ds, y),
            a :class:`~spikecast.data.frames.Panel`, a dataset name for
            :func:`spikecast.data.load_dataset`, or the path of a ``.csv`` or ``.parquet``
            file (read by :func:`spikecast.data.read_table`: wide, a time column and one
            column per variable, or long, an id column, a time column and one value column).
        lookback: input window length ``L``.
        horizon: forecast length ``H``.
        target: the columns to forecast (default: all); the others are past covariates.
        split: ``"ratio"`` (``val_size`` / ``test_size`` rows at the end of every series),
            ``"p1"`` (the deep-forecasting borders of docs/protocols.md) or ``"p2"`` (0.6 / 0.2
            / 0.2 of docs/protocols.md).
        val_size: validation rows per series, a fraction or a count (``split="ratio"``).
        test_size: test rows per series, a fraction or a count (``split="ratio"``).
        batch_size: windows per batch.
        stride: step between training window starts (validation and test use stride 1).
        scale: standardise every column with statistics of the training rows.
        shuffle: shuffle training windows (a new order every epoch, from ``seed``).
        seed: seed of the shuffling order.
        num_workers: DataLoader workers.
        data_dir: where datasets are looked up when ``data`` is a name.
        missing: missing-value policy for :func:`~spikecast.data.frames.to_panel`.
        time_col: the time column of a data file (default: the first column named ``date``,
            ``ds``, ``time``, ``timestamp`` or ``datetime``, else the first column).
        id_col: the series id column of a long data file (default: ``unique_id`` when the
            file has it; without one the file is wide).
        freq: the frequency of a data file's time stamps, a pandas alias such as ``"h"`` or
            ``"D"`` (default: inferred); given, every time stamp must be on its grid.
            Forecast time stamps (``spikecast predict``) need a regular frequency.

        future: the known-future covariate columns (calendar features, planned values):
            non-target columns whose values over the horizon come with every window,
            ``(x, x_future, y)`` (default: none).
        future_data: the known-future covariates' values after the end of the data, to
            forecast beyond it (``spikecast predict``): a ``.csv`` / ``.parquet`` path read
            like ``data`` (same ``time_col`` and ``freq``), or a DataFrame; it must hold the
            ``future`` columns for at least ``horizon`` time stamps right after the data's
            last one (earlier rows are ignored). Wide data only.

    ``time_col``, ``id_col`` and ``freq`` apply only when ``data`` is a file path (the
    command line: ``--data.data my.csv --data.time_col when --data.freq h``).
    """

    #: what the options checked on construction may be (:mod:`spikecast.validation`);
    #: ``val_size`` and ``test_size`` are checked with the data (:func:`held_out_rows`)
    _parameter_constraints: dict[str, list] = {
        "lookback": [_POSITIVE_INT],
        "horizon": [_POSITIVE_INT],
        "batch_size": [_POSITIVE_INT],
        "stride": [_POSITIVE_INT],
        "split": [Options("ratio", "p1", "p2")],
        "time_col": [str, None],
        "id_col": [str, None],
        "freq": [Check(is_frequency, "a pandas frequency such as 'h', 'D' or 'W-SUN'"),
                 None],
    }

    def __init__(self, data=None, *, lookback: int = 96, horizon: int = 24,
                 target: list[str] | str | None = None, split: str = "ratio",
                 val_size: float | int = 0.2, test_size: float | int = 0.0,
                 batch_size: int = 32, stride: int = 1, scale: bool = True,
                 shuffle: bool = True, seed: int = 0, num_workers: int = 0,
                 data_dir: str | None = None, missing: str = "raise",
                 time_col: str | None = None, id_col: str | None = None,
                 freq: str | None = None, future: list[str] | str | None = None,
                 future_data=None):
        super().__init__()
        validate_params({"lookback": lookback, "horizon": horizon, "batch_size": batch_size,
                         "stride": stride, "split": split, "time_col": time_col,
                         "id_col": id_col, "freq": freq}, self._parameter_constraints)
        self.data = data
        self.lookback = int(lookback)
        self.horizon = int(horizon)
        self.target = target
        self.split = split
        self.val_size = val_size
        self.test_size = test_size
        self.batch_size = int(batch_size)
        self.stride = int(stride)
        self.scale = scale
        self.shuffle = shuffle
        self.seed = seed
        self.num_workers = num_workers
        self.data_dir = data_dir
        self.missing = missing
        self.time_col = time_col
        self.id_col = id_col
        self.freq = freq
        self.future = future
        self.future_data = future_data
        self._panel: Panel | None = None
        self._prepared = False

    # ---------------------------------------------------------------- the data itself
    @property
    def panel(self) -> Panel:
        """The validated series (loaded on first access)."""
        if self._panel is None:
            data = self.data
            if is_table_path(data):
                data = read_table(data, time_col=self.time_col, id_col=self.id_col,
                                  freq=self.freq)
            elif isinstance(data, str):
                from spikecast.data.datasets import load_dataset

                # downloads happen in prepare_data (one process under DDP), not here
                data = load_dataset(data, data_dir=self.data_dir, download=False)
            self._panel = to_panel(data, missing=self.missing, what="data")
        return self._panel

    @property
    def target_columns(self) -> list[str]:
        """Names of the forecast columns (:meth:`Panel.resolve_targets` of ``target``)."""
        return self.panel.resolve_targets(self.target)

    @property
    def target_positions(self) -> list[int]:
        """Positions of the target columns among all columns."""
        return [self.panel.columns.index(t) for t in self.target_columns]

    @property
    def future_positions(self) -> list[int]:
        """Positions of the known-future covariate columns among all columns."""
        if self.future is None:
            return []
        names = self.panel.resolve_targets(self.future)
        clash = [c for c in names if c in self.target_columns]
        if clash:
            raise DataValidationError(
                f"future covariate column(s) {clash} are also forecast targets; a column is "
                "either a target or a known-future covariate")
        return [self.panel.columns.index(c) for c in names]

    @property
    def num_channels(self) -> int:
        """Number of input columns (targets and covariates)."""
        return self.panel.n_columns

    @property
    def num_targets(self) -> int:
        """Number of forecast columns."""
        return len(self.target_columns)

    def row_splits(self) -> list[RowSplit]:
        """The chronological row borders of every series."""
        splits = []
        for uid, values in zip(self.panel.ids, self.panel.values):
            n = len(values)
            if self.split in ("p1", "p2"):
                from spikecast.data import splits as protocols

                borders = getattr(protocols, f"{self.split}_borders")
                b = borders(n, self.lookback, dataset=self._dataset_name(),
                            horizon=self.horizon)
                splits.append(RowSplit(b.train.stop, b.val.stop, b.test.stop))
                continue
            n_val = held_out_rows(self.val_size, n, "val_size")
            n_test = held_out_rows(self.test_size, n, "test_size")
            train_end = n - n_val - n_test
            if count_windows(train_end, self.lookback, self.horizon) < 1:
                where = f"series {uid!r}" if uid is not None else "the data"
                raise DataValidationError(
                    f"{where} has {n} rows; with lookback={self.lookback}, "
                    f"horizon={self.horizon} and {n_val + n_test} rows held out for "
                    f"validation/test, at least {self.lookback + self.horizon + n_val + n_test}"
                    " rows are needed for one training window"
                )
            splits.append(RowSplit(train_end, train_end + n_val, n))
        return splits

    def _dataset_name(self) -> str | None:
        return self.data if isinstance(self.data, str) else None

    # ---------------------------------------------------------------- Lightning hooks
    def prepare_data(self) -> None:
        """Download the dataset's file if ``data`` names a dataset whose file is missing
        (Lightning calls this in one process per node, before :meth:`setup`)."""
        data = self.data
        if not isinstance(data, str) or is_table_path(data):
            return
        from spikecast.data.datasets import dataset_card
        from spikecast.data.download import download_dataset

        if dataset_card(data)["source"] == "url":
            download_dataset(data, self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        """Fit the scaler on training rows and index the windows of every part."""
        if self._prepared:
            return
        panel, splits = self.panel, self.row_splits()
        if self.scale:
            self.scaler = StandardScaler().fit(
                np.concatenate([v[: s.train_end] for v, s in zip(panel.values, splits)])
            )
        else:
            self.scaler = StandardScaler.identity(panel.n_columns)
        self.series = [
            torch.as_tensor(self.scaler.transform_columns(v), dtype=torch.float32)
            for v in panel.values
        ]
        span = self.lookback + self.horizon
        parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
        for sid, s in enumerate(splits):
            bounds = {"train": (0, s.train_end), "val": (s.train_end, s.val_end),
                      "test": (s.val_end, s.test_end)}
            for part, (first_target, end) in bounds.items():
                lo = max(0, first_target - self.lookback)
                stride = self.stride if part == "train" else 1
                starts = np.arange(lo, end - span + 1, stride, dtype=np.int64)
                if len(starts):
                    parts[part].append(np.stack([np.full_like(starts, sid), starts], axis=1))
        self.windows = {
            part: torch.as_tensor(np.concatenate(chunks) if chunks else
                                  np.zeros((0, 2), dtype=np.int64))
            for part, chunks in parts.items()
        }
        self._prepared = True

    def _dataset(self, part: str) -> WindowDataset:
        self.setup()
        return WindowDataset(self.series, self.windows[part], self.lookback, self.horizon,
                             self.target_positions, self.future_positions)

    def num_windows(self, part: str) -> int:
        """Number of windows in ``"train"``, ``"val"`` or ``"test"``."""
        self.setup()
        return len(self.windows[part])

    def train_dataloader(self) -> DataLoader:
        """Shuffled training windows."""
        dataset = self._dataset("train")
        sampler = EpochShuffleSampler(len(dataset), self.seed) if self.shuffle else None
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler,
                          num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader | list:
        """Validation windows in order (an empty list when there are none)."""
        if self.num_windows("val") == 0:
            return []
        return DataLoader(self._dataset("val"), batch_size=self.batch_size,
                          num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        """Test windows in order, the last partial batch kept."""
        return DataLoader(self._dataset("test"), batch_size=self.batch_size,
                          num_workers=self.num_workers)

    def unscale(self, out) -> np.ndarray:
        """Forecasts of the model on :meth:`predict_dataloader` in original units
        (:func:`unscale_forecasts` with this module's scaler and targets)."""
        self.setup()
        return unscale_forecasts(out, self.scaler, self.target_positions)

    def predict_dataloader(self) -> DataLoader:
        """The last ``lookback`` rows of every series, to forecast beyond its end."""
        self.setup()
        windows = last_windows(self.panel, self.lookback, self.scaler)
        if not self.future_positions:
            return DataLoader(TensorDataset(windows), batch_size=self.batch_size)
        return DataLoader(TensorDataset(windows, self._future_after_end()),
                          batch_size=self.batch_size)

    def _future_after_end(self) -> torch.Tensor:
        """The known-future covariates over the horizon after the data's end, scaled:
        ``[1, horizon, F]`` (from ``future_data``)."""
        from spikecast.covariates import split_future

        if self.future_data is None:
            raise DataValidationError(
                f"forecasting beyond the end of the data with known-future covariates "
                f"{self.panel.resolve_targets(self.future)} needs their values after the "
                "end: pass future_data (on the command line --data.future_data FILE)")
        frame = self.future_data
        if is_table_path(frame):
            frame = read_table(frame, time_col=self.time_col, freq=self.freq)
        columns = [self.panel.columns[p] for p in self.future_positions]
        if isinstance(frame, pd.DataFrame):
            absent = [c for c in columns if c not in frame.columns]
            if absent:
                raise DataValidationError(
                    f"future_data has no column(s) {absent}; its columns: "
                    f"{list(frame.columns)}")
            frame = frame[columns]
        _, block = split_future(frame, columns, self.panel, self.horizon, self.horizon,
                                self.missing)
        scaled = self.scaler.transform_columns(block, self.future_positions)
        return torch.as_tensor(scaled, dtype=torch.float32)[None]

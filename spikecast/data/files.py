"""Series from the user's own files: :func:`read_table` reads a CSV or parquet file.

The one reader behind every command that takes a dataset (``spikecast fit | test |
predict`` through ``WindowDataModule(data=PATH)``, ``spikecast backtest`` through
``dataset: {path: ...}``). A file holds one of two layouts:

- **wide**: a time column and one column per variable (``timestamp, load, temp``);
- **long**: an id column (``unique_id`` unless ``id_col`` says otherwise), a time column and
  one value column, many series stacked (``unique_id, ds, y``).

The time column is ``time_col``, else the first column named ``date``, ``ds``, ``time``,
``timestamp`` or ``datetime`` (any case), else the first column (after the id column). It
holds dates (parsed with :func:`pandas.to_datetime`) or integers (a step index). The
frequency is ``freq`` when given (the time stamps must follow it), else the one pandas
infers; irregular data loads, and only forecasting beyond its end then fails, with the
message of :func:`spikecast.data.frames.future_index`.

Nothing in a file is evaluated: CSV goes through pandas' C parser, parquet through pyarrow
or fastparquet (whichever is installed). Nothing is cut short either: a large file is read
whole, and sizes appear only in error messages.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from spikecast.exceptions import DatasetNotFoundError, DataValidationError

__all__ = ["read_table", "is_table_path", "is_frequency", "TABLE_SUFFIXES", "TIME_COLUMNS",
           "DEFAULT_ID_COLUMN"]

#: file suffixes :func:`read_table` reads (case-insensitive)
TABLE_SUFFIXES = (".csv", ".parquet")
#: column names taken as the time column when ``time_col`` is not given (any case)
TIME_COLUMNS = ("date", "ds", "time", "timestamp", "datetime")
#: the id column of a long file when ``id_col`` is not given
DEFAULT_ID_COLUMN = "unique_id"


def is_table_path(value) -> bool:
    """Whether ``value`` names a file :func:`read_table` reads (a ``.csv`` or ``.parquet``
    path) rather than a registered dataset."""
    if not isinstance(value, (str, os.PathLike)):
        return False
    return Path(os.fspath(value)).suffix.lower() in TABLE_SUFFIXES


def is_frequency(value) -> bool:
    """Whether ``value`` is a pandas frequency string (``"h"``, ``"D"``, ``"W-SUN"``...)."""
    if not isinstance(value, str):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated aliases ("H") still parse
            pd.tseries.frequencies.to_offset(value)
    except ValueError:
        return False
    return True


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _bad(path: Path, message: str) -> DataValidationError:
    return DataValidationError(f"data file {path}: {message}")


def _parquet_engine(path: Path) -> str:
    for engine in ("pyarrow", "fastparquet"):
        if importlib.util.find_spec(engine) is not None:
            return engine
    raise _bad(path, "reading parquet files needs pyarrow or fastparquet, and neither is "
                     "installed; install one (pip install pyarrow) or save the data as CSV")


def _read_raw(path: Path) -> pd.DataFrame:
    """The file as a DataFrame of its columns (no index), every cell as pandas parsed it."""
    if path.suffix.lower() == ".parquet":
        engine = _parquet_engine(path)
        try:
            frame = pd.read_parquet(path, engine=engine)
        except (OSError, ValueError, TypeError) as err:
            raise _bad(path, f"cannot be read as parquet ({_size(path)}): {err}") from None
        if not isinstance(frame.index, pd.RangeIndex):  # a stored index is a column here
            frame = frame.reset_index()
    else:
        try:
            frame = pd.read_csv(path, low_memory=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError,
                ValueError) as err:
            raise _bad(path, f"cannot be read as CSV ({_size(path)}): "
                             f"{' '.join(str(err).split())}") from None
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[1] == 0 or len(frame) == 0:
        raise _bad(path, f"no data rows ({_size(path)}, columns {list(frame.columns)})")
    if len(set(frame.columns)) < frame.shape[1]:
        raise _bad(path, f"duplicate column names {list(frame.columns)}")
    return frame


def _pick_column(path: Path, columns: list[str], name: str | None, what: str) -> str:
    if name not in columns:
        raise _bad(path, f"{what} column {name!r} is missing; the file has columns {columns}")
    return str(name)


def _time_column(path: Path, columns: list[str], candidates: list[str],
                 time_col: str | None) -> str:
    if time_col is not None:
        return _pick_column(path, columns, time_col, "time")
    for column in candidates:
        if column.lower() in TIME_COLUMNS:
            return column
    if not candidates:
        raise _bad(path, "has no column besides the id column to use as the time column")
    return candidates[0]


def _line(pos: int) -> str:
    return f"line {pos + 2} (data row {pos})"


def _time_index(path: Path, raw: pd.Series, column: str) -> pd.Index:
    """The time column as a ``DatetimeIndex`` (dates) or an integer ``Index``."""
    missing = raw.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise _bad(path, f"column {column!r}, {_line(pos)}: missing time stamp "
                         f"({int(missing.sum())} in this column)")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return pd.DatetimeIndex(raw, name=column)
    if pd.api.types.is_integer_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return pd.Index(raw.to_numpy(dtype=np.int64), name=column)
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        raise _bad(path, f"time column {column!r} holds {raw.dtype} values (first "
                         f"{raw.iloc[0]!r}), neither dates nor integers; name the time column "
                         "with time_col")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format" chatter
        try:
            dates = pd.to_datetime(raw, errors="coerce")
        except (ValueError, TypeError):  # mixed UTC offsets: pandas refuses to pick a zone
            raise _bad(path, f"time column {column!r} mixes time zones / UTC offsets (first "
                             f"{raw.iloc[0]!r}); write every time stamp in one zone (e.g. "
                             "UTC)") from None
    bad = dates.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise _bad(path, f"time column {column!r}, {_line(pos)}: unparseable date "
                         f"{raw.iloc[pos]!r} ({int(bad.sum())} in this column)")
    return pd.DatetimeIndex(dates, name=column)


def _numeric(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Every value column as numbers: a cell that is no number is an error naming the column
    and the line (empty cells stay NaN, for the ``missing=`` policy downstream)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values.dtype):
            raise _bad(path, f"column {column!r} holds true/false values, not numbers")
        if not pd.api.types.is_numeric_dtype(values.dtype):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = (numeric.isna() & values.notna()).to_numpy()
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                raise _bad(path, f"column {column!r}, {_line(pos)}: non-numeric value "
                                 f"{values.iloc[pos]!r} ({int(bad.sum())} in this column)")
            values = numeric
        out[column] = values.astype("float64").to_numpy()
    return pd.DataFrame(out, index=frame.index, columns=list(frame.columns))


def _offset(path: Path, freq: str):
    if not is_frequency(freq):
        raise _bad(path, f"freq={freq!r} is not a pandas frequency (e.g. 'h', 'D', 'W-SUN', "
                         "'MS')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.tseries.frequencies.to_offset(freq)


def _with_freq(path: Path, index: pd.Index, freq: str | None, where: str) -> pd.Index:
    """``index`` with its frequency set: ``freq`` (checked against the time stamps) or the
    one pandas infers; an irregular index is returned as it is."""
    if not isinstance(index, pd.DatetimeIndex):
        if freq is not None:
            raise _bad(path, f"freq={freq!r} needs dates, but the time column {index.name!r} "
                             "holds integers")
        return index
    if freq is None:
        if len(index) < 3:
            return index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inferred = index.inferred_freq
        return index if inferred is None else pd.DatetimeIndex(index, freq=inferred)
    offset = _offset(path, freq)
    grid = pd.date_range(index[0], periods=len(index), freq=offset, unit=index.unit)
    off = np.flatnonzero(grid.asi8 != index.asi8)
    if len(off):
        pos = int(off[0])
        raise _bad(path, f"{where}time column {index.name!r}, data row {pos}: time stamp "
                         f"{index[pos]} breaks the freq={freq!r} grid (expected {grid[pos]})")
    return pd.DatetimeIndex(index, freq=offset)


def _value_columns(path: Path, columns: list[str], candidates: list[str],
                   value_cols) -> list[str]:
    if value_cols is None:
        return candidates
    names = [value_cols] if isinstance(value_cols, str) else [str(c) for c in value_cols]
    missing = [c for c in names if c not in columns]
    if missing:
        raise _bad(path, f"value column(s) {missing} are missing; the file has columns "
                         f"{columns}")
    taken = [c for c in names if c not in candidates]
    if taken:
        raise _bad(path, f"column(s) {taken} are the time or id column, not values")
    return names


def _wide(path: Path, raw: pd.DataFrame, time: str, values: list[str],
          freq: str | None) -> pd.DataFrame:
    if not values:
        raise _bad(path, f"has no value column besides the time column {time!r}")
    frame = _numeric(path, raw[values])
    frame.index = _with_freq(path, _time_index(path, raw[time], time), freq, "")
    return frame


def _long(path: Path, raw: pd.DataFrame, id_col: str, time: str, values: list[str],
          freq: str | None) -> pd.DataFrame:
    if len(values) != 1:
        raise _bad(path, f"a long file (id column {id_col!r}) takes one value column "
                         f"besides {id_col!r} and {time!r}, found {values}; choose one with "
                         "value_cols (dataset.target in a backtest config) or drop the others")
    index = _time_index(path, raw[time], time)
    frame = pd.DataFrame({"unique_id": raw[id_col].to_numpy(), "ds": index,
                          "y": _numeric(path, raw[values])[values[0]].to_numpy()})
    if freq is not None and isinstance(index, pd.DatetimeIndex):
        for uid, group in frame.groupby("unique_id", sort=False):
            _with_freq(path, pd.DatetimeIndex(group["ds"], name=time), freq,
                       f"series {uid!r}: ")
    elif freq is not None:
        _with_freq(path, index, freq, "")  # raises: freq needs dates
    return frame


def read_table(path: str | os.PathLike, *, time_col: str | None = None,
               id_col: str | None = None, value_cols: list[str] | str | None = None,
               freq: str | None = None) -> pd.DataFrame:
    """Read the series of a CSV or parquet file (by suffix) for spikecast.

    Args:
        path: a ``.csv`` or ``.parquet`` file.
        time_col: the time column (default: the first column named ``date``, ``ds``,
            ``time``, ``timestamp`` or ``datetime``, any case, else the first column).
        id_col: the series id column of a long file (default: ``unique_id`` when the file
            has it; a file without an id column is wide).
        value_cols: the value columns to keep (default: all others); a long file takes one.
        freq: the frequency of the time stamps (a pandas alias such as ``"h"``); default:
            inferred. Given, every time stamp must be on its grid.

    Returns:
        A wide DataFrame indexed by the time column (a ``DatetimeIndex`` with its ``freq``
        set when regular, or an integer index), one ``float64`` column per value column; or,
        for a long file, a long DataFrame ``unique_id, ds, y``. Empty cells are NaN (the
        ``missing=`` policy of :func:`~spikecast.data.frames.to_panel` deals with them).

    Raises:
        DatasetNotFoundError: the file does not exist (or is not a regular file).
        DataValidationError: an unknown suffix, an unreadable file, a missing column (the
            message lists the file's columns), an unparseable date or a non-numeric value
            (the message names the column and the line), time stamps off ``freq``, or a
            parquet file without pyarrow / fastparquet installed. Every message names the
            file.
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "does not exist"
        raise DatasetNotFoundError(f"data file {path} {what}")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise _bad(path, f"unknown file type {path.suffix!r}; spikecast reads "
                         f"{' and '.join(TABLE_SUFFIXES)} files")
    raw = _read_raw(path)
    columns = list(raw.columns)
    if id_col is not None:
        _pick_column(path, columns, id_col, "id")
    elif DEFAULT_ID_COLUMN in columns:
        id_col = DEFAULT_ID_COLUMN
    rest = [c for c in columns if c != id_col]
    time = _time_column(path, columns, rest, time_col)
    if time == id_col:
        raise _bad(path, f"column {time!r} cannot be both the id and the time column")
    values = _value_columns(path, columns, [c for c in rest if c != time], value_cols)
    if id_col is None:
        return _wide(path, raw, time, values, freq)
    return _long(path, raw, id_col, time, values, freq)

"""Conversion between the input forms users pass and spikecast's internal panel.

Every forecaster accepts the same forms and returns forecasts in the form it was given:

- a wide ``DataFrame`` (``DatetimeIndex`` or integer index, one column per variable),
- a ``Series`` (one variable),
- a 2-D ``numpy`` array (rows are time steps, columns variables),
- a long ``DataFrame`` with columns ``unique_id``, ``ds``, ``y`` holding many series.

Internally a :class:`Panel` holds one ``[T_i, C]`` float array per series plus what is needed
to put forecasts back into the user's form (ids, time indexes, column names). Validation lives
here too, so every model rejects bad data with the same clear messages
(:class:`~spikecast.exceptions.DataValidationError` naming the column, row or series):
NaN (unless ``missing=`` fills it) or infinite values, non-numeric / boolean / complex
columns, an empty frame, duplicate column names, a time index that is not datetime or
integer, has duplicates, NaT, mixed time zones or is not sorted, a long frame with other
columns or missing ``unique_id``.

Time index and frequency: the index must be increasing, but it need not be regular. Fitting
and backtesting only need the order of the rows. A forecast needs the time stamps of the
``horizon`` steps after the end, so :func:`future_index` needs a frequency: the index's
``freq``, else one pandas infers, else the step when all steps are equal (also for two rows,
or steps pandas has no name for). An irregular index has none, and ``predict`` raises a
``DataValidationError`` naming the first step that breaks the grid and how to resample
(``y.asfreq('h')`` with ``missing='interpolate'``, or an integer index).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spikecast.exceptions import DataValidationError

__all__ = [
    "Panel",
    "to_panel",
    "future_index",
    "forecasts_to_output",
    "format_forecasts",
    "MISSING_POLICIES",
    "LONG_COLUMNS",
]

LONG_COLUMNS = ("unique_id", "ds", "y")
MISSING_POLICIES = ("raise", "interpolate", "ffill")


@dataclass
class Panel:
    """One or more aligned multivariate series in a model-ready form.

    Attributes:
        values: one float64 array ``[T_i, C]`` per series.
        indexes: the time index of each series (``DatetimeIndex`` or integer ``Index``).
        ids: the series ids (``unique_id`` values for long input, ``[None]`` otherwise).
        columns: the ``C`` variable names shared by all series.
        kind: the input form, ``"wide"``, ``"series"``, ``"numpy"`` or ``"long"``; forecasts
            are returned in the same form.
        name: the ``Series`` name for ``kind == "series"``.
    """

    values: list[np.ndarray]
    indexes: list[pd.Index]
    ids: list
    columns: list[str]
    kind: str
    name: object = None
    freqs: list = field(default_factory=list)

    @property
    def n_series(self) -> int:
        """Number of series in the panel."""
        return len(self.values)

    @property
    def n_columns(self) -> int:
        """Number of variables (columns) per series."""
        return len(self.columns)

    def lengths(self) -> list[int]:
        """Length of every series."""
        return [len(v) for v in self.values]

    def select(self, columns: list[str]) -> Panel:
        """A panel with only ``columns`` (in that order)."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise DataValidationError(
                f"column(s) {missing} not in the data; available columns: {self.columns}"
            )
        pos = [self.columns.index(c) for c in columns]
        return Panel(
            values=[v[:, pos] for v in self.values],
            indexes=self.indexes,
            ids=self.ids,
            columns=list(columns),
            kind=self.kind,
            name=self.name,
            freqs=self.freqs,
        )

    def resolve_targets(self, target, default: list[str] | None = None) -> list[str]:
        """The names of the columns ``target`` selects (a name, a position-like label, or a
        list of them); ``None`` selects ``default`` (all columns when not given).

        Raises:
            DataValidationError: a name that is not a column, a repeated name, or an empty
                selection.
        """
        if target is None:
            return list(self.columns if default is None else default)
        selected = [target] if isinstance(target, (str, int, np.integer)) else list(target)
        names = [str(t) for t in selected]
        missing = [t for t in names if t not in self.columns]
        if missing:
            raise DataValidationError(
                f"target column(s) {missing} not found; available columns: {self.columns}"
            )
        if not names:
            raise DataValidationError("target selects no column")
        repeated = sorted({t for t in names if names.count(t) > 1})
        if repeated:  # a column forecast twice would be weighted twice in the loss
            raise DataValidationError(f"target names column(s) {repeated} more than once")
        return names

    def last_rows(self, n_rows: int) -> Panel:
        """A panel with the last ``n_rows`` rows of every series (views, no copies): the
        look-back window a forecast starts from.

        Raises:
            DataValidationError: a series shorter than ``n_rows`` (named in the message).
        """
        for uid, v in zip(self.ids, self.values):
            if len(v) < n_rows:
                where = f"series {uid!r}" if uid is not None else "y"
                raise DataValidationError(
                    f"{where} has {len(v)} rows but predict needs the last lookback={n_rows}"
                )
        return self.slice_rows([len(v) - n_rows for v in self.values], self.lengths())

    def slice_rows(self, starts, ends) -> Panel:
        """A panel with rows ``starts[i]:ends[i]`` of series ``i`` (views, no copies)."""
        return Panel(
            values=[v[int(a):int(b)] for v, a, b in zip(self.values, starts, ends)],
            indexes=[ix[int(a):int(b)] for ix, a, b in zip(self.indexes, starts, ends)],
            ids=self.ids,
            columns=self.columns,
            kind=self.kind,
            name=self.name,
            freqs=self.freqs,
        )


def _constant_step(index: pd.Index):
    """The one step between consecutive labels of ``index`` if all steps are equal, else None."""
    if len(index) < 2:
        return None
    ints = np.asarray(index.asi8 if isinstance(index, pd.DatetimeIndex) else index,
                      dtype=np.int64)
    steps = np.unique(np.diff(ints))
    return int(steps[0]) if len(steps) == 1 and steps[0] > 0 else None


def _infer_freq(index: pd.Index, what: str):
    """The frequency of a time index: its ``freq``, else an inferred one, else ``None``.

    A ``DatetimeIndex`` whose steps are all equal gets that step as its frequency even where
    pandas cannot name it (two rows, or a step such as 7 minutes 30 seconds); an integer
    index its constant step. Irregular spacing gives ``None``: the data can still be fitted
    and backtested, but :func:`future_index` cannot make forecast time stamps.
    """
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is not None:
            return index.freq
        if len(index) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                inferred = index.inferred_freq
            if inferred is not None:
                return pd.tseries.frequencies.to_offset(inferred)
        step = _constant_step(index)
        if step is None:
            return None
        return pd.tseries.frequencies.to_offset(pd.Timedelta(step, unit=index.unit))
    if isinstance(index, pd.RangeIndex):
        return index.step
    if pd.api.types.is_integer_dtype(index.dtype):
        return _constant_step(index)
    raise DataValidationError(
        f"{what}: the index must be a DatetimeIndex or an integer index, got "
        f"{type(index).__name__} of dtype {index.dtype}; set a time index with "
        "df.set_index(...) or reset it with df.reset_index(drop=True)"
    )


def _check_index(index: pd.Index, what: str, long: bool = False) -> None:
    """Raise :class:`DataValidationError` unless ``index`` is a usable time index: datetime
    (one time zone, no NaT) or integer, without duplicates, in increasing order.

    ``long`` selects the fix suggested in messages (a long frame's ``ds`` column rather than
    a wide frame's index).
    """
    name = "the ds column" if long else "the index"
    if isinstance(index, pd.DatetimeIndex) or pd.api.types.is_integer_dtype(index.dtype):
        pass
    elif index.dtype == object and len(index) and all(
        isinstance(t, pd.Timestamp) for t in index[:100]
    ):
        raise DataValidationError(
            f"{what}: {name} mixes time zones (or tz-aware and naive timestamps); "
            "convert them to one zone with pd.to_datetime(..., utc=True)"
        )
    elif long:
        raise DataValidationError(
            f"{what}: the ds column must hold time stamps or integers, got dtype "
            f"{index.dtype} (first value {index[0]!r}); convert it with "
            "df['ds'] = pd.to_datetime(df['ds'])"
        )
    else:
        _infer_freq(index, what)  # raises with the explanation
    if isinstance(index, pd.DatetimeIndex) and index.hasnans:
        pos = int(np.flatnonzero(index.isna())[0])
        raise DataValidationError(
            f"{what}: {name} has a missing time stamp (NaT) at row {pos}; drop that row or "
            "fill in its time stamp"
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        pos = int(np.flatnonzero(index.duplicated())[0])
        fix = ("drop or aggregate duplicate (unique_id, ds) pairs, e.g. "
               "df.groupby(['unique_id', 'ds'], as_index=False)['y'].mean()" if long else
               "aggregate or drop duplicates before fitting, e.g. "
               "df.groupby(level=0).mean()")
        raise DataValidationError(
            f"{what}: {name} has duplicate entries (first: {dup!r} at row {pos}); {fix}"
        )
    if not index.is_monotonic_increasing:
        pos = int(np.argmax(np.diff(np.asarray(index.asi8 if hasattr(index, "asi8") else index))
                            <= 0)) + 1
        fix = "df.sort_values(['unique_id', 'ds'])" if long else ".sort_index()"
        raise DataValidationError(
            f"{what}: {name} is not sorted in increasing order (row {pos}: {index[pos]!r} "
            f"comes after {index[pos - 1]!r}); call {fix} first"
        )


def _is_real(dtype) -> bool:
    """Whether a column of ``dtype`` holds real numbers (not bool or complex)."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) \
        and not pd.api.types.is_complex_dtype(dtype)


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column.dtype) \
        or isinstance(column.dtype, pd.CategoricalDtype)


def _looks_like_dates(column: pd.Series) -> bool:
    """A datetime column, or text whose first values all parse as dates (and not as
    numbers)."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return True
    if not _is_text(column):
        return False
    head = column.dropna().head(5)
    if head.empty or not all(isinstance(v, str) for v in head):
        return False
    if pd.to_numeric(head, errors="coerce").notna().any():  # "1", "2.5": numbers as text
        return False
    with warnings.catch_warnings():  # "could not infer format": parsed one by one, fine
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(head, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return False
    return bool(parsed.notna().all())


def _non_numeric_message(frame: pd.DataFrame, col, what: str) -> str:
    """Why column ``col`` of a wide frame cannot be forecast, and the likely fix: a frame
    in long form under other names (text ids + dates + values) is renamed to
    ``unique_id, ds, y``; a date column becomes the index; anything else is converted.
    (A frame that has a time index already gets the plain advice.)"""
    dtype = frame[col].dtype
    plain = (f"{what}: column {col!r} has non-numeric dtype {dtype}; convert it with "
             f"pd.to_numeric(df[{col!r}]) or drop it")
    if isinstance(frame.index, pd.DatetimeIndex):
        return plain
    dates = [c for c in frame.columns if _looks_like_dates(frame[c])]
    texts = [c for c in frame.columns if c not in dates and _is_text(frame[c])]
    values = [c for c in frame.columns if _is_real(frame[c].dtype)]
    if len(frame.columns) == 3 and len(dates) == len(texts) == len(values) == 1:
        found = {texts[0]: "unique_id", dates[0]: "ds", values[0]: "y"}
        renames = {old: new for old, new in found.items() if old != new}
        return (f"{what}: columns {list(frame.columns)} look like a long frame (series id "
                f"{texts[0]!r}, time {dates[0]!r}, value {values[0]!r}) but a long frame "
                f"needs the columns unique_id, ds, y; rename them with "
                f"df = df.rename(columns={renames!r})")
    if col in dates and len(frame.columns) > 1:  # the other columns are the values
        to_index = f"df = df.set_index({col!r})"
        if not pd.api.types.is_datetime64_any_dtype(dtype):
            to_index = f"df[{col!r}] = pd.to_datetime(df[{col!r}]); " + to_index
        return (f"{what}: column {col!r} has non-numeric dtype {dtype}: it holds time "
                f"stamps, not values to forecast; make it the time index: {to_index} (or "
                f"read the file with pd.read_csv(..., index_col={col!r}, parse_dates=True))")
    return plain


def _numeric_block(frame: pd.DataFrame, what: str) -> np.ndarray:
    for col in frame.columns:
        if not _is_real(frame[col].dtype):
            raise DataValidationError(_non_numeric_message(frame, col, what))
    # C order: pandas hands out column-major blocks, and kernels downstream round
    # differently on other layouts, which would make predictions layout-dependent. One copy
    # (never a view of the user's frame), made straight into C order.
    return np.array(frame.to_numpy(dtype=np.float64, copy=False), dtype=np.float64,
                    order="C", copy=True)


def _apply_missing(values: np.ndarray, index: pd.Index, columns: list[str], missing: str,
                   what: str) -> np.ndarray:
    """Check for NaN/inf and apply the missing-data policy."""
    if missing not in MISSING_POLICIES:
        raise DataValidationError(f"missing={missing!r} is not one of {list(MISSING_POLICIES)}")
    inf = np.isinf(values)
    if inf.any():
        row, col = map(int, np.argwhere(inf)[0])
        raise DataValidationError(
            f"{what}: infinite value in column {columns[col]!r} at row {row} "
            f"(index {index[row]!r}); replace infinities before fitting"
        )
    nan = np.isnan(values)
    if not nan.any():
        return values
    if missing == "raise":
        row, col = map(int, np.argwhere(nan)[0])
        raise DataValidationError(
            f"{what}: missing value (NaN) in column {columns[col]!r} at row {row} "
            f"(index {index[row]!r}), {int(nan.sum())} in all; fill them first or pass "
            "missing='interpolate' or missing='ffill'"
        )
    frame = pd.DataFrame(values)
    frame = frame.interpolate(limit_direction="both") if missing == "interpolate" else (
        frame.ffill().bfill()
    )
    out = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    if np.isnan(out).any():
        col = int(np.argwhere(np.isnan(out))[0][1])
        raise DataValidationError(f"{what}: column {columns[col]!r} is entirely missing")
    return out


def to_panel(data, *, missing: str = "raise", what: str = "y", min_length: int = 1,
             length_hint: str = "") -> Panel:
    """Validate ``data`` and convert it to a :class:`Panel`.

    Args:
        data: wide DataFrame, Series, 2-D numpy array or long DataFrame (``unique_id, ds, y``).
        missing: ``"raise"`` (default), ``"interpolate"`` or ``"ffill"`` for NaN values.
        what: the argument's name, used in error messages.
        min_length: the minimum number of rows every series must have.
        length_hint: appended to the too-short message (why ``min_length`` rows are needed
            and what to change).

    Raises:
        DataValidationError: with a message naming the column, row or series at fault.
    """
    if data is None:
        raise DataValidationError(f"{what} is None; pass a DataFrame, Series or 2-D array")
    if isinstance(data, Panel):  # already validated; only the length check applies
        panel = data
    elif isinstance(data, pd.DataFrame) and set(LONG_COLUMNS).issubset(data.columns):
        panel = _long_to_panel(data, missing, what)
    elif isinstance(data, pd.DataFrame):
        panel = _wide_to_panel(data, "wide", None, missing, what)
    elif isinstance(data, pd.Series):
        frame = data.to_frame(name=data.name if data.name is not None else "y")
        panel = _wide_to_panel(frame, "series", data.name, missing, what)
    elif isinstance(data, np.ndarray) or isinstance(data, list):
        panel = _array_to_panel(data, missing, what)
    else:
        raise DataValidationError(
            f"{what}: unsupported type {type(data).__name__}; pass a DataFrame, Series, "
            "2-D numpy array or a long DataFrame with columns unique_id, ds, y"
        )
    _check_min_length(panel, min_length, what, length_hint)
    return panel


def _array_to_panel(data: np.ndarray | list, missing: str, what: str) -> Panel:
    """A 1-D (one variable) or 2-D ``[time, variables]`` array of real numbers, columns
    named by position."""
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataValidationError(
            f"{what}: a numpy array must be 2-D [time, variables], got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataValidationError(
            f"{what}: array dtype {arr.dtype} is not a real number type; convert it with "
            "arr.astype(float) (object arrays: check for None or strings first)"
        )
    frame = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
    return _wide_to_panel(frame, "numpy", None, missing, what)


def _check_min_length(panel: Panel, min_length: int, what: str, length_hint: str) -> None:
    for uid, v in zip(panel.ids, panel.values):
        if len(v) < min_length:
            where = f"series {uid!r}" if uid is not None else what
            raise DataValidationError(
                f"{where} has {len(v)} rows but at least {min_length} are needed"
                + (f" ({length_hint})" if length_hint else "")
            )


def _wide_to_panel(frame: pd.DataFrame, kind: str, name, missing: str, what: str) -> Panel:
    if frame.shape[1] == 0:
        raise DataValidationError(f"{what} has no columns")
    if frame.shape[0] == 0:
        raise DataValidationError(f"{what} is empty (0 rows)")
    columns = [str(c) for c in frame.columns]
    if frame.columns.has_duplicates or len(set(columns)) < len(columns):
        raise DataValidationError(
            f"{what}: duplicate column names {columns} (as strings); rename the columns so "
            "that each is unique"
        )
    _check_index(frame.index, what)
    values = _numeric_block(frame, what)
    values = _apply_missing(values, frame.index, columns, missing, what)
    return Panel(
        values=[values],
        indexes=[frame.index],
        ids=[None],
        columns=columns,
        kind=kind,
        name=name,
        freqs=[_infer_freq(frame.index, what)],
    )


def _long_to_panel(frame: pd.DataFrame, missing: str, what: str) -> Panel:
    if frame.shape[0] == 0:
        raise DataValidationError(f"{what} is empty (0 rows)")
    extra = [c for c in frame.columns if c not in LONG_COLUMNS]
    if extra:
        raise DataValidationError(
            f"{what}: a long DataFrame takes exactly the columns unique_id, ds, y; "
            f"unexpected column(s) {extra} (pass covariates as X)"
        )
    no_id = frame["unique_id"].isna().to_numpy()
    if no_id.any():
        row = int(np.flatnonzero(no_id)[0])
        raise DataValidationError(
            f"{what}: unique_id is missing in {int(no_id.sum())} row(s) (first: row {row}); "
            "every row needs a series id"
        )
    values, indexes, ids, freqs = [], [], [], []
    for uid, group in frame.groupby("unique_id", sort=False):
        index = pd.Index(group["ds"]) if not pd.api.types.is_datetime64_any_dtype(
            group["ds"]) else pd.DatetimeIndex(group["ds"])
        label = f"{what} series {uid!r}"
        _check_index(index, label, long=True)
        block = _numeric_block(group[["y"]], label)
        block = _apply_missing(block, index, ["y"], missing, label)
        values.append(block)
        indexes.append(index)
        ids.append(uid)
        freqs.append(_infer_freq(index, label))
    return Panel(values=values, indexes=indexes, ids=ids, columns=["y"], kind="long",
                 freqs=freqs)


def _irregular_message(index: pd.Index, what: str) -> str:
    """Why ``index`` has no frequency: too short, or the first step that breaks the grid."""
    fix = ("resample to a regular grid first, e.g. y.asfreq('h') with missing='interpolate' "
           "or y.resample('h').mean(), or use an integer index")
    if len(index) < 2:
        return (f"{what}: the index has a single time stamp and no freq, so the time stamps "
                "of the forecast cannot be inferred; give the index a freq, e.g. "
                "pd.date_range(start, periods=1, freq='h'), or use an integer index")
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 4:
        # calendar frequencies (months, business days) have unequal steps: compare with the
        # grid the first rows follow, when pandas can name it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start_freq = index[:3].inferred_freq
        if start_freq is not None:
            grid = pd.date_range(index[0], periods=len(index), freq=start_freq)
            off = np.flatnonzero(grid.asi8 != index.asi8)
            if len(off):
                pos = int(off[0])
                fix = fix.replace("'h'", repr(start_freq))
                return (f"{what}: the time index is irregular, so the time stamps of the "
                        f"forecast cannot be inferred: row {pos} is {index[pos]!r} where the "
                        f"{start_freq!r} grid of the rows before it continues with "
                        f"{grid[pos]!r} (after row {pos - 1}, {index[pos - 1]!r}); {fix}. "
                        "(Fitting and backtesting work on irregular data; only forecasting "
                        "beyond its end needs a frequency.)")
    datetime = isinstance(index, pd.DatetimeIndex)
    ints = np.asarray(index.asi8 if datetime else index, dtype=np.int64)
    steps = np.diff(ints)
    values, counts = np.unique(steps, return_counts=True)
    usual = values[np.argmax(counts)]
    pos = int(np.flatnonzero(steps != usual)[0])
    if datetime:
        first, second = repr(index[pos]), repr(index[pos + 1])
        step = str(pd.Timedelta(int(steps[pos]), unit=index.unit))
        common = str(pd.Timedelta(int(usual), unit=index.unit))
    else:
        first, second = str(int(ints[pos])), str(int(ints[pos + 1]))
        step, common = str(int(steps[pos])), str(int(usual))
        fix = (f"renumber the rows (y.reset_index(drop=True)) or reindex to a regular step, "
               f"e.g. y.reindex(range({int(ints[0])}, {int(ints[-1]) + int(usual)}, "
               f"{int(usual)})) with missing='interpolate'")
    return (f"{what}: the time index is irregular, so the time stamps of the forecast "
            f"cannot be inferred: the step from row {pos} ({first}) to row {pos + 1} "
            f"({second}) is {step} while most steps are {common}; {fix}. (Fitting and "
            "backtesting work on irregular data; only forecasting beyond its end needs a "
            "frequency.)")


def future_index(index: pd.Index, freq, horizon: int, what: str = "y") -> pd.Index:
    """The ``horizon`` index labels that follow ``index`` at frequency ``freq``.

    Raises:
        DataValidationError: ``freq`` is ``None`` (an irregular or single-row index without
            ``freq``); the message names the first step that breaks the grid.
    """
    if freq is None:
        raise DataValidationError(_irregular_message(index, what))
    if isinstance(index, pd.DatetimeIndex):
        return pd.date_range(index[-1] + freq, periods=horizon, freq=freq, name=index.name)
    start = int(index[-1]) + int(freq)
    return pd.RangeIndex(start, start + horizon * int(freq), int(freq), name=index.name)


def forecasts_to_output(panel: Panel, forecasts: list[np.ndarray], columns: list[str],
                        indexes: list[pd.Index]):
    """Put per-series forecasts ``[H, C]`` back into the user's input form.

    Args:
        panel: the panel the forecasts continue (gives the form, ids and series name).
        forecasts: one ``[H, len(columns)]`` array per series.
        columns: the forecast columns (the targets).
        indexes: the future index of each series.
    """
    if panel.kind == "numpy":
        return forecasts[0]
    if panel.kind == "series":
        return pd.Series(forecasts[0][:, 0], index=indexes[0], name=panel.name)
    if panel.kind == "wide":
        return pd.DataFrame(forecasts[0], index=indexes[0], columns=columns)
    parts = [
        pd.DataFrame({"unique_id": uid, "ds": ix, "y": f[:, 0]})
        for uid, ix, f in zip(panel.ids, indexes, forecasts)
    ]
    return pd.concat(parts, ignore_index=True)


def format_forecasts(panel: Panel, forecasts: list[np.ndarray], columns: list[str],
                     horizon: int):
    """Forecasts that continue every series of ``panel`` (``[horizon, len(columns)]`` each)
    in the panel's input form, indexed by the future time stamps.

    Raises:
        DataValidationError: a series without a regular frequency (no future time stamps).
    """
    indexes = [
        future_index(ix, freq, horizon, what=f"series {uid!r}" if uid is not None else "y")
        for ix, freq, uid in zip(panel.indexes, panel.freqs, panel.ids)
    ]
    return forecasts_to_output(panel, forecasts, columns, indexes)

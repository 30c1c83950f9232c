"""Conversion to and from Darts ``TimeSeries``, for data and for forecasts.

`Darts <https://unit8co.github.io/darts/>`_ is optional: it is imported inside the two
functions, never by ``import spikecast``, and a call without it raises
:class:`~spikecast.exceptions.OptionalDependencyError` saying ``pip install darts``. Only
``darts.TimeSeries`` is used.

- :func:`to_darts` turns what spikecast takes and returns (a wide ``DataFrame``, a ``Series``,
  a 2-D array, a long ``unique_id, ds, y`` frame, or the ``{level: forecast}`` dict of
  ``predict_quantiles``) into a ``TimeSeries``, or a list of them for a long frame;
- :func:`from_darts` turns a ``TimeSeries`` into a wide frame, and a list (or dict) of
  ``TimeSeries`` into a long frame, ready for ``fit`` and ``predict``.

The forms match Darts' own conversions: a long frame gives what
``TimeSeries.from_group_dataframe(df, group_cols="unique_id", time_col="ds", value_cols="y")``
gives (one univariate series per id, the id kept as the static covariate ``unique_id``), and
quantile forecasts become components named ``<column>_q<level:.3f>``, as Darts' own quantile
forecasts are (``TimeSeries.quantile``, ``predict(..., predict_likelihood_parameters=True)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from spikecast.data.frames import Panel, to_panel
from spikecast.exceptions import DataValidationError, OptionalDependencyError

__all__ = ["to_darts", "from_darts", "quantile_component"]

#: the static covariate that carries a long frame's series id (as ``from_group_dataframe``)
ID = "unique_id"


def quantile_component(column: str, level: float) -> str:
    """The Darts name of the component holding quantile ``level`` of ``column``:
    ``"<column>_q<level:.3f>"``, e.g. ``quantile_component("y", 0.1) == "y_q0.100"``.

    It is the name ``TimeSeries.quantile`` and Darts' quantile forecasts
    (``predict_likelihood_parameters=True``) give, and the one Darts' metrics look for when
    called with ``q=``, e.g. ``darts.metrics.mql(actual, to_darts(quantiles), q=0.1)``.
    """
    return f"{column}_q{float(level):.3f}"


def _darts(caller: str) -> Any:
    """The ``darts`` module, or an :class:`OptionalDependencyError` naming ``caller``."""
    try:
        import darts  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as err:
        raise OptionalDependencyError(
            f"{caller} needs Darts, which is not installed; install it with "
            "`pip install darts`", package="darts") from err
    return darts


# --------------------------------------------------------------------------- to Darts
def to_darts(data, *, static_covariates=None, missing: str = "raise"):
    """Convert spikecast input or forecasts to a Darts ``TimeSeries``.

    The data is validated as every forecaster validates it (:func:`~spikecast.data.to_panel`),
    so the same bad data raises the same :class:`~spikecast.exceptions.DataValidationError`.

    Args:
        data: any form a forecaster takes or returns:

            - a wide ``DataFrame`` (``DatetimeIndex`` or integer index, one column per
              variable), a ``Series`` or a 2-D array (rows ``0, 1, ...``): one multivariate
              ``TimeSeries`` whose components are the columns (the ``Series`` name, else
              ``"y"``; ``"0", "1", ...`` for an array);
            - a long ``DataFrame`` (``unique_id, ds, y``): a list with one univariate
              ``TimeSeries`` per ``unique_id``, in order of appearance, each with its id as
              the static covariate ``unique_id`` (as ``TimeSeries.from_group_dataframe``
              makes them, and as :func:`from_darts` reads them back);
            - the ``{level: forecast}`` dict of ``predict_quantiles``: the same, with one
              component ``<column>_q<level:.3f>`` (:func:`quantile_component`) per column and
              level (levels ascending within each column), the layout of Darts' own quantile
              forecasts, which its metrics take with ``q=``
              (``mql(actual, series, q=0.9)``). Quantiles are kept as components rather
              than turned into samples: Darts cannot recover a distribution's samples from a
              few quantiles, and the components lose nothing. The point forecast is a
              separate ``to_darts(model.predict())``.
        static_covariates: optional static covariates. For a long frame, a ``DataFrame``
            with a ``unique_id`` column (or index) and one row per series (neuralforecast's
            ``static_df``); every series needs its row, other ids are ignored. For one
            series, a ``Series`` (shared by every component), a one-row ``DataFrame``, or
            a ``DataFrame`` with one row per column (by column name when its index holds the
            column names, else in column order).
        missing: ``"raise"`` (default), ``"interpolate"`` or ``"ffill"`` for NaN values, as
            the forecasters' ``missing``.

    Returns:
        a ``TimeSeries`` (``list[TimeSeries]`` for a long frame) with the data's time stamps
        and frequency (an integer index becomes a ``RangeIndex`` with its step) and float64
        values.

    Raises:
        OptionalDependencyError: Darts is not installed.
        DataValidationError: data spikecast rejects; a time index without a regular
            frequency or with a time zone (Darts takes neither); a dict whose keys are not
            levels in (0, 1) or whose forecasts differ in shape; static covariates that do
            not fit the data.
    """
    darts = _darts("to_darts")
    if isinstance(data, Mapping):
        panel = _quantile_panel(data, missing)
    else:
        panel = to_panel(data, missing=missing, what="data")
    statics = _statics(panel, static_covariates)
    series = [
        darts.TimeSeries.from_times_and_values(
            _time_index(panel, i), panel.values[i], columns=panel.columns,
            static_covariates=statics[i])
        for i in range(panel.n_series)
    ]
    return series if panel.kind == "long" else series[0]


def _series_label(panel: Panel, i: int) -> str:
    return "data" if panel.ids[i] is None else f"data series {panel.ids[i]!r}"


def _time_index(panel: Panel, i: int) -> pd.Index:
    """Series ``i``'s time index as Darts takes it: a ``DatetimeIndex`` carrying its ``freq``,
    or a ``RangeIndex``."""
    index, freq, what = panel.indexes[i], panel.freqs[i], _series_label(panel, i)
    if freq is None:
        raise DataValidationError(
            f"{what}: the time index has no regular frequency, and a Darts TimeSeries needs "
            "one; resample to a regular grid first (e.g. y.asfreq('h') and "
            "missing='interpolate'), or give it an integer index (y.reset_index(drop=True))")
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            raise DataValidationError(
                f"{what}: the time index has the time zone {index.tz}, which a Darts "
                "TimeSeries does not support; drop it first: y.tz_convert(None) (UTC) or "
                "y.tz_localize(None) (local wall time); for a long frame "
                "df['ds'] = df['ds'].dt.tz_convert(None)")
        return pd.DatetimeIndex(index, freq=freq)
    step, start = int(freq), int(index[0])
    return pd.RangeIndex(start, start + len(index) * step, step, name=index.name)


def _levels(quantiles: Mapping) -> list:
    """The keys of a ``{level: forecast}`` dict, ascending, checked to be levels in (0, 1)."""
    if not quantiles:
        raise DataValidationError(
            "data: the dict is empty; pass the {level: forecast} dict of predict_quantiles")
    bad = [q for q in quantiles
           if not isinstance(q, Real) or isinstance(q, bool) or not 0 < float(q) < 1]
    if bad:
        raise DataValidationError(
            f"data: a dict must map quantile levels in (0, 1) to forecasts, as "
            f"predict_quantiles returns; got the key(s) {bad}")
    levels = sorted(quantiles)
    names = [quantile_component("", q) for q in levels]
    if len(set(names)) < len(names):
        raise DataValidationError(
            f"data: the levels {levels} do not all differ at 3 decimals, the precision of "
            "Darts' quantile component names (<column>_q0.100)")
    return levels


def _quantile_panel(quantiles: Mapping, missing: str) -> Panel:
    """One panel whose columns are every column's quantiles, ``[c0_q0, c0_q1, ..., c1_q0,
    ...]`` (Darts' order), from the ``{level: forecast}`` dict of ``predict_quantiles``."""
    levels = _levels(quantiles)
    panels = [to_panel(quantiles[q], missing=missing, what=f"data[{q!r}]") for q in levels]
    first = panels[0]
    for q, p in zip(levels, panels):
        same = (p.kind == first.kind and p.columns == first.columns and p.ids == first.ids
                and all(a.equals(b) for a, b in zip(p.indexes, first.indexes)))
        if not same:
            raise DataValidationError(
                f"data[{q!r}] differs from data[{levels[0]!r}] in its form, columns, series "
                "or time stamps; the forecasts of every level must come from one "
                "predict_quantiles call")
    values = [np.stack([p.values[i] for p in panels], axis=2).reshape(len(v), -1)
              for i, v in enumerate(first.values)]
    columns = [quantile_component(c, q) for c in first.columns for q in levels]
    return Panel(values=values, indexes=first.indexes, ids=first.ids, columns=columns,
                 kind=first.kind, name=first.name, freqs=first.freqs)


def _statics(panel: Panel, static) -> list:
    """Per series, the static covariates to give Darts (``None`` for none)."""
    if panel.kind == "long":
        return _long_statics(panel, static)
    if static is None or isinstance(static, pd.Series):
        return [static]
    if isinstance(static, pd.DataFrame) and len(static) == 1:
        return [static]
    if isinstance(static, pd.DataFrame) and len(static) == panel.n_columns:
        labels = [str(label) for label in static.index]
        if sorted(labels) == sorted(panel.columns):  # by name, in the columns' order
            return [static.set_axis(labels).loc[panel.columns]]
        return [static]
    shape = (f"a DataFrame with {len(static)} rows" if isinstance(static, pd.DataFrame)
             else type(static).__name__)
    raise DataValidationError(
        f"static_covariates: for data with the {panel.n_columns} column(s) "
        f"{panel.columns}, pass a Series, a one-row DataFrame or a DataFrame with one row "
        f"per column; got {shape}")


def _static_table(static) -> pd.DataFrame:
    """Static covariates of a long frame as a table indexed by ``unique_id``."""
    if isinstance(static, pd.DataFrame) and ID in static.columns:
        table = static.set_index(ID)
    elif isinstance(static, pd.DataFrame) and static.index.name == ID:
        table = static
    else:
        raise DataValidationError(
            "static_covariates: for a long frame, pass a DataFrame with a unique_id column "
            "and one row per series (neuralforecast's static_df); got "
            + (f"a DataFrame with the columns {list(static.columns)}"
               if isinstance(static, pd.DataFrame) else type(static).__name__))
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][0]
        raise DataValidationError(
            f"static_covariates: unique_id {dup!r} has more than one row; keep one per series")
    return table


def _long_statics(panel: Panel, static) -> list[pd.DataFrame]:
    """One one-row table per series: its ``unique_id`` and its static covariates."""
    ids = pd.DataFrame({ID: panel.ids})
    if static is None:
        return [ids.iloc[[i]].reset_index(drop=True) for i in range(panel.n_series)]
    table = _static_table(static)
    missing = [uid for uid in panel.ids if uid not in table.index]
    if missing:
        raise DataValidationError(
            f"static_covariates: no row for the series {missing[:5]}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + f"; it has rows for {list(table.index[:5])}"
            + (" ..." if len(table) > 5 else ""))
    return [table.loc[[uid]].reset_index() for uid in panel.ids]


# --------------------------------------------------------------------------- from Darts
def from_darts(series, *, return_static: bool = False):
    """Convert Darts ``TimeSeries`` to a pandas form every spikecast forecaster takes.

    Args:
        series: one ``TimeSeries``: a wide ``DataFrame`` with one column per component and
            the series' time index (a ``DatetimeIndex`` keeping its ``freq``, or the integer
            ``RangeIndex``). A list (or tuple) of univariate ``TimeSeries``: a long frame
            ``unique_id, ds, y``, the ids read from each series' static covariate
            ``unique_id`` (what :func:`to_darts` and ``TimeSeries.from_group_dataframe``
            set; Darts keeps numeric ones as floats, so an integral float such as ``7.0``
            comes back as ``7``) or, where the series have none, their positions
            ``0, 1, ...``. A dict
            ``{id: TimeSeries}``: a long frame with those ids. The container decides the
            form, not the count: a list of one series gives a long frame, so a round trip
            through :func:`to_darts` returns the form it started from. Missing values (NaN)
            are kept; the forecasters' ``missing=`` fills them.
        return_static: also return the static covariates: ``(frame, static)`` where
            ``static`` is the series' own static covariates (one ``TimeSeries``) or a table
            with a ``unique_id`` column and one row per series, what ``to_darts`` takes back
            as ``static_covariates`` (several); ``None`` when there are none.

    Returns:
        the frame, or ``(frame, static)`` with ``return_static=True``.

    Raises:
        OptionalDependencyError: Darts is not installed.
        DataValidationError: not a ``TimeSeries`` (or a list or dict of them), an empty
            list, a stochastic series (more than one sample per step: reduce it with
            ``ts.median()``, ``ts.mean()`` or ``ts.quantile(q)`` first), a multivariate
            series in a list (the long form holds one variable per series), or repeated
            ``unique_id`` static covariates.
    """
    time_series = _darts("from_darts").TimeSeries
    if isinstance(series, time_series):
        frame = _wide_frame(series, "series")
        return (frame, _copy(series.static_covariates)) if return_static else frame
    ids, items = _long_items(series, time_series)
    frame = pd.concat([_long_part(uid, ts, label) for uid, (label, ts) in zip(ids, items)],
                      ignore_index=True)
    if return_static:
        return frame, _static_frame(ids, [ts for _, ts in items])
    return frame


def _copy(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if frame is None else frame.copy()


def _check_deterministic(ts, label: str) -> None:
    if ts.n_samples > 1:
        raise DataValidationError(
            f"{label} is a stochastic TimeSeries ({ts.n_samples} samples per time step), "
            "but spikecast takes one value per step; reduce it first, e.g. ts.median(), "
            "ts.mean() or ts.quantile(0.9) (a component <name>_q0.900 per component)")


def _wide_frame(ts, label: str) -> pd.DataFrame:
    """A deterministic ``TimeSeries`` as a wide frame, one column per component."""
    _check_deterministic(ts, label)
    frame = ts.to_dataframe(copy=True)
    frame.columns = pd.Index([str(c) for c in ts.components])
    return frame


def _not_time_series(what: str, value) -> DataValidationError:
    hint = ("; it is a pandas / numpy object already, which spikecast takes as it is "
            "(to_darts converts it to Darts)"
            if isinstance(value, (pd.DataFrame, pd.Series, np.ndarray)) else "")
    return DataValidationError(
        f"{what}: expected a darts TimeSeries, a list of them or a dict {{id: TimeSeries}}, "
        f"got {type(value).__name__}{hint}")


def _long_items(series, time_series) -> tuple[list, list[tuple[str, Any]]]:
    """The ids and ``(label, TimeSeries)`` pairs of a list or dict of ``TimeSeries``."""
    if isinstance(series, Mapping):
        keys: list = list(series)
        items = [(f"series[{k!r}]", series[k]) for k in keys]
    elif isinstance(series, Sequence) and not isinstance(series, (str, bytes)):
        keys = []
        items = [(f"series[{i}]", ts) for i, ts in enumerate(series)]
    else:
        raise _not_time_series("series", series)
    if not items:
        raise DataValidationError("series: the list (or dict) of TimeSeries is empty")
    for label, ts in items:
        if not isinstance(ts, time_series):
            raise _not_time_series(label, ts)
    return (keys or _ids_from_statics([ts for _, ts in items])), items


def _static_id(ts):
    static = ts.static_covariates
    if static is None or ID not in static.columns:
        return None
    value = static[ID].iloc[0]
    value = value.item() if isinstance(value, np.generic) else value
    # Darts stores numeric static covariates as floats: an integer id comes back as 7.0
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _ids_from_statics(series: list) -> list:
    """The ``unique_id`` static covariate of every series, else the positions."""
    ids = [_static_id(ts) for ts in series]
    if any(uid is None for uid in ids):
        return list(range(len(series)))
    seen: dict = {}
    for i, uid in enumerate(ids):
        if uid in seen:
            raise DataValidationError(
                f"series[{seen[uid]}] and series[{i}] have the same unique_id static "
                f"covariate {uid!r}; give every series its own, or pass a dict "
                "{id: TimeSeries}")
        seen[uid] = i
    return ids


def _long_part(uid, ts, label: str) -> pd.DataFrame:
    """One univariate deterministic ``TimeSeries`` as the rows of a long frame."""
    _check_deterministic(ts, label)
    if ts.n_components != 1:
        raise DataValidationError(
            f"{label} has {ts.n_components} components {[str(c) for c in ts.components]}, "
            "but the long form (unique_id, ds, y) holds one variable per series; pass a "
            "multivariate series on its own (a TimeSeries, not a list: it becomes a wide "
            "frame), or one component per series: [ts[name] for name in ts.components]")
    return pd.DataFrame({"unique_id": [uid] * len(ts), "ds": np.asarray(ts.time_index),
                         "y": ts.values(copy=True)[:, 0]})


def _static_frame(ids: list, series: list) -> pd.DataFrame | None:
    """The static covariates of several series, one row each, ``unique_id`` first."""
    if all(ts.static_covariates is None for ts in series):
        return None
    rows = []
    for uid, ts in zip(ids, series):
        static = ts.static_covariates
        row = (pd.DataFrame(index=[0]) if static is None
               else static.iloc[[0]].reset_index(drop=True))
        rows.append(row.drop(columns=[ID], errors="ignore").assign(**{ID: uid}))
    table = pd.concat(rows, ignore_index=True)
    table = table[[ID, *[c for c in table.columns if c != ID]]]
    table.columns.name = None
    return table

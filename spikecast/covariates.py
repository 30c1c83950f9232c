"""Covariates next to the target series: past covariates ``X``, known-future ``X_future``
and static ``X_static``.

Both are wide data with the index of ``y``; their columns are appended after ``y``'s
(:func:`append_columns`). Known-future covariates (calendar features, planned load, prices
set in advance: Darts' ``future_covariates``, neuralforecast's ``futr_exog``) are also known
for the forecast period, so ``predict`` takes their values after the end of the history
(:func:`split_future`), as neuralforecast's ``futr_df`` does. The name ``X_future`` follows
this package's ``X`` for past covariates (and sktime's exogenous ``X``).

Static covariates (``X_static``: neuralforecast's ``static_df``, Darts' static covariates)
are one row of numbers per series of long data; they are appended to every row of their
series as constant columns (:func:`append_static`), and the model reads them from the last
row of a window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spikecast.data.frames import Panel, future_index, to_panel
from spikecast.exceptions import DataValidationError

__all__ = ["CALENDAR_FEATURES", "append_columns", "calendar_features", "with_calendar",
           "split_future", "static_table", "append_static"]

#: calendar features by name, with the period of their cyclic (sine, cosine) encoding
CALENDAR_FEATURES: dict[str, int] = {
    "minute": 60, "hour": 24, "dayofweek": 7, "day": 31, "dayofyear": 366, "month": 12,
    "weekofyear": 53,
}
_ATTRIBUTES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}  # pandas' names


def append_columns(panel: Panel, data, what: str, missing: str = "raise") -> Panel:
    """``panel`` with the columns of ``data`` (wide, the same index) appended.

    Raises:
        DataValidationError: long data, another index or a column name ``panel`` has; the
            message names ``what`` (``"X"``, ``"X_future"``).
    """
    if data is None:
        return panel
    covariates = to_panel(data, missing=missing, what=what)
    if covariates.kind == "long" or panel.kind == "long":
        raise DataValidationError(
            f"{what}: covariates are supported for wide data (DataFrame, Series, array) only; "
            "for long data put the covariates into the model's target= selection"
        )
    if not panel.indexes[0].equals(covariates.indexes[0]):
        raise DataValidationError(
            f"{what} must have the same index as y (y has {len(panel.indexes[0])} rows from "
            f"{panel.indexes[0][0]!r}, {what} has {len(covariates.indexes[0])} rows from "
            f"{covariates.indexes[0][0]!r})"
        )
    clash = sorted(set(panel.columns) & set(covariates.columns))
    if clash:
        raise DataValidationError(f"{what} and y share column name(s) {clash}; rename them")
    return Panel(
        values=[np.concatenate([panel.values[0], covariates.values[0]], axis=1)],
        indexes=panel.indexes,
        ids=panel.ids,
        columns=panel.columns + covariates.columns,
        kind=panel.kind,
        name=panel.name,
        freqs=panel.freqs,
    )


def split_future(X_future, columns: list[str], past: Panel, steps: int, horizon: int,
                 missing: str = "raise", *, with_history: bool = False
                 ) -> tuple[Panel | None, np.ndarray]:
    """The known-future covariates of a forecast, split at the end of the history.

    Args:
        X_future: wide data with ``columns``: optional rows for the history (required with
            ``with_history``: exactly ``past``'s index), then at least ``steps`` rows that
            continue the history's time stamps.
        columns: the future covariate columns the model was fitted with.
        past: the history the forecast starts from (the training data, or a new ``y``).
        steps: the steps to forecast.
        horizon: the fitted horizon (the values are padded to it by repeating the last row;
            the padded steps' forecasts are dropped).
        missing: the missing-value policy for ``X_future``.
        with_history: ``past`` is a new history whose covariate rows ``X_future`` must
            hold (else rows up to the history's end are ignored: the model has them).

    Returns:
        ``(history, future)``: the history rows as a panel (None without ``with_history``)
        and the values over the forecast period, ``[horizon, len(columns)]``.
    """
    if X_future is None:
        raise DataValidationError(
            f"this model was fitted with known-future covariates {columns}: pass X_future "
            "with their values for the forecast period")
    xf = to_panel(X_future, missing=missing, what="X_future")
    if xf.kind == "long" or xf.columns != list(columns):
        raise DataValidationError(
            f"X_future must be wide data with the columns seen in fit {list(columns)}; got "
            f"{'long data' if xf.kind == 'long' else xf.columns}")
    index, freq = past.indexes[0], past.freqs[0]
    later = np.asarray(xf.indexes[0] > index[-1])
    expected = future_index(index, freq, steps, what="y")
    got = xf.indexes[0][later][:steps]
    if len(got) < steps or not got.equals(expected):
        raise DataValidationError(
            f"X_future needs {steps} row(s) right after the history's last time stamp "
            f"{index[-1]!r} (from {expected[0]!r}); it has {int(later.sum())} row(s) after "
            f"it{', starting at ' + repr(got[0]) if len(got) else ''}")
    future = xf.values[0][later][:steps]
    future = np.concatenate([future, np.repeat(future[-1:], horizon - steps, axis=0)])
    if not with_history:
        return None, future
    n_history = int((~later).sum())
    history = xf.slice_rows([0], [n_history])
    if not history.indexes[0].equals(index):
        raise DataValidationError(
            f"X_future: with y given, its first rows must have y's index ({len(index)} rows "
            f"from {index[0]!r}); it has {n_history} row(s) up to the history's end")
    return history, future


def calendar_features(index: pd.Index, features) -> pd.DataFrame:
    """Cyclic calendar features of a ``DatetimeIndex``: ``<feature>_sin`` and
    ``<feature>_cos`` of every feature in ``features`` (names of :data:`CALENDAR_FEATURES`),
    known for any future time stamp, so they serve as known-future covariates (as Darts'
    ``add_encoders={"cyclic": ...}``).

    Raises:
        DataValidationError: an index without time stamps, or an unknown feature name.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise DataValidationError(
            f"calendar features need a DatetimeIndex; the data has a {type(index).__name__}")
    unknown = [f for f in features if f not in CALENDAR_FEATURES]
    if unknown:
        raise DataValidationError(f"unknown calendar feature(s) {unknown}; valid: "
                                  f"{list(CALENDAR_FEATURES)}")
    columns = {}
    for name in features:
        value = (index.isocalendar().week.to_numpy(dtype=float) if name == "weekofyear"
                 else np.asarray(getattr(index, _ATTRIBUTES.get(name, name)), dtype=float))
        angle = 2 * np.pi * value / CALENDAR_FEATURES[name]
        columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    return pd.DataFrame(columns, index=index)


def with_calendar(X_future, index: pd.Index, features) -> pd.DataFrame:
    """``X_future`` (wide, or None) with :func:`calendar_features` of its index appended;
    without ``X_future``, the calendar features of ``index`` alone."""
    if X_future is None:
        return calendar_features(index, features)
    frame = X_future.to_frame() if isinstance(X_future, pd.Series) else X_future
    if isinstance(frame, Panel) and frame.kind != "long":
        frame = pd.DataFrame(frame.values[0], index=frame.indexes[0], columns=frame.columns)
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError("X_future must be a DataFrame or Series (with the time "
                                  "stamps as index) when calendar features are added")
    calendar = calendar_features(frame.index, features)
    clash = sorted(set(frame.columns) & set(calendar.columns))
    if clash:
        raise DataValidationError(f"X_future already has calendar column(s) {clash}")
    return pd.concat([frame, calendar], axis=1)


def static_table(X_static, what: str = "X_static") -> pd.DataFrame:
    """Static covariates as a numeric table indexed by series id (``unique_id``).

    ``X_static`` is neuralforecast's ``static_df``: one row per series, with the id in a
    ``unique_id`` column (or as the index) and one numeric column per static variable
    (encode categories as numbers, e.g. with ``pd.get_dummies``, first).

    Raises:
        DataValidationError: not a DataFrame, no variable column, a repeated id, or a
            non-numeric or missing value (the message names the column and the id).
    """
    if not isinstance(X_static, pd.DataFrame):
        raise DataValidationError(f"{what} must be a DataFrame with a unique_id column (or "
                                  f"index) and one column per static variable; got "
                                  f"{type(X_static).__name__}")
    table = X_static.set_index("unique_id") if "unique_id" in X_static.columns else X_static
    if table.shape[1] == 0:
        raise DataValidationError(f"{what} has no static variable column besides unique_id")
    repeated = table.index[table.index.duplicated()].unique().tolist()
    if repeated:
        raise DataValidationError(f"{what}: unique_id(s) {repeated[:5]} appear more than once")
    for column in table.columns:
        values = table[column]
        if not pd.api.types.is_numeric_dtype(values):  # booleans are numbers here
            raise DataValidationError(
                f"{what}: column {column!r} is not numeric ({values.dtype}); encode it as "
                "numbers first (e.g. pd.get_dummies)")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise DataValidationError(f"{what}: column {column!r} has a missing or infinite "
                                      f"value for unique_id {table.index[bad][0]!r}")
    table = table.astype(float)
    table.columns = [str(c) for c in table.columns]
    return table


def append_static(panel: Panel, table: pd.DataFrame, what: str = "X_static") -> Panel:
    """``panel`` (long data) with every series' static covariates from ``table``
    (:func:`static_table`) appended as constant columns.

    Raises:
        DataValidationError: wide data, a series id without a row in ``table``, or a static
            column name the data has.
    """
    if panel.kind != "long":
        raise DataValidationError(
            f"{what}: static covariates tell series apart, so they apply to long data "
            "(unique_id, ds, y) with one row per unique_id; a single series's constant "
            "values carry no information")
    absent = [uid for uid in panel.ids if uid not in table.index]
    if absent:
        raise DataValidationError(f"{what} has no row for unique_id(s) {absent[:5]}"
                                  f"{' ...' if len(absent) > 5 else ''}")
    clash = sorted(set(panel.columns) & set(table.columns))
    if clash:
        raise DataValidationError(f"{what} and y share column name(s) {clash}; rename them")
    rows = table.loc[list(panel.ids)].to_numpy(dtype=float)
    values = [np.concatenate([v, np.broadcast_to(row, (len(v), len(row)))], axis=1)
              for v, row in zip(panel.values, rows)]
    return Panel(values=values, indexes=panel.indexes, ids=panel.ids,
                 columns=panel.columns + list(table.columns), kind=panel.kind,
                 name=panel.name, freqs=panel.freqs)

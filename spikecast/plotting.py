"""Headless plots of forecasts and backtest errors.

Figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``, no global
state, no display needed) and returned; with ``path=`` they are also written as PNG,
atomically (a temporary file in the same directory, then ``os.replace``), so a reader never
sees a half-written file.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spikecast.atomic import atomic_path
from spikecast.data.frames import LONG_COLUMNS
from spikecast.exceptions import DataValidationError

__all__ = ["plot_forecast", "plot_backtest_errors", "save_figure"]

_COLORS = [f"C{i}" for i in range(10)]  # matplotlib's default cycle: model k gets C(k mod 10)


def save_figure(fig: Figure, path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically (temporary file, then ``os.replace``).

    Missing parent directories are created. Returns the path written.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def _as_series_dict(data, what: str, continue_after: Mapping | None = None
                    ) -> dict[str, pd.Series]:
    """``{series name: Series}`` from any input form.

    A numpy array (no index) continues the index of the matching series in
    ``continue_after`` (forecasts after the actuals), or gets positions 0..n-1.
    """
    if isinstance(data, pd.Series):
        return {str(data.name) if data.name is not None else "y": data.astype(float)}
    if isinstance(data, pd.DataFrame):
        if set(LONG_COLUMNS).issubset(data.columns):
            return {str(uid): pd.Series(g["y"].to_numpy(dtype=float), index=pd.Index(g["ds"]))
                    for uid, g in data.groupby("unique_id", sort=False)}
        return {str(c): data[c].astype(float) for c in data.columns}
    arr = np.asarray(data, dtype=float) if data is not None else None
    if arr is None or arr.ndim not in (1, 2):
        raise DataValidationError(
            f"{what}: pass a Series, a wide or long DataFrame or a 1-D/2-D array"
        )
    arr = arr.reshape(len(arr), -1)
    if continue_after and len(continue_after) == arr.shape[1]:
        names = list(continue_after)  # columns match the actuals' by position
    else:
        names = [str(j) for j in range(arr.shape[1])]
    out = {}
    for j, name in enumerate(names):
        if continue_after and name in continue_after and len(continue_after[name]):
            index = _continue_index(continue_after[name].index, len(arr))
        else:
            index = pd.RangeIndex(len(arr))
        out[name] = pd.Series(arr[:, j], index=index)
    return out


def _continue_index(index: pd.Index, n: int) -> pd.Index:
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq
        if freq is None and len(index) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                freq = index.inferred_freq
        if freq is not None:
            return pd.date_range(index[-1], periods=n + 1, freq=freq)[1:]
    if pd.api.types.is_integer_dtype(index.dtype):
        step = int(index[-1] - index[-2]) if len(index) > 1 else 1
        return pd.RangeIndex(int(index[-1]) + step, int(index[-1]) + step * (n + 1), step)
    return pd.RangeIndex(len(index), len(index) + n)


def plot_forecast(y, forecasts, intervals=None, path=None, *, history: int | None = None,
                  max_series: int = 6, title: str | None = None) -> Figure:
    """Forecasts against the actual values, one panel per series (or column).

    Args:
        y: the actuals: a Series, a wide DataFrame (a panel per column), a long DataFrame
            (``unique_id, ds, y``; a panel per series) or an array.
        forecasts: one forecast in any of those forms (matched to ``y`` by column name or
            ``unique_id``; an array continues ``y``'s index), or ``{label: forecast}`` for
            several models.
        intervals: ``(lower, upper)`` for the single forecast, or ``{label: (lower, upper)}``
            (labels as in ``forecasts``); shaded between the bounds.
        path: if given, also write the figure there as a PNG (atomically).
        history: show only the last ``history`` actual values of each series (default all).
        max_series: plot at most this many series (the first ones).
        title: figure title.

    Returns:
        The :class:`matplotlib.figure.Figure`.
    """
    actuals = _as_series_dict(y, "y")
    preds, bands = _forecast_layers(actuals, forecasts, intervals)
    names = list(actuals)[:max(int(max_series), 1)]
    fig = Figure(figsize=(10, 2.6 * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        actual = actuals[name]
        if history is not None:
            actual = actual.iloc[-int(history):]
        _plot_panel(ax, name, actual, preds, bands)
    axes[0].legend(loc="upper left", fontsize=8, ncols=min(4, 1 + len(preds) + len(bands)))
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def _forecast_layers(actuals: dict, forecasts, intervals) -> tuple[dict, dict]:
    """The forecasts ``{label: {name: series}}`` and interval bands
    ``{label: (lower, upper)}`` of :func:`plot_forecast`, each matched to ``actuals``."""
    if not isinstance(forecasts, Mapping):
        forecasts = {"forecast": forecasts}
    if intervals is not None and not isinstance(intervals, Mapping):
        intervals = {next(iter(forecasts)): intervals}
    intervals = dict(intervals or {})
    unknown = [k for k in intervals if k not in forecasts]
    if unknown:
        raise DataValidationError(f"intervals for {unknown}, which are not in forecasts")
    preds = {label: _as_series_dict(f, f"forecasts[{label!r}]", actuals)
             for label, f in forecasts.items()}
    bands = {}
    for label, bounds in intervals.items():
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise DataValidationError(f"intervals[{label!r}] must be a (lower, upper) pair")
        bands[label] = tuple(_as_series_dict(b, f"intervals[{label!r}]", actuals)
                             for b in bounds)
    return preds, bands


def _plot_panel(ax, name, actual: pd.Series, preds: dict, bands: dict) -> None:
    """One series' panel: the actuals, then each model's forecast (colour ``Ck`` for the
    k-th model, whether or not it forecasts this series) over its interval band."""
    ax.plot(actual.index, actual.to_numpy(), color="black", lw=1.2, label="actual")
    for k, (label, series) in enumerate(preds.items()):
        color = _COLORS[k % len(_COLORS)]
        if name not in series:
            continue
        if label in bands:
            lower, upper = bands[label]
            if name in lower and name in upper:
                ax.fill_between(lower[name].index, lower[name].to_numpy(),
                                upper[name].to_numpy(), color=color, alpha=0.2, lw=0,
                                label=f"{label} interval")
        ax.plot(series[name].index, series[name].to_numpy(), color=color, lw=1.4,
                label=label)
    ax.set_title(name, fontsize=10, loc="left")
    ax.grid(alpha=0.3)


def plot_backtest_errors(df, metric: str = "mae", path=None, *, title: str | None = None
                         ) -> Figure:
    """Error by horizon step, one line per model.

    Args:
        df: a :func:`~spikecast.backtest.backtest` table, the ``predictions`` of
            :func:`~spikecast.backtest.compare` (a line per ``model``) or a
            :class:`~spikecast.backtest.ComparisonResult`.
        metric: a metric name from :data:`spikecast.metrics.METRICS`, computed per step over
            all series and cutoffs.
        path: if given, also write the figure there as a PNG (atomically).
        title: figure title.

    Returns:
        The :class:`matplotlib.figure.Figure`.
    """
    from spikecast.backtest import evaluate
    from spikecast.backtest.core import ComparisonResult

    if isinstance(df, ComparisonResult):
        df = df.predictions
    if not isinstance(df, pd.DataFrame) or "step" not in df.columns:
        raise DataValidationError(
            "plot_backtest_errors expects a backtest table with a 'step' column"
        )
    scores = evaluate(df, metrics=[metric], by="step")
    column = scores.columns[-1]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    if "model" in scores.columns:
        groups = list(scores.groupby("model", sort=False))
    else:
        groups = [(df.attrs.get("model", "model"), scores)]
    for label, g in groups:
        ax.plot(g["step"].to_numpy(), g[column].to_numpy(), marker="o", ms=3, label=str(label))
    ax.set_xlabel("horizon step")
    ax.set_ylabel(column.upper())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{column.upper()} by horizon step")
    if path is not None:
        save_figure(fig, path)
    return fig

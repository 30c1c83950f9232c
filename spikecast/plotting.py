"""Headless plots of forecasts and backtest errors.

Figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``, no global
state, no display needed) and returned; with ``path=`` they are also written as PNG,
atomically (a temporary file in the same directory, then ``os.replace``), so a reader never
sees a half-written file.

:func:`plot_pareto` puts one point per model on accuracy against estimated energy and marks
the Pareto front (:func:`pareto_front`).

Every figure colours a model the same way: :func:`model_colors` gives the ``k``-th model of
the rank order (``order=``, best first) or of first appearance the ``k``-th colour of
matplotlib's ``tab10`` (then the lighter ``tab20`` shades), and legends list the models in
that order.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox

from spikecast.atomic import atomic_path
from spikecast.data.frames import LONG_COLUMNS
from spikecast.exceptions import DataValidationError

__all__ = ["plot_forecast", "plot_backtest", "plot_backtest_errors", "plot_pareto",
           "pareto_front", "model_colors", "save_figure"]

_QUANTILE = re.compile(r"^y_pred_q(.+)$")


def save_figure(fig: Figure, path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically (temporary file, then ``os.replace``).

    Missing parent directories are created. Returns the path written.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


# ------------------------------------------------------------------------------ colours
def _palette() -> list[str]:
    """``tab10``'s colours (matplotlib's default cycle), then ``tab20``'s lighter shades."""
    tab20 = [to_hex(c) for c in colormaps["tab20"](np.arange(20))]
    return tab20[0::2] + tab20[1::2]


def model_colors(models: Iterable) -> dict[str, str]:
    """One colour per model: ``{model: hex colour}``.

    The ``k``-th distinct model (in the order given: pass the rank order, best first, or the
    order of first appearance) gets the ``k``-th colour of matplotlib's ``tab10`` (the
    default colour cycle ``C0``-``C9``), models 11 to 20 the lighter ``tab20`` shades, and
    beyond that the colours repeat. The same list always gives the same colours, so figures
    drawn from one ranking agree.

    Example:
        >>> model_colors(["linear", "naive"])
        {'linear': '#1f77b4', 'naive': '#ff7f0e'}
    """
    palette = _palette()
    names = list(dict.fromkeys(str(m) for m in models))
    return {m: palette[k % len(palette)] for k, m in enumerate(names)}


def _styles(labels: Iterable, order: Sequence | None, colors: Mapping | None
            ) -> tuple[list[str], dict[str, str]]:
    """The ``labels`` in legend order (``order`` first, then first appearance) and their
    colours (:func:`model_colors` of that order, overridden by ``colors``)."""
    labels = [str(m) for m in labels]
    ranked = list(dict.fromkeys([str(m) for m in (order or [])] + labels))
    palette = model_colors(ranked)
    palette.update({str(k): v for k, v in (colors or {}).items()})
    present = set(labels)
    return [m for m in ranked if m in present], palette


def _figure_legend(fig: Figure, axes, models: list[str], *, ranked: bool,
                   extra: Sequence = ()) -> None:
    """One legend for the whole figure, right of the panels: the actuals, then each model
    (and its interval) in ``models`` order, then ``extra`` handles."""
    found: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            found.setdefault(label, handle)
    keys = ["actual"] + [k for m in models for k in (m, f"{m} interval")]
    labels = [k for k in keys if k in found]
    handles = [found[k] for k in labels] + list(extra)
    labels += [h.get_label() for h in extra]
    rows = max(int((fig.get_figheight() * 72 - 36) / 14), 4)  # 8-point entries that fit
    fig.legend(handles, labels, loc="outside right upper", fontsize=8,
               ncols=-(-len(labels) // rows), title="models, best first" if ranked else None,
               title_fontsize=8)


def _note(fig: Figure, notes: Sequence[str]) -> None:
    """Say below the panels what the figure leaves out (never silently)."""
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=8, style="italic", x=0.01, ha="left")


def _axis_labels(ax, name: str, index: pd.Index, units, *, bottom: bool) -> None:
    """The series name (and its unit, when known) on y; the index name or "time" on x."""
    unit = units.get(name) if isinstance(units, Mapping) else units
    ax.set_ylabel(f"{name} [{unit}]" if unit else name)
    if bottom:
        ax.set_xlabel(str(index.name) if index.name is not None else "time")
    ax.grid(alpha=0.3)


def _units(data):
    """Units from ``data.attrs["units"]`` (a string, or ``{series: unit}``), if any."""
    attrs = getattr(data, "attrs", None)
    return attrs.get("units") if isinstance(attrs, Mapping) else None


# ------------------------------------------------------------------------ input forms
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


def _match_names(found: dict, actuals: Mapping, what: str) -> dict:
    """``found`` keyed by the actuals' series names: a single forecast series goes with a
    single actual series whatever their names; otherwise every name must be one of the
    actuals' (a clear error, never a silently dropped forecast)."""
    unmatched = [n for n in found if n not in actuals]
    if not unmatched:
        return found
    if len(found) == 1 and len(actuals) == 1:
        return {next(iter(actuals)): next(iter(found.values()))}
    raise DataValidationError(
        f"{what}: series {unmatched} match none of the actual series {list(actuals)}; "
        "name the forecast's series (Series name, column or unique_id) like the actuals'"
    )


# ----------------------------------------------------------------------- plot_forecast
def plot_forecast(y, forecasts, intervals=None, path=None, *, history: int | None = None,
                  max_series: int = 6, title: str | None = None, order: Sequence | None = None,
                  colors: Mapping | None = None) -> Figure:
    """Forecasts against the actual values, one panel per series (or column).

    Args:
        y: the actuals: a Series, a wide DataFrame (a panel per column), a long DataFrame
            (``unique_id, ds, y``; a panel per series) or an array.
        forecasts: one forecast in any of those forms (matched to ``y`` by column name or
            ``unique_id``; a single forecast series goes with a single actual series
            whatever their names; an array continues ``y``'s index), or
            ``{label: forecast}`` for several models.
        intervals: ``(lower, upper)`` for the single forecast, or ``{label: (lower, upper)}``
            (labels as in ``forecasts``); shaded between the bounds.
        path: if given, also write the figure there as a PNG (atomically).
        history: show only the last ``history`` actual values of each series (default all).
        max_series: plot at most this many series (the first ones; the figure says so).
        title: figure title.
        order: the models' rank order, best first: the legend lists them so, and colours
            follow it (:func:`model_colors`); default the order of ``forecasts``.
        colors: ``{label: colour}`` overriding those colours.

    Returns:
        The :class:`matplotlib.figure.Figure`.

    Raises:
        DataValidationError: a forecast names a series that is not in ``y``.
    """
    actuals = _as_series_dict(y, "y")
    preds, bands = _forecast_layers(actuals, forecasts, intervals)
    models, palette = _styles(preds, order, colors)
    names = list(actuals)[:max(int(max_series), 1)]
    fig = Figure(figsize=(11, 2.6 * len(names) + 0.8), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for i, (ax, name) in enumerate(zip(axes, names)):
        actual = actuals[name]
        if history is not None:
            actual = actual.iloc[-int(history):]
        _plot_panel(ax, name, actual, {m: preds[m] for m in models}, bands, palette)
        _axis_labels(ax, name, actual.index, _units(y), bottom=i == len(names) - 1)
    _figure_legend(fig, axes, models, ranked=order is not None)
    _note(fig, _series_note(len(names), len(actuals)))
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def _series_note(shown: int, total: int) -> list[str]:
    if shown >= total:
        return []
    return [f"showing the first {shown} of {total} series (max_series={shown})"]


def _forecast_layers(actuals: dict, forecasts, intervals) -> tuple[dict, dict]:
    """The forecasts ``{label: {name: series}}`` and interval bands
    ``{label: (lower, upper)}`` of :func:`plot_forecast`, each matched to ``actuals``."""
    single = not isinstance(forecasts, Mapping)
    if single:
        forecasts = {"forecast": forecasts}
    if intervals is not None and not isinstance(intervals, Mapping):
        intervals = {next(iter(forecasts)): intervals}
    intervals = dict(intervals or {})
    unknown = [k for k in intervals if k not in forecasts]
    if unknown:
        raise DataValidationError(f"intervals for {unknown}, which are not in forecasts")
    preds = {}
    for label, f in forecasts.items():
        what = "forecasts" if single else f"forecasts[{label!r}]"
        preds[str(label)] = _match_names(_as_series_dict(f, what, actuals), actuals, what)
    bands = {}
    for label, bounds in intervals.items():
        what = f"intervals[{label!r}]"
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise DataValidationError(f"{what} must be a (lower, upper) pair")
        bands[str(label)] = tuple(_match_names(_as_series_dict(b, what, actuals), actuals, what)
                                  for b in bounds)
    return preds, bands


def _plot_panel(ax, name, actual: pd.Series, preds: dict, bands: dict, palette: dict
                ) -> None:
    """One series' panel: the actuals, then each model's forecast over its interval band
    (the first model drawn on top)."""
    ax.plot(actual.index, actual.to_numpy(), color="black", lw=1.2, label="actual", zorder=3)
    for k, (label, series) in enumerate(preds.items()):
        if name not in series:
            continue
        color, z = palette[label], 2.9 - k / (len(preds) + 1)
        if label in bands:
            lower, upper = bands[label]
            if name in lower and name in upper:
                ax.fill_between(lower[name].index, lower[name].to_numpy(),
                                upper[name].to_numpy(), color=color, alpha=0.2, lw=0,
                                label=f"{label} interval", zorder=1)
        ax.plot(series[name].index, series[name].to_numpy(), color=color, lw=1.4,
                label=label, zorder=z)
    ax.set_title(name, fontsize=10, loc="left")


# ----------------------------------------------------------------------- plot_backtest
def plot_backtest(predictions, y=None, path=None, *, order: Sequence | None = None,
                  colors: Mapping | None = None, max_series: int = 6,
                  history: int | None = None, title: str | None = None) -> Figure:
    """Every model's forecasts from every backtest cutoff over the actual values.

    One panel per series: the actuals in black, each model's forecast from each cutoff as
    its own line segment (one colour per model, :func:`model_colors`), dotted grey lines at
    the cutoffs, and, where the table has quantile columns ``y_pred_q<level>``, the
    outermost central interval shaded (e.g. ``q0.05``-``q0.95``).

    Args:
        predictions: a :func:`~spikecast.backtest.backtest` table, the ``predictions`` of
            :func:`~spikecast.backtest.compare` (a ``model`` column) or a
            :class:`~spikecast.backtest.ComparisonResult`.
        y: the actuals in any form :func:`plot_forecast` takes (series matched by
            ``unique_id``; a single series whatever its name); default the table's ``y``.
        path: if given, also write the figure there as a PNG (atomically).
        order: the models' rank order, best first (legend order and colours); default the
            order of first appearance.
        colors: ``{model: colour}`` overriding those colours.
        max_series: plot at most this many series (the first ones; the figure says so).
        history: actual values shown before the first cutoff (default two horizons).
        title: figure title.

    Returns:
        The :class:`matplotlib.figure.Figure`.

    Raises:
        DataValidationError: not a backtest table, or a series that is not in ``y``.
    """
    df = _backtest_table(predictions)
    actuals = _backtest_actuals(df, y)
    models, palette = _styles(pd.unique(df["model"]), order, colors)
    band = _interval_columns(df.columns)
    uids = list(pd.unique(df["unique_id"]))
    names = uids[:max(int(max_series), 1)]
    if history is None:
        history = 2 * int(df["step"].max()) if "step" in df.columns else 0
    fig = Figure(figsize=(11, max(2.8 * len(names) + 0.8, 4.2)), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for i, (ax, uid) in enumerate(zip(axes, names)):
        rows = df[df["unique_id"] == uid]
        actual = _context(actuals[str(uid)], rows, int(history))
        _backtest_panel(ax, actual, rows, models, palette, band)
        ax.set_title(str(uid), fontsize=10, loc="left")
        _axis_labels(ax, str(uid), actual.index, _units(y), bottom=i == len(names) - 1)
    extra = [Patch(color="0.6", alpha=0.35, lw=0, label=band[2])] if band else []
    _figure_legend(fig, axes, models, ranked=order is not None, extra=extra)
    n_cut = df["cutoff"].nunique()
    _note(fig, [f"{len(models)} models \N{MULTIPLICATION SIGN} {n_cut} cutoffs "
                "(dotted lines: the cutoffs)", *_series_note(len(names), len(uids))])
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def _backtest_table(predictions) -> pd.DataFrame:
    """The long backtest table, with a ``model`` column (one model: ``attrs["model"]``)."""
    from spikecast.backtest.core import ComparisonResult

    if isinstance(predictions, ComparisonResult):
        predictions = predictions.predictions
    needed = {"unique_id", "ds", "cutoff", "y_pred"}
    if not isinstance(predictions, pd.DataFrame) or not needed <= set(predictions.columns):
        raise DataValidationError(
            f"plot_backtest expects a backtest table with columns {sorted(needed)} "
            "(the result of backtest or compare)"
        )
    if "model" not in predictions.columns:
        predictions = predictions.assign(model=predictions.attrs.get("model", "model"))
    return predictions.assign(model=predictions["model"].astype(str))


def _backtest_actuals(df: pd.DataFrame, y) -> dict[str, pd.Series]:
    """``{unique_id: actual series}``: ``y`` matched to the table's series, or the
    table's own ``y`` column."""
    uids = {str(u): None for u in pd.unique(df["unique_id"])}
    if y is None:
        if "y" not in df.columns:
            raise DataValidationError("plot_backtest: pass y (the table has no 'y' column)")
        rows = df.drop_duplicates(["unique_id", "ds"]).sort_values("ds", kind="stable")
        return {str(u): pd.Series(g["y"].to_numpy(dtype=float), index=pd.Index(g["ds"]))
                for u, g in rows.groupby("unique_id", sort=False)}
    actuals = _as_series_dict(y, "y")
    if len(uids) == 1 and len(actuals) == 1:
        return {next(iter(uids)): next(iter(actuals.values()))}
    missing = [u for u in uids if u not in actuals]
    if missing:
        raise DataValidationError(f"plot_backtest: series {missing} of the table are not in "
                                  f"y, which has {list(actuals)}")
    return actuals


def _interval_columns(columns) -> tuple[str, str, str] | None:
    """``(lower column, upper column, legend label)`` of the outermost central interval
    among the ``y_pred_q<level>`` columns (levels ``q`` and ``1 - q``; else the lowest and
    the highest level around the median), or None."""
    levels = {}
    for column in columns:
        match = _QUANTILE.match(str(column))
        if match:
            try:
                levels[float(match.group(1))] = str(column)
            except ValueError:
                continue
    low = sorted(q for q in levels if q < 0.5)
    high = [q for q in levels if q > 0.5]
    if not low or not high:
        return None
    pair = next(((q, 1 - q) for q in low if any(np.isclose(1 - q, h) for h in high)),
                (low[0], max(high)))
    upper = min(high, key=lambda h: abs(h - pair[1]))
    label = f"shaded: {upper - pair[0]:.0%} interval (q{pair[0]:g}-q{upper:g})"
    return levels[pair[0]], levels[upper], label


def _context(actual: pd.Series, rows: pd.DataFrame, history: int) -> pd.Series:
    """The actuals from ``history`` values before the first cutoff to the last forecast."""
    actual = actual.sort_index()
    first = np.searchsorted(actual.index, rows["cutoff"].min(), side="right")
    last = np.searchsorted(actual.index, rows["ds"].max(), side="right")
    return actual.iloc[max(int(first) - max(history, 1), 0):int(last)]


def _backtest_panel(ax, actual: pd.Series, rows: pd.DataFrame, models: list[str],
                    palette: dict, band: tuple | None) -> None:
    """One series: the actuals, the cutoffs, then each model's segment from each cutoff
    (the first model on top), over its interval."""
    ax.plot(actual.index, actual.to_numpy(), color="black", lw=1.3, label="actual", zorder=3)
    for cutoff in pd.unique(rows["cutoff"]):
        ax.axvline(cutoff, color="0.55", lw=0.7, ls=":", zorder=0, label="_cutoff")
    for k, model in enumerate(models):
        z = 2.9 - k / (len(models) + 1)
        for cutoff, seg in rows[rows["model"] == model].groupby("cutoff", sort=True):
            seg = seg.sort_values("ds")
            x = seg["ds"].to_numpy()
            if band is not None:
                ax.fill_between(x, seg[band[0]].to_numpy(dtype=float),
                                seg[band[1]].to_numpy(dtype=float), color=palette[model],
                                alpha=0.15, lw=0, zorder=1, label="_interval")
            line, = ax.plot(x, seg["y_pred"].to_numpy(dtype=float), color=palette[model],
                            lw=1.2, label=model, zorder=z)
            line.set_gid(f"{model}@{cutoff}")


# ---------------------------------------------------------------- plot_backtest_errors
def plot_backtest_errors(df, metric: str = "mae", path=None, *, title: str | None = None,
                         order: Sequence | None = None, colors: Mapping | None = None
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
        order: the models' rank order, best first (legend order and colours); default the
            order of first appearance.
        colors: ``{model: colour}`` overriding those colours.

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
    if "model" in scores.columns:
        groups = {str(m): g for m, g in scores.groupby("model", sort=False)}
    else:
        groups = {str(df.attrs.get("model", "model")): scores}
    models, palette = _styles(groups, order, colors)
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, label in enumerate(models):
        g = groups[label]
        ax.plot(g["step"].to_numpy(), g[column].to_numpy(), marker="o", ms=3, label=label,
                color=palette[label], zorder=2.9 - k / (len(models) + 1))
    ax.set_xlabel("horizon step")
    ax.set_ylabel(column.upper())
    ax.grid(alpha=0.3)
    _figure_legend(fig, [ax], models, ranked=order is not None)
    ax.set_title(title or f"{column.upper()} by horizon step")
    if path is not None:
        save_figure(fig, path)
    return fig


# ------------------------------------------------------------------------- plot_pareto
ENERGY_LABEL = "estimated energy per forecast window (nJ, log scale)"

# label positions tried around a point, in order: (dx, dy) in points, then the alignment
_LABEL_OFFSETS = tuple(
    (dx, dy, "left" if dx > 0 else "right" if dx < 0 else "center",
     "bottom" if dy > 0 else "top" if dy < 0 else "center")
    for dx, dy in ((7, 3), (7, -3), (-7, 3), (-7, -3), (12, 0), (-12, 0), (0, 10), (0, -10),
                   (12, 12), (-12, 12), (12, -12), (-12, -12), (0, 20), (0, -20))
)


def pareto_front(frame: pd.DataFrame, x: str = "energy_nj", y: str = "mse") -> pd.Series:
    """Which rows of ``frame`` lie on the Pareto front when a lower ``x`` and a lower ``y``
    are both better.

    A row is on the front when no other row is at least as good on both columns and strictly
    better on one. Rows that tie exactly are all on it; rows with a missing (NaN) value in
    either column are never on it and never dominate another.

    Returns:
        A boolean Series aligned with ``frame.index``, named ``"pareto"``.

    Example:
        >>> pts = pd.DataFrame({"energy_nj": [1.0, 2.0, 3.0], "mse": [0.5, 0.6, 0.4]})
        >>> pareto_front(pts).tolist()
        [True, False, True]
    """
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
    valid = np.isfinite(xs) & np.isfinite(ys)
    on = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(valid):
        at_least = valid & (xs <= xs[i]) & (ys <= ys[i])
        on[i] = not (at_least & ((xs < xs[i]) | (ys < ys[i]))).any()
    return pd.Series(on, index=frame.index, name="pareto")


def plot_pareto(frame: pd.DataFrame, x: str = "energy_nj", y: str = "mse",
                label: str = "model", path=None, *, title: str | None = None,
                subtitle: str | None = None, xlabel: str = ENERGY_LABEL,
                ylabel: str | None = None, order: Sequence | None = None,
                colors: Mapping | None = None) -> Figure:
    """Accuracy against estimated energy: one point per model, the Pareto front marked.

    The energy axis is logarithmic. The Pareto front (lower error and lower energy both
    better, :func:`pareto_front`) is drawn as a step line through its points, which are
    ringed and labelled in bold; every point carries its model's name, placed clear of the
    other names and points where one of a few offsets allows it. Colours follow
    :func:`model_colors` of ``order`` (then the frame's order), over every model in
    ``frame``, shown or not, so a model keeps its colour from figure to figure.

    Nothing is estimated here: a model without a finite, positive ``x`` (the classical
    baselines have no ``energy_nj`` in ``docs/results.csv``) or without a ``y`` is left out
    and named in a note under the axes. The energy is read from ``x`` only, never from
    ``energy_ann_nj``: the analog networks (GRU, LSTM, the ``relu`` twins) have an
    ``energy_nj`` of their own, equal to their ``energy_ann_nj`` (every operation a
    multiply-accumulate), and no row of ``docs/results.csv`` has an ``energy_ann_nj``
    without an ``energy_nj``.

    Args:
        frame: one row per model, already averaged (``benchmarks/results.py`` passes each
            model's average over the protocol's horizons, the tables' ``avg`` column).
        x: the energy column (nJ per forecast window; log axis).
        y: the error column; lower must be better (MSE, MAE, RSE; not R²).
        label: the column naming each model.
        path: if given, also write the figure there as a PNG (atomically).
        title: figure title; default "accuracy against estimated energy per forecast".
        subtitle: a smaller line under the title (which runs, which configurations).
        xlabel: the energy axis label.
        ylabel: the error axis label; default ``"test <Y> (standardised)"``.
        order: the models' order for colours (:func:`model_colors`); default the frame's.
        colors: ``{model: colour}`` overriding those colours.

    Returns:
        The :class:`matplotlib.figure.Figure` (one axes; its point collections carry the
        model names as ``gid``).

    Raises:
        DataValidationError: a column is missing, or a model has more than one row.
    """
    points, notes = _pareto_points(frame, x, y, label)
    _, palette = _styles(frame[label], order, colors)
    fig = Figure(figsize=(9.5, 6.2), layout="constrained")
    ax = fig.subplots()
    front = points[pareto_front(points, x, y)].sort_values([x, y])
    _draw_pareto(ax, points, front, x, y, palette)
    _pareto_axes(ax, points, x, y, xlabel, ylabel or f"test {y.upper()} (standardised)")
    fig.suptitle(title or "accuracy against estimated energy per forecast")
    if subtitle:
        ax.set_title(subtitle, fontsize=9, color="0.3")
    _note(fig, notes)
    fig.draw_without_rendering()  # lays the axes out, so that label extents are final
    _place_labels(ax, points, front, x, y)
    if path is not None:
        save_figure(fig, path)
    return fig


def _pareto_points(frame: pd.DataFrame, x: str, y: str, label: str
                   ) -> tuple[pd.DataFrame, list[str]]:
    """The plottable rows (``label``, ``x``, ``y``; finite, ``x`` positive) and the notes
    naming the models left out, with why."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError("plot_pareto expects a DataFrame, one row per model")
    missing = [c for c in (label, x, y) if c not in frame.columns]
    if missing:
        raise DataValidationError(f"plot_pareto: no column {missing}; the frame has "
                                  f"{list(frame.columns)}")
    names = frame[label].astype(str)
    repeated = sorted(set(names[names.duplicated()]))
    if repeated:
        raise DataValidationError(f"plot_pareto: models {repeated} have several rows; pass "
                                  "one row per model (e.g. its average over horizons)")
    points = pd.DataFrame({label: names,
                           x: pd.to_numeric(frame[x], errors="coerce").astype(float),
                           y: pd.to_numeric(frame[y], errors="coerce").astype(float)})
    no_x = ~(np.isfinite(points[x]) & (points[x] > 0))
    no_y = ~np.isfinite(points[y]) & ~no_x
    what = "no energy estimate" if x.startswith("energy") else f"no positive {x}"
    notes = []
    if no_x.any():  # their error is known: say it, so nothing good hides off the figure
        shown = [f"{n} {v:.3f}" if np.isfinite(v) else f"{n} (no {y} either)"
                 for n, v in zip(points.loc[no_x, label], points.loc[no_x, y])]
        notes.append(f"not shown, {what} (their {y.upper()}): {', '.join(shown)}")
    if no_y.any():
        notes.append(f"not shown, no {y}: {', '.join(points.loc[no_y, label])}")
    return points[~(no_x | no_y)].reset_index(drop=True), notes


def _draw_pareto(ax, points: pd.DataFrame, front: pd.DataFrame, x: str, y: str,
                 palette: Mapping) -> None:
    """The points in their models' colours, the front's step line and its ringed points."""
    label = points.columns[0]
    for _, row in points.iterrows():
        dots = ax.scatter([row[x]], [row[y]], s=60, color=palette[row[label]],
                          edgecolors="white", linewidths=0.8, zorder=3)
        dots.set_gid(row[label])
    if len(front):
        ax.step(front[x], front[y], where="post", color="0.2", lw=1.3, ls="--", zorder=2,
                label="Pareto front: no other model has both lower error and lower energy")
        ax.scatter(front[x], front[y], s=190, facecolors="none", edgecolors="0.1",
                   linewidths=1.4, zorder=2.5, label="on the front (bold name)")
        ax.legend(loc="best", fontsize=8, title="lower and further left is better",
                  title_fontsize=8)


def _pareto_axes(ax, points: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str
                 ) -> None:
    """Log energy axis, linear error axis, both with room around the points for names."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="major")
    ax.grid(alpha=0.12, which="minor")
    if len(points):
        lo, hi = np.log10(points[x].min()), np.log10(points[x].max())
        pad = max(hi - lo, 0.5) * 0.1
        ax.set_xlim(10 ** (lo - pad), 10 ** (hi + 1.5 * pad))
        lo, hi = points[y].min(), points[y].max()
        pad = max(hi - lo, abs(hi) * 0.05, 1e-12) * 0.1
        ax.set_ylim(lo - pad, hi + 1.5 * pad)


def _place_labels(ax, points: pd.DataFrame, front: pd.DataFrame, x: str, y: str) -> None:
    """Name every point, the front's first and in bold, clear of the other names, the points,
    the front's line and the legend (:func:`_place_label` for each)."""
    label = points.columns[0]
    xy = ax.transData.transform(points[[x, y]].to_numpy())
    radius = [10 if i in front.index else 6 for i in points.index]  # the rings are wider
    dots = [Bbox.from_extents(px - r, py - r, px + r, py + r) for (px, py), r in zip(xy, radius)]
    taken = _step_boxes(ax, front[[x, y]].to_numpy())
    if ax.get_legend() is not None:  # a name under the legend would be hidden
        taken.append(ax.get_legend().get_window_extent())
    for i in sorted(points.index, key=lambda i: (i not in front.index, i)):
        text = ax.annotate(points.at[i, label], (points.at[i, x], points.at[i, y]),
                           xytext=(0, 0), textcoords="offset points", fontsize=9, zorder=4,
                           fontweight="bold" if i in front.index else "normal")
        text.set_in_layout(False)
        others = taken + [b for j, b in enumerate(dots) if j != i]
        taken.append(_place_label(text, others, ax.get_window_extent()))


def _step_boxes(ax, front: np.ndarray) -> list[Bbox]:
    """Thin display boxes around each segment of the front's step line (``where="post"``:
    across at a point's error to the next point's energy, then down)."""
    boxes = []
    for (x0, y0), (x1, y1) in zip(front[:-1], front[1:]):
        for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1))):
            (ax0, ay0), (bx0, by0) = ax.transData.transform([a, b])
            boxes.append(Bbox.from_extents(min(ax0, bx0) - 1, min(ay0, by0) - 1,
                                           max(ax0, bx0) + 1, max(ay0, by0) + 1))
    return boxes


def _place_label(text: Annotation, others: list[Bbox], inside: Bbox) -> Bbox:
    """Move ``text`` to the first of :data:`_LABEL_OFFSETS` where it overlaps none of
    ``others`` and stays inside ``inside`` (else where it overlaps least); its extent."""
    costs = []
    for dx, dy, ha, va in _LABEL_OFFSETS:
        text.xyann = (dx, dy)
        text.set(ha=ha, va=va)
        costs.append(_overlap(text.get_window_extent(), others, inside))
        if costs[-1] == 0:
            break
    dx, dy, ha, va = _LABEL_OFFSETS[int(np.argmin(costs))]
    text.xyann = (dx, dy)
    text.set(ha=ha, va=va)
    return text.get_window_extent()


def _overlap(box: Bbox, others: list[Bbox], inside: Bbox) -> float:
    """How badly a name's box ``box`` collides: its area over the others' boxes, plus its
    area outside the axes (counted double)."""
    def area(a: Bbox, b: Bbox) -> float:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return max(w, 0.0) * max(h, 0.0)

    outside = box.width * box.height - area(box, inside)
    return sum(area(box, o) for o in others) + 2 * outside

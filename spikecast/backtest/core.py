"""Rolling-origin backtests: :func:`backtest` one forecaster, :func:`compare` several."""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from spikecast.backtest.params import check_backtest_params
from spikecast.collected_warnings import ignored_by_filters
from spikecast.data.frames import Panel, to_panel
from spikecast.exceptions import BacktestWarning, DataValidationError

if TYPE_CHECKING:  # sklearn and spikecast.base load when a backtest runs
    from spikecast.base import BaseForecaster

__all__ = ["backtest", "compare", "ComparisonResult", "BacktestWarning", "OUTPUT_COLUMNS"]

#: the columns of a backtest result, in order (quantile columns ``y_pred_q<level>`` follow)
OUTPUT_COLUMNS = ("unique_id", "ds", "cutoff", "step", "y", "y_pred")




# --------------------------------------------------------------------------- argument checks
def _timeline(panel: Panel) -> pd.Index:
    """The time labels cutoffs refer to: the index, or the union of the series' indexes."""
    if panel.n_series == 1:
        return panel.indexes[0]
    union = panel.indexes[0].append(list(panel.indexes[1:])).unique()
    return union.sort_values()


def _start_position(start, timeline: pd.Index) -> int:
    """Position in ``timeline`` of the first cutoff (``start``'s type is already checked)."""
    n = len(timeline)
    if isinstance(start, (int, np.integer)):
        pos = int(start) + (n if start < 0 else 0)
        if not 0 <= pos < n:
            raise DataValidationError(
                f"start={start} is outside the {n} rows of the data; pass a position in "
                f"[-{n}, {n - 1}] (negative counts from the end) or a fraction such as 0.75"
            )
        return pos
    if isinstance(start, (float, np.floating)):
        if not 0.0 < start < 1.0:  # also NaN
            raise DataValidationError(
                f"a float start is a fraction of the length, strictly between 0 and 1; got {start}"
            )
        return max(int(round(start * n)), 1) - 1
    if isinstance(timeline, pd.DatetimeIndex):
        return _label_position(start, timeline)
    raise DataValidationError(
        f"start={start!r}: with an integer index pass an int position or a float fraction"
    )


def _label_position(start, timeline: pd.DatetimeIndex) -> int:
    """Position of the last row at or before the time stamp ``start``."""
    try:
        label = pd.Timestamp(start)
    except (TypeError, ValueError) as err:
        raise DataValidationError(f"start={start!r} is not a time stamp: {err}") from err
    if timeline.tz is not None and label.tz is None:
        label = label.tz_localize(timeline.tz)
    pos = int(timeline.searchsorted(label, side="right")) - 1
    if pos < 0:
        raise DataValidationError(
            f"start={start!r} lies before the first observation {timeline[0]!r}; "
            "choose a start inside the data"
        )
    if label > timeline[-1]:
        raise DataValidationError(
            f"start={start!r} lies after the last observation {timeline[-1]!r}; the "
            "first cutoff must leave a horizon of data after it, so choose an earlier "
            "start"
        )
    return pos


# --------------------------------------------------------------------------- one group
def _run_group(estimator, y_panel: Panel, X_panel: Panel | None, future_panel: Panel | None,
               starts: np.ndarray, ends: np.ndarray, cutoff_label, keep_model: bool,
               static=None) -> dict:
    """Fit a copy of ``estimator`` on the rows of the group's first cutoff and forecast
    after every cutoff of the group (rows ``starts[k]:ends[k]``) in one
    :meth:`~spikecast.base.BaseForecaster.historical_forecasts` call.

    Runs in a joblib worker. Warnings are recorded and returned, to be reported once; an
    error gets a note saying at which cutoff it happened.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from sklearn.base import clone

        est = clone(estimator)
        t0 = time.perf_counter()
        try:
            rows = (starts[0], ends[0])
            future = {} if future_panel is None else {
                "X_future": future_panel.slice_rows(*rows)}
            if static is not None:
                future["X_static"] = static
            est.fit(y_panel.slice_rows(*rows),
                    None if X_panel is None else X_panel.slice_rows(*rows), **future)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python >= 3.11
                err.add_note(f"(backtest: while fitting on the data up to cutoff "
                             f"{cutoff_label!r})")
            raise
        t1 = time.perf_counter()
        future = {} if future_panel is None else {"X_future": future_panel}
        history = est.historical_forecasts(y_panel, ends, starts=starts, X=X_panel, **future)
        t2 = time.perf_counter()
    return {
        "forecasts": history.points,
        "quantiles": history.quantiles,
        "levels": history.levels,
        "targets": history.targets,
        "fit_time": t1 - t0,
        "predict_time": t2 - t1,
        "warnings": [(w.category, str(w.message)) for w in caught],
        "model": est if keep_model else None,
    }


def _report_warnings(records: list[tuple], owner: str, n_fits: int) -> None:
    """One :class:`BacktestWarning` per category summarising the workers' warnings."""
    records = [(c, m) for c, m in records if not ignored_by_filters(c, m)]
    if not records:
        return
    by_category = Counter(c for c, _ in records)
    lines = [f"backtest({owner}): {len(records)} warning(s) over {n_fits} fit(s), "
             "collected and reported once:"]
    for category, count in by_category.items():
        first = next(m for c, m in records if c is category)
        example = first.strip().splitlines()[0][:300] if first.strip() else ""
        lines.append(f"  - {category.__name__} x{count}, e.g.: {example}")
    warnings.warn("\n".join(lines), BacktestWarning, stacklevel=3)


# --------------------------------------------------------------------------- backtest
def backtest(forecaster, y, *, start, stride: int = 1, window: str = "expanding",
             train_length: int | None = None, refit=True, n_jobs: int | None = 1, X=None,
             progress: bool | None = None, return_models: bool = False,
             name: str | None = None, X_future=None, X_static=None):
    """Rolling-origin evaluation of ``forecaster`` on ``y``.

    At every cutoff the model is fitted on the data up to and including the cutoff (all of
    it for ``window="expanding"``, the last ``train_length`` rows for ``"sliding"``),
    forecasts ``horizon`` steps and is scored against the actual values that follow.
    Only cutoffs followed by a full horizon of data are used (partial horizons at the end
    are dropped), so every cutoff is scored on ``horizon`` steps.

    The user's ``forecaster`` is never modified: every fit is on a ``sklearn.base.clone``.

    Args:
        forecaster: a spikecast forecaster (a :class:`~spikecast.base.BaseForecaster`).
        y: wide DataFrame, Series, 2-D array or long DataFrame (``unique_id, ds, y``).
        start: the first cutoff: an int position (negative counts from the end), a float
            fraction of the length (``0.75``: the first model trains on the first 75 % of
            rows), or an index label (the last row at or before it). With long data the
            positions and labels refer to the union of the series' time stamps.
        stride: rows between consecutive cutoffs.
        window: ``"expanding"`` or ``"sliding"``.
        train_length: rows in the sliding window (``window="sliding"`` only); forecasts
            after later cutoffs of a no-refit group also see only the last ``train_length``
            rows.
        refit: ``True`` refits at every cutoff, ``False`` fits once at the first cutoff
            and forecasts all cutoffs with that model (in one
            :meth:`~spikecast.base.BaseForecaster.historical_forecasts` call, which neural
            models vectorise), an int ``k`` refits every ``k`` cutoffs.
        n_jobs: joblib workers over the refit groups (``-1``: all cores).
        X: past covariates with the same index as ``y`` (wide data only).
        X_future: known-future covariates with the same index as ``y`` (wide data only),
            for a forecaster with the tag ``supports_future_covariates``: it trains on their
            rows up to each cutoff and forecasts with their values over the horizon after it.
        X_static: static covariates of long data (one row per ``unique_id``), for a
            forecaster with the tag ``supports_static_covariates``; every fit gets them.
        progress: show a tqdm progress bar over cutoffs (on stderr); ``None`` (default):
            only when stderr is a terminal, so nothing is drawn in a pipe or a log file.
        return_models: also return the fitted forecasters, one per fit (in cutoff order),
            e.g. to measure their cost with ``efficiency()``; they hold their training
            data (views where possible), so keep them only as long as needed.
        name: what to call the model in the progress bar, ``attrs["model"]`` and the
            warning summaries (default: its class name, e.g. ``"NeuralForecaster"``);
            :func:`compare` passes each model's key.

    Returns:
        A long DataFrame with columns ``unique_id, ds, cutoff, step, y, y_pred`` (plus
        ``y_pred_q<level>`` for forecasters trained for quantiles, e.g. a
        ``NeuralForecaster(loss="quantile")``), one row per series, target column, cutoff
        and horizon step. ``unique_id`` is the column name for wide input (every target
        column is its own series) and the series id for long input; ``cutoff`` is the label
        of the last observation the forecast used; ``step`` runs 1..horizon. With long data
        a series whose data ends before a cutoff's full horizon is not scored at that
        cutoff. ``df.attrs`` holds ``model`` (``name``), ``horizon``, ``n_cutoffs``, ``n_fits``,
        ``fit_time_s`` and ``predict_time_s`` (wall time summed over fits / forecasts,
        whatever ``n_jobs``) and ``n_warnings``. With ``return_models=True``, the tuple
        ``(frame, models)``.

    The index of ``y`` may be irregular (no inferable frequency): cutoffs are rows and the
    forecasts are scored at the actual time stamps that follow them, so no frequency is
    needed (unlike ``predict``, which must invent future time stamps).

    Raises:
        DataValidationError: for invalid arguments (the message names the argument and the
            valid values), or when no cutoff has a full horizon or the first training window
            is too short for the model (the message says how many rows are needed).
        TypeError: ``forecaster`` is not a spikecast forecaster.

    Warnings from the fits (e.g. statsmodels convergence warnings) are collected in every
    worker and reported once, as one :class:`BacktestWarning` per warning category.
    """
    from spikecast.base import BaseForecaster

    if not isinstance(forecaster, BaseForecaster):
        raise TypeError(
            f"forecaster must be a spikecast forecaster (BaseForecaster), got "
            f"{type(forecaster).__name__}"
        )
    forecaster.validate_params()
    horizon = int(forecaster.horizon)
    every = _check_arguments(start, stride, window, train_length, refit, n_jobs)
    missing = getattr(forecaster, "missing", "raise")
    y_panel, X_panel = _panels(y, X, missing)
    future_panel = None if X_future is None else _panels(y, X_future, missing, "X_future")[1]
    labels, starts, ends = _cutoff_rows(y_panel, start, stride, window, train_length, horizon)
    _check_first_window(forecaster, y_panel, labels[0], starts[0], ends[0], window,
                        train_length)
    n_cut = len(labels)
    size = n_cut if every is None else every
    groups = [list(range(g, min(g + size, n_cut))) for g in range(0, n_cut, size)]
    name = type(forecaster).__name__ if name is None else str(name)
    if progress is None:
        progress = sys.stderr.isatty()
    tasks = (delayed(_run_group)(forecaster, y_panel, X_panel, future_panel, starts[group],
                                 ends[group], labels[group[0]], return_models, X_static)
             for group in groups)
    results = []
    with tqdm(total=n_cut, desc=f"backtest {name}", unit="cutoff",
              disable=not progress) as bar:
        runner = Parallel(n_jobs=n_jobs, return_as="generator")
        for group, result in zip(groups, runner(tasks)):
            results.append(result)
            bar.update(len(group))

    frame = _assemble(y_panel, groups, results, ends, horizon)
    records = [w for r in results for w in r["warnings"]]
    _report_warnings(records, name, len(groups))
    frame.attrs.update({
        "model": name,
        "horizon": horizon,
        "n_cutoffs": n_cut,
        "n_fits": len(groups),
        "fit_time_s": float(sum(r["fit_time"] for r in results)),
        "predict_time_s": float(sum(r["predict_time"] for r in results)),
        "n_warnings": len(records),
    })
    if return_models:
        return frame, [r["model"] for r in results]
    return frame


def _check_arguments(start, stride, window, train_length, refit, n_jobs) -> int | None:
    """Check the backtest's own arguments (:mod:`spikecast.backtest.params`); returns the
    refit period (``None``: one fit)."""
    check_backtest_params(start=start, stride=stride, window=window,
                          train_length=train_length, refit=refit, n_jobs=n_jobs)
    if isinstance(refit, (bool, np.bool_)):
        return 1 if refit else None
    return int(refit)


def _panels(y, X, missing: str, what: str = "X") -> tuple[Panel, Panel | None]:
    """``y`` and the covariates ``X`` (named ``what`` in errors) validated as panels with
    the same index."""
    y_panel = to_panel(y, missing=missing, what="y")
    X_panel = None if X is None else to_panel(X, missing=missing, what=what)
    if X_panel is not None:
        if X_panel.kind == "long" or y_panel.kind == "long":
            raise DataValidationError(
                f"{what}: covariates are supported for wide data (DataFrame, Series, array) "
                "only")
        if not X_panel.indexes[0].equals(y_panel.indexes[0]):
            raise DataValidationError(
                f"{what} must have the same index as y (y has {len(y_panel.indexes[0])} rows "
                f"from {y_panel.indexes[0][0]!r}, {what} has {len(X_panel.indexes[0])} rows "
                f"from {X_panel.indexes[0][0]!r}); align them, e.g. "
                f"{what} = {what}.reindex(y.index)"
            )
    return y_panel, X_panel


def _cutoff_rows(y_panel: Panel, start, stride: int, window: str, train_length, horizon: int
                 ) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The cutoffs' labels and every series' training rows ``starts[c, i]:ends[c, i]`` at
    every cutoff ``c`` (only cutoffs followed by a full horizon)."""
    timeline = _timeline(y_panel)
    if window == "sliding" and train_length > len(timeline):
        raise DataValidationError(
            f"train_length={train_length} is longer than the data ({len(timeline)} rows), so "
            "the window would never slide; use window='expanding' or a smaller train_length"
        )
    first = _start_position(start, timeline)
    last = len(timeline) - 1 - horizon
    if first > last:
        raise DataValidationError(
            f"no cutoff has a full horizon: the first cutoff (position {first}, "
            f"{timeline[first]!r}) leaves {len(timeline) - 1 - first} row(s) after it but "
            f"horizon={horizon} needs {horizon}; choose an earlier start"
        )
    labels = timeline[list(range(first, last + 1, int(stride)))]
    # rows of every series up to (and including) every cutoff
    ends = np.array([[int(ix.searchsorted(c, side="right")) for ix in y_panel.indexes]
                     for c in labels])  # [n_cutoffs, n_series]
    if window == "sliding":
        starts = np.maximum(ends - int(train_length), 0)
    else:
        starts = np.zeros_like(ends)
    return labels, starts, ends


def _check_first_window(forecaster, y_panel: Panel, label, starts: np.ndarray,
                        ends: np.ndarray, window: str, train_length) -> None:
    """Every series must have the rows the model trains on at the first cutoff."""
    try:
        needed = forecaster.min_train_length()
    except (TypeError, ValueError):  # parameters fit will name
        needed = 1
    short = np.flatnonzero(ends - starts < needed)
    if len(short):
        i = int(short[0])
        where = "y" if y_panel.ids[i] is None else f"series {y_panel.ids[i]!r}"
        hint = (f"; train_length={train_length} is too short" if window == "sliding"
                and train_length < needed else "; choose a later start")
        raise DataValidationError(
            f"at the first cutoff {label!r} {where} has {int(ends[i] - starts[i])} "
            f"row(s) of training data but {type(forecaster).__name__} needs at least "
            f"{needed}{hint}"
        )


def _assemble(y_panel: Panel, groups, results, ends, horizon: int) -> pd.DataFrame:
    """The long result table from the per-group forecasts."""
    targets = results[0]["targets"]
    levels = results[0]["levels"]
    positions = [y_panel.columns.index(t) for t in targets]
    steps = np.arange(1, horizon + 1)
    uids, ds_parts, cut_parts, y_parts, p_parts, q_parts = [], [], [], [], [], []
    order_series, order_cut = [], []
    long = y_panel.kind == "long"
    for group, result in zip(groups, results):
        for k, c in enumerate(group):
            forecasts = result["forecasts"][k]
            for i, (values, index) in enumerate(zip(y_panel.values, y_panel.indexes)):
                n = int(ends[c][i])
                if n + horizon > len(values):
                    continue  # no full horizon of actuals for this series
                future = index[n:n + horizon]
                cut_label = index[n - 1]
                for j, pos in enumerate(positions):
                    uids.append(y_panel.ids[i] if long else targets[j])
                    ds_parts.append(future)
                    cut_parts.append(cut_label)
                    y_parts.append(values[n:n + horizon, pos])
                    p_parts.append(forecasts[i][:, j])
                    if levels:
                        q_parts.append(result["quantiles"][k][i][:, j, :])
                    order_series.append(i * len(positions) + j)
                    order_cut.append(c)
    if not ds_parts:
        raise DataValidationError("no series has a full horizon of actual values after any "
                                  "cutoff; choose an earlier start")
    count = len(ds_parts)
    ds = ds_parts[0].append(ds_parts[1:]) if count > 1 else ds_parts[0]
    uid_col = np.empty(count, dtype=object)
    uid_col[:] = uids
    cut_index = pd.Index(cut_parts)
    frame = pd.DataFrame({
        "unique_id": np.repeat(uid_col, horizon),
        "ds": np.asarray(ds) if not isinstance(ds, pd.DatetimeIndex) else ds,
        "cutoff": cut_index.repeat(horizon),
        "step": np.tile(steps, count),
        "y": np.concatenate(y_parts),
        "y_pred": np.concatenate(p_parts),
    })
    if levels:
        block = np.concatenate(q_parts)  # [rows, Q]
        for qi, q in enumerate(levels):
            frame[f"y_pred_q{q:g}"] = block[:, qi]
    # series (and column) first, then cutoffs in time order
    order = np.lexsort((np.tile(steps, count),
                        np.repeat(order_cut, horizon), np.repeat(order_series, horizon)))
    return frame.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- compare
@dataclass
class ComparisonResult:
    """What :func:`compare` returns.

    Attributes:
        table: one row per model (indexed by its name): the metrics over all cutoffs,
            series and steps, then ``fit_time_s``, ``predict_time_s`` (summed over fits /
            forecasts), ``n_fits`` and ``n_cutoffs``.
        predictions: the long backtest rows of every model, with a leading ``model``
            column (pass it to :func:`~spikecast.backtest.evaluate` for other breakdowns,
            e.g. ``by="step"``).
        models: ``{name: [fitted forecaster per fit]}`` with ``return_models=True``, else
            empty.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame = field(repr=False)
    models: dict[str, list] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"ComparisonResult(table=\n{self.table!r})"


def compare(forecasters: Mapping[str, BaseForecaster], y, *,
            metrics: Sequence = ("mae", "mse", "rmse", "smape"), season_length: int = 1,
            return_models: bool = False, progress: bool | None = None,
            **backtest_kwargs) -> ComparisonResult:
    """Backtest several forecasters on the same cutoffs and tabulate them.

    Args:
        forecasters: ``{name: forecaster}``; all must have the same ``horizon``.
        y: the data, in any input form.
        metrics: metric names (see :data:`spikecast.metrics.METRICS`) or callables for the
            table; ``"mase"`` is scaled by the in-sample seasonal naive error of ``y`` before
            the first cutoff (see :func:`~spikecast.backtest.evaluate`).
        season_length: the period of MASE's seasonal naive scale.
        return_models: keep the fitted forecasters (``ComparisonResult.models``).
        progress: a progress bar per model, labelled with its key (``None``, the default:
            only when stderr is a terminal).
        **backtest_kwargs: passed to :func:`backtest` (``start`` is required; ``name`` is
            each model's key).

    Returns:
        A :class:`ComparisonResult` with ``.table`` (a row per model: metrics, fit and
        predict time) and ``.predictions`` (the long backtest rows with a ``model`` column).
    """
    from spikecast.backtest.evaluation import evaluate
    from spikecast.base import BaseForecaster

    if "start" not in backtest_kwargs:
        raise TypeError(
            "compare needs start= (the first cutoff: an int position, a float fraction such "
            "as 0.75, or an index label), passed on to backtest"
        )
    if "name" in backtest_kwargs:
        raise TypeError("compare names every backtest after its key in forecasters; "
                        "pass no name=")
    if not isinstance(forecasters, Mapping) or not forecasters:
        raise DataValidationError("forecasters must be a non-empty dict {name: forecaster}")
    horizons = {}
    for name, est in forecasters.items():
        if not isinstance(est, BaseForecaster):
            raise TypeError(f"forecasters[{name!r}] is a {type(est).__name__}, not a "
                            "spikecast forecaster")
        est.validate_params()
        horizons[name] = int(est.horizon)
    if len(set(horizons.values())) > 1:
        raise DataValidationError(
            f"compare needs one horizon for all models, got {horizons}; set the same "
            "horizon= on each"
        )
    frames, rows, models = [], {}, {}
    for name, est in forecasters.items():
        out = backtest(est, y, return_models=return_models, progress=progress,
                       name=str(name), **backtest_kwargs)
        frame, models[name] = out if return_models else (out, [])
        attrs = dict(frame.attrs)
        frame.insert(0, "model", name)
        frames.append(frame)
        rows[name] = attrs
    cutoffs = [set(f["cutoff"].unique()) for f in frames]
    if any(c != cutoffs[0] for c in cutoffs[1:]):
        raise DataValidationError("the models were scored on different cutoffs")
    predictions = pd.concat(frames, ignore_index=True)
    predictions.attrs = {}
    scores = evaluate(predictions, metrics=metrics, by=None, y=y,
                      season_length=season_length).set_index("model")
    table = scores.loc[list(forecasters)]
    for column in ("fit_time_s", "predict_time_s", "n_fits", "n_cutoffs"):
        table[column] = [rows[n][column] for n in forecasters]
    table.index.name = "model"
    return ComparisonResult(table=table, predictions=predictions,
                            models=models if return_models else {})

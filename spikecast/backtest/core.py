"""Rolling-origin backtests: :func:`backtest` one forecaster, :func:`compare` several."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from tqdm.auto import tqdm

from spikecast.base import BaseForecaster
from spikecast.baselines._base import ignored_by_filters
from spikecast.data.frames import Panel, to_panel
from spikecast.exceptions import BacktestWarning, DataValidationError

__all__ = ["backtest", "compare", "ComparisonResult", "BacktestWarning", "OUTPUT_COLUMNS"]

#: the columns of a backtest result, in order (quantile columns ``y_pred_q<level>`` follow)
OUTPUT_COLUMNS = ("unique_id", "ds", "cutoff", "step", "y", "y_pred")




# --------------------------------------------------------------------------- argument checks
def _check_refit(refit) -> int | None:
    """``None`` for a single fit, else refit every ``k`` cutoffs."""
    if isinstance(refit, (bool, np.bool_)):
        return 1 if refit else None
    if isinstance(refit, (int, np.integer)) and refit >= 1:
        return int(refit)
    raise DataValidationError(
        f"refit must be True, False or a positive integer (refit every k cutoffs), got {refit!r}"
    )


def _timeline(panel: Panel) -> pd.Index:
    """The time labels cutoffs refer to: the index, or the union of the series' indexes."""
    if panel.n_series == 1:
        return panel.indexes[0]
    union = panel.indexes[0].append(list(panel.indexes[1:])).unique()
    return union.sort_values()


def _start_position(start, timeline: pd.Index) -> int:
    """Position in ``timeline`` of the first cutoff."""
    n = len(timeline)
    if isinstance(start, (bool, np.bool_)) or start is None:
        raise DataValidationError(
            f"start must be an int position, a float fraction or an index label, got {start!r}"
        )
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
    raise DataValidationError(
        f"start={start!r}: with an integer index pass an int position or a float fraction"
    )


def _slice(panel: Panel | None, lo: list[int], hi: list[int]) -> Panel | None:
    """Rows ``lo[i]:hi[i]`` of every series ``i`` (views, no copies)."""
    if panel is None:
        return None
    return Panel(
        values=[v[a:b] for v, a, b in zip(panel.values, lo, hi)],
        indexes=[ix[a:b] for ix, a, b in zip(panel.indexes, lo, hi)],
        ids=panel.ids, columns=panel.columns, kind=panel.kind, name=panel.name,
        freqs=panel.freqs,
    )


def _quantile_levels(est) -> list[float] | None:
    """The quantile levels a fitted forecaster can forecast, if any."""
    if not hasattr(est, "predict_quantiles"):
        return None
    levels = getattr(est, "quantiles", None)
    if not levels or getattr(est, "loss", "quantile") != "quantile":
        return None
    return [float(q) for q in levels]


def _output_arrays(output, panel: Panel, targets: list[str]) -> list[np.ndarray]:
    """A forecast in the user's form back to one ``[H, n_targets]`` array per series."""
    if isinstance(output, np.ndarray):
        return [np.asarray(output, dtype=np.float64).reshape(len(output), -1)]
    if isinstance(output, pd.Series):
        return [output.to_numpy(dtype=np.float64)[:, None]]
    if panel.kind == "long":
        groups = {uid: g["y"].to_numpy(dtype=np.float64)[:, None]
                  for uid, g in output.groupby("unique_id", sort=False)}
        return [groups[uid] for uid in panel.ids]
    return [output[targets].to_numpy(dtype=np.float64)]


# --------------------------------------------------------------------------- one group
def _run_group(estimator, y_fit, X_fit, predict_on, cutoff_label):
    """Fit a copy of ``estimator`` once and forecast after every history in ``predict_on``.

    Runs in a joblib worker. Warnings are recorded and returned, to be reported once; an
    error gets a note saying at which cutoff it happened.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = clone(estimator)
        t0 = time.perf_counter()
        try:
            est.fit(y_fit, X_fit)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python >= 3.11
                err.add_note(f"(backtest: while fitting on the data up to cutoff "
                             f"{cutoff_label!r})")
            raise
        t1 = time.perf_counter()
        panels = [est._prediction_panel(y, X) for y, X in predict_on]
        forecasts = est._predict_panels(panels)
        levels = _quantile_levels(est)
        quantiles = None
        if levels:
            quantiles = []
            for (y, X), panel in zip(predict_on, panels):
                out = est.predict_quantiles(y, X)
                per_level = [_output_arrays(out[q], panel, est.target_columns_)
                             for q in out]
                quantiles.append([np.stack(arrs, axis=-1) for arrs in zip(*per_level)])
            levels = [float(q) for q in out]
        t2 = time.perf_counter()
    return {
        "forecasts": forecasts,
        "quantiles": quantiles,
        "levels": levels,
        "targets": list(est.target_columns_),
        "fit_time": t1 - t0,
        "predict_time": t2 - t1,
        "warnings": [(w.category, str(w.message)) for w in caught],
    }


def _report_warnings(records: list[tuple], owner: str, n_fits: int) -> None:
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
             progress: bool = True) -> pd.DataFrame:
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
            and forecasts all cutoffs with that model (in one batched
            ``_predict_panels`` call, which neural models vectorise), an int ``k`` refits
            every ``k`` cutoffs.
        n_jobs: joblib workers over the refit groups (``-1``: all cores).
        X: past covariates with the same index as ``y`` (wide data only).
        progress: show a tqdm progress bar over cutoffs.

    Returns:
        A long DataFrame with columns ``unique_id, ds, cutoff, step, y, y_pred`` (plus
        ``y_pred_q<level>`` for forecasters trained for quantiles, e.g. a
        ``NeuralForecaster(loss="quantile")``), one row per series, target column, cutoff
        and horizon step. ``unique_id`` is the column name for wide input (every target
        column is its own series) and the series id for long input; ``cutoff`` is the label
        of the last observation the forecast used; ``step`` runs 1..horizon. With long data
        a series whose data ends before a cutoff's full horizon is not scored at that
        cutoff. ``df.attrs`` holds ``model``, ``horizon``, ``n_cutoffs``, ``n_fits``,
        ``fit_time_s`` and ``predict_time_s`` (wall time summed over fits / forecasts,
        whatever ``n_jobs``) and ``n_warnings``.

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
    if not isinstance(forecaster, BaseForecaster):
        raise TypeError(
            f"forecaster must be a spikecast forecaster (BaseForecaster), got "
            f"{type(forecaster).__name__}"
        )
    horizon = forecaster._check_horizon()
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise DataValidationError(f"stride must be a positive integer, got {stride!r}")
    if window not in ("expanding", "sliding"):
        raise DataValidationError(f"window must be 'expanding' or 'sliding', got {window!r}")
    if window == "sliding":
        if isinstance(train_length, bool) or not isinstance(train_length, (int, np.integer)) \
                or train_length < 1:
            raise DataValidationError(
                f"window='sliding' needs train_length, a positive integer (rows per training "
                f"window); got {train_length!r}"
            )
    elif train_length is not None:
        raise DataValidationError(
            "train_length applies to window='sliding' only; an expanding window trains on "
            "all rows up to each cutoff"
        )
    every = _check_refit(refit)
    if n_jobs is not None and (isinstance(n_jobs, bool)
                               or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
        raise DataValidationError(
            f"n_jobs must be None, a positive number of workers or -1 (all cores), got "
            f"{n_jobs!r}"
        )

    missing = getattr(forecaster, "missing", "raise")
    y_panel = to_panel(y, missing=missing, what="y")
    X_panel = None if X is None else to_panel(X, missing=missing, what="X")
    if X_panel is not None:
        if X_panel.kind == "long" or y_panel.kind == "long":
            raise DataValidationError(
                "X: covariates are supported for wide data (DataFrame, Series, array) only")
        if not X_panel.indexes[0].equals(y_panel.indexes[0]):
            raise DataValidationError(
                f"X must have the same index as y (y has {len(y_panel.indexes[0])} rows from "
                f"{y_panel.indexes[0][0]!r}, X has {len(X_panel.indexes[0])} rows from "
                f"{X_panel.indexes[0][0]!r}); align them, e.g. X = X.reindex(y.index)"
            )
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
    positions = list(range(first, last + 1, int(stride)))
    labels = timeline[positions]
    # rows of every series up to (and including) every cutoff
    ends = np.array([[int(ix.searchsorted(c, side="right")) for ix in y_panel.indexes]
                     for c in labels])  # [n_cutoffs, n_series]
    if window == "sliding":
        starts = np.maximum(ends - int(train_length), 0)
    else:
        starts = np.zeros_like(ends)

    try:
        needed = int(forecaster._min_train_length())
    except Exception:  # invalid parameters: fit will say what is wrong
        needed = 1
    short = np.flatnonzero(ends[0] - starts[0] < needed)
    if len(short):
        i = int(short[0])
        where = "y" if y_panel.ids[i] is None else f"series {y_panel.ids[i]!r}"
        hint = (f"; train_length={train_length} is too short" if window == "sliding"
                and train_length < needed else "; choose a later start")
        raise DataValidationError(
            f"at the first cutoff {labels[0]!r} {where} has {int(ends[0][i] - starts[0][i])} "
            f"row(s) of training data but {type(forecaster).__name__} needs at least "
            f"{needed}{hint}"
        )

    n_cut = len(positions)
    size = n_cut if every is None else every
    groups = [list(range(g, min(g + size, n_cut))) for g in range(0, n_cut, size)]

    def tasks():
        for group in groups:
            f = group[0]
            predict_on = [(_slice(y_panel, list(starts[c]), list(ends[c])),
                           _slice(X_panel, list(starts[c]), list(ends[c]))) for c in group]
            yield delayed(_run_group)(
                forecaster,
                _slice(y_panel, list(starts[f]), list(ends[f])),
                _slice(X_panel, list(starts[f]), list(ends[f])),
                predict_on,
                timeline[positions[f]],
            )

    name = type(forecaster).__name__
    results = []
    with tqdm(total=n_cut, desc=f"backtest {name}", unit="cutoff",
              disable=not progress) as bar:
        runner = Parallel(n_jobs=n_jobs, return_as="generator")
        for group, result in zip(groups, runner(tasks())):
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
    return frame


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
    """

    table: pd.DataFrame
    predictions: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return f"ComparisonResult(table=\n{self.table!r})"


def compare(forecasters: Mapping[str, BaseForecaster], y, *,
            metrics: Sequence = ("mae", "mse", "rmse", "smape"), **backtest_kwargs
            ) -> ComparisonResult:
    """Backtest several forecasters on the same cutoffs and tabulate them.

    Args:
        forecasters: ``{name: forecaster}``; all must have the same ``horizon``.
        y: the data, in any input form.
        metrics: metric names (see :data:`spikecast.metrics.METRICS`) or callables for the
            table.
        **backtest_kwargs: passed to :func:`backtest` (``start`` is required).

    Returns:
        A :class:`ComparisonResult` with ``.table`` (a row per model: metrics, fit and
        predict time) and ``.predictions`` (the long backtest rows with a ``model`` column).
    """
    from spikecast.backtest.evaluation import evaluate

    if "start" not in backtest_kwargs:
        raise TypeError(
            "compare needs start= (the first cutoff: an int position, a float fraction such "
            "as 0.75, or an index label), passed on to backtest"
        )
    if not isinstance(forecasters, Mapping) or not forecasters:
        raise DataValidationError("forecasters must be a non-empty dict {name: forecaster}")
    horizons = {}
    for name, est in forecasters.items():
        if not isinstance(est, BaseForecaster):
            raise TypeError(f"forecasters[{name!r}] is a {type(est).__name__}, not a "
                            "spikecast forecaster")
        horizons[name] = est._check_horizon()
    if len(set(horizons.values())) > 1:
        raise DataValidationError(
            f"compare needs one horizon for all models, got {horizons}; set the same "
            "horizon= on each"
        )
    frames, rows = [], {}
    for name, est in forecasters.items():
        frame = backtest(est, y, **backtest_kwargs)
        attrs = dict(frame.attrs)
        frame.insert(0, "model", name)
        frames.append(frame)
        rows[name] = attrs
    cutoffs = [set(f["cutoff"].unique()) for f in frames]
    if any(c != cutoffs[0] for c in cutoffs[1:]):
        raise DataValidationError("the models were scored on different cutoffs")
    predictions = pd.concat(frames, ignore_index=True)
    predictions.attrs = {}
    scores = evaluate(predictions, metrics=metrics, by=None).set_index("model")
    table = scores.loc[list(forecasters)]
    table["fit_time_s"] = [rows[n]["fit_time_s"] for n in forecasters]
    table["predict_time_s"] = [rows[n]["predict_time_s"] for n in forecasters]
    table["n_fits"] = [rows[n]["n_fits"] for n in forecasters]
    table["n_cutoffs"] = [rows[n]["n_cutoffs"] for n in forecasters]
    table.index.name = "model"
    return ComparisonResult(table=table, predictions=predictions)

"""Aggregate backtest rows into metric tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from spikecast import metrics as _metrics
from spikecast.data.frames import to_panel
from spikecast.exceptions import DataValidationError

__all__ = ["evaluate"]

_ALIASES = {"horizon": "step", "series": "unique_id", "h": "step"}


def _by_columns(by, frame: pd.DataFrame) -> list[str]:
    if by is None:
        cols: list[str] = []
    elif isinstance(by, str):
        cols = [by]
    else:
        cols = list(by)
    cols = [_ALIASES.get(c, c) for c in cols]
    if "model" in frame.columns and "model" not in cols:
        cols = ["model", *cols]  # never mix models
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"evaluate: cannot group by {missing}; the table has columns {list(frame.columns)} "
            "(aliases: 'horizon' -> 'step', 'series' -> 'unique_id')"
        )
    return cols


def _rse_long(group: pd.DataFrame) -> float:
    """RSE with the per-series (``unique_id``) means of the actual values."""
    groups = group["unique_id"] if "unique_id" in group.columns else None
    return _metrics.rse(group["y"].to_numpy(dtype=np.float64),
                        group["y_pred"].to_numpy(dtype=np.float64), groups=groups)


def _insample(y, predictions: pd.DataFrame) -> dict:
    """``{unique_id: values}``: every series of ``y`` up to (and including) the first
    cutoff of ``predictions``, keyed as the backtest names its series."""
    panel = to_panel(y, what="y")
    first = predictions["cutoff"].min()
    series = {}
    for uid, values, index in zip(panel.ids, panel.values, panel.indexes):
        rows = values[: int(index.searchsorted(first, side="right"))]
        if panel.kind == "long":
            series[uid] = rows[:, 0]
        else:
            series.update({column: rows[:, j] for j, column in enumerate(panel.columns)})
    return series


def _mase(group: pd.DataFrame, insample: dict, season_length: int) -> float:
    """MASE of a group: every series' MAE divided by its in-sample seasonal naive MAE,
    averaged over the series."""
    try:
        per_series = [_metrics.mase(g["y"].to_numpy(), g["y_pred"].to_numpy(),
                                    insample[uid], season_length)
                      for uid, g in group.groupby("unique_id", sort=False)]
    except KeyError as err:
        raise DataValidationError(
            f"mase: series {err} of the predictions is not in y; pass the data the "
            "backtest ran on") from err
    except ValueError as err:  # too little history for the season, or a constant series
        rows = min(len(v) for v in insample.values())
        raise DataValidationError(
            f"mase with season_length={season_length} on the {rows} rows before the "
            f"first cutoff: {err}; change the season length or the start, or drop mase "
            "from the metrics") from err
    return float(np.mean(per_series))


def _metric_functions(metrics) -> list[tuple[str, Callable[..., float]]]:
    """``(column name, function)`` of every metric; ``"mase"`` maps to :func:`_mase`."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    fns = []
    for m in metrics:
        if isinstance(m, str) and m.lower() == "mase":
            fns.append(("mase", _mase))
            continue
        fn = _metrics.get_metric(m)
        name = m if isinstance(m, str) else getattr(fn, "__name__", repr(fn))
        fns.append((name.lower() if isinstance(m, str) else name, fn))
    if not fns:
        raise DataValidationError("evaluate: pass at least one metric")
    return fns


def evaluate(df, metrics: Sequence = ("mae", "mse", "rmse", "smape"),
             by=("unique_id",), *, y=None, season_length: int = 1) -> pd.DataFrame:
    """Metrics of backtest rows, overall or per group.

    Args:
        df: the output of :func:`~spikecast.backtest.backtest` (columns ``y``, ``y_pred``
            and the grouping columns), the ``predictions`` of
            :func:`~spikecast.backtest.compare`, or a :class:`ComparisonResult`.
        metrics: names in :data:`spikecast.metrics.METRICS`, ``"mase"``, or callables
            ``f(y_true, y_pred) -> float`` (named by their ``__name__``).
        by: column(s) to group by: ``"unique_id"`` (alias ``"series"``), ``"step"`` (alias
            ``"horizon"``), ``"cutoff"``, any other column, or ``None`` for one overall row.
            A ``model`` column is always grouped on, so models are never mixed.
        y: the data the backtest ran on; MASE's in-sample series (needed for ``"mase"``).
        season_length: the period of MASE's seasonal naive scale.

    Returns:
        One row per group: the grouping columns, then one column per metric. Each metric is
        computed over all rows of the group (series, cutoffs and steps pooled); ``rse`` uses
        the mean of every series' actual values in the group as ``ȳ_col`` (the P2 protocol
        with series as columns); ``mase`` divides every series' MAE by the in-sample MAE of
        the seasonal naive forecast on that series of ``y`` up to the first cutoff, and
        averages over the series.
    """
    from spikecast.backtest.core import ComparisonResult

    if isinstance(df, ComparisonResult):
        df = df.predictions
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"evaluate expects a backtest DataFrame, got {type(df).__name__}")
    missing = [c for c in ("y", "y_pred") if c not in df.columns]
    if missing:
        raise DataValidationError(f"evaluate: the table lacks column(s) {missing}")
    fns = _metric_functions(metrics)
    insample = None
    if any(fn is _mase for _, fn in fns):
        if y is None:
            raise DataValidationError(
                "evaluate: mase needs the in-sample series; pass y= (the data the backtest "
                "ran on) and season_length=")
        insample = _insample(y, df)
    cols = _by_columns(by, df)

    def score(group: pd.DataFrame) -> dict:
        return {name: _score(fn, group, insample, season_length) for name, fn in fns}

    if not cols:
        return pd.DataFrame([score(df)])
    rows = []
    for key, group in df.groupby(cols, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(cols, key)), **score(group)})
    return _ordered(pd.DataFrame(rows), cols, df)


def _score(fn, group: pd.DataFrame, insample: dict | None, season_length: int) -> float:
    """One metric of one group of rows."""
    if fn is _metrics.rse:
        return _rse_long(group)
    if fn is _mase:
        return _mase(group, insample, season_length)
    return fn(group["y"].to_numpy(), group["y_pred"].to_numpy())


def _ordered(result: pd.DataFrame, cols: list[str], df: pd.DataFrame) -> pd.DataFrame:
    """Models in the order they appear in ``df``, every other grouping column sorted."""
    keys = [c for c in cols if c != "model"]
    if "model" in cols:
        order = {m: i for i, m in enumerate(pd.unique(df["model"]))}
        result["_order"] = result["model"].map(order)
        keys = ["_order", *keys]
    if keys:
        result = result.sort_values(keys, kind="stable").drop(columns="_order", errors="ignore")
    return result.reset_index(drop=True)

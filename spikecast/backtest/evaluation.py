"""Aggregate backtest rows into metric tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spikecast import metrics as _metrics
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
    y = group["y"].to_numpy(dtype=np.float64)
    _metrics._pair(y, group["y_pred"].to_numpy(dtype=np.float64))  # NaN / shape checks
    if "unique_id" in group.columns:
        means = group.groupby("unique_id", sort=False)["y"].transform("mean").to_numpy()
    else:
        means = np.full_like(y, y.mean())
    den = float(np.sum((y - means) ** 2))
    if den == 0.0:
        raise ValueError("rse: the actual values are constant in every series; RSE undefined")
    return float(np.sqrt(np.sum((y - group["y_pred"].to_numpy()) ** 2)) / np.sqrt(den))


def evaluate(df, metrics: Sequence = ("mae", "mse", "rmse", "smape"),
             by=("unique_id",)) -> pd.DataFrame:
    """Metrics of backtest rows, overall or per group.

    Args:
        df: the output of :func:`~spikecast.backtest.backtest` (columns ``y``, ``y_pred``
            and the grouping columns), the ``predictions`` of
            :func:`~spikecast.backtest.compare`, or a :class:`ComparisonResult`.
        metrics: names in :data:`spikecast.metrics.METRICS` or callables
            ``f(y_true, y_pred) -> float`` (named by their ``__name__``).
        by: column(s) to group by: ``"unique_id"`` (alias ``"series"``), ``"step"`` (alias
            ``"horizon"``), ``"cutoff"``, any other column, or ``None`` for one overall row.
            A ``model`` column is always grouped on, so models are never mixed.

    Returns:
        One row per group: the grouping columns, then one column per metric. Each metric is
        computed over all rows of the group (series, cutoffs and steps pooled); ``rse`` uses
        the mean of every series' actual values in the group as ``ȳ_col`` (the P2 protocol
        with series as columns).
    """
    from spikecast.backtest.core import ComparisonResult

    if isinstance(df, ComparisonResult):
        df = df.predictions
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"evaluate expects a backtest DataFrame, got {type(df).__name__}")
    missing = [c for c in ("y", "y_pred") if c not in df.columns]
    if missing:
        raise DataValidationError(f"evaluate: the table lacks column(s) {missing}")
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    fns = []
    for m in metrics:
        fn = _metrics.get_metric(m)
        name = m if isinstance(m, str) else getattr(fn, "__name__", repr(fn))
        fns.append((name.lower() if isinstance(m, str) else name, fn))
    if not fns:
        raise DataValidationError("evaluate: pass at least one metric")
    cols = _by_columns(by, df)

    def score(group: pd.DataFrame) -> dict:
        out = {}
        for name, fn in fns:
            if fn is _metrics.rse:
                out[name] = _rse_long(group)
            else:
                out[name] = fn(group["y"].to_numpy(), group["y_pred"].to_numpy())
        return out

    if not cols:
        return pd.DataFrame([score(df)])
    rows = []
    for key, group in df.groupby(cols, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(cols, key)), **score(group)})
    result = pd.DataFrame(rows)
    # models in the order they appear, everything else sorted
    keys = [c for c in cols if c != "model"]
    if "model" in cols:
        order = {m: i for i, m in enumerate(pd.unique(df["model"]))}
        result["_order"] = result["model"].map(order)
        keys = ["_order", *keys]
    if keys:
        result = result.sort_values(keys, kind="stable").drop(columns="_order", errors="ignore")
    return result.reset_index(drop=True)

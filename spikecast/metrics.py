"""Forecast accuracy metrics on numpy arrays, Series and DataFrames.

Every metric takes the actual values first and the forecasts second. Inputs are aligned by
shape (row ``i`` of ``y_pred`` forecasts row ``i`` of ``y_true``); when both are DataFrames,
the columns of ``y_pred`` are matched to those of ``y_true`` by name. A ``[n]`` and a
``[n, 1]`` input are treated as the same shape. NaN or infinite values, empty inputs and
mismatched shapes raise a ``ValueError`` that says which argument is at fault.

Unless a docstring says otherwise, a metric averages over all elements (time steps, windows
and columns alike), i.e. over the flattened values; ``n`` below is the number of elements.

``METRICS`` maps names to the point metrics that take ``(y_true, y_pred)``;
:func:`get_metric` looks one up by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from spikecast.validation import Integral, Interval, validate_params

__all__ = [
    "mae",
    "mse",
    "rmse",
    "mape",
    "smape",
    "mase",
    "r2",
    "rse",
    "pinball_loss",
    "coverage",
    "METRICS",
    "get_metric",
]

_EPS = np.finfo(np.float64).eps

#: what the metrics' parameters may be (:mod:`spikecast.validation`)
_PARAMETER_CONSTRAINTS: dict[str, list] = {
    "season_length": [Interval(Integral, 1, None, closed="left")],
}


# --------------------------------------------------------------------------- validation
def _to_array(value, what: str) -> np.ndarray:
    if isinstance(value, (pd.Series, pd.DataFrame)):
        try:
            arr = value.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} must be numeric: {err}") from err
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} must be numeric array-like: {err}") from err
    if arr.ndim == 0:
        raise ValueError(f"{what} must be an array, Series or DataFrame, not a scalar")
    if arr.size == 0:
        raise ValueError(f"{what} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "NaN" if np.isnan(arr).any() else "infinite"
        raise ValueError(
            f"{what} contains {int(bad.sum())} {kind} value(s) (first at position "
            f"{tuple(int(i) for i in np.argwhere(bad)[0])}); drop or fill them first"
        )
    return arr


def _align_frames(y_true, other, what: str):
    """Reorder the columns of DataFrame ``other`` to those of DataFrame ``y_true``."""
    if isinstance(y_true, pd.DataFrame) and isinstance(other, pd.DataFrame):
        if list(y_true.columns) != list(other.columns):
            if set(y_true.columns) != set(other.columns):
                raise ValueError(
                    f"{what} has columns {list(other.columns)} but y_true has "
                    f"{list(y_true.columns)}; pass forecasts of the same columns"
                )
            other = other[list(y_true.columns)]
    return other


def _pair(y_true, y_pred, what: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    """Validated float arrays of equal shape (``[n]`` and ``[n, 1]`` count as equal)."""
    y_pred = _align_frames(y_true, y_pred, what)
    a = _to_array(y_true, "y_true")
    b = _to_array(y_pred, what)
    if a.shape != b.shape:
        if a.ndim == 1 and b.ndim == 2 and b.shape[1] == 1 and len(b) == len(a):
            b = b[:, 0]
        elif b.ndim == 1 and a.ndim == 2 and a.shape[1] == 1 and len(a) == len(b):
            a = a[:, 0]
        else:
            raise ValueError(
                f"y_true has shape {a.shape} but {what} has shape {b.shape}; they must match"
            )
    return a, b


def _scaled_sum_squares(*arrays: np.ndarray) -> tuple[float, list[float]]:
    """``(m, [Σ (x/m)² for x in arrays])`` with ``m`` the largest absolute value: sums of
    squares that do not overflow for values beyond 1e154 (``Σ x² = m² · Σ (x/m)²``)."""
    m = max(float(np.max(np.abs(x))) if x.size else 0.0 for x in arrays)
    if m == 0.0 or not np.isfinite(m):
        return 1.0, [float(np.sum(x * x)) for x in arrays]
    return m, [float(np.sum((x / m) ** 2)) for x in arrays]


def _finite(value: float, name: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if not np.isfinite(value):
        biggest = float(max(np.max(np.abs(y_true)), np.max(np.abs(y_pred))))
        raise ValueError(
            f"{name} overflows float64 (values up to {biggest:.3g}); rescale y_true and "
            "y_pred (e.g. divide both by a constant) or use a scale-free metric (rse, r2)"
        )
    return value


# --------------------------------------------------------------------------- point metrics
def mae(y_true, y_pred) -> float:
    """Mean absolute error: ``MAE = (1/n) Σ |y - ŷ|``.

    Raises:
        ValueError: if the result overflows float64 (values near 1e308).
    """
    a, b = _pair(y_true, y_pred)
    with np.errstate(over="ignore"):
        return _finite(float(np.mean(np.abs(a - b))), "mae", a, b)


def mse(y_true, y_pred) -> float:
    """Mean squared error: ``MSE = (1/n) Σ (y - ŷ)²``.

    Raises:
        ValueError: if the result overflows float64 (errors beyond about 1e154); :func:`rmse`
            stays finite there.
    """
    a, b = _pair(y_true, y_pred)
    with np.errstate(over="ignore"):
        return _finite(float(np.mean((a - b) ** 2)), "mse", a, b)


def rmse(y_true, y_pred) -> float:
    """Root mean squared error: ``RMSE = sqrt((1/n) Σ (y - ŷ)²)`` (over all elements).

    Computed as ``m · sqrt((1/n) Σ ((y - ŷ)/m)²)`` with ``m = max |y - ŷ|``, so it stays finite
    for errors whose squares would overflow.
    """
    a, b = _pair(y_true, y_pred)
    with np.errstate(over="ignore"):
        d = a - b
    _finite(float(np.max(np.abs(d))), "rmse", a, b)
    m, (ss,) = _scaled_sum_squares(d)
    return float(m * np.sqrt(ss / d.size))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error as a fraction (0.1 = 10 %).

    ``MAPE = (1/n) Σ |y - ŷ| / max(|y|, ε)`` with ``ε`` the float64 machine epsilon, the
    definition of scikit-learn's ``mean_absolute_percentage_error``. It is undefined where
    ``y = 0`` and meaningless where ``|y| < ε`` (the term is divided by ``ε`` and becomes
    huge); a ``RuntimeWarning`` says how many such values there are, and :func:`smape` or
    :func:`mae` (or rescaled data) are then better choices.
    """
    a, b = _pair(y_true, y_pred)
    zeros = int(np.sum(a == 0))
    tiny = int(np.sum(np.abs(a) < _EPS)) - zeros
    if zeros or tiny:
        what = " and ".join(part for part in (
            f"{zeros} zero value(s)" if zeros else "",
            f"{tiny} value(s) smaller than machine epsilon ({_EPS:.3g}) in magnitude"
            if tiny else "") if part)
        warnings.warn(
            f"mape: y_true has {what}, where the percentage error is undefined (divided by "
            "machine epsilon); consider smape or mae, or rescale the data",
            RuntimeWarning,
            stacklevel=2,
        )
    return float(np.mean(np.abs(a - b) / np.maximum(np.abs(a), _EPS)))


def smape(y_true, y_pred) -> float:
    """Symmetric mean absolute percentage error as a fraction, between 0 and 2.

    ``sMAPE = (1/n) Σ 2 |y - ŷ| / (|y| + |ŷ|)``, a term with ``y = ŷ = 0`` counting as 0.
    """
    a, b = _pair(y_true, y_pred)
    num = 2.0 * np.abs(a - b)
    den = np.abs(a) + np.abs(b)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(np.mean(terms))


def mase(y_true, y_pred, y_train, season_length: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    ``MASE = MAE(y, ŷ) / ((1/(T-m)) Σ_{t>m} |y_train[t] - y_train[t-m]|)``: the forecast's
    MAE divided by the in-sample MAE of the seasonal naive forecast with period
    ``m = season_length`` on the training series. With several columns the ratio is taken
    per column (each with its own training scale) and averaged over columns.

    Raises:
        spikecast.exceptions.InvalidParameterError: ``season_length`` is not a positive
            integer (a ``ValueError``, as are the errors below).
        ValueError: if ``y_train`` has ``season_length`` rows or fewer, does not have the
            columns of ``y_true``, or is constant at lag ``m`` (zero scale) in some column.
    """
    validate_params({"season_length": season_length}, _PARAMETER_CONSTRAINTS)
    m = int(season_length)
    a, b = _pair(y_true, y_pred)
    y_train = _align_frames(y_true, y_train, "y_train")
    train = _to_array(y_train, "y_train")
    a2 = a.reshape(len(a), -1)
    b2 = b.reshape(len(b), -1)
    train = train.reshape(len(train), -1)
    if train.shape[1] != a2.shape[1]:
        raise ValueError(
            f"y_train has {train.shape[1]} column(s) but y_true has {a2.shape[1]}"
        )
    if len(train) <= m:
        raise ValueError(
            f"y_train has {len(train)} rows but mase with season_length={m} needs at "
            f"least {m + 1}"
        )
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)
    if np.any(scale == 0):
        col = int(np.argmin(scale))
        raise ValueError(
            f"mase: the seasonal naive in-sample error of y_train is 0 in column {col} "
            "(a constant series at lag season_length); MASE is undefined"
        )
    return float(np.mean(np.mean(np.abs(a2 - b2), axis=0) / scale))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination on the flattened values (``sklearn.metrics.r2_score``
    of ``y.ravel()``, ``ŷ.ravel()``, the P2 protocol's definition).

    ``R² = 1 - Σ (y - ŷ)² / Σ (y - ȳ)²`` with ``ȳ`` the mean of all values. When all
    ``y`` are equal, it is 1.0 for a perfect forecast and 0.0 otherwise (as scikit-learn).
    """
    a, b = _pair(y_true, y_pred)
    a, b = a.ravel(), b.ravel()
    with np.errstate(over="ignore"):
        res, tot = a - b, a - a.mean()
    _finite(float(np.max(np.abs(res))) + float(np.max(np.abs(tot))), "r2", a, b)
    _, (ss_res, ss_tot) = _scaled_sum_squares(res, tot)  # both scaled alike
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def rse(y_true, y_pred, groups=None) -> float:
    """Root relative squared error (the P2 protocol's RSE).

    ``RSE = sqrt(Σ (y - ŷ)²) / sqrt(Σ (y - ȳ_col)²)`` with ``ȳ_col`` the mean of each column
    of ``y_true`` (a 1-D input is one column); the sums run over all rows and columns.

    Args:
        y_true: actual values.
        y_pred: forecasts of the same shape.
        groups: optional label per row of a 1-D ``y_true`` (e.g. the series of long backtest
            rows): ``ȳ`` is then the mean of each group, as if every group were a column.

    Raises:
        ValueError: if every column (group) of ``y_true`` is constant (zero denominator).
    """
    a, b = _pair(y_true, y_pred)
    a2 = a.reshape(len(a), -1)
    b2 = b.reshape(len(b), -1)
    if groups is None:
        means = a2.mean(axis=0)
    else:
        labels = pd.Series(np.asarray(groups).ravel())
        if len(labels) != len(a2) or a2.shape[1] != 1:
            raise ValueError(f"groups has {len(labels)} labels but y_true has shape {a.shape};"
                             " pass one label per row of a 1-D y_true")
        means = pd.Series(a2[:, 0]).groupby(labels, sort=False).transform("mean")
        means = means.to_numpy()[:, None]
    with np.errstate(over="ignore"):
        res, tot = a2 - b2, a2 - means
    _finite(float(np.max(np.abs(res))) + float(np.max(np.abs(tot))), "rse", a, b)
    _, (num, den) = _scaled_sum_squares(res, tot)  # both scaled alike
    if den == 0.0:
        where = "every column" if groups is None else "every series"
        raise ValueError(f"rse: y_true is constant in {where}, so RSE is undefined")
    return float(np.sqrt(num) / np.sqrt(den))


# --------------------------------------------------------------------------- probabilistic
def _check_levels(quantiles, what: str = "quantiles") -> np.ndarray:
    try:
        q = np.asarray(quantiles, dtype=np.float64).ravel()
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be numbers in (0, 1): {err}") from err
    if q.size == 0 or not np.all((q > 0) & (q < 1)):
        raise ValueError(f"{what} must be numbers strictly between 0 and 1, got {quantiles!r}")
    return q


def pinball_loss(y_true, y_quantiles, quantiles: Sequence[float] | None = None) -> float:
    """Pinball (quantile) loss averaged over elements and quantile levels.

    For level ``q`` and forecast ``ŷ_q``: ``L_q = (1/n) Σ max(q (y - ŷ_q), (q - 1)(y - ŷ_q))``
    (scikit-learn's ``mean_pinball_loss`` with ``alpha=q``); the result is the mean of
    ``L_q`` over the levels.

    Args:
        y_true: actual values, shape ``S``.
        y_quantiles: either an array of shape ``S + (Q,)`` (the last axis follows
            ``quantiles``; for a 1-D ``y_true`` a ``[n, Q]`` DataFrame works too), or a
            mapping ``{level: forecast of shape S}`` (then ``quantiles`` may be omitted).
        quantiles: the ``Q`` levels, each strictly between 0 and 1.
    """
    if isinstance(y_quantiles, Mapping):
        levels = list(y_quantiles) if quantiles is None else list(quantiles)
        missing = [q for q in levels if q not in y_quantiles]
        if missing:
            raise ValueError(f"y_quantiles has no forecast for level(s) {missing}")
        q = _check_levels(levels)
        losses = []
        for level, qv in zip(levels, q):
            a, b = _pair(y_true, y_quantiles[level], what=f"y_quantiles[{level!r}]")
            diff = a - b
            losses.append(np.mean(np.maximum(qv * diff, (qv - 1.0) * diff)))
        return float(np.mean(losses))
    if quantiles is None:
        raise ValueError("pass quantiles=[...] (the levels along the last axis of y_quantiles)")
    q = _check_levels(quantiles)
    a = _to_array(y_true, "y_true")
    b = _to_array(y_quantiles, "y_quantiles")
    if b.shape != a.shape + (len(q),):
        raise ValueError(
            f"y_quantiles has shape {b.shape} but y_true has shape {a.shape} and there are "
            f"{len(q)} quantile level(s): expected {a.shape + (len(q),)}"
        )
    diff = a[..., None] - b
    loss = np.maximum(q * diff, (q - 1.0) * diff)
    return float(np.mean(loss.reshape(-1, len(q)).mean(axis=0)))


def coverage(y_true, lower, upper) -> float:
    """Empirical coverage of prediction intervals: the fraction of actual values inside.

    ``coverage = (1/n) Σ 1[lower ≤ y ≤ upper]`` (bounds included). A nominal 80 % interval
    should score about 0.8.

    Raises:
        ValueError: if some ``lower`` exceeds the matching ``upper``.
    """
    a, lo = _pair(y_true, lower, what="lower")
    _, hi = _pair(y_true, upper, what="upper")
    if np.any(lo > hi):
        i = tuple(int(j) for j in np.argwhere(lo > hi)[0])
        raise ValueError(f"coverage: lower > upper at position {i} ({lo[i]} > {hi[i]})")
    return float(np.mean((a >= lo) & (a <= hi)))


# --------------------------------------------------------------------------- registry
#: the point metrics ``f(y_true, y_pred) -> float`` by name (mase, pinball_loss and
#: coverage need more inputs and are not in the registry).
METRICS: dict[str, Callable[..., float]] = {
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "mape": mape,
    "smape": smape,
    "r2": r2,
    "rse": rse,
}


def get_metric(name) -> Callable[..., float]:
    """The point metric called ``name`` (see :data:`METRICS`); a callable is returned as is.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if callable(name):
        return name
    key = str(name).lower()
    if key not in METRICS:
        extra = {"mase", "pinball_loss", "coverage"}
        hint = (f"; {key} needs more than (y_true, y_pred), call spikecast.metrics.{key} "
                "directly") if key in extra else ""
        raise ValueError(f"unknown metric {name!r}; valid metrics: {sorted(METRICS)}{hint}")
    return METRICS[key]

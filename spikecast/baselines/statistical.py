"""ARIMA, ETS and VAR baselines through statsmodels.

ARIMA and ETS fit one model per series and column; VAR one model per series over all target
columns jointly. ``predict(y)`` with new data applies the fitted parameters to the new history
without refitting:

- ARIMA: ``ARIMAResults.apply(new_history)`` (the Kalman filter runs over the new data with
  the fitted parameters, so a longer history updates the state as statsmodels would).
- ETS: ``ETSModel(new_history, same spec).smooth(fitted_params)`` (the fitted smoothing
  parameters and initial states, smoothed over the new data) when the new history starts
  with the training data; a history that starts elsewhere (a test window) gets initial
  states estimated from its own first rows (statsmodels' heuristic, which needs 10 rows and
  two full seasons; shorter histories keep the fitted states), since the fitted ones belong
  to the training start and its phase of the season.
- VAR: the fitted coefficients applied to the last ``k_ar`` rows of the new history.

statsmodels imports on first use (fit), so importing :mod:`spikecast.baselines` is cheap.
"""

from __future__ import annotations

import numpy as np

from spikecast.baselines._base import (
    BaselineForecaster,
    LocalModelForecaster,
    ModelError,
    WarningLog,
    where,
)
from spikecast.data.frames import Panel
from spikecast.exceptions import DataValidationError, InvalidParameterError
from spikecast.validation import Check, Integral, Interval, Options

__all__ = ["ARIMAForecaster", "ETSForecaster", "VARForecaster"]

_NON_NEGATIVE = Interval(Integral, 0, None, closed="left")


def _order(length: int, names: str) -> Check:
    """A tuple (or list) of ``length`` non-negative integers, e.g. ``(p, d, q)``."""
    return Check(lambda v: isinstance(v, (tuple, list)) and len(v) == length
                 and all(_NON_NEGATIVE.is_satisfied_by(x) for x in v),
                 f"a tuple of {length} non-negative integers {names}")


#: ETS component types (statsmodels also takes the long spellings)
_ETS_COMPONENT = Options(None, "add", "mul", "additive", "multiplicative",
                         desc="None, 'add' or 'mul'")


class ARIMAForecaster(LocalModelForecaster):
    """(Seasonal) ARIMA per series and column (``statsmodels.tsa.arima.model.ARIMA``).

    Args:
        horizon: number of steps to forecast.
        order: ``(p, d, q)``.
        seasonal_order: ``(P, D, Q, s)``; ``(0, 0, 0, 0)`` for none.
        trend: statsmodels trend: ``None``, ``"n"``, ``"c"``, ``"t"`` or ``"ct"``.
        fallback: a forecaster instance (e.g. ``NaiveForecaster(horizon)``) used for a column
            whose model fails to fit or forecasts non-finite values; without it such a
            failure raises :class:`~spikecast.baselines.ModelError` naming the series and
            column. Its ``horizon`` is set to this model's.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.

    Attributes:
        models_: ``{(series position, column position): ("model", ARIMAResults) or
            ("fallback", fitted fallback)}``.
        fallbacks_: one ``{"series", "column", "error"}`` record per column that fell back.
        fit_warnings_: the statsmodels warnings of ``fit`` (reported as one
            :class:`~spikecast.baselines.ModelWarning`).

    ``predict(y)`` applies the fitted parameters to the new history (``results.apply``)
    without refitting; the series ids of ``y`` must have been seen in ``fit``.
    """

    _parameter_constraints = {
        "order": [_order(3, "(p, d, q)")],
        "seasonal_order": [_order(4, "(P, D, Q, s)")],
        "trend": [Options(None, "n", "c", "t", "ct"),
                  Check(lambda v: isinstance(v, (list, tuple))
                        and all(x in (0, 1) for x in v),
                        "a list of 0/1 trend polynomial coefficients")],
    }

    def __init__(self, horizon: int, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0),
                 trend=None, fallback=None, missing: str = "raise"):
        self.horizon = horizon
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.fallback = fallback
        self.missing = missing

    def _validate_params_extra(self) -> None:
        P, D, Q, s = self.seasonal_order
        if (P or D or Q) and s < 2:
            raise InvalidParameterError(
                f"seasonal_order={self.seasonal_order!r}: the period s must be >= 2 when "
                "P, D or Q is set"
            )

    def _min_train_length(self) -> int:
        p, d, q = (int(v) for v in self.order)
        P, D, Q, s = (int(v) for v in self.seasonal_order)
        return d + s * D + max(p + s * P, q + s * Q, 1) + 1

    def _length_hint(self, stage: str) -> str:
        return (f"differencing and lags of order={tuple(self.order)}, seasonal_order="
                f"{tuple(self.seasonal_order)} need that many rows; pass a longer series or "
                "lower orders")

    def _fit_one(self, x: np.ndarray):
        from statsmodels.tsa.arima.model import ARIMA

        return ARIMA(x, order=tuple(self.order), seasonal_order=tuple(self.seasonal_order),
                     trend=self.trend).fit()

    def _apply_one(self, result, x: np.ndarray):
        return result.apply(x)


class ETSForecaster(LocalModelForecaster):
    """Exponential smoothing (ETS, additive errors) per series and column, through
    ``statsmodels.tsa.exponential_smoothing.ets.ETSModel`` with estimated initial states.

    Args:
        horizon: number of steps to forecast.
        trend: ``None``, ``"add"`` or ``"mul"``.
        damped_trend: damp the trend (needs ``trend``).
        seasonal: ``None``, ``"add"`` or ``"mul"`` (``"mul"`` needs positive data).
        seasonal_periods: the season length (needed with ``seasonal``); series then need at
            least two full seasons.
        fallback: a forecaster instance used for a column whose model fails (see
            :class:`ARIMAForecaster`).
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.

    Attributes:
        models_, fallbacks_, fit_warnings_: as in :class:`ARIMAForecaster`.

    ``predict(y)`` smooths the new history with the fitted parameters
    (``ETSModel(y).smooth(params)``), without refitting. A history that does not start with
    the training data gets its initial states (level, trend, the season in its own phase)
    from its first rows (statsmodels' heuristic) and the fitted smoothing parameters.
    """

    _parameter_constraints = {
        "trend": [_ETS_COMPONENT],
        "damped_trend": ["boolean"],
        "seasonal": [_ETS_COMPONENT],
        "seasonal_periods": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(self, horizon: int, trend=None, damped_trend: bool = False, seasonal=None,
                 seasonal_periods=None, fallback=None, missing: str = "raise"):
        self.horizon = horizon
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.seasonal_periods = seasonal_periods
        self.fallback = fallback
        self.missing = missing

    def _validate_params_extra(self) -> None:
        if self.damped_trend and self.trend is None:
            raise InvalidParameterError("damped_trend=True needs a trend ('add' or 'mul')")
        if self.seasonal is not None and self.seasonal_periods is None:
            raise InvalidParameterError(
                f"seasonal={self.seasonal!r} needs seasonal_periods (the season length)"
            )

    def _min_train_length(self) -> int:
        if self.seasonal is not None:
            return 2 * int(self.seasonal_periods)
        return 3 if self.trend is not None else 2

    def _min_predict_length(self) -> int:
        # predict(y) filters the new history with the fitted parameters, from initial
        # states estimated as in fit
        return self._min_train_length()

    def _length_hint(self, stage: str) -> str:
        if self.seasonal is not None:
            return (f"ETS with seasonal={self.seasonal!r} needs two full seasons of "
                    f"seasonal_periods={self.seasonal_periods} rows; pass a longer series or "
                    "set seasonal=None")
        return ("ETS estimates its initial states from the first rows; pass a longer "
                "series")

    def _spec(self) -> dict:
        return dict(error="add", trend=self.trend, damped_trend=bool(self.damped_trend),
                    seasonal=self.seasonal,
                    seasonal_periods=None if self.seasonal is None else int(
                        self.seasonal_periods))

    def _fit_one(self, x: np.ndarray):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        return ETSModel(x, **self._spec()).fit(disp=False)

    def _apply_one(self, result, x: np.ndarray):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        train = np.asarray(result.model.endog).ravel()
        n = min(len(train), len(x))
        if np.array_equal(x[:n], train[:n]) or len(x) < self._heuristic_length():
            return ETSModel(x, **self._spec()).smooth(result.params)
        # The history starts elsewhere (e.g. a test window): the fitted initial states
        # belong to the training start, its level and its phase of the season, and would
        # misalign the season. Estimate them from the history's own first rows instead,
        # keeping the fitted smoothing parameters.
        model = ETSModel(x, **self._spec(), initialization_method="heuristic")
        fitted = dict(zip(result.model.param_names, result.params))
        return model.smooth([fitted[name] for name in model.param_names])

    def _heuristic_length(self) -> int:
        """Rows statsmodels' heuristic initialisation needs: 10, and two full seasons."""
        return max(10, 2 * int(self.seasonal_periods) if self.seasonal is not None else 0)


class VARForecaster(BaselineForecaster):
    """Vector autoregression per series over all target columns jointly
    (``statsmodels.tsa.api.VAR`` with a constant).

    Args:
        horizon: number of steps to forecast.
        maxlags: the largest lag order tried (statsmodels' default ``12 (T/100)^(1/4)`` if
            ``None``); with ``ic=None`` exactly this order is used.
        ic: lag selection criterion: ``"aic"``, ``"bic"``, ``"hqic"``, ``"fpe"`` or ``None``.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.

    Attributes:
        models_: one ``VARResults`` per series.
        k_ar_: the selected lag order of each series.
        fit_warnings_: the statsmodels warnings of ``fit`` (reported once).

    Needs at least two target columns (wide data); ``predict(y)`` applies the fitted
    coefficients to the last ``k_ar`` rows of the new history.
    """

    _parameter_constraints = {
        "maxlags": [_NON_NEGATIVE, None],
        "ic": [Options("aic", "bic", "hqic", "fpe"), None],
    }

    def __init__(self, horizon: int, maxlags=None, ic="aic", missing: str = "raise"):
        self.horizon = horizon
        self.maxlags = maxlags
        self.ic = ic
        self.missing = missing

    def _min_predict_length(self) -> int:
        # the fitted VARs forecast from their last k_ar rows
        return max([1, *getattr(self, "k_ar_", [])])

    def _needed_rows(self, n_columns: int) -> int:
        """Rows needed for the largest lag order tried: with lag selection (``ic``)
        statsmodels estimates lags up to ``p`` only if ``(n - k - 1) // (k + 1) >= p``,
        i.e. ``n >= p (k + 1) + k + 1``; without, two residual degrees of freedom."""
        p = 1 if self.maxlags is None else max(int(self.maxlags), 1)
        if self.ic is None:
            return p * (n_columns + 1) + 2
        return p * (n_columns + 1) + n_columns + 1

    def _fit(self, panel: Panel) -> None:
        from statsmodels.tsa.api import VAR

        if panel.n_columns < 2:
            raise DataValidationError(
                f"VARForecaster needs at least 2 target columns, got {panel.columns}"
                + (" (long data holds one variable per series)" if panel.kind == "long"
                   else "")
                + "; for a single variable use ARIMAForecaster"
            )
        needed = self._needed_rows(panel.n_columns)
        log = WarningLog()
        models = []
        for uid, values in zip(panel.ids, panel.values):
            loc = where(uid, None, "wide")
            if len(values) < needed:
                raise DataValidationError(
                    f"{'y' if uid is None else f'series {uid!r}'} has {len(values)} rows but "
                    f"VARForecaster(maxlags={self.maxlags}) on {panel.n_columns} columns "
                    f"needs at least {needed}"
                )
            constant = [c for c, v in zip(panel.columns, values.T) if np.ptp(v) == 0]
            if constant:
                raise DataValidationError(
                    f"VARForecaster: {'y' if uid is None else f'series {uid!r}'} column(s) "
                    f"{constant} are constant over all {len(values)} rows; a VAR with a "
                    "constant term cannot be estimated on a constant column (its regressors "
                    "are collinear). Drop the column(s) or forecast them with NaiveForecaster"
                )
            try:
                model = log.run(loc, lambda v: VAR(v).fit(maxlags=self.maxlags, ic=self.ic,
                                                            trend="c"), values)
            except Exception as err:
                raise ModelError(
                    f"VARForecaster: fitting failed on {loc} ({len(values)} rows, columns "
                    f"{panel.columns}): {type(err).__name__}: {err}"
                ) from err
            models.append(model)
        self.models_ = models
        self.k_ar_ = [int(m.k_ar) for m in models]
        self.series_ids_ = list(panel.ids)
        self.fit_warnings_ = log.report("VARForecaster", "fit", len(models))

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        H = int(self.horizon)
        out = []
        for uid, values in zip(panel.ids, panel.values):
            try:
                i = self.series_ids_.index(uid)
            except ValueError:
                raise DataValidationError(
                    f"VARForecaster fits one model per series; series {uid!r} was not seen "
                    "in fit"
                ) from None
            model, k = self.models_[i], self.k_ar_[i]
            if len(values) < k:
                raise DataValidationError(
                    f"{'y' if uid is None else f'series {uid!r}'} has {len(values)} rows of "
                    f"history, but the fitted VAR forecasts from the last k_ar={k}; pass a "
                    "longer history"
                )
            out.append(np.asarray(model.forecast(values[len(values) - k:], H),
                                  dtype=np.float64))
        return out

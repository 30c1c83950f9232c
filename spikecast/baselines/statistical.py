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

With ``quantiles=[...]`` the three forecast quantiles from statsmodels' own prediction
intervals (level ``q < 0.5``: the lower bound of the central ``1 - 2q`` interval; ``q > 0.5``:
the upper bound of the central ``2q - 1`` interval; ``0.5``: the point forecast):

- ARIMA: ``results.get_forecast(horizon).conf_int(alpha=...)`` (Gaussian, from the Kalman
  filter's forecast error variance);
- ETS: ``results.get_prediction(...).pred_int(alpha=...)`` (analytic for the additive
  models ANN, AAN, AAdN, ANA, AAA, AAdA; simulated, 1000 paths with a fixed seed, for the
  others);
- VAR: ``results.forecast_interval(history, horizon, alpha=...)`` (Gaussian, from the
  forecast MSE matrices).

statsmodels imports on first use (fit), so importing :mod:`spikecast.baselines` is cheap.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings

import numpy as np
import pandas as pd

from spikecast.base import ForecasterTags
from spikecast.baselines._base import (
    BaselineForecaster,
    LocalModelForecaster,
    ModelError,
    QuantileMixin,
    WarningLog,
    gaussian_quantiles,
    interval_quantiles,
    tidy_quantiles,
    where,
)
from spikecast.data.frames import Panel
from spikecast.exceptions import DataValidationError, InvalidParameterError
from spikecast.validation import Check, Integral, Interval, Options

__all__ = ["ARIMAForecaster", "ETSForecaster", "VARForecaster", "season_length_of"]

#: seed of statsmodels' simulated ETS prediction intervals (reproducible quantiles)
_SIMULATION_SEED = 0


def season_length_of(freq) -> int | None:
    """The usual season length of a time index frequency (a pandas offset or alias):
    hourly → 24 (a day), daily → 7 (a week), business-daily → 5, weekly → 52 (a year),
    monthly → 12, quarterly → 4; multiples that divide the cycle too (2-hourly → 12,
    3-monthly → 4, 7-daily → 52). ``None`` for anything else (no index frequency,
    minutes, years, ...): no seasonality is assumed.

    The frequency is compared as a pandas offset (its class and multiple), not by its
    string alias.
    """
    if freq is None:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        return None
    n = int(getattr(offset, "n", 1))
    o = pd.offsets
    if isinstance(offset, o.Hour):
        cycle = 24
    elif isinstance(offset, o.Day):
        cycle, n = (52, 1) if n == 7 else (7, n)
    elif isinstance(offset, o.BusinessDay):
        cycle = 5
    elif isinstance(offset, o.Week):
        cycle = 52
    elif isinstance(offset, (o.MonthBegin, o.MonthEnd, o.BusinessMonthBegin,
                             o.BusinessMonthEnd)):
        cycle = 12
    elif isinstance(offset, (o.QuarterBegin, o.QuarterEnd, o.BQuarterBegin, o.BQuarterEnd)):
        cycle = 4
    else:
        return None
    if n < 1 or cycle % n or cycle // n < 2:
        return None
    return cycle // n

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
            column. Its ``horizon`` (and ``quantiles``) are set to this model's.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
        quantiles: quantile levels in (0, 1) to forecast as well (``predict_quantiles``,
            backtest columns ``y_pred_q<level>``), from statsmodels' Gaussian prediction
            intervals (``get_forecast(horizon).conf_int(alpha)``). ``None``: points only.

    The seasonal period is ``s`` of ``seasonal_order``, as statsmodels spells it (the
    ``season_length`` of the other baselines): a seasonal ARIMA needs its seasonal orders
    ``P, D, Q`` anyway, so the period stays with them.

    Attributes:
        models_: ``{(series position, column position): ("model", ARIMAResults) or
            ("fallback", fitted fallback)}``.
        fallbacks_: one ``{"series", "column", "error"}`` record per column that fell back.
        fit_warnings_: the statsmodels warnings of ``fit`` (reported as one
            :class:`~spikecast.baselines.ModelWarning`).

    ``predict(y)`` applies the fitted parameters to the new history (``results.apply``)
    without refitting; the series ids of ``y`` must have been seen in ``fit``.

    ``historical_forecasts`` (so ``backtest``) forecasts many cutoffs in batched passes
    (tag ``batched_history``), with the numbers of one ``predict`` per cutoff:

    - histories that share their first row (expanding windows, ``starts`` all equal): one
      Kalman filter pass over the longest with the fitted parameters; every cutoff's
      forecasts come from the predicted state ``a`` (and covariance ``P``) at that cutoff,
      ``y_{+h} = Z T^h a + Σ_{j<h} Z T^j c + d`` and variance
      ``Z T^h P T'^h Z' + Σ_{j<h} Z T^j RQR' T'^j Z' + H``;
    - many histories of one length that start at different rows (sliding windows, e.g. the
      P1 test windows): the forecast of a window is an affine function of its values (the
      filter's gains and variances do not depend on the data), so ``n + 1`` filter passes
      over probe windows of ``n`` rows (zeros, then each unit vector) give the map, applied
      to all windows at once; the forecast variance is the same for every window;
    - anything else (fewer such windows than ``n + 1``, time-varying system matrices):
      one ``results.apply`` per history, as ``predict``.
    """

    _parameter_constraints: dict[str, list] = {
        "order": [_order(3, "(p, d, q)")],
        "seasonal_order": [_order(4, "(P, D, Q, s)")],
        "trend": [Options(None, "n", "c", "t", "ct"),
                  Check(lambda v: isinstance(v, (list, tuple))
                        and all(x in (0, 1) for x in v),
                        "a list of 0/1 trend polynomial coefficients")],
    }

    def __init__(self, horizon: int, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0),
                 trend=None, fallback=None, missing: str = "raise", quantiles=None):
        self.horizon = horizon
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.fallback = fallback
        self.missing = missing
        self.quantiles = quantiles

    def _validate_params_extra(self) -> None:
        super()._validate_params_extra()
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

    def _fit_one(self, x: np.ndarray, freq=None):
        from statsmodels.tsa.arima.model import ARIMA

        return ARIMA(x, order=tuple(self.order), seasonal_order=tuple(self.seasonal_order),
                     trend=self.trend).fit()

    def _apply_one(self, result, x: np.ndarray):
        return result.apply(x)

    def _quantiles_one(self, result, horizon, point, levels):
        forecast = result.get_forecast(horizon)
        return interval_quantiles(lambda alpha: forecast.conf_int(alpha=alpha), point, levels)

    def __spikecast_tags__(self) -> ForecasterTags:
        """As :class:`LocalModelForecaster`, with ``batched_history``."""
        return dataclasses.replace(super().__spikecast_tags__(), batched_history=True)

    def _forecast_histories(self, result, histories, horizon, levels, log, loc):
        """Forecasts after every history in batched passes (see the class docstring):
        expanding windows from one filter pass, many equal-length windows from their
        affine map, the rest one ``apply`` each."""
        points = np.empty((len(histories), horizon))
        quantiles = np.empty((len(histories), horizon, len(levels or [])))
        expanding, sliding, rest = _batches(histories)
        for group in expanding:
            xs = [histories[k] for k in group]
            f, q, done = self._guarded(loc, xs, self._one_pass, result, xs, horizon, levels)
            points[group], quantiles[group] = f, q
            rest += [k for k, ok in zip(group, done) if not ok]
        for group in sliding:
            xs = [histories[k] for k in group]
            points[group], quantiles[group] = self._guarded(
                loc, xs, self._probe_windows, result, xs, horizon, levels, log, loc)
        if rest:
            rest = sorted(rest)
            points[rest], quantiles[rest] = super()._forecast_histories(
                result, [histories[k] for k in rest], horizon, levels, log, loc)
        return points, quantiles

    def _guarded(self, loc: str, xs: list, fn, *args):
        """``fn(*args)``, a failure raised as :class:`ModelError` naming ``loc``."""
        try:
            return fn(*args)
        except Exception as err:
            rows = max(len(x) for x in xs)
            raise ModelError(
                f"{type(self).__name__}: forecasting failed on {loc} ({len(xs)} histories of "
                f"up to {rows} rows): {type(err).__name__}: {err}"
            ) from err

    @staticmethod
    def _one_pass(result, xs: list[np.ndarray], horizon: int, levels
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts after histories that are prefixes of the longest, from one filter
        pass over it: ``(points, quantiles, done)``; ``done`` is false for histories this
        pass cannot forecast exactly (inside the exact-diffuse start, or time-varying
        system matrices), which are left to one ``apply`` each."""
        ends = np.array([len(x) for x in xs])
        points = np.zeros((len(xs), horizon))
        quantiles = np.zeros((len(xs), horizon, len(levels or [])))
        filtered = _filter_past(result, xs[int(np.argmax(ends))], horizon)
        done = ends > int(filtered.nobs_diffuse)
        if not _time_invariant(filtered):
            done[:] = False
        if not done.any():
            return points, quantiles, done
        mean, var = _state_forecasts(filtered, ends[done], horizon, bool(levels))
        points[done] = mean
        if levels and var is not None:
            quantiles[done] = gaussian_quantiles(mean, np.sqrt(var), levels)
        return points, quantiles, done

    def _probe_windows(self, result, xs: list[np.ndarray], horizon: int, levels,
                       log: WarningLog, loc: str) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts after many windows of ``n`` rows from their affine map, measured with
        ``n + 1`` probe windows through the per-window path (:meth:`_apply_one`)."""
        n = len(xs[0])
        zero = log.run(loc, self._apply_one, result, np.zeros(n))
        offset = log.run(loc, self._forecast_one, zero, horizon)
        slopes = np.empty((horizon, n))
        for t in range(n):
            unit = np.zeros(n)
            unit[t] = 1.0
            applied = log.run(loc, self._apply_one, result, unit)
            slopes[:, t] = log.run(loc, self._forecast_one, applied, horizon) - offset
        points = np.stack(xs) @ slopes.T + offset
        if not levels:
            return points, np.empty((len(xs), horizon, 0))
        # the forecast variance does not depend on the data: one spread for every window
        spread = log.run(loc, self._quantiles_one, zero, horizon, offset, levels)
        return points, points[:, :, None] + (spread - offset[:, None])


def _batches(histories: list) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """How :meth:`ARIMAForecaster._forecast_histories` forecasts each history:
    ``(expanding, sliding, rest)`` positions. ``expanding``: groups of two or more histories
    that start at the same memory (views of one series from one row; each is then a prefix
    of the group's longest); ``sliding``: groups of more than ``n + 1`` other histories of
    one length ``n``; ``rest``: the others (and ``None``, the training data)."""
    by_start: dict[tuple, list[int]] = {}
    rest = []
    for k, x in enumerate(histories):
        if x is None:
            rest.append(k)
            continue
        key = (x.__array_interface__["data"][0], x.strides, x.dtype.str)
        by_start.setdefault(key, []).append(k)
    expanding = [g for g in by_start.values() if len(g) > 1]
    by_length: dict[int, list[int]] = {}
    for g in by_start.values():
        if len(g) == 1:
            by_length.setdefault(len(histories[g[0]]), []).append(g[0])
    sliding = [g for n, g in by_length.items() if len(g) > n + 1]
    rest += [k for n, g in by_length.items() if len(g) <= n + 1 for k in g]
    return expanding, sliding, rest


def _filter_past(result, x: np.ndarray, horizon: int):
    """statsmodels' Kalman filter output (``FilterResults``) over ``x`` and ``horizon``
    missing rows after it, with the fitted parameters (as ``result.apply(x)`` filters,
    without the smoother); the missing rows carry the trend's intercepts beyond ``x``."""
    extended = np.concatenate([np.asarray(x, dtype=np.float64), np.full(horizon, np.nan)])
    return result.model.clone(extended).filter(result.params, return_ssm=True)


def _time_invariant(filtered) -> bool:
    """Whether the system matrices other than the observation intercept are constant."""
    return all(getattr(filtered, name).shape[-1] == 1
               for name in ("design", "transition", "selection", "state_cov", "obs_cov",
                            "state_intercept"))


#: cutoffs per block of the forecast variance (bounds the ``[block, H, k]`` temporaries)
_VARIANCE_BLOCK = 256


def _state_forecasts(filtered, ends: np.ndarray, horizon: int, with_variance: bool
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean ``[C, H]`` (and variance) of the forecasts after every cutoff ``ends`` from
    the predicted states of one filter pass (time-invariant system matrices)."""
    Z = filtered.design[0, :, 0]
    T = filtered.transition[:, :, 0]
    R = filtered.selection[:, :, 0]
    RQR = R @ filtered.state_cov[:, :, 0] @ R.T
    c = filtered.state_intercept[:, 0]
    gains = np.empty((horizon, len(Z)))  # Z T^h
    drift = np.zeros(horizon)  # Σ_{j<h} Z T^j c
    noise = np.zeros(horizon)  # Σ_{j<h} Z T^j RQR' T'^j Z'
    g = Z
    for h in range(horizon):
        gains[h] = g
        if h + 1 < horizon:
            drift[h + 1] = drift[h] + g @ c
            noise[h + 1] = noise[h] + g @ RQR @ g
        g = g @ T
    d = np.broadcast_to(filtered.obs_intercept[0], (filtered.nobs,))
    steps = ends[:, None] + np.arange(horizon)
    mean = filtered.predicted_state[:, ends].T @ gains.T + drift + d[steps]
    if not with_variance:
        return mean, None
    var = np.empty_like(mean)
    for lo in range(0, len(ends), _VARIANCE_BLOCK):
        block = ends[lo:lo + _VARIANCE_BLOCK]
        P = np.moveaxis(filtered.predicted_state_cov[:, :, block], -1, 0)  # [C, k, k]
        var[lo:lo + len(block)] = np.einsum("chk,hk->ch", gains @ P, gains)
    return mean, var + noise + filtered.obs_cov[0, 0, 0]


def _series(x: np.ndarray) -> pd.Series:
    """``x`` as a pandas Series (a RangeIndex): statsmodels' ETS prediction intervals
    (``get_prediction``) need pandas data (on a bare array they fail in statsmodels 0.15)."""
    return pd.Series(np.asarray(x, dtype=np.float64))


class ETSForecaster(LocalModelForecaster):
    """Exponential smoothing (ETS, additive errors) per series and column, through
    ``statsmodels.tsa.exponential_smoothing.ets.ETSModel`` with estimated initial states.

    Seasonal whenever a season is given or detected: ``season_length`` is the period (as in
    :class:`~spikecast.baselines.SeasonalNaiveForecaster`), ``seasonal`` the kind of the
    seasonal component. By default (``season_length="auto"``) the period comes from the
    index frequency (:func:`season_length_of`: hourly → 24, daily → 7, weekly → 52,
    monthly → 12, quarterly → 4) for every series with at least two full seasons; other
    series (shorter ones, or without a frequency that implies a season) are fitted without a
    seasonal component, silently.

    Args:
        horizon: number of steps to forecast.
        trend: ``None``, ``"add"`` or ``"mul"``.
        damped_trend: damp the trend (needs ``trend``).
        seasonal: the seasonal component when there is a season: ``"add"`` (default) or
            ``"mul"`` (needs positive data); ``None``: never seasonal.
        season_length: the period in time steps (an integer >= 2: series then need at least
            two full seasons), ``"auto"`` (default: from the index frequency, see above) or
            ``None`` (no seasonal component).
        fallback: a forecaster instance used for a column whose model fails (see
            :class:`ARIMAForecaster`).
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
        quantiles: quantile levels in (0, 1) to forecast as well (``predict_quantiles``,
            backtest columns ``y_pred_q<level>``), from statsmodels' prediction intervals
            (``get_prediction(...).pred_int(alpha)``: analytic for the additive models,
            simulated with a fixed seed otherwise). ``None``: points only.
        seasonal_periods: deprecated alias of ``season_length`` (a ``FutureWarning`` at fit;
            it will be removed in the next release).

    Attributes:
        models_, fallbacks_, fit_warnings_: as in :class:`ARIMAForecaster`.
        season_lengths_: per series, the period its models were fitted with (``None``: not
            seasonal).

    ``predict(y)`` smooths the new history with the fitted parameters
    (``ETSModel(y).smooth(params)``), without refitting. A history that does not start with
    the training data gets its initial states (level, trend, the season in its own phase)
    from its first rows (statsmodels' heuristic) and the fitted smoothing parameters.
    """

    _parameter_constraints: dict[str, list] = {
        "trend": [_ETS_COMPONENT],
        "damped_trend": ["boolean"],
        "seasonal": [_ETS_COMPONENT],
        "season_length": [Interval(Integral, 2, None, closed="left"),
                          Options("auto"), None],
        "seasonal_periods": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(self, horizon: int, trend=None, damped_trend: bool = False,
                 seasonal="add", season_length="auto", fallback=None,
                 missing: str = "raise", quantiles=None, seasonal_periods=None):
        self.horizon = horizon
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.season_length = season_length
        self.fallback = fallback
        self.missing = missing
        self.quantiles = quantiles
        self.seasonal_periods = seasonal_periods

    def _validate_params_extra(self) -> None:
        super()._validate_params_extra()
        if self.damped_trend and self.trend is None:
            raise InvalidParameterError("damped_trend=True needs a trend ('add' or 'mul')")
        if self.seasonal_periods is not None:
            if self.season_length not in ("auto", None) \
                    and int(self.season_length) != int(self.seasonal_periods):
                raise InvalidParameterError(
                    f"season_length={self.season_length!r} and the deprecated "
                    f"seasonal_periods={self.seasonal_periods!r} disagree; pass "
                    "season_length only"
                )
            warnings.warn(
                "ETSForecaster(seasonal_periods=...) is deprecated and will be removed in "
                f"the next release; pass season_length={self.seasonal_periods} (the period, "
                "as in SeasonalNaiveForecaster)", FutureWarning, stacklevel=4)

    def _given_period(self):
        """The period asked for: an int, ``"auto"`` or ``None`` (not seasonal)."""
        if self.seasonal is None:
            return None
        if self.seasonal_periods is not None:
            return int(self.seasonal_periods)
        if self.season_length is None or self.season_length == "auto":
            return self.season_length
        return int(self.season_length)

    def _min_train_length(self) -> int:
        period = self._given_period()
        if isinstance(period, int):
            return 2 * period
        return 3 if self.trend is not None else 2

    def _min_predict_length(self) -> int:
        # predict(y) filters the new history with the fitted parameters, from initial
        # states estimated as in fit
        fitted = [m for m in getattr(self, "season_lengths_", []) if m]
        if fitted:
            return 2 * max(fitted)
        return self._min_train_length()

    def _length_hint(self, stage: str) -> str:
        period = self._given_period()
        if isinstance(period, int):
            return (f"ETS with seasonal={self.seasonal!r} needs two full seasons of "
                    f"season_length={period} rows; pass a longer series or "
                    "set season_length=None")
        return ("ETS estimates its initial states from the first rows; pass a longer "
                "series")

    def _period(self, freq, n_rows: int) -> int | None:
        """The season length for a series of ``n_rows`` rows with index frequency
        ``freq`` (``None``: not seasonal)."""
        period = self._given_period()
        if period == "auto":
            period = season_length_of(freq)
            if period is None or n_rows < 2 * period:
                return None
        return period

    def _spec(self, period: int | None) -> dict:
        return dict(error="add", trend=self.trend, damped_trend=bool(self.damped_trend),
                    seasonal=self.seasonal if period else None,
                    seasonal_periods=period or None)

    def _fit(self, panel: Panel) -> None:
        freqs = list(panel.freqs) or [None] * panel.n_series
        self.season_lengths_ = [self._period(f, len(v))
                                for f, v in zip(freqs, panel.values)]
        super()._fit(panel)

    def _fit_one(self, x: np.ndarray, freq=None):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        return ETSModel(_series(x), **self._spec(self._period(freq, len(x)))).fit(disp=False)

    @staticmethod
    def _fitted_spec(result) -> dict:
        """The specification of a fitted model (seasonal or not, per series)."""
        m = result.model
        return dict(error="add", trend=m.trend, damped_trend=bool(m.damped_trend),
                    seasonal=m.seasonal,
                    seasonal_periods=int(m.seasonal_periods) if m.seasonal else None)

    def _apply_one(self, result, x: np.ndarray):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        spec = self._fitted_spec(result)
        train = np.asarray(result.model.endog).ravel()
        n = min(len(train), len(x))
        heuristic = max(10, 2 * spec["seasonal_periods"] if spec["seasonal"] else 0)
        if np.array_equal(x[:n], train[:n]) or len(x) < heuristic:
            return ETSModel(_series(x), **spec).smooth(result.params)
        # The history starts elsewhere (e.g. a test window): the fitted initial states
        # belong to the training start, its level and its phase of the season, and would
        # misalign the season. Estimate them from the history's own first rows instead,
        # keeping the fitted smoothing parameters.
        model = ETSModel(_series(x), **spec, initialization_method="heuristic")
        fitted = dict(zip(result.model.param_names, result.params))
        return model.smooth([fitted[name] for name in model.param_names])

    def _quantiles_one(self, result, horizon, point, levels):
        n = int(result.nobs)
        # the seed of the simulated intervals: ``rng`` since statsmodels 0.15,
        # ``random_state`` before
        seed_arg = ("rng" if "rng" in inspect.signature(result.simulate).parameters
                    else "random_state")
        seed = {seed_arg: np.random.default_rng(_SIMULATION_SEED)}
        prediction = result.get_prediction(start=n, end=n + horizon - 1, **seed)
        return interval_quantiles(lambda alpha: np.asarray(prediction.pred_int(alpha=alpha)),
                                  point, levels)


class VARForecaster(QuantileMixin, BaselineForecaster):
    """Vector autoregression per series over all target columns jointly
    (``statsmodels.tsa.api.VAR`` with a constant).

    Args:
        horizon: number of steps to forecast.
        maxlags: the largest lag order tried (statsmodels' default ``12 (T/100)^(1/4)`` if
            ``None``); with ``ic=None`` exactly this order is used.
        ic: lag selection criterion: ``"aic"``, ``"bic"``, ``"hqic"``, ``"fpe"`` or ``None``.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
        quantiles: quantile levels in (0, 1) to forecast as well (``predict_quantiles``,
            backtest columns ``y_pred_q<level>``), from statsmodels' Gaussian intervals
            (``forecast_interval(history, horizon, alpha)``). ``None``: points only.

    Attributes:
        models_: one ``VARResults`` per series.
        k_ar_: the selected lag order of each series.
        fit_warnings_: the statsmodels warnings of ``fit`` (reported once).

    Needs at least two target columns (wide data); ``predict(y)`` applies the fitted
    coefficients to the last ``k_ar`` rows of the new history.
    """

    _parameter_constraints: dict[str, list] = {
        "maxlags": [_NON_NEGATIVE, None],
        "ic": [Options("aic", "bic", "hqic", "fpe"), None],
    }

    def __init__(self, horizon: int, maxlags=None, ic="aic", missing: str = "raise",
                 quantiles=None):
        self.horizon = horizon
        self.maxlags = maxlags
        self.ic = ic
        self.missing = missing
        self.quantiles = quantiles

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
        return [point for point, _ in self._forecast_series(panel, None)]

    def _forecast_with_quantiles(self, panels, levels):
        points, quantiles = [], []
        for panel in panels:
            pairs = self._forecast_series(panel, levels)
            points.append([p for p, _ in pairs])
            quantiles.append([q for _, q in pairs])
        return points, quantiles

    def _forecast_series(self, panel: Panel, levels: list[float] | None):
        """``(point [H, k], quantiles [H, k, n_levels] or None)`` of every series."""
        H = int(self.horizon)
        out: list[tuple[np.ndarray, np.ndarray | None]] = []
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
            last = values[len(values) - k:]
            point = np.asarray(model.forecast(last, H), dtype=np.float64)
            if not levels:
                out.append((point, None))
                continue
            q = np.empty(point.shape + (len(levels),))
            for n, level in enumerate(levels):
                if level == 0.5:
                    q[..., n] = point
                    continue
                _, lower, upper = model.forecast_interval(last, H,
                                                          alpha=2 * min(level, 1 - level))
                q[..., n] = lower if level < 0.5 else upper
            out.append((point, tidy_quantiles(point, q, levels)))
        return out

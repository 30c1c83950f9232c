"""Naive, seasonal naive and drift forecasts: the reference every model must beat.

With ``quantiles=[...]`` they also forecast quantiles: normal prediction intervals around the
point forecast whose standard deviation comes from the one-step residuals of the history
the forecast starts from (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*,
3rd ed., §5.5, "Benchmark methods"): with ``σ̂`` the residual standard deviation,

- naive: ``σ̂_h = σ̂ √h``;
- seasonal naive: ``σ̂_h = σ̂ √(k + 1)``, ``k = ⌊(h - 1) / m⌋`` the completed seasons;
- drift: ``σ̂_h = σ̂ √(h (1 + h / (T - 1)))``, ``T`` the rows of history.
"""

from __future__ import annotations

import numpy as np

from spikecast.baselines._base import BaselineForecaster, GaussianQuantileMixin
from spikecast.data.frames import Panel
from spikecast.validation import Integral, Interval

__all__ = ["NaiveForecaster", "SeasonalNaiveForecaster", "DriftForecaster"]


def _residual_sd(residuals: np.ndarray, n_params: int) -> np.ndarray:
    """Per column ``sqrt(sum(e²) / (n - K))`` (fpp3's ``σ̂``, ``K`` estimated parameters)."""
    dof = max(len(residuals) - n_params, 1)
    return np.sqrt(np.sum(residuals ** 2, axis=0) / dof)


class NaiveForecaster(GaussianQuantileMixin, BaselineForecaster):
    """Repeat the last observed value: ``ŷ[T+h] = y[T]`` for ``h = 1..horizon``.

    Nothing is learned; ``predict(y)`` works on any series. Every column of every series is
    forecast independently.

    Args:
        horizon: number of steps to forecast.
        quantiles: quantile levels in (0, 1) to forecast as well (``predict_quantiles``,
            backtest columns ``y_pred_q<level>``): normal intervals ``σ̂ √h`` with ``σ̂``
            the standard deviation of the history's one-step changes (fpp3 §5.5); series
            then need at least 2 rows. ``None``: points only.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    def __init__(self, horizon: int, missing: str = "raise", quantiles=None):
        self.horizon = horizon
        self.missing = missing
        self.quantiles = quantiles

    def _min_train_length(self) -> int:
        return 2 if self._levels() else 1

    def _min_predict_length(self) -> int:
        return self._min_train_length()

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        H = int(self.horizon)
        return [np.repeat(v[-1:], H, axis=0) for v in panel.values]

    def _forecast_sd(self, panel: Panel) -> list[np.ndarray]:
        h = np.arange(1, int(self.horizon) + 1)[:, None]
        return [_residual_sd(np.diff(v, axis=0), 0) * np.sqrt(h) for v in panel.values]


class SeasonalNaiveForecaster(GaussianQuantileMixin, BaselineForecaster):
    """Repeat the last observed season: ``ŷ[T+h] = y[T + h - m·ceil(h/m)]``, ``m`` the
    season length (the value one, two, ... seasons back, whichever is the latest observed).

    Args:
        horizon: number of steps to forecast.
        season_length: the period ``m`` in time steps (e.g. 24 for hourly data with a daily
            cycle, 52 for weekly data with a yearly cycle); series need at least ``m`` rows.
        quantiles: quantile levels in (0, 1) to forecast as well: normal intervals
            ``σ̂ √(k + 1)``, ``k`` the completed seasons before step ``h``, with ``σ̂`` the
            standard deviation of the history's seasonal differences (fpp3 §5.5); series
            then need ``m + 1`` rows. ``None``: points only.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    _parameter_constraints: dict[str, list] = {
        "season_length": [Interval(Integral, 1, None, closed="left",
                                   desc="an integer >= 1 (the period in time steps)")],
    }

    def __init__(self, horizon: int, season_length: int, missing: str = "raise",
                 quantiles=None):
        self.horizon = horizon
        self.season_length = season_length
        self.missing = missing
        self.quantiles = quantiles

    def _min_train_length(self) -> int:
        return int(self.season_length) + (1 if self._levels() else 0)

    def _min_predict_length(self) -> int:
        return self._min_train_length()

    def _length_hint(self, stage: str) -> str:
        return (f"SeasonalNaiveForecaster repeats the last season of season_length="
                f"{self.season_length} rows"
                + (" (and its intervals need one seasonal difference)" if self._levels()
                   else "")
                + "; pass a longer series or a shorter season_length")

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        H, m = int(self.horizon), int(self.season_length)
        steps = np.arange(H) % m
        return [v[len(v) - m:][steps] for v in panel.values]

    def _forecast_sd(self, panel: Panel) -> list[np.ndarray]:
        m = int(self.season_length)
        k = (np.arange(1, int(self.horizon) + 1)[:, None] - 1) // m
        return [_residual_sd(v[m:] - v[:-m], 0) * np.sqrt(k + 1) for v in panel.values]


class DriftForecaster(GaussianQuantileMixin, BaselineForecaster):
    """Extrapolate the line through the first and the last observation.

    ``ŷ[T+h] = y[T] + h · (y[T] - y[1]) / (T - 1)`` (the random walk with drift); series
    need at least 2 rows.

    Args:
        horizon: number of steps to forecast.
        quantiles: quantile levels in (0, 1) to forecast as well: normal intervals
            ``σ̂ √(h (1 + h / (T - 1)))`` with ``σ̂`` the standard deviation of the history's
            one-step changes around the drift (fpp3 §5.5); series then need 3 rows.
            ``None``: points only.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    def __init__(self, horizon: int, missing: str = "raise", quantiles=None):
        self.horizon = horizon
        self.missing = missing
        self.quantiles = quantiles

    def _min_train_length(self) -> int:
        return 3 if self._levels() else 2

    def _min_predict_length(self) -> int:
        return self._min_train_length()

    def _length_hint(self, stage: str) -> str:
        return ("DriftForecaster draws the line through the first and the last row; pass at "
                + ("least three rows (two for the line, one more for its intervals)"
                   if self._levels() else "least two rows"))

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        h = np.arange(1, int(self.horizon) + 1)[:, None]
        out = []
        for v in panel.values:
            slope = (v[-1] - v[0]) / (len(v) - 1)
            out.append(v[-1] + h * slope)
        return out

    def _forecast_sd(self, panel: Panel) -> list[np.ndarray]:
        h = np.arange(1, int(self.horizon) + 1)[:, None]
        out = []
        for v in panel.values:
            T = len(v)
            changes = np.diff(v, axis=0)
            sd = _residual_sd(changes - changes.mean(axis=0), 1)
            out.append(sd * np.sqrt(h * (1 + h / (T - 1))))
        return out

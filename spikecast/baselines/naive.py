"""Naive, seasonal naive and drift forecasts: the reference every model must beat."""

from __future__ import annotations

import numpy as np

from spikecast.baselines._base import BaselineForecaster
from spikecast.data.frames import Panel
from spikecast.validation import Integral, Interval

__all__ = ["NaiveForecaster", "SeasonalNaiveForecaster", "DriftForecaster"]


class NaiveForecaster(BaselineForecaster):
    """Repeat the last observed value: ``ŷ[T+h] = y[T]`` for ``h = 1..horizon``.

    Nothing is learned; ``predict(y)`` works on any series. Every column of every series is
    forecast independently.

    Args:
        horizon: number of steps to forecast.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    def __init__(self, horizon: int, missing: str = "raise"):
        self.horizon = horizon
        self.missing = missing

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        H = int(self.horizon)
        return [np.repeat(v[-1:], H, axis=0) for v in panel.values]


class SeasonalNaiveForecaster(BaselineForecaster):
    """Repeat the last observed season: ``ŷ[T+h] = y[T + h - m·ceil(h/m)]``, ``m`` the
    season length (the value one, two, ... seasons back, whichever is the latest observed).

    Args:
        horizon: number of steps to forecast.
        season_length: the period ``m`` in time steps (e.g. 24 for hourly data with a daily
            cycle, 52 for weekly data with a yearly cycle); series need at least ``m`` rows.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    _parameter_constraints = {
        "season_length": [Interval(Integral, 1, None, closed="left",
                                   desc="an integer >= 1 (the period in time steps)")],
    }

    def __init__(self, horizon: int, season_length: int, missing: str = "raise"):
        self.horizon = horizon
        self.season_length = season_length
        self.missing = missing

    def _min_train_length(self) -> int:
        return int(self.season_length)

    def _min_predict_length(self) -> int:
        return int(self.season_length)

    def _length_hint(self, stage: str) -> str:
        return (f"SeasonalNaiveForecaster repeats the last season of season_length="
                f"{self.season_length} rows; pass a longer series or a shorter season_length")

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        H, m = int(self.horizon), int(self.season_length)
        steps = np.arange(H) % m
        return [v[len(v) - m:][steps] for v in panel.values]


class DriftForecaster(BaselineForecaster):
    """Extrapolate the line through the first and the last observation.

    ``ŷ[T+h] = y[T] + h · (y[T] - y[1]) / (T - 1)`` (the random walk with drift); series
    need at least 2 rows.

    Args:
        horizon: number of steps to forecast.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.
    """

    def __init__(self, horizon: int, missing: str = "raise"):
        self.horizon = horizon
        self.missing = missing

    def _min_train_length(self) -> int:
        return 2

    def _min_predict_length(self) -> int:
        return 2

    def _length_hint(self, stage: str) -> str:
        return ("DriftForecaster draws the line through the first and the last row; pass at "
                "least two rows")

    def _fit(self, panel: Panel) -> None:
        self.n_columns_ = panel.n_columns

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        h = np.arange(1, int(self.horizon) + 1)[:, None]
        out = []
        for v in panel.values:
            slope = (v[-1] - v[0]) / (len(v) - 1)
            out.append(v[-1] + h * slope)
        return out

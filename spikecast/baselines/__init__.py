"""Classical forecasting baselines with the same ``fit`` / ``predict`` contract as every
spikecast forecaster (all input forms, ``clone``, ``get_params``).

- :class:`NaiveForecaster`, :class:`SeasonalNaiveForecaster`, :class:`DriftForecaster`:
  benchmarks that learn nothing.
- :class:`ARIMAForecaster`, :class:`ETSForecaster` (one statsmodels model per series and
  column) and :class:`VARForecaster` (one per series over all columns).
- :class:`LinearForecaster`: a global, channel-independent ridge regression from the
  look-back window to the horizon (DLinear / RLinear style).

statsmodels warnings are collected and reported as one :class:`ModelWarning` per ``fit``
(or ``predict``); a model that fails raises :class:`ModelError` naming the series and column,
unless a ``fallback=`` forecaster is given.
"""

from __future__ import annotations

from spikecast.baselines.linear import LinearForecaster
from spikecast.baselines.naive import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster
from spikecast.baselines.statistical import ARIMAForecaster, ETSForecaster, VARForecaster
from spikecast.exceptions import ModelError, ModelWarning

__all__ = [
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "DriftForecaster",
    "ARIMAForecaster",
    "ETSForecaster",
    "VARForecaster",
    "LinearForecaster",
    "ModelError",
    "ModelWarning",
]

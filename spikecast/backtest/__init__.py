"""Rolling-origin backtesting and model comparison.

- :func:`backtest`: fit and forecast at every cutoff (expanding or sliding window, refit at
  every cutoff, every ``k`` cutoffs or once), in parallel with joblib; a long table of
  forecasts against actuals.
- :func:`evaluate`: metrics per model, series, horizon step or overall.
- :func:`compare`: several models on the same cutoffs; a :class:`ComparisonResult` with a
  ``.table`` (a row per model) and the long ``.predictions``.
"""

from __future__ import annotations

from spikecast.backtest.core import (
    OUTPUT_COLUMNS,
    BacktestWarning,
    ComparisonResult,
    backtest,
    compare,
)
from spikecast.backtest.evaluation import evaluate

__all__ = ["backtest", "evaluate", "compare", "ComparisonResult", "BacktestWarning",
           "OUTPUT_COLUMNS"]

"""The validation loss a trial is selected on: the last ``val_size`` rows of the tuning data.

Every model is scored on the same rows, carved from the end of the data it is tuned on
(never beyond it: the test part stays out of the search):

- a :class:`~spikecast.NeuralForecaster` trains with ``val_size`` held out (its own
  validation split, :func:`spikecast.data.windows.held_out_rows`) and is scored by its best
  ``val_loss``: its training loss (MSE by default) over every validation window (stride 1),
  on the data standardised with the training rows' statistics;
- any other forecaster is fitted once on the rows before the validation part and forecasts
  from every ``stride``-th origin in it (:func:`spikecast.backtest.backtest` with
  ``refit=False``); its score is the MSE of those forecasts on the same standardised scale.

With the default MSE loss and ``stride=1`` both are the mean squared error over the same
validation windows on the same scale, so values of different models compare directly. Long
data is split on the union of the series' time stamps for the backtest, per series for the
neural validation split: the same rows when the series are aligned.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from spikecast.data.frames import Panel, to_panel
from spikecast.data.scaling import StandardScaler
from spikecast.data.windows import held_out_rows
from spikecast.exceptions import DataValidationError, InvalidParameterError

__all__ = ["validation_loss", "validation_border", "is_neural"]


def is_neural(model) -> bool:
    """Whether ``model`` trains through Lightning (a :class:`~spikecast.NeuralForecaster`)."""
    from spikecast.forecaster import NeuralForecaster

    return isinstance(model, NeuralForecaster)


def _timeline(panel: Panel) -> pd.Index:
    """The time stamps of the data: the one series' index, or the union of all (long)."""
    if panel.n_series == 1:
        return panel.indexes[0]
    return panel.indexes[0].append(list(panel.indexes[1:])).unique().sort_values()


def validation_border(y, val_size, horizon: int) -> tuple[int, int]:
    """``(train_end, n_rows)``: the validation part of ``y`` is rows ``train_end..n_rows``
    of its time line (``val_size`` rows: a fraction or a count).

    Raises:
        InvalidParameterError: ``val_size`` is not a fraction in (0, 1) or a row count, or
            it holds out fewer rows than one forecast of ``horizon`` steps needs.
    """
    n = len(_timeline(to_panel(y, what="y")))
    n_val = held_out_rows(val_size, n, "val_size")
    if n_val < horizon:
        raise InvalidParameterError(
            f"val_size={val_size!r} holds out {n_val} of {n} rows, fewer than the horizon "
            f"({horizon}) one validation forecast needs; raise val_size")
    return n - n_val, n


def _scales(panel: Panel, border) -> dict:
    """The standard deviation of every column over the training rows (up to ``border``,
    a time stamp), by the backtest's ``unique_id``: the column (wide data) or the series
    (long data, whose one column is scaled over all series, as the neural data module does)."""
    train = np.concatenate([values[: int((index <= border).sum())]
                            for values, index in zip(panel.values, panel.indexes)])
    scaler = StandardScaler().fit(train)
    if panel.kind == "long":
        return {uid: float(scaler.scale_[0]) for uid in panel.ids}
    return dict(zip(panel.columns, (float(s) for s in scaler.scale_)))


def _backtest_loss(model, y, val_size, stride: int) -> float:
    """Fit before the validation part, forecast every ``stride``-th origin in it, and
    return the MSE on the training rows' standardised scale."""
    from spikecast.backtest import backtest

    train_end, _ = validation_border(y, val_size, int(model.horizon))
    panel = to_panel(y, what="y", missing=getattr(model, "missing", "raise"))
    with warnings.catch_warnings():  # statsmodels' convergence notes, once per trial
        warnings.simplefilter("ignore")
        frame = backtest(model, panel, start=train_end - 1, stride=stride, refit=False,
                         progress=False)
    border = _timeline(panel)[train_end - 1]
    scale = frame["unique_id"].map(_scales(panel, border)).to_numpy(dtype=float)
    errors = (frame["y"].to_numpy(dtype=float) - frame["y_pred"].to_numpy(dtype=float))
    return float(np.mean((errors / scale) ** 2))


def _neural_loss(model, y, val_size, callbacks: list) -> float:
    """Train with ``val_size`` held out (and ``callbacks``, e.g. the pruning one) and
    return the best validation loss."""
    validation_border(y, val_size, int(model.horizon))
    kwargs = dict(model.trainer_kwargs or {})
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), *callbacks]
    model.set_params(val_size=val_size, trainer_kwargs=kwargs, verbose=False)
    model.fit(y)
    if model.best_val_loss_ is None:
        raise DataValidationError(
            f"val_size={val_size!r} leaves no validation window of lookback + horizon rows; "
            "raise val_size or lower lookback")
    return float(model.best_val_loss_)


def validation_loss(model, y, *, val_size, stride: int = 1, callbacks: list | None = None
                    ) -> float:
    """The validation loss of the unfitted ``model`` on ``y`` (see the module docstring);
    ``inf`` when training diverged (a non-finite loss).

    Args:
        model: an unfitted spikecast forecaster (a neural one is fitted in place).
        y: the tuning data (no test rows).
        val_size: the validation rows at the end (a fraction or a row count).
        stride: rows between validation forecast origins of non-neural models.
        callbacks: extra Lightning callbacks of a neural fit (the pruning callback).
    """
    if is_neural(model):
        loss = _neural_loss(model, y, val_size, list(callbacks or []))
    else:
        loss = _backtest_loss(model, y, val_size, stride)
    return loss if math.isfinite(loss) else math.inf

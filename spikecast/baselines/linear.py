"""A global, channel-independent linear model from the look-back window to the horizon."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from spikecast.baselines._base import BaselineForecaster
from spikecast.data.frames import Panel
from spikecast.validation import Integral, Interval, Real

__all__ = ["LinearForecaster"]

_TINY = 1e-8


class LinearForecaster(BaselineForecaster):
    """Ridge regression from the last ``lookback`` values straight to the whole horizon.

    Every window of every column of every series is stacked into one training set and a
    single :class:`sklearn.linear_model.Ridge` (shared weights, ``horizon`` outputs) is
    fitted: the channel-independent linear model of DLinear / RLinear. With
    ``instance_norm`` (default) every window is standardised by its own look-back mean and
    standard deviation before the regression and the forecast is mapped back (RLinear's
    RevIN without the affine part), so one set of weights fits columns of any level and scale.

    Training windows come from ``numpy.lib.stride_tricks.sliding_window_view`` and are copied
    once, into the design matrix.

    Args:
        horizon: number of steps to forecast.
        lookback: input window length; training series need ``lookback + horizon`` rows,
            series passed to ``predict`` at least ``lookback``.
        alpha: the ridge penalty.
        instance_norm: standardise each window by its look-back statistics.
        missing: ``"raise"``, ``"interpolate"`` or ``"ffill"`` for NaN values.

    Attributes:
        coef_: ``[horizon, lookback]`` weights (on the normalised scale with instance_norm).
        intercept_: ``[horizon]`` intercepts.
        n_windows_: the number of training windows (over all columns and series).
    """

    _parameter_constraints: dict[str, list] = {
        "lookback": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "instance_norm": ["boolean"],
    }

    def __init__(self, horizon: int, lookback: int = 96, alpha: float = 1.0,
                 instance_norm: bool = True, missing: str = "raise"):
        self.horizon = horizon
        self.lookback = lookback
        self.alpha = alpha
        self.instance_norm = instance_norm
        self.missing = missing

    def _min_train_length(self) -> int:
        return int(self.lookback) + int(self.horizon)

    def _min_predict_length(self) -> int:
        return int(self.lookback)

    def _normalise(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardise the rows of ``block[:, :L]`` (and the rest of the row alike), in place."""
        L = int(self.lookback)
        mu = block[:, :L].mean(axis=1, keepdims=True)
        sd = block[:, :L].std(axis=1, keepdims=True)
        sd = np.where(sd > _TINY * (1.0 + np.abs(mu)), sd, 1.0)
        block -= mu
        block /= sd
        return mu, sd

    def _fit(self, panel: Panel) -> None:
        L, H = int(self.lookback), int(self.horizon)
        width = L + H
        counts = [(len(v) - width + 1) * v.shape[1] for v in panel.values]
        design = np.empty((sum(counts), width))
        row = 0
        for v, n in zip(panel.values, counts):
            windows = sliding_window_view(v, width, axis=0)  # [N, C, L+H], a view
            # one copy, straight into the design matrix, channels stacked under each other
            design[row:row + n].reshape(v.shape[1], -1, width)[...] = windows.transpose(1, 0, 2)
            row += n
        if self.instance_norm:
            self._normalise(design)
        model = Ridge(alpha=float(self.alpha))
        model.fit(design[:, :L], design[:, L:])
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        self.n_windows_ = int(design.shape[0])

    def forecast_windows(self, windows: np.ndarray) -> np.ndarray:
        """Forecast ``[N, lookback]`` look-back windows of single variables: ``[N, horizon]``
        (the one channel-independent regression, e.g. on windows prepared elsewhere)."""
        check_is_fitted(self, "coef_")
        windows = np.array(windows, dtype=np.float64)
        if self.instance_norm:
            mu, sd = self._normalise(windows)
        out = windows @ self.coef_.T + self.intercept_
        if self.instance_norm:
            out = out * sd + mu
        return out

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        return self._predict_panels([panel])[0]

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        """All series of all panels in one matrix product."""
        L = int(self.lookback)
        blocks = []
        for p in panels:
            blocks += [v.T for v in p.last_rows(L).values]  # [C, L] each
        if not blocks:
            return [[] for _ in panels]
        out = self.forecast_windows(np.concatenate(blocks))
        result, i = [], 0
        for p in panels:
            forecasts = []
            for _ in p.values:
                forecasts.append(out[i:i + p.n_columns].T.copy())
                i += p.n_columns
            result.append(forecasts)
        return result

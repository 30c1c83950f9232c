"""The estimator contract shared by every spikecast forecaster.

:class:`BaseForecaster` follows scikit-learn's conventions: constructor arguments are
stored unchanged, learned state lives in trailing-underscore attributes, ``fit`` returns
``self``, and ``get_params`` / ``set_params`` / ``sklearn.base.clone`` work. It owns the
data plumbing (validation, the input forms, covariates, the future index) so that a
subclass only implements :meth:`_fit` and :meth:`_predict` on a :class:`Panel`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spikecast.data.frames import Panel, forecasts_to_output, future_index, to_panel
from spikecast.exceptions import DataValidationError

__all__ = ["BaseForecaster"]


class BaseForecaster(BaseEstimator):
    """Base class of all forecasters: ``fit(y, X=None)`` then ``predict(y=None, X=None)``.

    Subclasses define ``__init__`` with a ``horizon`` argument (and optionally ``target``
    and ``missing``) and implement :meth:`_fit` and :meth:`_predict`.
    """

    #: whether the model uses covariate columns (those of ``X`` and non-target columns)
    _uses_covariates = False

    # ----------------------------------------------------------------- subclass hooks
    def _min_train_length(self) -> int:
        """The fewest rows a training series may have."""
        return 1

    def _min_predict_length(self) -> int:
        """The fewest rows a series passed to ``predict`` may have."""
        return 1

    def _length_hint(self, stage: str) -> str:
        """Why a series needs :meth:`_min_train_length` (``stage="fit"``) or
        :meth:`_min_predict_length` (``stage="predict"``) rows, and what to change; appended
        to the too-short message."""
        lookback = getattr(self, "lookback", None)
        name = type(self).__name__
        if isinstance(lookback, (int, np.integer)) and not isinstance(lookback, bool):
            if stage == "fit":
                return (f"{name} trains on windows of lookback + horizon = {int(lookback)} + "
                        f"{getattr(self, 'horizon', '?')} rows; pass a longer series or "
                        "lower lookback / horizon")
            return (f"{name} forecasts from the last lookback={int(lookback)} rows; pass a "
                    "longer history")
        return (f"the fewest rows {name} can {stage} on with these parameters; pass a "
                "longer series")

    def _fit(self, panel: Panel) -> None:
        """Learn from ``panel`` (all columns; the targets are ``self.target_positions_``)."""
        raise NotImplementedError

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        """Forecast ``horizon`` steps after the end of every series: ``[H, n_targets]`` each."""
        raise NotImplementedError

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        """Forecasts for several truncations of one panel (used by backtests).

        The default calls :meth:`_predict` once per panel; neural models override it to
        forecast all of them in batched passes.
        """
        return [self._predict(p) for p in panels]

    # ----------------------------------------------------------------- validation
    def _check_horizon(self) -> int:
        horizon = getattr(self, "horizon", None)
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise DataValidationError(
                f"horizon must be a positive integer (the number of steps to forecast), "
                f"got {horizon!r}"
            )
        return int(horizon)

    def _to_panel(self, y, X, min_length: int, what: str = "y", stage: str = "fit") -> Panel:
        """``y`` (and the covariates ``X``, appended as columns) validated as one panel."""
        return self._to_panel_width(y, X, min_length, what, stage)[0]

    def _to_panel_width(self, y, X, min_length: int, what: str = "y", stage: str = "fit"
                        ) -> tuple[Panel, int]:
        """:meth:`_to_panel` and the number of columns that came from ``y`` (they come
        first), so that ``fit`` need not convert ``y`` twice."""
        panel = to_panel(y, missing=getattr(self, "missing", "raise"), what=what,
                         min_length=min_length, length_hint=self._length_hint(stage))
        n_y = panel.n_columns
        if X is None:
            return panel, n_y
        covariates = to_panel(X, missing=getattr(self, "missing", "raise"), what="X")
        if covariates.kind == "long" or panel.kind == "long":
            raise DataValidationError(
                "X: covariates are supported for wide data (DataFrame, Series, array) only; "
                "for long data put the covariates into the model's target= selection"
            )
        if not panel.indexes[0].equals(covariates.indexes[0]):
            raise DataValidationError(
                f"X must have the same index as y (y has {len(panel.indexes[0])} rows from "
                f"{panel.indexes[0][0]!r}, X has {len(covariates.indexes[0])} rows from "
                f"{covariates.indexes[0][0]!r})"
            )
        clash = sorted(set(panel.columns) & set(covariates.columns))
        if clash:
            raise DataValidationError(f"X and y share column name(s) {clash}; rename them")
        return Panel(
            values=[np.concatenate([panel.values[0], covariates.values[0]], axis=1)],
            indexes=panel.indexes,
            ids=panel.ids,
            columns=panel.columns + covariates.columns,
            kind=panel.kind,
            name=panel.name,
            freqs=panel.freqs,
        ), n_y

    def _resolve_targets(self, panel: Panel, y_columns: list[str]) -> list[str]:
        target = getattr(self, "target", None)
        if target is None:
            return list(y_columns)
        names = [target] if isinstance(target, (str, int, np.integer)) else list(target)
        names = [str(t) for t in names]
        missing = [t for t in names if t not in panel.columns]
        if missing:
            raise DataValidationError(
                f"target column(s) {missing} not found; available columns: {panel.columns}"
            )
        if not names:
            raise DataValidationError("target selects no column")
        return names

    # ----------------------------------------------------------------- public API
    def fit(self, y, X=None):
        """Fit the model on ``y`` (and past covariates ``X``, aligned with ``y``).

        Args:
            y: wide DataFrame, Series, 2-D array, or long DataFrame (unique_id, ds, y).
            X: optional past covariates with the same index as ``y`` (wide forms only).

        Returns:
            self
        """
        self._check_horizon()
        panel, n_y = self._to_panel_width(y, X, self._min_train_length())
        targets = self._resolve_targets(panel, panel.columns[:n_y])
        if not self._uses_covariates:
            panel = panel.select(targets)
        self.columns_ = list(panel.columns)
        self.target_columns_ = targets
        self.target_positions_ = [panel.columns.index(t) for t in targets]
        self.covariate_columns_ = [c for c in panel.columns if c not in targets]
        self.input_kind_ = panel.kind
        self.n_series_ = panel.n_series
        self.train_panel_ = panel
        self._fit(panel)
        return self

    def predict(self, y=None, X=None):
        """Forecast ``horizon`` steps after the end of ``y`` (default: the training data).

        The model is not refitted: ``y`` only supplies the recent history. Forecasts come back
        in the form of ``y`` (or of the training data), indexed by the future time stamps.
        """
        check_is_fitted(self, "train_panel_")
        panel = self._prediction_panel(y, X)
        forecasts = self._predict(panel)
        return self._format(panel, forecasts)

    # ----------------------------------------------------------------- helpers
    def _prediction_panel(self, y, X) -> Panel:
        if y is None:
            if X is not None:
                raise DataValidationError("pass y together with X at predict time")
            return self.train_panel_
        panel = self._to_panel(y, X, self._min_predict_length(), stage="predict")
        if not self._uses_covariates:
            missing = [c for c in self.target_columns_ if c not in panel.columns]
            if missing:
                raise DataValidationError(
                    f"predict: column(s) {missing} seen in fit are missing; got "
                    f"{panel.columns}; pass the columns seen in fit {self.target_columns_}"
                )
            unseen = [c for c in panel.columns if c not in self.target_columns_]
            if unseen and getattr(self, "target", None) is None:
                raise DataValidationError(
                    f"predict: column(s) {unseen} were not seen in fit (fit saw "
                    f"{self.target_columns_}); pass the same columns as in fit"
                )
            panel = panel.select(self.target_columns_)
        elif panel.columns != self.columns_:
            raise DataValidationError(
                f"predict: the columns {panel.columns} differ from those seen in fit "
                f"{self.columns_}; pass the same columns (and X) as in fit"
            )
        return panel

    def _format(self, panel: Panel, forecasts: list[np.ndarray]):
        horizon = self._check_horizon()
        indexes = [
            future_index(ix, freq, horizon, what=f"series {uid!r}" if uid is not None else "y")
            for ix, freq, uid in zip(panel.indexes, panel.freqs, panel.ids)
        ]
        return forecasts_to_output(panel, forecasts, self.target_columns_, indexes)

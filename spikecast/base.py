"""The estimator contract shared by every spikecast forecaster.

:class:`BaseForecaster` follows scikit-learn's conventions: constructor arguments are
stored unchanged, learned state lives in trailing-underscore attributes, ``fit`` returns
``self``, and ``get_params`` / ``set_params`` / ``sklearn.base.clone`` work. It owns the
data plumbing (validation, the input forms, covariates, the future index) so that a
subclass only implements :meth:`_fit` and :meth:`_predict` on a :class:`Panel`.

Its public contract with the layers above (the backtest, the experiment runner) is:

- :func:`get_tags` / ``__spikecast_tags__``: the capabilities a forecaster declares
  (:class:`ForecasterTags`), instead of ``isinstance`` checks;
- :meth:`BaseForecaster.min_train_length` / :meth:`~BaseForecaster.min_predict_length`:
  the rows a series needs;
- :meth:`BaseForecaster.historical_forecasts`: forecasts after many cutoffs from one fitted
  model in batched passes, points and (where supported) quantiles from the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spikecast.data.frames import Panel, format_forecasts, to_panel
from spikecast.exceptions import DataValidationError
from spikecast.validation import Integral, Interval, validate_params

__all__ = ["BaseForecaster", "ForecasterTags", "HistoricalForecasts", "get_tags"]


@dataclass(frozen=True)
class ForecasterTags:
    """What a forecaster can do, declared by ``__spikecast_tags__`` (as scikit-learn's
    ``__sklearn_tags__`` and neuralforecast's class flags declare it).

    Attributes:
        supports_covariates: uses the columns of ``X`` and non-target columns as inputs.
        supports_quantiles: forecasts quantiles (``predict_quantiles``, and quantile
            columns in backtests) with the current parameters.
        batched_history: :meth:`BaseForecaster.historical_forecasts` forecasts all cutoffs
            in vectorised passes rather than one ``predict`` per cutoff.
        reports_costs: has ``efficiency()`` (parameters, firing rates, estimated energy).
    """

    supports_covariates: bool = False
    supports_quantiles: bool = False
    batched_history: bool = False
    reports_costs: bool = False


def get_tags(estimator) -> ForecasterTags:
    """The :class:`ForecasterTags` of ``estimator`` (an instance: tags may depend on its
    parameters, e.g. ``supports_quantiles`` on ``loss``)."""
    return estimator.__spikecast_tags__()


@dataclass
class HistoricalForecasts:
    """What :meth:`BaseForecaster.historical_forecasts` returns.

    Attributes:
        points: ``points[c][i]``: the ``[horizon, n_targets]`` forecast of series ``i``
            after cutoff ``c``.
        quantiles: ``quantiles[c][i]``: ``[horizon, n_targets, n_levels]``, or ``None``
            when the forecaster has no quantiles.
        levels: the quantile levels (``None`` without quantiles).
        targets: the forecast columns, in the order of the last axis of ``points``.
    """

    points: list[list[np.ndarray]]
    quantiles: list[list[np.ndarray]] | None
    levels: list[float] | None
    targets: list[str]


class BaseForecaster(BaseEstimator):
    """Base class of all forecasters: ``fit(y, X=None)`` then ``predict(y=None, X=None)``.

    Subclasses define ``__init__`` with a ``horizon`` argument (and optionally ``target``
    and ``missing``) and implement :meth:`_fit` and :meth:`_predict`.
    """

    #: what every constructor parameter may be (:mod:`spikecast.validation`); subclasses
    #: declare their own parameters, merged with these along the MRO
    _parameter_constraints: dict = {
        "horizon": [Interval(Integral, 1, None, closed="left",
                             desc="a positive integer (the number of steps to forecast)")],
    }

    # ----------------------------------------------------------------- declared contract
    def __spikecast_tags__(self) -> ForecasterTags:
        """The capabilities of this forecaster; subclasses return
        ``dataclasses.replace(super().__spikecast_tags__(), ...)``."""
        return ForecasterTags()

    def min_train_length(self) -> int:
        """The fewest rows a training series may have with the current parameters (a lower
        bound where the need also depends on the data, e.g. a VAR's on its number of
        columns: ``fit`` then says exactly how many rows are needed)."""
        return int(self._min_train_length())

    def min_predict_length(self) -> int:
        """The fewest rows of history a forecast needs with the current parameters (and,
        once fitted, the learned state, e.g. a VAR's lag order)."""
        return int(self._min_predict_length())

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
        """Learn from ``panel`` (all columns; the targets are ``self.target_positions_``).

        A subclass whose ``fit`` takes fit-time arguments (``ckpt_path``, ...) accepts them
        here as keywords; :meth:`fit` passes them on, so an unknown one is a ``TypeError``.
        """
        raise NotImplementedError

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        """Forecast ``horizon`` steps after the end of every series: ``[H, n_targets]`` each."""
        raise NotImplementedError

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        """Point forecasts for several truncations of one panel.

        The default calls :meth:`_predict` once per panel; models override it to forecast
        all of them in batched passes (and then declare ``batched_history``).
        """
        return [self._predict(p) for p in panels]

    def _forecast_panels(self, panels: list[Panel]
                         ) -> tuple[list[list[np.ndarray]], list | None, list[float] | None]:
        """``(points, quantiles, levels)`` for several truncations of one panel; a model
        with quantiles overrides it to compute both from the same pass."""
        return self._predict_panels(panels), None, None

    # ----------------------------------------------------------------- validation
    def validate_params(self) -> None:
        """Check every declared constructor parameter (``_parameter_constraints``, merged
        along the MRO; :mod:`spikecast.validation`); ``fit`` calls it first.

        Subclasses may extend it with cross-parameter checks by overriding
        :meth:`_validate_params_extra`.

        Raises:
            InvalidParameterError: the first invalid parameter; the message names it, what
                is valid and what it got.
        """
        validate_params(self)
        self._validate_params_extra()

    def _validate_params_extra(self) -> None:
        """Checks that involve several parameters (raise ``InvalidParameterError``); runs
        after every parameter passed its own constraints. None by default."""

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

    # ----------------------------------------------------------------- public API
    def fit(self, y, X=None, **fit_params):
        """Fit the model on ``y`` (and past covariates ``X``, aligned with ``y``).

        Args:
            y: wide DataFrame, Series, 2-D array, or long DataFrame (unique_id, ds, y).
            X: optional past covariates with the same index as ``y`` (wide forms only).
            **fit_params: passed to the subclass's training (e.g. ``ckpt_path``).

        Returns:
            self
        """
        self.validate_params()
        panel, n_y = self._to_panel_width(y, X, self._min_train_length())
        targets = panel.resolve_targets(getattr(self, "target", None),
                                        default=panel.columns[:n_y])
        if not get_tags(self).supports_covariates:
            panel = panel.select(targets)
        self.columns_ = list(panel.columns)
        self.target_columns_ = targets
        self.target_positions_ = [panel.columns.index(t) for t in targets]
        self.covariate_columns_ = [c for c in panel.columns if c not in targets]
        self.input_kind_ = panel.kind
        self.n_series_ = panel.n_series
        self.train_panel_ = panel
        self._fit(panel, **fit_params)
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

    def historical_forecasts(self, y, ends, *, starts=None, X=None) -> HistoricalForecasts:
        """Forecasts after many cutoffs of ``y`` with this fitted model, without refitting.

        As Darts' optimised historical forecasts: one call forecasts every cutoff, in
        batched passes where the model supports it (tag ``batched_history``), with points
        and quantiles (tag ``supports_quantiles``) from the same pass.

        Args:
            y: the data (any input form, or a :class:`~spikecast.data.frames.Panel`), with
                the columns seen in ``fit``.
            ends: ``[n_cutoffs, n_series]`` row counts: the forecast after cutoff ``c``
                uses rows ``starts[c, i]:ends[c, i]`` of series ``i`` (a 1-D sequence
                applies to every series).
            starts: first rows, the same shape as ``ends`` (default: 0, all the history).
            X: past covariates with the same index as ``y`` (wide data only).

        Returns:
            A :class:`HistoricalForecasts`.

        Raises:
            DataValidationError: a row range outside a series, or shorter than
                :meth:`min_predict_length`.
        """
        check_is_fitted(self, "train_panel_")
        panel = self._prediction_panel(y, X)
        ends_, starts_ = _row_ranges(panel, ends, starts, self.min_predict_length())
        histories = [panel.slice_rows(lo, hi) for lo, hi in zip(starts_, ends_)]
        points, quantiles, levels = self._forecast_panels(histories)
        return HistoricalForecasts(points=points, quantiles=quantiles, levels=levels,
                                   targets=list(self.target_columns_))

    # ----------------------------------------------------------------- helpers
    def _prediction_panel(self, y, X) -> Panel:
        if y is None:
            if X is not None:
                raise DataValidationError("pass y together with X at predict time")
            return self.train_panel_
        panel = self._to_panel(y, X, self._min_predict_length(), stage="predict")
        if not get_tags(self).supports_covariates:
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
        return format_forecasts(panel, forecasts, self.target_columns_, int(self.horizon))

def _row_ranges(panel: Panel, ends, starts, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """``ends`` and ``starts`` as ``[n_cutoffs, n_series]`` int arrays, checked against the
    series' lengths and the model's ``min_length``."""
    lengths = np.array(panel.lengths())
    ends_ = np.asarray(ends)
    if ends_.ndim == 1:
        ends_ = np.repeat(ends_[:, None], panel.n_series, axis=1)
    starts_ = np.zeros_like(ends_) if starts is None else np.asarray(starts)
    if starts_.ndim == 1:
        starts_ = np.repeat(starts_[:, None], panel.n_series, axis=1)
    if ends_.ndim != 2 or ends_.shape[1] != panel.n_series or starts_.shape != ends_.shape \
            or not np.issubdtype(ends_.dtype, np.integer) \
            or not np.issubdtype(starts_.dtype, np.integer):
        raise DataValidationError(
            f"historical_forecasts: ends (and starts) must be integer arrays [n_cutoffs, "
            f"n_series={panel.n_series}] of the same shape; got ends {ends_.shape} "
            f"{ends_.dtype}, starts {starts_.shape} {starts_.dtype}")
    bad = np.argwhere((starts_ < 0) | (ends_ > lengths) | (ends_ - starts_ < min_length))
    if len(bad):
        c, i = (int(v) for v in bad[0])
        where = "y" if panel.ids[i] is None else f"series {panel.ids[i]!r}"
        raise DataValidationError(
            f"historical_forecasts: cutoff {c} uses rows {int(starts_[c, i])}:"
            f"{int(ends_[c, i])} of {where}, which has {int(lengths[i])} rows; a forecast "
            f"needs at least {min_length} rows of history inside the series")
    return ends_, starts_

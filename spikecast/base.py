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
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spikecast.covariates import (
    append_columns,
    append_static,
    split_future,
    static_table,
    with_calendar,
)
from spikecast.data.frames import Panel, format_forecasts, future_index, to_panel
from spikecast.exceptions import DataValidationError, InvalidParameterError
from spikecast.validation import Integral, Interval, declared_constraints, validate_params

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
        supports_future_covariates: uses known-future covariates (``X_future`` in ``fit``,
            ``predict``, ``historical_forecasts`` and ``backtest``).
        supports_static_covariates: uses static covariates of long data (``X_static`` in
            ``fit``, ``predict`` and ``backtest``).
    """

    supports_covariates: bool = False
    supports_future_covariates: bool = False
    supports_static_covariates: bool = False
    supports_quantiles: bool = False
    batched_history: bool = False
    reports_costs: bool = False


def _column_labels(y) -> dict:
    """The column labels of a wide ``y`` that are not strings (``{"0": 0}``): columns are
    matched by their string form inside, and forecasts get the original labels back."""
    if not isinstance(y, pd.DataFrame):
        return {}
    return {str(c): c for c in y.columns if not isinstance(c, str)}


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

    def _forecast_future_panels(self, panels: list[Panel], futures: list[np.ndarray]
                                ) -> tuple[list[list[np.ndarray]], list | None, list[float] | None]:
        """As :meth:`_forecast_panels`, with the known-future covariates over the horizon
        after every truncation (``[n_series, horizon, F]`` each); models with the tag
        ``supports_future_covariates`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} takes no known-future covariates")

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
        return append_columns(panel, X, "X", getattr(self, "missing", "raise")), n_y

    # ----------------------------------------------------------------- public API
    def fit(self, y, X=None, X_future=None, X_static=None, **fit_params):
        """Fit the model on ``y`` (and past covariates ``X``, aligned with ``y``).

        Args:
            y: wide DataFrame, Series, 2-D array, or long DataFrame (unique_id, ds, y).
            X: optional past covariates with the same index as ``y`` (wide forms only):
                values known up to each forecast's start.
            X_future: optional known-future covariates with the same index as ``y`` (wide
                forms only): values known for the forecast period too (calendar features,
                planned values); ``predict`` then needs them for the horizon. Only models
                with the tag ``supports_future_covariates`` take them.
            X_static: optional static covariates of long data: a DataFrame with a
                ``unique_id`` column (or index) and one numeric column per static variable,
                one row per series (neuralforecast's ``static_df``). They are kept
                (``static_``), so ``predict`` needs them again only for new series. Only
                models with the tag ``supports_static_covariates`` take them.
            **fit_params: passed to the subclass's training (e.g. ``ckpt_path``).

        Returns:
            self
        """
        self.validate_params()
        if X_future is not None and not get_tags(self).supports_future_covariates:
            raise DataValidationError(
                f"X_future: {type(self).__name__} does not use known-future covariates; "
                "leave X_future out (or use a model whose tags say "
                "supports_future_covariates, e.g. NeuralForecaster)")
        self._check_static_support(X_static)
        panel, n_y = self._to_panel_width(y, X, self._min_train_length())
        self.static_ = None if X_static is None else static_table(X_static)
        panel = self._with_static(panel, None)
        self.static_columns_ = [] if self.static_ is None else list(self.static_.columns)
        n_past = panel.n_columns
        if getattr(self, "calendar", None):
            X_future = with_calendar(X_future, panel.indexes[0], self.calendar)
        if X_future is not None:
            panel = append_columns(panel, X_future, "X_future",
                                   getattr(self, "missing", "raise"))
        targets = panel.resolve_targets(getattr(self, "target", None),
                                        default=panel.columns[:n_y])
        # a model without covariates ignores the other columns (and X); predict accepts them
        self.ignored_columns_ = ([] if get_tags(self).supports_covariates
                                 else [c for c in panel.columns if c not in targets])
        if not get_tags(self).supports_covariates:
            panel = panel.select(targets)
        self.columns_ = list(panel.columns)
        self.column_labels_ = _column_labels(y)
        self.target_columns_ = targets
        self.target_positions_ = [panel.columns.index(t) for t in targets]
        self.covariate_columns_ = [c for c in panel.columns if c not in targets]
        self.future_columns_ = list(panel.columns[n_past:])
        self.input_kind_ = panel.kind
        self.n_series_ = panel.n_series
        self.train_panel_ = panel
        self._fit(panel, **fit_params)
        return self

    def predict(self, y=None, X=None, horizon: int | None = None, X_future=None,
                X_static=None):
        """Forecast ``horizon`` steps after the end of ``y`` (default: the training data).

        The model is not refitted: ``y`` only supplies the recent history. Forecasts come back
        in the form of ``y`` (or of the training data), indexed by the future time stamps.

        Args:
            y: the recent history (default: the training data).
            X: its past covariates, as in ``fit``.
            horizon: forecast only the first ``horizon`` steps, at most the ``horizon`` the
                model was fitted for (default: all of them).
            X_future: for a model fitted with known-future covariates: their values for the
                forecast period, indexed by the time stamps after the history (rows for the
                history itself may come first; with ``y`` given they must).
            X_static: for a model fitted with static covariates and a ``y`` with series
                not seen in ``fit``: their static covariates (as in ``fit``; rows for the
                series seen in ``fit`` replace the kept ones).

        Raises:
            InvalidParameterError: ``horizon`` is not a positive integer or exceeds the
                fitted horizon.
            DataValidationError: ``X_future`` missing, misaligned or too short.
        """
        check_is_fitted(self, "train_panel_")
        steps = self._steps(horizon)
        panel, future = self._prediction_inputs(y, X, X_future, steps, X_static)
        predicted = (self._predict(panel) if future is None
                     else self._forecast_future_panels([panel], [future[None]])[0][0])
        return self._format(panel, [f[:steps] for f in predicted], steps)

    def _prediction_inputs(self, y, X, X_future, steps: int, X_static=None
                           ) -> tuple[Panel, np.ndarray | None]:
        """The history panel and, for a model with known-future covariates, their values
        over the forecast period ``[horizon, F]`` (rows beyond ``steps`` repeat the last)."""
        future_columns = getattr(self, "future_columns_", [])
        if not future_columns:
            if X_future is not None:
                raise DataValidationError(
                    f"X_future: this {type(self).__name__} was fitted without known-future "
                    "covariates; leave X_future out or refit with it")
            return self._prediction_panel(y, X, X_static=X_static), None
        missing = getattr(self, "missing", "raise")
        # y validated once here; the steps below get the panel
        past = self.train_panel_ if y is None else to_panel(y, missing=missing, what="y")
        if getattr(self, "calendar", None):
            X_future = self._calendar_inputs(X_future, past, y is not None, steps)
        history, future = split_future(X_future, future_columns, past, steps,
                                       int(self.horizon), missing, with_history=y is not None)
        panel = self._prediction_panel(y, X, X_static=X_static) if y is None else \
            self._prediction_panel(past, X, history, X_static)
        return panel, future

    def _calendar_inputs(self, X_future, past: Panel, with_history: bool, steps: int):
        """``X_future`` with the calendar features added; without ``X_future``, the
        calendar features of the forecast period after ``past`` (and of ``past``'s rows
        when ``with_history``)."""
        if X_future is not None:
            return with_calendar(X_future, None, self.calendar)
        index = future_index(past.indexes[0], past.freqs[0], steps, what="y")
        if with_history:
            index = past.indexes[0].append(index)
        return with_calendar(None, index, self.calendar)

    def _steps(self, horizon) -> int:
        """The number of steps to forecast: ``horizon`` checked against the fitted one."""
        fitted = int(self.horizon)
        if horizon is None:
            return fitted
        validate_params({"horizon": horizon}, declared_constraints(type(self)))
        if horizon > fitted:
            raise InvalidParameterError(
                f"predict(horizon={horizon}) exceeds the horizon={fitted} the model was "
                f"fitted for; pass horizon <= {fitted} or refit with horizon={horizon}")
        return int(horizon)

    def historical_forecasts(self, y, ends, *, starts=None, X=None, X_future=None,
                             X_static=None) -> HistoricalForecasts:
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
            X_future: known-future covariates with the same index as ``y``, for a model
                fitted with them; every cutoff's forecast reads their values over the
                ``horizon`` rows after it, which must exist.
            X_static: static covariates of series not seen in ``fit`` (as in ``predict``).

        Returns:
            A :class:`HistoricalForecasts`.

        Raises:
            DataValidationError: a row range outside a series, or shorter than
                :meth:`min_predict_length`.
        """
        check_is_fitted(self, "train_panel_")
        future_columns = getattr(self, "future_columns_", [])
        if getattr(self, "calendar", None):  # y validated once; the steps below get the panel
            y = to_panel(y, missing=getattr(self, "missing", "raise"), what="y")
            X_future = with_calendar(X_future, y.indexes[0], self.calendar)
        if (X_future is None) != (not future_columns):
            raise DataValidationError(
                "X_future: pass it exactly when the model was fitted with known-future "
                f"covariates (it was fitted with {future_columns or 'none'})")
        panel = self._prediction_panel(y, X, X_future, X_static)
        ends_, starts_ = _row_ranges(panel, ends, starts, self.min_predict_length())
        histories = [panel.slice_rows(lo, hi) for lo, hi in zip(starts_, ends_)]
        if not future_columns:
            points, quantiles, levels = self._forecast_panels(histories)
        else:
            futures = _future_blocks(panel, ends_, future_columns, int(self.horizon))
            points, quantiles, levels = self._forecast_future_panels(histories, futures)
        return HistoricalForecasts(points=points, quantiles=quantiles, levels=levels,
                                   targets=list(self.target_columns_))

    # ----------------------------------------------------------------- helpers
    def _prediction_panel(self, y, X, X_future_history=None, X_static=None) -> Panel:
        if y is None:
            if X is not None or X_static is not None:
                raise DataValidationError("pass y together with X or X_static at predict "
                                          "time")
            return self.train_panel_
        self._check_static_support(X_static)
        panel = self._to_panel(y, X, self._min_predict_length(), stage="predict")
        panel = self._with_static(panel, X_static)
        if X_future_history is not None:
            panel = append_columns(panel, X_future_history, "X_future",
                                   getattr(self, "missing", "raise"))
        if not get_tags(self).supports_covariates:
            missing = [c for c in self.target_columns_ if c not in panel.columns]
            if missing:
                raise DataValidationError(
                    f"predict: column(s) {missing} seen in fit are missing; got "
                    f"{panel.columns}; pass the columns seen in fit {self.target_columns_}"
                )
            ignored = getattr(self, "ignored_columns_", [])
            unseen = [c for c in panel.columns
                      if c not in self.target_columns_ and c not in ignored]
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

    def _check_static_support(self, X_static) -> None:
        if X_static is not None and not get_tags(self).supports_static_covariates:
            raise DataValidationError(
                f"X_static: {type(self).__name__} does not use static covariates; leave "
                "X_static out (or use a model whose tags say supports_static_covariates, "
                "e.g. NeuralForecaster)")

    def _with_static(self, panel: Panel, X_static) -> Panel:
        """``panel`` with the static covariates of its series appended: rows of
        ``X_static`` first, then those kept from ``fit`` (``static_``)."""
        kept = getattr(self, "static_", None)
        if X_static is None and kept is None:
            return panel
        if kept is None:
            raise DataValidationError(f"X_static: this {type(self).__name__} was fitted "
                                      "without static covariates; leave X_static out")
        table = kept if X_static is None else static_table(X_static)
        if X_static is not None:
            if list(table.columns) != list(kept.columns):
                raise DataValidationError(f"X_static must have the columns seen in fit "
                                          f"{list(kept.columns)}; got {list(table.columns)}")
            table = pd.concat([table, kept[~kept.index.isin(table.index)]])
        return append_static(panel, table)

    def _format(self, panel: Panel, forecasts: list[np.ndarray], steps: int | None = None):
        steps = int(self.horizon) if steps is None else steps
        labels = getattr(self, "column_labels_", {})
        return format_forecasts(panel, forecasts,
                                [labels.get(c, c) for c in self.target_columns_], steps)

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


def _future_blocks(panel: Panel, ends: np.ndarray, columns: list[str], horizon: int
                   ) -> list[np.ndarray]:
    """The known-future covariates over the ``horizon`` rows after every cutoff of a wide
    panel: one ``[1, horizon, F]`` array per cutoff."""
    positions = [panel.columns.index(c) for c in columns]
    values, blocks = panel.values[0], []
    for c, end in enumerate(ends[:, 0]):
        if end + horizon > len(values):
            raise DataValidationError(
                f"X_future: cutoff {c} (row {int(end)}) needs {horizon} rows of known-future "
                f"covariates after it, but the data has {len(values) - int(end)}")
        blocks.append(values[end:end + horizon, positions][None])
    return blocks

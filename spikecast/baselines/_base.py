"""Shared machinery of the classical baselines: the constraints every baseline shares,
one-warning-per-fit reporting of statsmodels warnings, per-(series, column) local models
with fallbacks, and quantile forecasts (``quantiles=`` / ``predict_quantiles``)."""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from numbers import Real
from typing import Any

import numpy as np
from scipy.special import ndtri
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from spikecast.base import BaseForecaster, ForecasterTags
from spikecast.collected_warnings import ignored_by_filters
from spikecast.data.frames import MISSING_POLICIES, Panel
from spikecast.exceptions import (
    DataValidationError,
    InvalidParameterError,
    ModelError,
    ModelWarning,
)
from spikecast.validation import Check, Options

__all__ = ["ModelError", "ModelWarning"]


# --------------------------------------------------------------------------- helpers
def where(uid, column, kind: str) -> str:
    """Human-readable location of one column of one series."""
    if kind == "long":
        return f"series {uid!r}"
    if column is None:
        return "all columns" if uid is None else f"series {uid!r}"
    return f"column {column!r}" if uid is None else f"series {uid!r} column {column!r}"


class WarningLog:
    """Collects warnings by location and reports them as one :class:`ModelWarning`."""

    def __init__(self):
        self._caught: list[tuple[str, warnings.WarningMessage]] = []

    def run(self, location: str, fn, *args):
        """Call ``fn(*args)`` while recording (and suppressing) its warnings."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args)
            finally:
                self._caught.extend((location, w) for w in caught)

    def report(self, owner: str, stage: str, n_models: int, stacklevel: int = 4
               ) -> list[dict]:
        """Emit one :class:`ModelWarning` summarising what was recorded, leaving out what
        the active filters ignore; returns the reported records
        (``{"location", "category", "message"}``)."""
        records = []
        for location, w in self._caught:
            text = str(w.message)
            if ignored_by_filters(w.category, text):
                continue
            first = text.strip().splitlines()[0][:200] if text.strip() else ""
            records.append({"location": location, "category": w.category.__name__,
                            "message": first})
        if not records:
            return records
        groups: dict[tuple[str, str], list[str]] = {}
        for r in records:
            groups.setdefault((r["category"], r["message"]), []).append(r["location"])
        n_locations = len({r["location"] for r in records})
        lines = [
            f"{owner}.{stage}: statsmodels issued {len(records)} warning(s) on "
            f"{n_locations} of {n_models} model(s) (collected and reported once):"
        ]
        for (category, message), locations in groups.items():
            counts = Counter(locations)
            shown = ", ".join(f"{loc} x{n}" if n > 1 else loc
                              for loc, n in list(counts.items())[:5])
            more = f", +{len(counts) - 5} more" if len(counts) > 5 else ""
            lines.append(f"  - {category} x{len(locations)}: {message} [{shown}{more}]")
        warnings.warn("\n".join(lines), ModelWarning, stacklevel=stacklevel)
        return records


def _is_level(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and 0.0 < float(v) < 1.0


#: the ``quantiles`` parameter: distinct levels in (0, 1), or ``None``
QUANTILES_CONSTRAINT = [
    Check(lambda v: isinstance(v, (list, tuple)) and len(v) > 0
          and all(_is_level(x) for x in v) and len({float(x) for x in v}) == len(v),
          "a non-empty list of distinct quantile levels in (0, 1), e.g. [0.1, 0.5, 0.9]"),
    None,
]


def gaussian_quantiles(point: np.ndarray, sd: np.ndarray, levels: list[float]) -> np.ndarray:
    """``point + Φ⁻¹(level) · sd`` for every level: ``[..., n_levels]`` (the intervals
    statsmodels' ``conf_int`` / ``forecast_interval`` give, one level at a time)."""
    z = ndtri(np.asarray(levels, dtype=np.float64))
    return np.asarray(point, dtype=np.float64)[..., None] + np.asarray(sd)[..., None] * z


def tidy_quantiles(point: np.ndarray, q: np.ndarray, levels: list[float]) -> np.ndarray:
    """Quantiles ``q`` (``[..., n_levels]``, levels ascending) made monotone in the level,
    with the point forecast inside every central interval: levels below 0.5 are at most the
    point, levels above at least it. Analytic (Gaussian) quantiles already are; this guards
    simulated ones (statsmodels' simulated ETS intervals) against sampling noise."""
    q = np.sort(q, axis=-1)
    lv = np.asarray(levels)
    p = np.asarray(point, dtype=np.float64)[..., None]
    q = np.where(lv < 0.5, np.minimum(q, p), q)
    return np.where(lv > 0.5, np.maximum(q, p), q)


def interval_quantiles(interval, point: np.ndarray, levels: list[float]) -> np.ndarray:
    """Quantiles from a function ``interval(alpha) -> [H, 2]`` (lower, upper) of central
    ``1 - alpha`` intervals, as statsmodels' ``conf_int(alpha)`` / ``pred_int(alpha)``:
    level ``q < 0.5`` is the lower bound at ``alpha = 2q``, ``q > 0.5`` the upper bound at
    ``alpha = 2(1 - q)``, and ``0.5`` the point forecast. Returns ``[H, n_levels]``."""
    cols = []
    for q in levels:
        if q == 0.5:
            cols.append(np.asarray(point, dtype=np.float64))
            continue
        bounds = np.asarray(interval(2 * min(q, 1 - q)), dtype=np.float64)
        cols.append(bounds[:, 0] if q < 0.5 else bounds[:, 1])
    return np.stack(cols, axis=-1)


# --------------------------------------------------------------------------- base classes
class BaselineForecaster(BaseForecaster):
    """Base of the classical baselines (they use no covariates: ``X`` is accepted for a
    uniform interface)."""

    _parameter_constraints: dict[str, list] = {"missing": [Options(*MISSING_POLICIES)]}


class QuantileMixin:
    """Quantile forecasts for a baseline with a ``quantiles`` parameter (``None``: points
    only).

    With ``quantiles`` set the forecaster declares ``supports_quantiles``,
    :meth:`predict_quantiles` returns ``{level: forecast}`` (as
    :meth:`spikecast.NeuralForecaster.predict_quantiles`), and ``historical_forecasts`` (so
    ``backtest``) returns the quantiles with the points (``y_pred_q<level>`` columns).
    Subclasses implement :meth:`_forecast_with_quantiles`.
    """

    _parameter_constraints: dict[str, list] = {"quantiles": QUANTILES_CONSTRAINT}

    #: a subclass whose ``__init__`` has no ``quantiles`` forecasts points only
    quantiles = None

    def __spikecast_tags__(self) -> ForecasterTags:
        """``supports_quantiles`` when ``quantiles`` is set."""
        return dataclasses.replace(super().__spikecast_tags__(),  # type: ignore[misc]
                                   supports_quantiles=bool(self._levels()))

    def _levels(self) -> list[float] | None:
        """The quantile levels, ascending (``None`` without ``quantiles``)."""
        quantiles = getattr(self, "quantiles", None)
        return sorted(float(q) for q in quantiles) if quantiles else None

    def _forecast_with_quantiles(self, panels: list[Panel], levels: list[float]
                                 ) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
        """``(points, quantiles)``: ``points[c][i]`` ``[H, n_targets]`` and
        ``quantiles[c][i]`` ``[H, n_targets, n_levels]`` for every panel ``c`` and series
        ``i``."""
        raise NotImplementedError

    def _forecast_panels(self, panels: list[Panel]):
        levels = self._levels()
        if not levels:
            return super()._forecast_panels(panels)  # type: ignore[misc]
        points, quantiles = self._forecast_with_quantiles(panels, levels)
        return points, quantiles, levels

    def predict_quantiles(self, y=None, X=None) -> dict:
        """Quantile forecasts ``horizon`` steps after the end of ``y`` (default: the
        training data), for a model constructed with ``quantiles=[...]``.

        Quantiles are monotone in the level, and the point forecast of :meth:`predict` lies
        inside every central interval.

        Returns:
            ``{level: forecast}`` (levels ascending), each forecast in the form
            :meth:`predict` returns.

        Raises:
            DataValidationError: the model was constructed without ``quantiles``.
        """
        check_is_fitted(self, "train_panel_")
        levels = self._levels()
        if not levels:
            raise DataValidationError(
                f"predict_quantiles needs {type(self).__name__}(quantiles=[...]), e.g. "
                "quantiles=[0.1, 0.5, 0.9]; refit with quantiles set"
            )
        panel = self._prediction_panel(y, X)  # type: ignore[attr-defined]
        _, quantiles = self._forecast_with_quantiles([panel], levels)
        return {q: self._format(panel, [a[..., k] for a in quantiles[0]])  # type: ignore
                for k, q in enumerate(levels)}


class GaussianQuantileMixin(QuantileMixin):
    """Normal quantiles ``point + Φ⁻¹(level) · sd`` around the point forecast; subclasses
    give the forecast standard deviations (:meth:`_forecast_sd`)."""

    def _forecast_sd(self, panel: Panel) -> list[np.ndarray]:
        """The ``[H, n_columns]`` forecast standard deviation of every series."""
        raise NotImplementedError

    def _forecast_with_quantiles(self, panels, levels):
        points, quantiles = [], []
        for panel in panels:
            p = self._predict(panel)  # type: ignore[attr-defined]
            sd = self._forecast_sd(panel)
            points.append(p)
            quantiles.append([gaussian_quantiles(a, s, levels) for a, s in zip(p, sd)])
        return points, quantiles


class LocalModelForecaster(QuantileMixin, BaselineForecaster):
    """One univariate statsmodels model per series and column.

    Subclasses implement :meth:`_fit_one` (fit on a 1-D array, return a results object),
    :meth:`_apply_one` (the fitted parameters on a new 1-D history, without refitting),
    :meth:`_quantiles_one` (quantiles from a results object) and may override
    :meth:`_forecast_one`, and :meth:`_forecast_histories` to forecast many histories of
    one column (``historical_forecasts``' cutoffs) in one pass.
    """

    _parameter_constraints: dict[str, list] = {
        "fallback": [Check(lambda v: isinstance(v, BaseForecaster),
                           "a spikecast forecaster instance such as NaiveForecaster(horizon=...)"),
                     None],
    }

    def _validate_params_extra(self) -> None:
        fallback = getattr(self, "fallback", None)
        if self._levels() and fallback is not None \
                and "quantiles" not in fallback.get_params(deep=False):
            raise InvalidParameterError(
                f"fallback={type(fallback).__name__}(...) has no quantiles, but this model "
                "forecasts quantiles (quantiles is set); use a fallback that forecasts them, "
                "e.g. NaiveForecaster(horizon=...) (its quantiles are set to this model's)"
            )

    def _fit_one(self, x: np.ndarray, freq=None):
        """Fit one model on the 1-D array ``x`` (``freq``: the series' index frequency)."""
        raise NotImplementedError

    def _apply_one(self, result, x: np.ndarray):
        raise NotImplementedError

    def _forecast_one(self, result, horizon: int) -> np.ndarray:
        return np.asarray(result.forecast(horizon), dtype=np.float64)

    def _quantiles_one(self, result, horizon: int, point: np.ndarray, levels: list[float]
                       ) -> np.ndarray:
        """``[horizon, n_levels]`` quantiles of the forecast of ``result``."""
        raise NotImplementedError

    def _check_fallback(self):
        """An unfitted copy of ``fallback`` with this model's horizon (and quantiles)
        (``None`` without)."""
        fallback = getattr(self, "fallback", None)
        if fallback is None:
            return None
        fb = clone(fallback)
        params = fb.get_params(deep=False)
        if "horizon" in params:
            fb.set_params(horizon=int(self.horizon))
        if "quantiles" in params and self._levels():
            fb.set_params(quantiles=self._levels())
        return fb

    def _fit(self, panel: Panel) -> None:
        horizon = int(self.horizon)
        fallback = self._check_fallback()
        name = type(self).__name__
        log = WarningLog()
        models: dict[tuple[int, int], tuple[str, Any]] = {}
        self.fallbacks_ = []
        freqs = list(panel.freqs) or [None] * panel.n_series
        for i, (uid, values) in enumerate(zip(panel.ids, panel.values)):
            for j, column in enumerate(panel.columns):
                loc = where(uid, column, panel.kind)
                x = values[:, j]
                try:
                    result = log.run(loc, self._fit_one, x, freqs[i])
                    forecast = log.run(loc, self._forecast_one, result, horizon)
                    if not np.all(np.isfinite(forecast)):
                        raise FloatingPointError("the fitted model forecasts non-finite values")
                    models[(i, j)] = ("model", result)
                except Exception as err:  # any statsmodels failure
                    if fallback is None:
                        raise ModelError(
                            f"{name}: fitting failed on {loc} ({len(x)} rows): "
                            f"{type(err).__name__}: {err}. Pass fallback=NaiveForecaster("
                            f"horizon={horizon}) (or another forecaster) to forecast such "
                            "columns with a simpler model"
                        ) from err
                    fb = clone(fallback).fit(x[:, None])
                    models[(i, j)] = ("fallback", fb)
                    self.fallbacks_.append({"series": uid, "column": column,
                                            "error": f"{type(err).__name__}: {err}"})
        if self.fallbacks_:
            warnings.warn(
                f"{name}: used the fallback {type(fallback).__name__} for "
                + ", ".join(where(f["series"], f["column"], panel.kind)
                            for f in self.fallbacks_[:5])
                + (f" and {len(self.fallbacks_) - 5} more" if len(self.fallbacks_) > 5 else "")
                + " (see fallbacks_)", ModelWarning, stacklevel=4)
        self.models_ = models
        self.series_ids_ = list(panel.ids)
        self.fit_warnings_ = log.report(name, "fit", len(models))

    def _series_position(self, uid) -> int:
        try:
            return self.series_ids_.index(uid)
        except ValueError:
            raise DataValidationError(
                f"{type(self).__name__} fits one model per series; series {uid!r} was not "
                f"seen in fit (known: {self.series_ids_[:10]})"
            ) from None

    def _predict(self, panel: Panel) -> list[np.ndarray]:
        return self._predict_panels([panel])[0]

    def _predict_panels(self, panels: list[Panel]) -> list[list[np.ndarray]]:
        return self._forecast_local(panels, None)[0]

    def _forecast_with_quantiles(self, panels, levels):
        return self._forecast_local(panels, levels)

    def _forecast_local(self, panels: list[Panel], levels: list[float] | None):
        """Points (and, with ``levels``, quantiles ``[H, n_columns, n_levels]``) of every
        column of every series of every panel: every (series, column) model forecasts all
        its histories in one call (:meth:`_forecast_histories`)."""
        horizon = int(self.horizon)
        n_levels = len(levels or [])
        log = WarningLog()
        points = [[np.empty((horizon, p.n_columns)) for _ in p.ids] for p in panels]
        quantiles = [[np.empty((horizon, p.n_columns, n_levels)) for _ in p.ids]
                     for p in panels]
        for (i, j), cells in self._cells(panels).items():
            kind, model = self.models_[(i, j)]
            first = panels[cells[0][0]]
            loc = where(first.ids[cells[0][1]], first.columns[j], first.kind)
            histories = [None if panels[c] is self.train_panel_ else panels[c].values[s][:, j]
                         for c, s in cells]
            run = self._fallback_histories if kind == "fallback" else self._forecast_histories
            f, q = run(model, histories, horizon, levels, log, loc)
            for (c, s), f_c, q_c in zip(cells, f, q):
                points[c][s][:, j] = f_c
                quantiles[c][s][:, j, :] = q_c
        log.report(type(self).__name__, "predict", len(self.models_))
        if not levels:
            return points, None
        return points, [[tidy_quantiles(f, q, levels) for f, q in zip(fp, qp)]
                        for fp, qp in zip(points, quantiles)]

    def _cells(self, panels: list[Panel]) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """``{(fitted series position, column position): [(panel, series in the panel),
        ...]}``: the histories every fitted model forecasts after."""
        cells: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for c, panel in enumerate(panels):
            for s, uid in enumerate(panel.ids):
                i = self._series_position(uid)
                for j in range(panel.n_columns):
                    cells.setdefault((i, j), []).append((c, s))
        return cells

    def _forecast_histories(self, result, histories: list, horizon: int,
                            levels: list[float] | None, log: WarningLog, loc: str
                            ) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts of one fitted column model after every history: ``(points [n, H],
        quantiles [n, H, n_levels])`` for ``n`` 1-D histories (``None``: the training data,
        forecast by ``result`` itself).

        The default applies the fitted parameters to every history in turn
        (:meth:`_apply_one`, :meth:`_forecast_one`, :meth:`_quantiles_one`); a model that
        can forecast many histories in one pass overrides it, with the same numbers."""
        points = np.empty((len(histories), horizon))
        quantiles = np.empty((len(histories), horizon, len(levels or [])))
        for k, x in enumerate(histories):
            try:
                applied = result if x is None else log.run(loc, self._apply_one, result, x)
                points[k] = log.run(loc, self._forecast_one, applied, horizon)
                if levels:
                    quantiles[k] = log.run(loc, self._quantiles_one, applied, horizon,
                                           points[k], levels)
            except Exception as err:
                rows = int(result.nobs) if x is None else len(x)
                raise ModelError(
                    f"{type(self).__name__}: forecasting failed on {loc} ({rows} rows of "
                    f"history): {type(err).__name__}: {err}"
                ) from err
        return points, quantiles

    @staticmethod
    def _fallback_histories(model, histories: list, horizon: int,
                            levels: list[float] | None, log: WarningLog, loc: str
                            ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`_forecast_histories`, for a column forecast by its fitted fallback."""
        points = np.empty((len(histories), horizon))
        quantiles = np.empty((len(histories), horizon, len(levels or [])))
        for k, x in enumerate(histories):
            history = None if x is None else x[:, None]
            points[k] = np.asarray(model.predict(history))[:, 0]
            if levels:
                fq = model.predict_quantiles(history)
                quantiles[k] = np.stack([np.asarray(fq[lv])[:, 0] for lv in levels], axis=-1)
        return points, quantiles

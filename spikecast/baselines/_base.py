"""Shared machinery of the classical baselines: the constraints every baseline shares,
one-warning-per-fit reporting of statsmodels warnings, and per-(series, column) local models
with fallbacks."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np
from sklearn.base import clone

from spikecast.base import BaseForecaster
from spikecast.collected_warnings import ignored_by_filters
from spikecast.data.frames import MISSING_POLICIES, Panel
from spikecast.exceptions import DataValidationError, ModelError, ModelWarning
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


# --------------------------------------------------------------------------- base classes
class BaselineForecaster(BaseForecaster):
    """Base of the classical baselines (they use no covariates: ``X`` is accepted for a
    uniform interface)."""

    _parameter_constraints = {"missing": [Options(*MISSING_POLICIES)]}


class LocalModelForecaster(BaselineForecaster):
    """One univariate statsmodels model per series and column.

    Subclasses implement :meth:`_fit_one` (fit on a 1-D array, return a results object),
    :meth:`_apply_one` (the fitted parameters on a new 1-D history, without refitting) and
    may override :meth:`_forecast_one`.
    """

    _parameter_constraints = {
        "fallback": [Check(lambda v: isinstance(v, BaseForecaster),
                           "a spikecast forecaster instance such as NaiveForecaster(horizon=...)"),
                     None],
    }

    def _fit_one(self, x: np.ndarray):
        raise NotImplementedError

    def _apply_one(self, result, x: np.ndarray):
        raise NotImplementedError

    def _forecast_one(self, result, horizon: int) -> np.ndarray:
        return np.asarray(result.forecast(horizon), dtype=np.float64)

    def _check_fallback(self):
        """An unfitted copy of ``fallback`` with this model's horizon (``None`` without)."""
        fallback = getattr(self, "fallback", None)
        if fallback is None:
            return None
        fb = clone(fallback)
        if "horizon" in fb.get_params(deep=False):
            fb.set_params(horizon=int(self.horizon))
        return fb

    def _fit(self, panel: Panel) -> None:
        horizon = int(self.horizon)
        fallback = self._check_fallback()
        name = type(self).__name__
        log = WarningLog()
        models: dict[tuple[int, int], tuple[str, Any]] = {}
        self.fallbacks_ = []
        for i, (uid, values) in enumerate(zip(panel.ids, panel.values)):
            for j, column in enumerate(panel.columns):
                loc = where(uid, column, panel.kind)
                x = values[:, j]
                try:
                    result = log.run(loc, self._fit_one, x)
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
        horizon = int(self.horizon)
        name = type(self).__name__
        log = WarningLog()
        out = []
        for panel in panels:
            same = panel is self.train_panel_
            forecasts = []
            for uid, values in zip(panel.ids, panel.values):
                i = self._series_position(uid)
                f = np.empty((horizon, panel.n_columns))
                for j, column in enumerate(panel.columns):
                    kind, model = self.models_[(i, j)]
                    loc = where(uid, column, panel.kind)
                    if kind == "fallback":
                        f[:, j] = np.asarray(
                            model.predict() if same else model.predict(values[:, j:j + 1])
                        )[:, 0]
                        continue
                    try:
                        result = model if same else log.run(loc, self._apply_one, model,
                                                            values[:, j])
                        f[:, j] = log.run(loc, self._forecast_one, result, horizon)
                    except Exception as err:
                        raise ModelError(
                            f"{name}: forecasting failed on {loc} ({len(values)} rows of "
                            f"history): {type(err).__name__}: {err}"
                        ) from err
                forecasts.append(f)
            out.append(forecasts)
        log.report(name, "predict", len(self.models_))
        return out

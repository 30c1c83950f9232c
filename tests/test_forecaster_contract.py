"""The forecaster contract (:mod:`spikecast.checks.forecaster`) for every registered model,
and proof that each check catches the estimator that breaks it."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from spikecast.baselines import NaiveForecaster
from spikecast.checks import check_forecaster, forecaster_checks
from spikecast.checks import forecaster as checks
from spikecast.checks.forecaster import FAST_PARAMS, fast_forecaster
from spikecast.experiment.registry import MODELS

pytestmark = pytest.mark.filterwarnings("ignore::spikecast.exceptions.ModelWarning")

#: (model, check) -> why it fails today; strict, so a fix makes the marker go
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def _cases():
    for name in MODELS:
        if name not in FAST_PARAMS:
            continue  # test_every_registered_model_has_fast_params fails instead
        for check in forecaster_checks(fast_forecaster(name)):
            reason = KNOWN_FAILURES.get((name, check.__name__))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(name, check, id=f"{name}-{check.__name__}", marks=marks)


@pytest.mark.parametrize("name, check", list(_cases()))
def test_forecaster_contract(name, check):
    check(fast_forecaster(name))


def test_every_registered_model_has_fast_params():
    assert sorted(FAST_PARAMS) == sorted(MODELS)


def test_suite_covers_every_check():
    """Every ``check_*`` function of the module is in the suite (none is forgotten)."""
    defined = {n for n in vars(checks) if n.startswith("check_") and n != "check_forecaster"}
    yielded = {c.__name__ for name in MODELS for c in forecaster_checks(fast_forecaster(name))}
    assert defined == yielded


# ------------------------------------------------------------------ broken estimators
# Each differs from NaiveForecaster (which passes every check, see naive-* above) in one
# broken promise; the check that states it must fail on it, with the expected reason.
class _Converts(NaiveForecaster):
    """Converts an argument in ``__init__``.

    Args:
        horizon: steps.
        missing: NaN policy.
    """

    def __init__(self, horizon: int, missing: str = "raise"):
        self.horizon = horizon
        self.missing = str(missing)


class _ExtraAttribute(NaiveForecaster):
    """Sets an attribute besides its parameters in ``__init__``."""

    def __init__(self, horizon: int, missing: str = "raise"):
        self.horizon = horizon
        self.missing = missing
        self.fitted = False


class _VarArgs(NaiveForecaster):
    """Takes ``**kwargs``."""

    def __init__(self, horizon: int, missing: str = "raise", **kwargs):
        self.horizon = horizon
        self.missing = missing


class _HidesParameter(NaiveForecaster):
    """``get_params`` misses ``missing``."""

    @classmethod
    def _get_param_names(cls):
        return ["horizon"]


class _ValidatesInInit(NaiveForecaster):
    """Rejects a bad horizon in the constructor instead of ``fit``."""

    def __init__(self, horizon: int, missing: str = "raise"):
        if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        self.horizon = horizon
        self.missing = missing


class _ClonesState(NaiveForecaster):
    """``clone`` keeps the fitted state."""

    def __sklearn_clone__(self):
        return copy.deepcopy(self)


class _LazyPredict(NaiveForecaster):
    """``predict`` before ``fit`` returns ``None``."""

    def predict(self, y=None, X=None):
        if not hasattr(self, "train_panel_"):
            return None
        return super().predict(y, X)


class _ReturnsNone(NaiveForecaster):
    """``fit`` returns ``None``."""

    def fit(self, y, X=None):
        super().fit(y, X)


class _PublicAttribute(NaiveForecaster):
    """``fit`` sets a public attribute without a trailing underscore."""

    def fit(self, y, X=None):
        super().fit(y, X)
        self.fitted = True
        return self


class _ChangesParams(NaiveForecaster):
    """``fit`` replaces a parameter."""

    def fit(self, y, X=None):
        super().fit(y, X)
        self.missing = "interpolate"
        return self


class _MutatesParam(NaiveForecaster):
    """``fit`` appends to a list parameter.

    Args:
        horizon: steps.
        tags: labels.
        missing: NaN policy.
    """

    def __init__(self, horizon: int, tags=None, missing: str = "raise"):
        self.horizon = horizon
        self.tags = tags
        self.missing = missing

    def fit(self, y, X=None):
        super().fit(y, X)
        self.tags.append("fitted")
        return self


class _ModifiesInput(NaiveForecaster):
    """``fit`` writes into the user's frame."""

    def fit(self, y, X=None):
        if isinstance(y, pd.DataFrame) and "y" not in y:
            y.iloc[0, 0] = 0.0
        return super().fit(y, X)


class _WrongContainer(NaiveForecaster):
    """Returns frames as arrays and arrays / Series as frames."""

    def predict(self, y=None, X=None):
        out = super().predict(y, X)
        if isinstance(out, pd.DataFrame):
            return out.to_numpy()
        return pd.DataFrame(out)


class _OffByOne(NaiveForecaster):
    """Dates the forecast one step too early."""

    def predict(self, y=None, X=None):
        out = super().predict(y, X)
        if isinstance(out, (pd.DataFrame, pd.Series)) and isinstance(out.index,
                                                                     pd.DatetimeIndex):
            out.index = out.index - out.index.freq
        return out


class _DropsSeries(NaiveForecaster):
    """Forecasts only the first series of long data."""

    def predict(self, y=None, X=None):
        out = super().predict(y, X)
        if isinstance(out, pd.DataFrame) and "unique_id" in out:
            return out[out["unique_id"] == out["unique_id"].iloc[0]]
        return out


class _Refits(NaiveForecaster):
    """``predict(y)`` refits on ``y``."""

    def predict(self, y=None, X=None):
        if y is not None:
            self.fit(y, X)
        return super().predict(y, X)


class _IgnoresHistory(NaiveForecaster):
    """``predict(y)`` forecasts from the training data whatever ``y`` is."""

    def _predict(self, panel):
        return super()._predict(self.train_panel_)


class _Noisy(NaiveForecaster):
    """Adds unseeded noise to every forecast."""

    def _predict(self, panel):
        rng = np.random.default_rng()
        return [f + rng.normal(size=f.shape) for f in super()._predict(panel)]


class _UnusedSeed(NaiveForecaster):
    """Has a ``random_state`` that changes nothing.

    Args:
        horizon: steps.
        random_state: ignored.
        missing: NaN policy.
    """

    def __init__(self, horizon: int, random_state=0, missing: str = "raise"):
        self.horizon = horizon
        self.random_state = random_state
        self.missing = missing


class _FillsNaN(NaiveForecaster):
    """Fills NaN silently although ``missing="raise"``."""

    def fit(self, y, X=None):
        return super().fit(y.ffill().bfill() if isinstance(y, pd.DataFrame) else y, X)


class _UnderstatesLength(NaiveForecaster):
    """Says 3 rows suffice but fails below 5."""

    def _min_train_length(self):
        return 3

    def fit(self, y, X=None):
        if 3 <= len(y) < 5:
            raise ValueError("too short")
        return super().fit(y, X)


class _TakesOtherColumns(NaiveForecaster):
    """Matches the columns of a new history by position, not by name."""

    def predict(self, y=None, X=None):
        if isinstance(y, pd.DataFrame):
            y = y.iloc[:, :len(self.columns_)].set_axis(self.columns_, axis=1)
        return super().predict(y, X)


class _SortsHistory(NaiveForecaster):
    """Sorts an unsorted history instead of saying so."""

    def predict(self, y=None, X=None):
        if isinstance(y, pd.DataFrame):
            y = y.sort_index()
        return super().predict(y, X)


class _DropsX(NaiveForecaster):
    """Ignores ``X`` without looking at it."""

    def fit(self, y, X=None):
        return super().fit(y)


class _AssumesHourly(NaiveForecaster):
    """Forecasts hourly stamps after an irregular index instead of saying it has none."""

    def _prediction_panel(self, y, X):
        panel = super()._prediction_panel(y, X)
        return dataclasses.replace(panel, freqs=[f or pd.offsets.Hour() for f in panel.freqs])


class _Warns(NaiveForecaster):
    """Lets a dependency's warning through."""

    def fit(self, y, X=None):
        warnings.warn("a stray warning", RuntimeWarning, stacklevel=2)
        return super().fit(y, X)


class _Undocumented(NaiveForecaster):
    """Has a public method without a docstring."""

    def forecast(self):
        return self.predict()


class _Unpicklable(NaiveForecaster):
    """Keeps a lambda in its learned state."""

    def fit(self, y, X=None):
        super().fit(y, X)
        self.scale_ = lambda v: v
        return self


class _LossySave(NaiveForecaster):
    """Saves the last values rounded to float32."""

    def save(self, path):
        """Save the parameters, columns, last time stamp and (rounded) last values."""
        last = [float(np.float32(v)) for v in self.train_panel_.values[0][-1]]
        path.write_text(json.dumps({"params": self.get_params(), "last": last,
                                    "columns": self.columns_,
                                    "end": self.train_panel_.indexes[0][-1].isoformat()}))

    @classmethod
    def load(cls, path):
        """Refit on the saved last row."""
        meta = json.loads(path.read_text())
        index = pd.date_range(meta["end"], periods=1, freq="h")
        return cls(**meta["params"]).fit(
            pd.DataFrame([meta["last"]], columns=meta["columns"], index=index))


class _LeavesTempFile(NaiveForecaster):
    """Saves exactly (pickle) but leaves a temporary file behind."""

    def save(self, path):
        """Pickle to ``path`` through a temporary file that is never removed."""
        path.with_suffix(".tmp").write_bytes(pickle.dumps(self))
        path.write_bytes(pickle.dumps(self))

    @classmethod
    def load(cls, path):
        """Unpickle."""
        return pickle.loads(path.read_bytes())


class _IgnoresShorterHorizon(NaiveForecaster):
    """Forecasts the full horizon whatever ``predict(horizon=...)`` asks for."""

    def predict(self, y=None, X=None, horizon=None):
        """The full forecast, ignoring ``horizon``."""
        return super().predict(y, X)


BROKEN = [  # (estimator class, the check it breaks, what the failure says)
    (_Converts, "check_init_stores_params", r"stored .* as 'missing', not the object"),
    (_ExtraAttribute, "check_init_stores_params", r"\['fitted'\] besides its parameters"),
    (_VarArgs, "check_init_stores_params", r"takes \*\['kwargs'\]"),
    (_ValidatesInInit, "check_init_stores_params", r"must only store its arguments"),
    (_HidesParameter, "check_get_params_round_trip", r"keys \['horizon'\] differ"),
    (_ClonesState, "check_clone", r"clone of a fitted estimator keeps learned"),
    (_LazyPredict, "check_predict_before_fit_raises_not_fitted",
     r"expected NotFittedError, nothing was raised"),
    (_ReturnsNone, "check_fit_returns_self", r"fit returned None, not self"),
    (_PublicAttribute, "check_fit_sets_only_learned_attributes", r"\['fitted'\] without"),
    (_ChangesParams, "check_fit_does_not_change_params", r"replaced the parameter 'missing'"),
    (_MutatesParam, "check_fit_does_not_change_params", r"mutated the parameter 'tags'"),
    (_ModifiesInput, "check_fit_does_not_modify_input", r"y after fit\(y, X\)"),
    (_WrongContainer, "check_predict_wide_dataframe", r"wide data: got ndarray"),
    (_WrongContainer, "check_predict_series", r"Series: got DataFrame"),
    (_WrongContainer, "check_predict_ndarray", r"array: got DataFrame"),
    (_WrongContainer, "check_predict_long", r"long data: got ndarray"),
    (_OffByOne, "check_predict_wide_dataframe", r"wide data: index .*expected"),
    (_OffByOne, "check_predict_series", r"Series: index"),
    (_DropsSeries, "check_predict_long", r"series \['a'\], expected \['a', 'b'\]"),
    (_Refits, "check_predict_new_history", r"called fit: it must not refit"),
    (_IgnoresHistory, "check_predict_new_history", r"the history is ignored"),
    (_Noisy, "check_predict_is_repeatable", r"two calls of predict\(\)"),
    (_Noisy, "check_fit_is_deterministic", r"a second fit with the same parameters"),
    (_UnusedSeed, "check_random_state_is_used", r"the seed is not used"),
    (_FillsNaN, "check_missing_raise_names_column_and_row",
     r"NaN in column 'b' at row 7: expected DataValidationError"),
    (_UnderstatesLength, "check_too_short_series_says_rows_needed",
     r"fit on 3 rows \(as many as the error message says"),
    (_ValidatesInInit, "check_bad_horizon", r"rejected horizon=0 .*validated in fit"),
    (_TakesOtherColumns, "check_predict_rejects_other_columns", r"renamed to 'z': expected"),
    (_SortsHistory, "check_predict_validates_history", r"unsorted: expected"),
    (_DropsX, "check_bad_covariates", r"X on another index: expected"),
    (_AssumesHourly, "check_irregular_index_fits_but_predict_names_the_gap",
     r"irregular index: expected DataValidationError"),
    (_Warns, "check_no_stray_warnings", r"RuntimeWarning .*a stray warning"),
    (_Undocumented, "check_docstrings", r"without a docstring: \['_Undocumented.forecast'\]"),
    (_VarArgs, "check_docstrings", r"does not document argument\(s\) \['horizon'"),
    (_Unpicklable, "check_pickle_round_trip", r"does not pickle"),
    (_LossySave, "check_save_load_round_trip", r"predict\(\) after save / load"),
    (_LeavesTempFile, "check_save_load_round_trip", r"no temporary files"),
    (_IgnoresShorterHorizon, "check_predict_shorter_horizon", r"predict\(horizon=1\): index"),
]


def _build(cls):
    kwargs = {"tags": []} if cls is _MutatesParam else {}
    return cls(horizon=4, **kwargs)


@pytest.mark.parametrize("cls, check_name, match", BROKEN,
                         ids=[f"{c.__name__.strip('_')}-{n}" for c, n, _ in BROKEN])
def test_check_catches_the_estimator_that_breaks_it(cls, check_name, match):
    with pytest.raises(AssertionError, match=match):
        getattr(checks, check_name)(_build(cls))


def test_every_check_has_a_broken_estimator():
    assert {n for _, n, _ in BROKEN} == {n for n in vars(checks) if n.startswith("check_")
                                         and n != "check_forecaster"}


def test_check_forecaster_names_the_check_and_the_model():
    check_forecaster(NaiveForecaster(horizon=4))
    with pytest.raises(AssertionError,
                       match=r"check_fit_returns_self failed for _ReturnsNone\(horizon=4\)"):
        check_forecaster(_ReturnsNone(horizon=4))

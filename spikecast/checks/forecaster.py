"""The estimator contract every spikecast forecaster keeps, as a suite of named checks.

In the spirit of scikit-learn's ``check_estimator`` / ``parametrize_with_checks``:
:func:`forecaster_checks` yields the checks that apply to a forecaster, each a function of
the unfitted estimator that clones it, fits the clone on small deterministic data
(:func:`sample_data`) and asserts; :func:`check_forecaster` runs them all. The test suite
parametrises them over every model of :data:`spikecast.experiment.registry.MODELS`, built
with the small, fast parameters of :data:`FAST_PARAMS`; the author of a new forecaster runs
``check_forecaster(MyForecaster(horizon=4, ...))`` on theirs.

What a forecaster promises (see :class:`spikecast.base.BaseForecaster`):

- ``__init__`` stores its arguments unchanged and does nothing else; ``get_params`` /
  ``set_params`` round-trip and ``sklearn.base.clone`` gives an equal, unfitted copy.
- ``fit`` returns ``self``, sets only learned attributes (trailing underscore), changes
  neither its parameters nor the data it is given; bad parameters (a ``horizon`` of 0,
  ``True`` or ``1.5``) raise a ``ValueError`` at ``fit``, not in the constructor.
- ``predict`` before ``fit`` raises ``NotFittedError``; forecasts come back in the form of
  the input (wide ``DataFrame``, ``Series``, 2-D array, long ``unique_id, ds, y``) indexed by
  the ``horizon`` time stamps after its end; ``predict(y=history)`` forecasts after that
  history without refitting; fitting and predicting are deterministic (for a fixed
  ``random_state``).
- Bad data raises :class:`~spikecast.exceptions.DataValidationError` naming the column and
  row (NaN), the number of rows needed (too short a series), the columns (other columns at
  predict time) or the irregular step (no frequency to forecast with).
- The class and every public method have docstrings, every constructor argument is
  documented; a fitted forecaster pickles, and ``save`` / ``load`` (where the class has
  them) round-trip its forecasts exactly.

A forecaster that cannot forecast a single variable (``VARForecaster``) must refuse the
``Series`` and long forms with a ``DataValidationError`` saying how many columns it needs;
the form checks then check that refusal instead.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import pickle
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone

from spikecast.exceptions import (
    DataValidationError,
    InvalidParameterError,
    ModelWarning,
    NotFittedError,
)

__all__ = [
    "FAST_PARAMS",
    "check_forecaster",
    "forecaster_checks",
    "fast_forecaster",
    "sample_data",
    "sample_long",
]

#: The horizon of every :data:`FAST_PARAMS` model.
HORIZON = 4

#: registry name -> constructor arguments that make the model small and fast enough for the
#: contract suite (a neural fit is one epoch over ~150 windows, well under a second)
FAST_PARAMS: dict[str, dict] = {
    "neural": dict(lookback=16, horizon=HORIZON, hidden_size=8, max_epochs=1, batch_size=64,
                   accelerator="cpu", verbose=False),
    "naive": dict(horizon=HORIZON),
    "seasonal_naive": dict(horizon=HORIZON, season_length=6),
    "drift": dict(horizon=HORIZON),
    # a list: the constructor must store it as given (not as a tuple)
    "arima": dict(horizon=HORIZON, order=[1, 0, 0]),
    # an explicit season: "auto" would differ between the DataFrame (hourly) and the array
    "ets": dict(horizon=HORIZON, trend="add", damped_trend=True, season_length=6),
    "var": dict(horizon=HORIZON, maxlags=2),
    "linear": dict(horizon=HORIZON, lookback=12),
}

_N_ROWS = 120  # rows of the sample data (at least three times what the model needs)
_CLOSE: dict = dict(rtol=1e-6, atol=1e-9)  # the same numbers, whichever container


def fast_forecaster(name: str):
    """The registered model ``name`` with its :data:`FAST_PARAMS` (a fresh instance)."""
    from spikecast.experiment.registry import MODELS, model_class

    if name not in FAST_PARAMS:
        raise KeyError(
            f"no FAST_PARAMS for the registered model {name!r}; add small, fast constructor "
            f"arguments for it to spikecast.checks.forecaster.FAST_PARAMS (have: "
            f"{sorted(FAST_PARAMS)}, registered: {sorted(MODELS)})"
        )
    return model_class(name)(**copy.deepcopy(FAST_PARAMS[name]))


# --------------------------------------------------------------------------- data
def sample_data(n_rows: int = _N_ROWS, n_columns: int = 2, freq: str | None = "h",
                seed: int = 0) -> pd.DataFrame:
    """Small deterministic multivariate data: columns ``"a"``, ``"b"``, ... of positive
    values (level ~10, a cycle of 6, 7, ... steps, a slight trend and noise).

    Args:
        n_rows: number of rows.
        n_columns: number of columns.
        freq: frequency of the ``DatetimeIndex`` starting 2024-01-01; ``None`` gives a
            ``RangeIndex``.
        seed: seed of the noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    columns = {}
    for j in range(n_columns):
        columns[chr(ord("a") + j)] = (10.0 + j + np.sin(2 * np.pi * t / (6 + j))
                                      + 0.01 * (j + 1) * t + 0.3 * rng.standard_normal(n_rows))
    index = (pd.RangeIndex(n_rows) if freq is None
             else pd.date_range("2024-01-01", periods=n_rows, freq=freq))
    return pd.DataFrame(columns, index=index)


def sample_long(n_rows: int = _N_ROWS, seed: int = 0) -> pd.DataFrame:
    """:func:`sample_data` as a long frame (``unique_id, ds, y``) of series ``"a"`` and
    ``"b"``; series ``"b"`` ends 5 rows earlier, so each series has its own forecast dates."""
    frame = sample_data(n_rows, 2, seed=seed)
    parts = [pd.DataFrame({"unique_id": "a", "ds": frame.index, "y": frame["a"].to_numpy()}),
             pd.DataFrame({"unique_id": "b", "ds": frame.index[:-5],
                           "y": frame["b"].to_numpy()[:-5]})]
    return pd.concat(parts, ignore_index=True)


def _n_rows(estimator) -> int:
    """Rows of sample data for ``estimator``: :data:`_N_ROWS`, or three times its minimum."""
    return max(_N_ROWS, 3 * estimator.min_train_length())


def _future(index: pd.Index, horizon: int) -> pd.Index:
    """The ``horizon`` labels after ``index`` (computed here, not by the code under test)."""
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or pd.tseries.frequencies.to_offset(pd.infer_freq(index))
        return pd.date_range(index[-1] + freq, periods=horizon, freq=freq)
    step = int(index[-1] - index[-2])
    return pd.Index([int(index[-1]) + step * (h + 1) for h in range(horizon)])


# --------------------------------------------------------------------------- helpers
class _Raised:
    """What :func:`_raises` caught."""

    value: BaseException | None = None


@contextlib.contextmanager
def _raises(expected, match: str | None = None, *, what: str):
    """Like ``pytest.raises`` (``re.search`` of ``match``), with ``what`` in the message."""
    raised = _Raised()
    try:
        yield raised
    except Exception as err:  # any other type is a failure, named below
        if not isinstance(err, expected):
            raise AssertionError(
                f"{what}: expected {_names(expected)}, got {type(err).__name__}: {err}"
            ) from err
        if match is not None and not re.search(match, str(err)):
            raise AssertionError(
                f"{what}: the {type(err).__name__} message does not match {match!r}: {err}"
            ) from err
        raised.value = err
    else:
        raise AssertionError(f"{what}: expected {_names(expected)}, nothing was raised")


def _names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def _assert_same(a, b, what: str) -> None:
    """``a`` and ``b`` are the same forecast, exactly (type, index, columns, values)."""
    assert type(a) is type(b), f"{what}: {type(a).__name__} vs {type(b).__name__}"
    try:
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, check_exact=True)
        else:
            np.testing.assert_array_equal(a, b)
    except AssertionError as err:
        raise AssertionError(f"{what}: {err}") from None


def _values(forecast) -> np.ndarray:
    """The numbers of a wide, Series or array forecast as ``[H, C]``."""
    values = np.asarray(forecast, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def _learned(estimator) -> dict:
    """The learned attributes (trailing underscore) and a hash of each value."""
    return {k: joblib.hash(v) for k, v in vars(estimator).items()
            if k.endswith("_") and not k.startswith("_")}


def _needs_more_columns(err: Exception) -> bool:
    """Whether ``err`` is a model's clear refusal of a single variable."""
    return isinstance(err, DataValidationError) and re.search(
        r"at least \d+ .*columns", str(err)) is not None


def _fit_univariate(estimator, y):
    """``estimator.fit(y)`` for one variable; ``None`` when the model refuses one variable
    with a ``DataValidationError`` saying how many columns it needs."""
    try:
        return estimator.fit(y)
    except DataValidationError as err:
        if _needs_more_columns(err):
            return None
        raise


def _holds(call: Callable, what: str) -> None:
    """``call()`` succeeds, as an error message claimed it would."""
    try:
        call()
    except Exception as err:
        raise AssertionError(
            f"{what} (as many as the error message says are needed) failed: "
            f"{type(err).__name__}: {err}") from err


class _Sentinel:
    """A constructor argument only an ``__init__`` that stores it unchanged keeps."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<sentinel for {self.name}>"


# --------------------------------------------------------------------------- checks
def check_init_stores_params(estimator) -> None:
    """``__init__`` only stores its arguments, unchanged, under their own names.

    Every argument is passed a sentinel object that must come back from ``getattr`` (no
    conversion, no validation, no copy); no other public attribute is set; every argument
    is a named keyword (no ``*args`` / ``**kwargs``); defaults are stored as they are.
    """
    cls = type(estimator)
    signature = inspect.signature(cls.__init__)
    names = [p for p in signature.parameters if p != "self"]
    varargs = [p.name for p in signature.parameters.values()
               if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not varargs, f"__init__ takes *{varargs}: every parameter must be named"
    sentinels = {name: _Sentinel(name) for name in names}
    try:
        est = cls(**sentinels)
    except Exception as err:
        raise AssertionError(
            f"__init__ must only store its arguments (validate them in fit); given "
            f"placeholder objects it raised {type(err).__name__}: {err}"
        ) from err
    for name, sentinel in sentinels.items():
        assert getattr(est, name, None) is sentinel, (
            f"__init__ stored {getattr(est, name, '<nothing>')!r} as {name!r}, not the "
            "object it was given")
    extra = sorted(a for a in vars(est) if a not in sentinels and not a.startswith("_"))
    assert not extra, f"__init__ sets attribute(s) {extra} besides its parameters"
    # defaults are stored as they are, too
    required = {n: getattr(estimator, n) for n, p in signature.parameters.items()
                if n != "self" and p.default is p.empty}
    est = cls(**required)
    for name, p in signature.parameters.items():
        if name != "self" and p.default is not p.empty:
            assert getattr(est, name) is p.default, (
                f"__init__ stored {getattr(est, name)!r} for the default {name}="
                f"{p.default!r}")


def check_get_params_round_trip(estimator) -> None:
    """``get_params`` returns the constructor arguments; they rebuild an equal estimator;
    ``set_params`` returns ``self``, sets what it is given and rejects unknown names."""
    cls = type(estimator)
    est = clone(estimator)
    params = est.get_params(deep=False)
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(params) == sorted(names), (
        f"get_params() keys {sorted(params)} differ from the constructor's {sorted(names)}")
    rebuilt = cls(**params).get_params(deep=False)
    for name, value in params.items():
        assert rebuilt[name] is value, f"{cls.__name__}(**get_params()) changed {name!r}"
    deep = est.get_params(deep=True)
    for name, value in params.items():
        assert deep[name] is value, f"get_params(deep=True)[{name!r}] is not the argument"
    assert est.set_params(**params) is est, "set_params must return self"
    assert all(getattr(est, k) is v for k, v in params.items()), "set_params changed values"
    horizon = est.get_params()["horizon"]
    est.set_params(horizon=horizon + 1)
    assert est.horizon == horizon + 1 and est.get_params()["horizon"] == horizon + 1, (
        "set_params(horizon=...) did not set horizon")
    with _raises(ValueError, match="not_a_parameter",
                 what="set_params(not_a_parameter=1)"):
        est.set_params(not_a_parameter=1)


def check_clone(estimator) -> None:
    """``sklearn.base.clone`` gives a new estimator with equal parameters; a clone of a
    fitted estimator is unfitted."""
    est = clone(estimator)
    copy_ = clone(est)
    assert copy_ is not est and type(copy_) is type(est), "clone returned the same object"
    params, copied = est.get_params(deep=False), copy_.get_params(deep=False)
    for name in params:
        assert joblib.hash(copied[name]) == joblib.hash(params[name]), (
            f"clone changed {name!r}: {params[name]!r} -> {copied[name]!r}")
    data = sample_data(_n_rows(est))
    est.fit(data)
    fresh = clone(est)
    learned = sorted(a for a in vars(fresh) if a.endswith("_") and not a.startswith("_"))
    assert not learned, f"a clone of a fitted estimator keeps learned attributes {learned}"
    with _raises(NotFittedError, what="predict() on a clone of a fitted estimator"):
        fresh.predict()


def check_predict_before_fit_raises_not_fitted(estimator) -> None:
    """``predict`` (with or without ``y``) before ``fit`` raises ``NotFittedError``."""
    est = clone(estimator)
    with _raises(NotFittedError, match="not fitted yet", what="predict() before fit"):
        est.predict()
    with _raises(NotFittedError, match="not fitted yet", what="predict(y) before fit"):
        est.predict(sample_data(_n_rows(est)))


def check_fit_returns_self(estimator) -> None:
    """``fit`` returns the estimator itself (so that ``Model(...).fit(y).predict()`` works)."""
    est = clone(estimator)
    result = est.fit(sample_data(_n_rows(est)))
    assert result is est, f"fit returned {result!r}, not self"


def check_fit_sets_only_learned_attributes(estimator) -> None:
    """``fit`` adds learned attributes with a trailing underscore (at least one, which is
    how ``check_is_fitted`` tells), and no new public attribute without one."""
    est = clone(estimator)
    before = set(vars(est))
    est.fit(sample_data(_n_rows(est)))
    new = set(vars(est)) - before
    public = sorted(a for a in new if not a.startswith("_") and not a.endswith("_"))
    assert not public, f"fit set public attribute(s) {public} without a trailing underscore"
    learned = [a for a in new if a.endswith("_") and not a.startswith("_")]
    assert learned, "fit set no learned attribute (name_ with a trailing underscore)"


def check_fit_does_not_change_params(estimator) -> None:
    """``fit`` neither replaces nor mutates its constructor arguments."""
    est = clone(estimator)
    params = est.get_params(deep=False)
    hashes = {k: joblib.hash(v) for k, v in params.items()}
    est.fit(sample_data(_n_rows(est)))
    after = est.get_params(deep=False)
    for name, value in params.items():
        assert after[name] is value, (
            f"fit replaced the parameter {name!r}: {value!r} -> {after[name]!r}")
        assert joblib.hash(after[name]) == hashes[name], (
            f"fit mutated the parameter {name!r} in place: now {after[name]!r}")


def check_fit_does_not_modify_input(estimator) -> None:
    """``fit`` and ``predict`` leave the data they are given (``y`` and ``X``, in every
    form) exactly as it was."""
    est = clone(estimator)
    n = _n_rows(est)
    data = sample_data(n)
    X = sample_data(n, n_columns=1, seed=1).rename(columns={"a": "x"})
    kept_data, kept_X = data.copy(deep=True), X.copy(deep=True)
    est.fit(data, X)
    clone(estimator).fit(data).predict(data)
    pd.testing.assert_frame_equal(data, kept_data, check_exact=True, obj="y after fit(y, X)")
    pd.testing.assert_frame_equal(X, kept_X, check_exact=True, obj="X after fit(y, X)")
    array = data.to_numpy()
    kept_array = array.copy()
    clone(estimator).fit(array).predict(array)
    np.testing.assert_array_equal(array, kept_array, err_msg="a numpy y after fit")
    series = data["a"].copy()
    kept_series = series.copy(deep=True)
    fitted = _fit_univariate(clone(estimator), series)
    if fitted is not None:
        fitted.predict(series)
    pd.testing.assert_series_equal(series, kept_series, check_exact=True, obj="a Series y")
    long = sample_long(n)
    kept_long = long.copy(deep=True)
    fitted = _fit_univariate(clone(estimator), long)
    if fitted is not None:
        fitted.predict(long)
    pd.testing.assert_frame_equal(long, kept_long, check_exact=True, obj="a long y")


def check_predict_wide_dataframe(estimator) -> None:
    """A wide ``DataFrame`` in gives a ``DataFrame`` out: the same columns, ``horizon``
    rows of finite floats, indexed by the time stamps after the end of the data at its
    frequency (hourly, a calendar frequency, an integer index of step 5)."""
    horizon = int(estimator.get_params()["horizon"])
    n = _n_rows(estimator)
    frames = {"hourly": sample_data(n), "quarterly": sample_data(n, freq="QS"),
              "integer step 5": sample_data(n).set_axis(pd.Index(100 + 5 * np.arange(n)))}
    for label, data in frames.items():
        forecast = clone(estimator).fit(data).predict()
        what = f"predict() after fit on {label} wide data"
        assert isinstance(forecast, pd.DataFrame), f"{what}: got {type(forecast).__name__}"
        assert list(forecast.columns) == list(data.columns), (
            f"{what}: columns {list(forecast.columns)}, expected {list(data.columns)}")
        expected = _future(data.index, horizon)
        assert forecast.index.equals(expected), (
            f"{what}: index {list(forecast.index)}, expected {list(expected)}")
        if isinstance(data.index, pd.DatetimeIndex):
            assert forecast.index.freq == data.index.freq, (
                f"{what}: index freq {forecast.index.freq}, expected {data.index.freq}")
        assert all(pd.api.types.is_float_dtype(t) for t in forecast.dtypes), (
            f"{what}: dtypes {list(forecast.dtypes)}")
        assert np.isfinite(forecast.to_numpy()).all(), f"{what}: non-finite values"


def check_predict_series(estimator) -> None:
    """A ``Series`` in gives a ``Series`` out, with the same name, ``horizon`` finite values
    indexed by the time stamps after its end, and the numbers of the same data as a
    one-column ``DataFrame``. (A model that needs several columns must refuse with a
    ``DataValidationError`` saying so.)"""
    horizon = int(estimator.get_params()["horizon"])
    data = sample_data(_n_rows(estimator))
    y = data["a"]
    fitted = _fit_univariate(clone(estimator), y)
    if fitted is None:
        return
    forecast = fitted.predict()
    what = "predict() after fit on a Series"
    assert isinstance(forecast, pd.Series), f"{what}: got {type(forecast).__name__}"
    assert forecast.name == "a", f"{what}: name {forecast.name!r}, expected 'a'"
    assert forecast.index.equals(_future(y.index, horizon)), f"{what}: index {forecast.index}"
    assert np.isfinite(forecast.to_numpy()).all(), f"{what}: non-finite values"
    frame = clone(estimator).fit(data[["a"]]).predict()
    np.testing.assert_allclose(forecast.to_numpy(), frame["a"].to_numpy(), **_CLOSE,
                               err_msg=f"{what}: not the forecast of the same 1-column frame")


def check_predict_ndarray(estimator) -> None:
    """A 2-D array in gives an array ``[horizon, n_columns]`` of finite floats out: the
    numbers of the same data as a ``DataFrame``."""
    horizon = int(estimator.get_params()["horizon"])
    data = sample_data(_n_rows(estimator))
    forecast = clone(estimator).fit(data.to_numpy()).predict()
    what = "predict() after fit on a 2-D array"
    assert isinstance(forecast, np.ndarray), f"{what}: got {type(forecast).__name__}"
    assert forecast.shape == (horizon, data.shape[1]), f"{what}: shape {forecast.shape}"
    assert np.issubdtype(forecast.dtype, np.floating), f"{what}: dtype {forecast.dtype}"
    assert np.isfinite(forecast).all(), f"{what}: non-finite values"
    frame = clone(estimator).fit(data).predict()
    np.testing.assert_allclose(forecast, frame.to_numpy(), **_CLOSE,
                               err_msg=f"{what}: not the forecast of the same DataFrame")


def check_predict_long(estimator) -> None:
    """A long ``unique_id, ds, y`` frame in gives a long frame out: exactly those columns,
    ``horizon`` rows per series in the input's order, each dated after its own series'
    end, finite values. (A model that needs several columns must refuse with a
    ``DataValidationError`` saying so.)"""
    horizon = int(estimator.get_params()["horizon"])
    long = sample_long(_n_rows(estimator))
    fitted = _fit_univariate(clone(estimator), long)
    if fitted is None:
        return
    forecast = fitted.predict()
    what = "predict() after fit on long data"
    assert isinstance(forecast, pd.DataFrame), f"{what}: got {type(forecast).__name__}"
    assert list(forecast.columns) == ["unique_id", "ds", "y"], (
        f"{what}: columns {list(forecast.columns)}")
    assert list(forecast["unique_id"].unique()) == ["a", "b"], (
        f"{what}: series {list(forecast['unique_id'].unique())}, expected ['a', 'b']")
    for uid, rows in forecast.groupby("unique_id", sort=False):
        history = pd.DatetimeIndex(long.loc[long["unique_id"] == uid, "ds"], freq="infer")
        assert len(rows) == horizon, f"{what}: {len(rows)} rows for series {uid!r}"
        expected = _future(history, horizon)
        assert pd.DatetimeIndex(rows["ds"]).equals(expected), (
            f"{what}: series {uid!r} dated {list(rows['ds'])}, expected {list(expected)}")
        assert np.isfinite(rows["y"].to_numpy(dtype=float)).all(), (
            f"{what}: non-finite values for series {uid!r}")


def check_predict_new_history(estimator) -> None:
    """``predict(y=history)`` forecasts after the end of ``history`` (longer or shorter
    than the training data) with the fitted model: no refit, no learned attribute changed,
    and ``predict()`` afterwards still forecasts after the training data."""
    horizon = int(estimator.get_params()["horizon"])
    data = sample_data(_n_rows(estimator))
    train = data.iloc[:-12]
    est = clone(estimator).fit(train)
    base = est.predict()
    learned = _learned(est)

    def refit(*args, **kwargs):
        raise AssertionError("predict(y=history) called fit: it must not refit")

    est.fit = est._fit = refit  # instance attributes shadow the methods
    try:
        for label, history in (("a longer history", data), ("a shorter history",
                                                            train.iloc[:-8])):
            forecast = est.predict(history)
            what = f"predict(y=...) on {label}"
            assert forecast.index.equals(_future(history.index, horizon)), (
                f"{what}: index {list(forecast.index)} is not after the history's end")
            assert not np.allclose(forecast.to_numpy(), base.to_numpy()), (
                f"{what}: the forecast equals the training data's; the history is ignored")
    finally:
        del est.fit, est._fit
    assert _learned(est) == learned, "predict(y=history) changed learned attributes"
    _assert_same(est.predict(), base, "predict() after predict(y=history)")


def check_predict_is_repeatable(estimator) -> None:
    """Calling ``predict`` twice (with and without ``y``) gives identical forecasts."""
    data = sample_data(_n_rows(estimator))
    est = clone(estimator).fit(data)
    _assert_same(est.predict(), est.predict(), "two calls of predict()")
    history = data.iloc[:-7]
    _assert_same(est.predict(history), est.predict(history), "two calls of predict(y)")


def check_fit_is_deterministic(estimator) -> None:
    """Two fits with the same parameters (``random_state`` fixed to 0 where the estimator
    has one) give identical forecasts, and so does refitting the same instance."""
    data = sample_data(_n_rows(estimator))
    first, second = clone(estimator), clone(estimator)
    if "random_state" in first.get_params():
        first.set_params(random_state=0)
        second.set_params(random_state=0)
    a = first.fit(data).predict()
    _assert_same(second.fit(data).predict(), a, "a second fit with the same parameters")
    _assert_same(first.fit(data).predict(), a, "refitting the same instance")


def check_random_state_is_used(estimator) -> None:
    """``random_state`` seeds the model: another seed gives another forecast."""
    data = sample_data(_n_rows(estimator))
    a = clone(estimator).set_params(random_state=0).fit(data).predict()
    b = clone(estimator).set_params(random_state=1).fit(data).predict()
    assert not np.allclose(_values(a), _values(b)), (
        "random_state=0 and random_state=1 give the same forecast: the seed is not used")


def check_missing_raise_names_column_and_row(estimator) -> None:
    """NaN in ``y`` with ``missing="raise"`` raises ``DataValidationError`` naming the
    column and the row, at ``fit`` and in the history given to ``predict``."""
    est = clone(estimator)
    if "missing" in est.get_params():
        est.set_params(missing="raise")
    data = sample_data(_n_rows(est))
    gappy = data.copy()
    gappy.iloc[7, 1] = np.nan
    with _raises(DataValidationError, match=r"NaN.*'b'.*row 7.*missing=",
                 what="fit on data with a NaN in column 'b' at row 7"):
        est.fit(gappy)
    est.fit(data)
    gappy = data.copy()
    gappy.iloc[5, 0] = np.nan
    with _raises(DataValidationError, match=r"NaN.*'a'.*row 5",
                 what="predict(y) with a NaN in column 'a' at row 5"):
        est.predict(gappy)


def check_too_short_series_says_rows_needed(estimator) -> None:
    """A series too short to fit on raises ``DataValidationError`` saying it ``has n rows``
    and that ``at least k`` are needed, and the claim is exact: ``k - 1`` rows fail, ``k``
    fit. A model that fits one row must reject an empty frame as ``empty``. The same holds
    for a too-short history at ``predict`` where the model has a minimum."""
    data = sample_data(_n_rows(estimator))
    needed = None
    try:
        clone(estimator).fit(data.iloc[:1])
    except Exception as err:
        if not isinstance(err, DataValidationError):
            raise AssertionError(
                f"fit on 1 row raised {type(err).__name__}, not a DataValidationError saying "
                f"how many rows are needed: {err}") from err
        text = str(err)
        assert "has 1 rows" in text, f"fit on 1 row: the message does not say so: {text}"
        found = re.search(r"at least (\d+)", text)
        assert found, f"fit on 1 row: the message does not say how many are needed: {text}"
        needed = int(found.group(1))
        assert needed > 1, f"fit on 1 row: the message claims {needed} rows suffice: {text}"
    if needed is None:
        with _raises(DataValidationError, match="empty", what="fit on 0 rows"):
            clone(estimator).fit(data.iloc[:0])
    else:
        if needed > 2:
            with _raises(DataValidationError, match=rf"has {needed - 1} rows.*at least {needed}",
                         what=f"fit on {needed - 1} rows (one fewer than claimed)"):
                clone(estimator).fit(data.iloc[:needed - 1])
        _holds(lambda: clone(estimator).fit(data.iloc[:needed]), f"fit on {needed} rows")
    est = clone(estimator).fit(data)
    try:
        est.predict(data.iloc[:1])
    except Exception as err:
        if not isinstance(err, DataValidationError):
            raise AssertionError(
                f"predict on a 1-row history raised {type(err).__name__}, not a "
                f"DataValidationError saying how many rows are needed: {err}") from err
        text = str(err)
        found = re.search(r"at least (\d+)|last (?:\w+=)?(\d+)", text)
        assert "has 1 rows" in text and found, (
            f"predict on a 1-row history: the message does not say how many rows are "
            f"needed: {text}")
        claimed = int(found.group(1) or found.group(2))
        assert claimed > 1, f"predict on a 1-row history claims {claimed} rows suffice"
        _holds(lambda: est.predict(data.iloc[:claimed]), f"predict on {claimed} rows")


def check_bad_horizon(estimator) -> None:
    """A bad ``horizon`` (0, -1, 1.5, True, None, "3") is accepted by the constructor and
    ``set_params`` and raises a ``ValueError`` naming ``horizon`` and the value at ``fit``."""
    data = sample_data(_n_rows(estimator))
    params = estimator.get_params(deep=False)
    for horizon in (0, -1, 1.5, True, None, "3"):
        try:  # no validation in __init__ or set_params
            type(estimator)(**{**params, "horizon": horizon})
            est = clone(estimator).set_params(horizon=horizon)
        except Exception as err:
            raise AssertionError(
                f"the constructor or set_params rejected horizon={horizon!r} ({err}); "
                "parameters are validated in fit") from err
        with _raises(ValueError, match=rf"horizon.*{re.escape(repr(horizon))}",
                     what=f"fit with horizon={horizon!r}"):
            est.fit(data)


def check_predict_rejects_other_columns(estimator) -> None:
    """``predict(y)`` with a column renamed, or an extra column, raises
    ``DataValidationError`` naming the columns."""
    data = sample_data(_n_rows(estimator))
    est = clone(estimator).fit(data)
    with _raises(DataValidationError, match=r"columns?.*'b'|'b'.*columns?",
                 what="predict(y) with column 'b' renamed to 'z'"):
        est.predict(data.rename(columns={"b": "z"}))
    with _raises(DataValidationError, match=r"'z'.*not seen in fit|differ from those",
                 what="predict(y) with an extra column 'z'"):
        est.predict(data.assign(z=1.0))


def check_predict_validates_history(estimator) -> None:
    """``predict(y)`` validates the history like ``fit``: an empty or unsorted history
    raises ``DataValidationError`` saying so."""
    data = sample_data(_n_rows(estimator))
    est = clone(estimator).fit(data)
    with _raises(DataValidationError, match="empty", what="predict(y) with 0 rows"):
        est.predict(data.iloc[:0])
    with _raises(DataValidationError, match="not sorted", what="predict(y) unsorted"):
        est.predict(data.iloc[::-1])


def check_bad_covariates(estimator) -> None:
    """Covariates ``X`` with another index, a column name shared with ``y``, or with long
    data raise ``DataValidationError`` saying what is wrong."""
    n = _n_rows(estimator)
    data = sample_data(n)
    other = sample_data(n - 10, n_columns=1, seed=1).rename(columns={"a": "x"})
    with _raises(DataValidationError, match=r"X must have the same index as y",
                 what="fit(y, X) with X on another index"):
        clone(estimator).fit(data, X=other)
    with _raises(DataValidationError, match=r"share column name.*'a'",
                 what="fit(y, X) with a column 'a' in both"):
        clone(estimator).fit(data[["b"]].assign(a=data["a"]), X=data[["a"]])
    long = sample_long(n)
    with _raises(DataValidationError, match=r"covariates are supported for wide data",
                 what="fit(long, X=long)"):
        clone(estimator).fit(long, X=long)


def check_irregular_index_fits_but_predict_names_the_gap(estimator) -> None:
    """An irregular time index (last step 1 h 7 min in hourly data) fits, but ``predict()``
    raises ``DataValidationError`` naming the step that breaks the grid and how to
    resample; a regular history then forecasts as usual."""
    horizon = int(estimator.get_params()["horizon"])
    n = _n_rows(estimator)
    data = sample_data(n)
    irregular = data.set_axis(data.index[:-1].append(
        pd.DatetimeIndex([data.index[-1] + pd.Timedelta(minutes=7)])))
    est = clone(estimator).fit(irregular)  # fitting needs only the order of the rows
    expected = (rf"irregular.*row {n - 1} is {re.escape(repr(irregular.index[-1]))} where "
                rf"the 'h' grid .* continues with {re.escape(repr(data.index[-1]))} "
                rf"\(after row {n - 2}")
    with _raises(DataValidationError, match=expected,
                 what="predict() after fit on an irregular index") as raised:
        est.predict()
    assert "y.asfreq('h')" in str(raised.value), f"no resampling advice: {raised.value}"
    forecast = est.predict(data)
    assert forecast.index.equals(_future(data.index, horizon)), (
        f"predict(y) on a regular history after fit on an irregular one: {forecast.index}")


def check_no_stray_warnings(estimator) -> None:
    """A clean fit and predict on good data issue no warning from a dependency (the
    baselines report statsmodels' as one ``ModelWarning``; Lightning's notices aside)."""
    data = sample_data(_n_rows(estimator))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ModelWarning)
        warnings.filterwarnings("ignore", module="lightning")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        forecast = clone(estimator).fit(data).predict()
    stray = [f"{w.category.__name__} ({w.filename}:{w.lineno}): {w.message}" for w in caught]
    assert not stray, f"fit and predict on clean data issued warning(s): {stray}"
    assert np.isfinite(_values(forecast)).all(), "non-finite forecast on clean data"


def check_docstrings(estimator) -> None:
    """The class, every public method and property have docstrings, and the class
    docstring documents every constructor argument (``name:`` or ``name :``)."""
    cls = type(estimator)
    assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} has no docstring"
    missing = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or owner is object:
            continue
        member = vars(owner)[name]
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        elif isinstance(member, property):
            member = member.fget
        elif not callable(member):
            continue
        if not (member.__doc__ or "").strip():
            missing.append(f"{owner.__name__}.{name}")
    assert not missing, f"public method(s) without a docstring: {missing}"
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    undocumented = [n for n in names
                    if not re.search(rf"^\s*{re.escape(n)}\s*:", cls.__doc__, re.MULTILINE)]
    assert not undocumented, (
        f"{cls.__name__}'s docstring does not document argument(s) {undocumented}")


def check_pickle_round_trip(estimator) -> None:
    """A fitted estimator survives ``pickle``: the same parameters and exactly the same
    forecasts, with and without a new history."""
    data = sample_data(_n_rows(estimator))
    est = clone(estimator).fit(data)
    try:
        loaded = pickle.loads(pickle.dumps(est))
    except Exception as err:
        raise AssertionError(
            f"a fitted estimator does not pickle: {type(err).__name__}: {err}") from err
    assert type(loaded) is type(est), f"unpickled a {type(loaded).__name__}"
    assert joblib.hash(loaded.get_params()) == joblib.hash(est.get_params()), (
        "unpickled parameters differ")
    _assert_same(loaded.predict(), est.predict(), "predict() after pickling")
    history = data.iloc[:-9]
    _assert_same(loaded.predict(history), est.predict(history), "predict(y) after pickling")


def check_save_load_round_trip(estimator) -> None:
    """``save(path)`` writes only ``path``; ``load(path)`` gives the same parameters and
    exactly the same forecasts, with and without a new history."""
    cls = type(estimator)
    data = sample_data(_n_rows(estimator))
    est = clone(estimator).fit(data)
    with tempfile.TemporaryDirectory(prefix="spikecast-check-") as folder:
        path = Path(folder) / "model.bin"
        est.save(path)
        assert [p.name for p in Path(folder).iterdir()] == ["model.bin"], (
            f"save left {sorted(p.name for p in Path(folder).iterdir())} (only model.bin "
            "expected: no temporary files)")
        loaded = cls.load(path)
    assert type(loaded) is cls, f"load returned a {type(loaded).__name__}"
    assert loaded.get_params() == est.get_params(), (
        f"loaded parameters differ: {loaded.get_params()} vs {est.get_params()}")
    _assert_same(loaded.predict(), est.predict(), "predict() after save / load")
    history = data.iloc[:-9]
    _assert_same(loaded.predict(history), est.predict(history), "predict(y) after save/load")


# --------------------------------------------------------------------------- the suite
def check_predict_shorter_horizon(estimator) -> None:
    """``predict(horizon=h)`` gives the first ``h`` steps of the full forecast for every
    ``h`` up to the fitted horizon, and an ``InvalidParameterError`` naming both beyond it."""
    horizon = int(estimator.get_params()["horizon"])
    data = sample_data(_n_rows(estimator))
    fitted = clone(estimator).fit(data)
    full = fitted.predict()
    for h in sorted({1, max(1, horizon // 2), horizon}):
        part = fitted.predict(horizon=h)
        assert part.index.equals(full.index[:h]), f"predict(horizon={h}): index {part.index}"
        np.testing.assert_allclose(part.to_numpy(), full.to_numpy()[:h], **_CLOSE,
                                   err_msg=f"predict(horizon={h}) is not the full forecast's "
                                   "first steps")
    try:
        fitted.predict(horizon=horizon + 1)
    except InvalidParameterError as err:
        assert f"horizon={horizon + 1}" in str(err) and str(horizon) in str(err), str(err)
    else:
        raise AssertionError(f"predict(horizon={horizon + 1}) beyond the fitted horizon "
                             "did not raise")


_CHECKS: tuple[Callable, ...] = (
    check_init_stores_params,
    check_get_params_round_trip,
    check_clone,
    check_predict_before_fit_raises_not_fitted,
    check_fit_returns_self,
    check_fit_sets_only_learned_attributes,
    check_fit_does_not_change_params,
    check_fit_does_not_modify_input,
    check_predict_wide_dataframe,
    check_predict_series,
    check_predict_ndarray,
    check_predict_long,
    check_predict_new_history,
    check_predict_is_repeatable,
    check_fit_is_deterministic,
    check_missing_raise_names_column_and_row,
    check_too_short_series_says_rows_needed,
    check_bad_horizon,
    check_predict_rejects_other_columns,
    check_predict_validates_history,
    check_bad_covariates,
    check_irregular_index_fits_but_predict_names_the_gap,
    check_no_stray_warnings,
    check_docstrings,
    check_pickle_round_trip,
    check_predict_shorter_horizon,
)


def forecaster_checks(estimator) -> Iterator[Callable]:
    """The checks that apply to ``estimator``, in order: each is a function
    ``check(estimator)`` (named ``check_...``) that clones the unfitted estimator, fits the
    clone on small deterministic data and raises ``AssertionError`` if the contract is
    broken.

    ``check_random_state_is_used`` applies to estimators with a ``random_state`` parameter,
    ``check_save_load_round_trip`` to those with ``save`` and ``load`` methods.
    """
    yield from _CHECKS
    if "random_state" in estimator.get_params(deep=False):
        yield check_random_state_is_used
    if callable(getattr(type(estimator), "save", None)) and callable(
            getattr(type(estimator), "load", None)):
        yield check_save_load_round_trip


def check_forecaster(estimator) -> None:
    """Run every check of :func:`forecaster_checks` on ``estimator`` (unfitted; give it
    small, fast parameters: the suite fits it a few dozen times on ~120 rows, and forecasts
    all columns, so leave ``target`` at its default).

    Raises:
        AssertionError: naming the first failing check and the estimator, with the reason.
    """
    for check in forecaster_checks(estimator):
        try:
            check(estimator)
        except Exception as err:
            raise AssertionError(
                f"{check.__name__} failed for {estimator!r}: {type(err).__name__}: {err}"
            ) from err

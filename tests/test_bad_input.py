"""A catalogue of bad inputs: each gets a clear exception of a documented type
(:class:`~spikecast.exceptions.DataValidationError`, a ``ValueError``;
:class:`~spikecast.exceptions.NotFittedError`; ``ValueError`` / ``TypeError`` for bad
parameters) whose message says what is wrong and how to fix it, never a traceback from deep
inside torch, statsmodels, pandas or numpy.

Covered: every forecaster in ``FORECASTERS`` (NeuralForecaster and every baseline),
:func:`~spikecast.backtest.backtest` / :func:`~spikecast.backtest.compare` /
:func:`~spikecast.backtest.evaluate`, and :func:`~spikecast.data.load_dataset`. What every
registered forecaster must do with bad input (predict before fit, NaN, too short a series,
other columns or a bad history at predict time, bad covariates, an irregular index, no
stray warnings) is checked by the contract suite, tests/test_forecaster_contract.py.

Irregular frequency (a ``DatetimeIndex`` whose steps differ, so no ``freq`` can be inferred):
fitting and backtesting work (they only need the order of the rows), but ``predict`` cannot
make the time stamps of the forecast, so it raises a ``DataValidationError`` naming the first
step that breaks the grid and how to resample. An index whose steps are all equal always has
a frequency, even where pandas cannot name it (two rows, odd steps).
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_cards import register

import spikecast
from spikecast import NeuralForecaster
from spikecast.backtest import backtest, compare, evaluate
from spikecast.baselines import (
    ARIMAForecaster,
    DriftForecaster,
    ETSForecaster,
    LinearForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    VARForecaster,
)
from spikecast.data import load_dataset
from spikecast.data.datasets import DatasetNotFoundError, dataset_card
from spikecast.exceptions import DataValidationError, InvalidParameterError

FAST = dict(lookback=8, horizon=3, hidden_size=4, max_epochs=1, verbose=False)
PACKAGE = str(Path(spikecast.__file__).resolve().parent)


def neural():
    return NeuralForecaster(encoder="gru", **FAST)


FORECASTERS = {
    "neural": neural,
    "naive": lambda: NaiveForecaster(horizon=3),
    "seasonal_naive": lambda: SeasonalNaiveForecaster(horizon=3, season_length=4),
    "drift": lambda: DriftForecaster(horizon=3),
    "arima": lambda: ARIMAForecaster(horizon=3, order=(1, 0, 0)),
    "ets": lambda: ETSForecaster(horizon=3, trend="add"),
    "var": lambda: VARForecaster(horizon=3, maxlags=2),
    "linear": lambda: LinearForecaster(horizon=3, lookback=8),
}
forecasters = pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())


def _frame(n=60):
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"a": np.sin(np.arange(n) / 3.0) + 2.0,
                         "b": np.cos(np.arange(n) / 5.0) + 2.0}, index=index)


def _with(frame, row, col, value):
    frame = frame.astype(object) if isinstance(value, str) else frame.copy()
    frame.iloc[row, frame.columns.get_loc(col)] = value
    return frame


def _irregular(n=60):
    """An hourly frame whose last step is 1 h 7 min: no frequency can be inferred."""
    frame = _frame(n)
    frame.index = frame.index[:-1].append(
        pd.DatetimeIndex([frame.index[-1] + pd.Timedelta(minutes=7)]))
    return frame


def _long(n=40, ids=("s1", "s2")):
    parts = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=n,
                                                                  freq="D"),
                           "y": np.sin(np.arange(n) / (3.0 + k)) + 2.0})
             for k, uid in enumerate(ids)]
    return pd.concat(parts, ignore_index=True)


def _assert_raised_here(excinfo) -> None:
    """The innermost frame of the traceback lies in spikecast, not in a dependency."""
    last = traceback.extract_tb(excinfo.tb)[-1].filename
    assert str(Path(last).resolve()).startswith(PACKAGE), (
        f"raised from {last}, not from spikecast: {excinfo.value}")


BAD_Y = {
    "nan": (lambda: _with(_frame(), 7, "b", np.nan), r"NaN.*'b'.*row 7.*missing="),
    "inf": (lambda: _with(_frame(), 4, "a", np.inf), r"infinite.*'a'.*row 4"),
    "-inf": (lambda: _with(_frame(), 9, "b", -np.inf), r"infinite.*'b'.*row 9"),
    "empty": (lambda: _frame().iloc[:0], r"empty"),
    "no columns": (lambda: _frame()[[]], r"no columns"),
    "object column": (lambda: _frame().assign(c=["x"] * 60), r"'c'.*non-numeric.*to_numeric"),
    "numbers as strings": (lambda: _frame().astype({"a": str}), r"'a'.*non-numeric"),
    "string dtype": (lambda: _frame().astype({"a": "string"}), r"'a'.*non-numeric"),
    "bool column": (lambda: _frame().assign(c=True), r"'c'.*non-numeric"),
    "complex column": (lambda: _frame().assign(c=np.ones(60) + 1j), r"'c'.*non-numeric"),
    "datetime column": (lambda: _frame().assign(c=pd.Timestamp("2024-01-01")),
                        r"'c'.*non-numeric"),
    "nullable NA": (lambda: _frame().astype({"a": "Float64"}).pipe(
        lambda f: _with(f, 5, "a", pd.NA)), r"NaN.*'a'.*row 5"),
    "duplicate index": (lambda: pd.concat([_frame(30), _frame(30)]), r"duplicate.*row 30"),
    "unsorted index": (lambda: _frame().iloc[::-1], r"not sorted.*row 1.*sort_index"),
    "NaT in index": (lambda: _frame().set_axis(_frame().index.insert(3, pd.NaT)[:60]),
                     r"NaT.*row 3"),
    "mixed time zones": (
        lambda: pd.DataFrame(
            {"a": np.arange(60.0)},
            index=pd.Index([pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=i)
                            if i % 2 else pd.Timestamp("2024-01-01") + pd.Timedelta(hours=i)
                            for i in range(60)], dtype=object)),
        r"time zones.*utc=True",
    ),
    "string index": (lambda: _frame().set_axis([f"r{i}" for i in range(60)]),
                     r"DatetimeIndex or an integer index.*set_index"),
    "float index": (lambda: _frame().set_axis(np.arange(60) * 0.5),
                    r"DatetimeIndex or an integer index.*float64"),
    "duplicate column names": (lambda: _frame().set_axis(["a", "a"], axis=1),
                               r"duplicate column names"),
    "3-d array": (lambda: np.zeros((5, 4, 3)), r"2-D"),
    "object array": (lambda: np.array([[1.0], [None]] * 30, dtype=object),
                     r"dtype object is not a real number"),
    "wrong type": (lambda: "not data", r"unsupported type"),
    "None": (lambda: None, r"is None"),
    "long with extra column": (
        lambda: pd.DataFrame({"unique_id": "s", "ds": range(60), "y": 1.0, "extra": 2.0}),
        r"unexpected column.*'extra'",
    ),
    "long with missing id": (lambda: _long().assign(
        unique_id=lambda d: d["unique_id"].where(d.index != 5, None)),
        r"unique_id is missing.*row 5"),
    "long with string ds": (lambda: _long().astype({"ds": str}),
                            r"series 's1'.*ds column.*pd.to_datetime"),
    "long unsorted": (lambda: _long().iloc[::-1], r"series 's\d'.*not sorted.*sort_values"),
    "long duplicate ds": (lambda: pd.concat([_long(), _long().iloc[:1]]),
                          r"series 's1'.*duplicate.*groupby"),
    "long NaN in y": (lambda: _long().assign(y=lambda d: d["y"].where(d.index != 45)),
                      r"series 's2'.*NaN.*'y'.*row 5"),
    "long object y": (lambda: _long().astype({"y": str}), r"series 's1'.*'y'.*non-numeric"),
    # the date left as a column (pd.read_csv without index_col): make it the index, not a number
    "date column": (lambda: _frame().reset_index(names="date"),
                    r"column 'date'.*time stamps.*df = df\.set_index\('date'\)"),
    "date column of strings": (
        lambda: _frame().reset_index(names="date").astype({"date": str}),
        r"column 'date'.*time stamps.*pd\.to_datetime\(df\['date'\]\).*set_index\('date'\)"),
    # a long frame under other column names: rename, naming the columns found
    "long under other names": (
        lambda: _long().rename(columns={"unique_id": "id", "ds": "time", "y": "value"}),
        r"\['id', 'time', 'value'\] look like a long frame.*unique_id, ds, y.*"
        r"rename\(columns=\{'id': 'unique_id', 'time': 'ds', 'value': 'y'\}\)"),
    "long with date strings under other names": (
        lambda: _long().astype({"ds": str}).set_axis(["series", "date", "target"], axis=1),
        r"\['series', 'date', 'target'\] look like a long frame.*"
        r"'series': 'unique_id', 'date': 'ds', 'target': 'y'"),
}


@forecasters
@pytest.mark.parametrize("case", BAD_Y.keys())
def test_bad_training_data(factory, case):
    make, message = BAD_Y[case]
    data = make()
    before = data.copy() if hasattr(data, "copy") else data
    with pytest.raises(DataValidationError, match=message) as excinfo:
        factory().fit(data)
    _assert_raised_here(excinfo)
    if isinstance(data, pd.DataFrame):  # the user's data is left untouched
        pd.testing.assert_frame_equal(data, before)


def test_too_short_neural_without_validation_needs_lookback_plus_horizon():
    with pytest.raises(DataValidationError,
                       match=r"has 10 rows but at least 11.*lookback \+ horizon = 8 \+ 3"):
        neural().set_params(val_size=0).fit(_frame(10))
    neural().set_params(val_size=0).fit(_frame(11))


def test_one_row_is_enough_for_the_naive_forecast_only():
    forecast = NaiveForecaster(horizon=2).fit(_frame(1)).predict()
    np.testing.assert_array_equal(forecast.to_numpy(), _frame(1).to_numpy().repeat(2, axis=0))
    for name, factory in FORECASTERS.items():
        if name != "naive":
            with pytest.raises(DataValidationError, match="at least"):
                factory().fit(_frame(1))


def test_too_short_long_series_is_named():
    data = pd.concat([_long(40, ids=("ok",)), _long(6, ids=("tiny",))], ignore_index=True)
    with pytest.raises(DataValidationError,
                       match=r"series 'tiny' has 6 rows but at least 11 .*lookback \+ horizon"):
        LinearForecaster(horizon=3, lookback=8).fit(data)
    with pytest.raises(DataValidationError, match=r"series 'tiny' has 6 rows"):
        neural().fit(data)


# ------------------------------------------------------------------------------ parameters
@forecasters
@pytest.mark.parametrize("horizon", [0, -2, 1.5, None, True, "3"])
def test_bad_horizon(factory, horizon):
    with pytest.raises(InvalidParameterError, match=rf"horizon must be a positive integer.*"
                                                  rf"{re.escape(repr(horizon))}"):
        factory().set_params(horizon=horizon).fit(_frame())


@pytest.mark.parametrize("factory", [neural, FORECASTERS["linear"]], ids=["neural", "linear"])
@pytest.mark.parametrize("lookback", [0, -1, 2.0, None])
def test_bad_lookback(factory, lookback):
    with pytest.raises(InvalidParameterError, match="lookback must be"):
        factory().set_params(lookback=lookback).fit(_frame())


@pytest.mark.parametrize("model, match", [
    (SeasonalNaiveForecaster(horizon=3, season_length=0), r"season_length must be an integer"),
    (SeasonalNaiveForecaster(horizon=3, season_length=2.5), r"season_length must be"),
    (ARIMAForecaster(horizon=3, order=(1, 0)), r"order must be a tuple of 3"),
    (ARIMAForecaster(horizon=3, order=(-1, 0, 0)), r"order must be a tuple of 3 non-negative"),
    (ARIMAForecaster(horizon=3, seasonal_order=(1, 0, 0, 1)), r"period s must be >= 2"),
    (ETSForecaster(horizon=3, trend="quadratic"), r"trend must be None, 'add' or 'mul'"),
    (ETSForecaster(horizon=3, season_length=1), r"season_length must be"),
    (ETSForecaster(horizon=3, damped_trend=True), r"damped_trend=True needs a trend"),
    (ETSForecaster(horizon=3, fallback="naive"), r"fallback must be a spikecast forecaster"),
    (VARForecaster(horizon=3, ic="best"), r"ic must be 'aic', 'bic', 'hqic', 'fpe' or None"),
    (VARForecaster(horizon=3, maxlags=-1), r"maxlags must be an integer >= 0"),
    (LinearForecaster(horizon=3, lookback=8, alpha=-1.0), r"alpha must be a finite number"),
    (LinearForecaster(horizon=3, lookback=8, alpha=np.nan), r"alpha must be a finite number"),
    (NaiveForecaster(horizon=3, missing="drop"), r"missing='drop' is not one of"),
])
def test_bad_baseline_parameters(model, match):
    data = _with(_frame(), 3, "a", np.nan) if model.missing != "raise" else _frame()
    with pytest.raises(InvalidParameterError, match=match) as excinfo:
        model.fit(data)
    _assert_raised_here(excinfo)


def test_var_on_one_column_says_what_to_use_instead():
    with pytest.raises(DataValidationError, match=r"at least 2 target columns.*ARIMAForecaster"):
        VARForecaster(horizon=3).fit(_frame()[["a"]])


def test_unknown_encoder_lists_valid_names():
    with pytest.raises(InvalidParameterError, match=r"unknown encoder 'snn'.*stack.*gru"):
        neural().set_params(encoder="snn").fit(_frame())


@pytest.mark.parametrize("params, match", [
    pytest.param(dict(encoder="stack", neuron="izhikevich"),
                 r"unknown neuron 'izhikevich'.*da_lif.*ts_lif.*relu", id="unknown neuron"),
    pytest.param(dict(encoder="gru", neuron="lif"),
                 r"'gru' is an analog recurrent network and takes no neuron", id="gru+neuron"),
    pytest.param(dict(encoder="ts_lif"), r"encoder='stack', neuron='ts_lif'",
                 id="old spelling"),
    pytest.param(dict(encoder="stack", neuron="liaf", neuron_params={"tau": 2.0}),
                 r"unknown neuron_params \['tau'\] for neuron 'liaf'", id="params of liaf"),
    pytest.param(dict(encoder="stack", neuron="relu", neuron_params={"tau": 2.0}),
                 r"neuron_params apply to spiking neurons", id="params of analog twin"),
    pytest.param(dict(encoder="ispikformer", neuron="lif", channel_independent=False),
                 r"needs channel_independent=True", id="inverted, mixed channels"),
    pytest.param(dict(encoder="ispikformer", neuron="lif", hidden_size=10),
                 r"10.*8", id="heads do not divide width"),
    pytest.param(dict(encoder="spike_tcn", neuron="lif", encoder_params={"kernel": 3}),
                 r"takes no \['kernel'\].*kernel_size", id="unknown architecture argument"),
    pytest.param(dict(encoder="stack", readout="flatten", readout_size=0),
                 r"readout_size must be a positive integer", id="readout_size=0"),
    pytest.param(dict(encoder=int), r"subclass of spikecast.models.architectures.Encoder",
                 id="a class that is no Encoder"),
])
def test_bad_architecture_or_neuron_says_why(params, match):
    with pytest.raises(InvalidParameterError, match=match) as excinfo:
        NeuralForecaster(**{**FAST, **params}).fit(_frame())
    _assert_raised_here(excinfo)


def test_unknown_neuron_lists_valid_names():
    from spikecast.neurons import build

    with pytest.raises(ValueError, match=r"unknown neuron 'izhikevich'.*lif.*ts_lif"):
        build("izhikevich")


@pytest.mark.parametrize("params, match", [
    (dict(encoder="stack", neuron="lif", encoding="morse"), r"encoding.*direct"),
    (dict(encoder="stack", neuron="lif", neuron_params={"surrogate": "nope"}),
     r"surrogate 'nope'.*atan"),
    (dict(encoder="stack", neuron="lif", readout="max"), r"readout 'max'.*last"),
    (dict(encoder="gru", loss="l3"), r"loss 'l3'.*mse"),
    (dict(encoder="gru", optimizer="adamx"), r"optimizer 'adamx'.*adam"),
    (dict(encoder="gru", scheduler="cyclic"), r"scheduler 'cyclic'.*cosine"),
    (dict(encoder="gru", loss="quantile"), r"quantiles=\[\.\.\.\]"),
    (dict(encoder="gru", loss="quantile", quantiles=[0.5, 1.2]), r"quantiles must lie in"),
    (dict(encoder="gru", batch_size=0), r"batch_size must be a positive integer"),
    (dict(encoder="gru", stride=0), r"stride must be a positive integer"),
    (dict(encoder="gru", stride=-2), r"stride must be a positive integer"),
    (dict(encoder="gru", val_size=1.5), r"val_size=1.5 must be a fraction"),
    (dict(encoder="gru", val_size=-1), r"val_size=-1 must not be negative"),
    (dict(encoder="gru", val_size=0.9), r"60 rows.*at least \d+ .*val_size=0.9"),
    (dict(encoder="stack", neuron="lif", spike_steps=0), r"spike_steps"),
])
def test_bad_neural_parameters_list_valid_values(params, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        NeuralForecaster(**{**FAST, **params}).fit(_frame())
    _assert_raised_here(excinfo)


@pytest.mark.parametrize("params, match", [
    pytest.param(dict(hidden_size=0), r"hidden_size", id="hidden_size=0"),
    pytest.param(dict(num_layers=0), r"num_layers", id="num_layers=0"),
    pytest.param(dict(lr=-1.0), r"lr", id="lr<0"),
    pytest.param(dict(dropout=2.0), r"dropout", id="dropout=2"),
    pytest.param(dict(max_epochs=0), r"max_epochs", id="max_epochs=0"),
    pytest.param(dict(encoder="stack", neuron="lif", neuron_params={"bogus": 1}),
                 r"bogus.*valid", id="unknown neuron parameter"),
    pytest.param(dict(encoder="stack", neuron="lif", neuron_params=[1]),
                 r"neuron_params must be a dict", id="neuron_params not a dict"),
])
def test_bad_neural_parameters_checked_up_front(params, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        NeuralForecaster(**{**FAST, "encoder": "gru", **params}).fit(_frame())
    _assert_raised_here(excinfo)


# ------------------------------------------------------------------------------ predict
def test_irregular_long_series_is_named():
    data = _long()
    data.loc[data.index[-1], "ds"] += pd.Timedelta(hours=5)
    model = NaiveForecaster(horizon=2).fit(data)
    with pytest.raises(DataValidationError,
                       match=r"series 's2'.*irregular.*row 39 is .*'D' grid.*after row 38"):
        model.predict()


def test_irregular_calendar_frequency_names_the_gap_not_a_short_month():
    index = pd.date_range("2020-01-01", periods=24, freq="MS").delete(10)  # no November
    frame = pd.DataFrame({"a": np.arange(23.0)}, index=pd.DatetimeIndex(list(index)))
    with pytest.raises(DataValidationError,
                       match=r"row 10 is Timestamp\('2020-12-01.*'MS' grid.*"
                             r"Timestamp\('2020-11-01.*y\.asfreq\('MS'\)"):
        NaiveForecaster(horizon=2).fit(frame).predict()


def test_irregular_integer_index_names_the_step():
    frame = pd.DataFrame({"a": np.arange(10.0)}, index=[0, 1, 2, 3, 4, 5, 6, 7, 8, 10])
    with pytest.raises(DataValidationError,
                       match=r"step from row 8 \(8\) to row 9 \(10\) is 2 while most steps "
                             r"are 1"):
        NaiveForecaster(horizon=2).fit(frame).predict()


def test_single_row_without_freq_says_to_set_one():
    frame = pd.DataFrame({"a": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"]))
    with pytest.raises(DataValidationError, match=r"single time stamp.*freq"):
        NaiveForecaster(horizon=2).fit(frame).predict()


def test_constant_steps_give_a_frequency_pandas_cannot_name():
    two = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-01-01", "2024-01-03"]))
    forecast = DriftForecaster(horizon=2).fit(two).predict()
    assert list(forecast.index) == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-07")]
    odd = pd.DataFrame({"a": np.arange(5.0)},
                       index=pd.DatetimeIndex([pd.Timestamp("2024-01-01") + i * pd.Timedelta(
                           "7min 30s") for i in range(5)]))
    odd.index.freq = None
    forecast = NaiveForecaster(horizon=1).fit(odd).predict()
    assert forecast.index[0] == odd.index[-1] + pd.Timedelta("7min 30s")


@pytest.mark.parametrize("name", ["neural", "seasonal_naive", "drift", "var", "linear"])
def test_too_short_history_at_predict_time(name):
    model = FORECASTERS[name]().fit(_frame())
    with pytest.raises(DataValidationError, match=r"has 1 rows.*(at least|last)") as excinfo:
        model.predict(_frame(1))
    _assert_raised_here(excinfo)


@pytest.mark.parametrize("name", ["arima", "ets"])
def test_unseen_series_at_predict_time(name):
    data = _long()
    model = FORECASTERS[name]().fit(data)
    other = data.assign(unique_id=data["unique_id"].map({"s1": "s1", "s2": "s9"}))
    with pytest.raises(DataValidationError, match=r"series 's9' was not seen in fit"):
        model.predict(other)


def test_unknown_target():
    with pytest.raises(DataValidationError, match=r"target.*'zz'.*available"):
        neural().set_params(target="zz").fit(_frame())


@pytest.mark.parametrize("policy", ["interpolate", "ffill"])
def test_missing_policies_fill_and_fit(policy):
    frame = _with(_frame(), 7, "b", np.nan)
    forecast = neural().set_params(missing=policy).fit(frame).predict()
    assert np.isfinite(forecast.to_numpy()).all()


def test_entirely_missing_column_cannot_be_filled():
    frame = _frame().assign(b=np.nan)
    with pytest.raises(DataValidationError, match=r"'b' is entirely missing"):
        NaiveForecaster(horizon=3, missing="interpolate").fit(frame)


def test_unknown_missing_policy():
    with pytest.raises(InvalidParameterError, match="missing="):
        neural().set_params(missing="drop").fit(_with(_frame(), 3, "a", np.nan))


# ------------------------------------------------------------------------------ backtest
def _naive():
    return NaiveForecaster(horizon=3)


@pytest.mark.parametrize("case", [c for c in BAD_Y if c not in ("None",)])
def test_backtest_bad_data(case):
    make, message = BAD_Y[case]
    with pytest.raises(DataValidationError, match=message) as excinfo:
        backtest(_naive(), make(), start=0.5, progress=False)
    _assert_raised_here(excinfo)


@pytest.mark.parametrize("start, match", [
    (100, r"start=100 is outside the 60 rows.*\[-60, 59\]"),
    (60, r"start=60 is outside the 60 rows"),
    (-61, r"start=-61 is outside the 60 rows"),
    (-1, r"no cutoff has a full horizon.*leaves 0 row.*horizon=3.*earlier start"),
    (58, r"no cutoff has a full horizon.*leaves 1 row"),
    (0.0, r"float start is a fraction.*strictly between 0 and 1"),
    (1.0, r"strictly between 0 and 1; got 1.0"),
    (-0.25, r"strictly between 0 and 1"),
    (float("nan"), r"strictly between 0 and 1; got nan"),
    ("2030-01-01", r"lies after the last observation.*earlier start"),
    ("1990-01-01", r"lies before the first observation"),
    ("yesterday-ish", r"is not a time stamp"),
])
def test_backtest_bad_start(start, match):
    with pytest.raises(DataValidationError, match=match):
        backtest(_naive(), _frame(), start=start, progress=False)


@pytest.mark.parametrize("start, match", [
    (None, r"start must be an int position, a float fraction or an index label"),
    (True, r"start must be an int position"),
])
def test_backtest_start_of_a_wrong_type(start, match):
    with pytest.raises(InvalidParameterError, match=match):
        backtest(_naive(), _frame(), start=start, progress=False)


def test_backtest_label_start_on_integer_index():
    data = _frame().reset_index(drop=True)
    with pytest.raises(DataValidationError, match=r"integer index pass an int position"):
        backtest(_naive(), data, start="2024-01-01", progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(stride=0), r"stride must be a positive integer, got 0"),
    (dict(stride=-3), r"stride must be a positive integer, got -3"),
    (dict(stride=1.5), r"stride must be a positive integer"),
    (dict(stride="2"), r"stride must be a positive integer, got '2'"),
    (dict(window="rolling"), r"window must be 'expanding' or 'sliding'"),
    (dict(window="sliding"), r"needs train_length, a positive integer"),
    (dict(window="sliding", train_length=0), r"needs train_length.*got 0"),
    (dict(window="sliding", train_length=-5), r"needs train_length.*got -5"),
    (dict(window="sliding", train_length=2.5), r"needs train_length.*got 2.5"),
    (dict(train_length=20), r"train_length applies to window='sliding' only"),
    (dict(refit=0), r"refit must be True, False or a positive integer"),
    (dict(refit=-1), r"refit must be"),
    (dict(refit="yes"), r"refit must be"),
    (dict(n_jobs="x"), r"n_jobs must be None, a positive number"),
    (dict(n_jobs=0), r"n_jobs must be"),
])
def test_backtest_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match) as excinfo:
        backtest(_naive(), _frame(), start=0.5, progress=False, **kwargs)
    _assert_raised_here(excinfo)


@pytest.mark.parametrize("kwargs, match", [
    (dict(window="sliding", train_length=1000), r"train_length=1000 is longer than the data"),
    (dict(X=pd.DataFrame({"x": np.ones(50)}, index=_frame(50).index)),
     r"X must have the same index as y.*reindex"),
])
def test_backtest_arguments_that_do_not_fit_the_data(kwargs, match):
    with pytest.raises(DataValidationError, match=match) as excinfo:
        backtest(_naive(), _frame(), start=0.5, progress=False, **kwargs)
    _assert_raised_here(excinfo)


def test_backtest_training_window_too_short_for_the_model():
    model = LinearForecaster(horizon=3, lookback=24)
    with pytest.raises(DataValidationError,
                       match=r"has 20 row\(s\) of training data but LinearForecaster needs at "
                             r"least 27; train_length=20 is too short"):
        backtest(model, _frame(), start=0.5, window="sliding", train_length=20, progress=False)
    with pytest.raises(DataValidationError, match=r"needs at least 27; choose a later start"):
        backtest(model, _frame(), start=10, progress=False)


def test_backtest_bad_forecaster_and_parameters():
    with pytest.raises(TypeError, match=r"must be a spikecast forecaster.*str"):
        backtest("naive", _frame(), start=0.5, progress=False)
    with pytest.raises(InvalidParameterError, match=r"horizon must be a positive integer"):
        backtest(NaiveForecaster(horizon=0), _frame(), start=0.5, progress=False)
    with pytest.raises(InvalidParameterError, match=r"season_length must be an integer"):
        backtest(SeasonalNaiveForecaster(horizon=3, season_length=-1), _frame(), start=0.5,
                 progress=False)


def test_backtest_of_irregular_data_works_with_actual_time_stamps():
    data = _irregular()
    result = backtest(_naive(), data, start=50, progress=False)
    last = result[result["cutoff"] == result["cutoff"].max()]
    assert last["ds"].iloc[-1] == data.index[-1]  # the 7-minute step is kept


def test_backtest_failure_names_the_cutoff():
    model = ETSForecaster(horizon=3, seasonal="mul", season_length=4)
    data = _frame() - 2.5  # negative values: multiplicative ETS cannot fit
    with pytest.raises(Exception, match=r"fitting failed on column 'a'.*fallback=") as excinfo:
        backtest(model, data, start=0.5, progress=False)
    assert any("cutoff" in note for note in getattr(excinfo.value, "__notes__", []))


@pytest.mark.parametrize("models, kwargs, error, match", [
    ({}, dict(start=0.5), DataValidationError, r"non-empty dict"),
    ([NaiveForecaster(horizon=3)], dict(start=0.5), DataValidationError, r"non-empty dict"),
    ({"a": object()}, dict(start=0.5), TypeError, r"forecasters\['a'\] is a object"),
    ({"a": NaiveForecaster(horizon=3), "b": NaiveForecaster(horizon=4)}, dict(start=0.5),
     DataValidationError, r"one horizon for all models.*'a': 3, 'b': 4"),
    ({"a": NaiveForecaster(horizon=3)}, dict(), TypeError, r"compare needs start="),
    ({"a": NaiveForecaster(horizon=3)}, dict(start=0.5, metrics=["accuracy"]), ValueError,
     r"unknown metric 'accuracy'; valid metrics: \['mae'"),
    ({"a": NaiveForecaster(horizon=3)}, dict(start=0.5, stride=0), InvalidParameterError,
     r"stride must be a positive integer"),
    ({"a": NaiveForecaster(horizon=3)}, dict(start=99), DataValidationError,
     r"start=99 is outside"),
])
def test_compare_bad_arguments(models, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare(models, _frame(), progress=False, **kwargs)


def test_evaluate_bad_arguments():
    rows = backtest(_naive(), _frame(), start=0.5, progress=False)
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['y_pred'\]"):
        evaluate(rows.drop(columns="y_pred"))
    with pytest.raises(DataValidationError, match=r"cannot group by \['region'\].*aliases"):
        evaluate(rows, by="region")
    with pytest.raises(DataValidationError, match=r"expects a backtest DataFrame"):
        evaluate(rows.to_numpy())
    with pytest.raises(ValueError, match=r"unknown metric 'f1'"):
        evaluate(rows, metrics=["f1"])


# ------------------------------------------------------------------------------ load_dataset
HEADER = "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT\n"


def _row(stamp: str, value: str = "1.0") -> str:
    return f"{stamp}," + ",".join([value] * 7) + "\n"


@pytest.mark.parametrize("text, match", [
    ("", r"cannot be read as CSV"),
    (HEADER, r"no data rows"),
    (HEADER + _row("2016-07-01 00:00:00") + _row("2016-07-01 01:00:00", ""),
     r"column 'HUFL', line 3 \(data row 1\): missing value"),
    (HEADER + _row("2016-07-01 00:00:00") + _row("2016-07-01 01:00:00", "inf"),
     r"column 'HUFL', line 3 \(data row 1\): infinite value"),
    (HEADER + _row("2016-07-01 00:00:00") + _row("2016-07-01 01:00:00", "n/a?"),
     r"column 'HUFL', line 3 \(data row 1\): non-numeric value 'n/a\?'"),
    (HEADER + _row("2016-07-01 00:00:00+00:00") + _row("2016-07-01 01:00:00+02:00"),
     r"column 'date', line 3 \(data row 1\).*another UTC offset.*one zone"),
    (HEADER + _row("2016-07-01 01:00:00") + _row("2016-07-01 00:00:00"),
     r"line 3 \(data row 1\).*duplicate or out of order"),
    (HEADER + _row("2016-07-01 00:00:00") + _row("2016-07-01 00:00:00"),
     r"line 3 .*duplicate or out of order"),
    (HEADER + _row("2016-07-01 00:00:00") + _row("2016-07-01 01:00:00")
     + _row("2016-07-01 05:00:00"), r"line 4 .*breaks the regular 'h' grid"),
    (HEADER.replace(",OT", "") + _row("2016-07-01 00:00:00")[:-5] + "\n",
     r"column\(s\) \['OT'\] are missing"),
    (HEADER + _row("yesterday"),
     r"column 'date', line 2 \(data row 0\): unparseable date 'yesterday'"),
])
def test_load_dataset_bad_file(tmp_path, monkeypatch, text, match):
    # ETTh2's card without its checksum: the file is read as it is, so its errors show
    register(monkeypatch, {**dataset_card("ETTh2"), "sha256": None})
    (tmp_path / "ETTh2.csv").write_text(text)
    with pytest.raises(DataValidationError, match=r"ETTh2\.csv: " + match) as excinfo:
        load_dataset("ETTh2", data_dir=tmp_path, download=False)
    _assert_raised_here(excinfo)


def test_load_dataset_bad_names(tmp_path):
    with pytest.raises(ValueError, match=r"unknown dataset 'ettx9'; valid names: .*'ETTh1'"):
        load_dataset("ettx9")
    with pytest.raises(TypeError, match=r"dataset name must be a string, got int"):
        load_dataset(3)
    with pytest.raises(DatasetNotFoundError,
                       match=r"needs the file ETTh2\.csv in .*Download it from https://"):
        load_dataset("ETTh2", data_dir=tmp_path, download=False)



def test_backtest_on_long_data_names_the_short_series():
    data = pd.concat([_long(40, ids=("long",)), _long(10, ids=("short",))],
                     ignore_index=True)
    model = LinearForecaster(horizon=3, lookback=8)
    with pytest.raises(DataValidationError,
                       match=r"series 'short' has 10 row\(s\) of training data but "
                             r"LinearForecaster needs at least 11"):
        backtest(model, data, start=20, progress=False)

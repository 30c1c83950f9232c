"""A catalogue of bad inputs: each gets a DataValidationError (a ValueError) whose message
says what is wrong and how to fix it, never a traceback from deep inside torch or pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast.exceptions import DataValidationError

FAST = dict(lookback=8, horizon=3, hidden_size=4, max_epochs=1, verbose=False)


def neural():
    return NeuralForecaster(encoder="gru", **FAST)


FORECASTERS = {"neural": neural}


def _frame(n=60):
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"a": np.sin(np.arange(n) / 3.0), "b": np.cos(np.arange(n) / 5.0)},
                        index=index)


def _with(frame, row, col, value):
    frame = frame.astype(object) if isinstance(value, str) else frame.copy()
    frame.iloc[row, frame.columns.get_loc(col)] = value
    return frame


BAD_Y = {
    "nan": (lambda: _with(_frame(), 7, "b", np.nan), r"NaN.*'b'.*row 7"),
    "inf": (lambda: _with(_frame(), 4, "a", np.inf), r"infinite.*'a'.*row 4"),
    "empty": (lambda: _frame().iloc[:0], r"empty"),
    "no columns": (lambda: _frame()[[]], r"no columns"),
    "one row": (lambda: _frame().iloc[:1], r"at least"),
    "too short": (lambda: _frame(10), r"has 10 rows but at least"),
    "object column": (lambda: _frame().assign(c=["x"] * 60), r"'c'.*non-numeric"),
    "string dtype": (lambda: _frame().astype({"a": "string"}), r"'a'.*non-numeric"),
    "bool column": (lambda: _frame().assign(c=True), r"'c'.*non-numeric"),
    "duplicate index": (lambda: pd.concat([_frame(30), _frame(30)]), r"duplicate"),
    "unsorted index": (lambda: _frame().iloc[::-1], r"not sorted"),
    "mixed time zones": (
        lambda: pd.DataFrame(
            {"a": np.arange(60.0)},
            index=pd.Index([pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=i)
                            if i % 2 else pd.Timestamp("2024-01-01") + pd.Timedelta(hours=i)
                            for i in range(60)], dtype=object)),
        r"time zones",
    ),
    "string index": (lambda: _frame().set_axis([f"r{i}" for i in range(60)]),
                     r"DatetimeIndex or an integer index"),
    "3-d array": (lambda: np.zeros((5, 4, 3)), r"2-D"),
    "wrong type": (lambda: "not data", r"unsupported type"),
    "long with extra column": (
        lambda: pd.DataFrame({"unique_id": "s", "ds": range(60), "y": 1.0, "extra": 2.0}),
        r"unexpected column",
    ),
}


@pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())
@pytest.mark.parametrize("case", BAD_Y.keys())
def test_bad_training_data(factory, case):
    make, message = BAD_Y[case]
    data = make()
    before = data.copy() if hasattr(data, "copy") else data
    with pytest.raises(DataValidationError, match=message):
        factory().fit(data)
    if isinstance(data, pd.DataFrame):  # the user's data is left untouched
        pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())
@pytest.mark.parametrize("horizon", [0, -2, 1.5, None])
def test_bad_horizon(factory, horizon):
    with pytest.raises(DataValidationError, match="horizon"):
        factory().set_params(horizon=horizon).fit(_frame())


@pytest.mark.parametrize("lookback", [0, -1, 2.0])
def test_bad_lookback(lookback):
    with pytest.raises(DataValidationError, match="lookback"):
        neural().set_params(lookback=lookback).fit(_frame())


@pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())
def test_irregular_frequency_is_named_at_predict(factory):
    frame = _frame()
    frame.index = frame.index[:-1].append(pd.DatetimeIndex([frame.index[-1]
                                                            + pd.Timedelta(minutes=7)]))
    with pytest.raises(DataValidationError, match="frequency"):
        factory().fit(frame).predict()


@pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())
def test_other_columns_at_predict_time(factory):
    model = factory().fit(_frame())
    with pytest.raises(DataValidationError, match="columns"):
        model.predict(_frame().rename(columns={"b": "z"}))


@pytest.mark.parametrize("factory", FORECASTERS.values(), ids=FORECASTERS.keys())
def test_unknown_target(factory):
    with pytest.raises(DataValidationError, match=r"target.*'zz'.*available"):
        factory().set_params(target="zz").fit(_frame())


def test_unknown_encoder_lists_valid_names():
    with pytest.raises(DataValidationError, match=r"unknown encoder 'snn'.*ts_lif"):
        neural().set_params(encoder="snn").fit(_frame())


def test_unknown_neuron_option_lists_valid_names():
    with pytest.raises(ValueError, match=r"encoding.*direct"):
        NeuralForecaster(encoder="lif", encoding="morse", **FAST).fit(_frame())


@pytest.mark.parametrize("policy", ["interpolate", "ffill"])
def test_missing_policies_fill_and_fit(policy):
    frame = _with(_frame(), 7, "b", np.nan)
    forecast = neural().set_params(missing=policy).fit(frame).predict()
    assert np.isfinite(forecast.to_numpy()).all()


def test_unknown_missing_policy():
    with pytest.raises(DataValidationError, match="missing="):
        neural().set_params(missing="drop").fit(_with(_frame(), 3, "a", np.nan))


@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_awkward_magnitudes_give_finite_forecasts(scale):
    frame = _frame(200) * scale + scale
    forecast = neural().fit(frame).predict()
    assert np.isfinite(forecast.to_numpy()).all()
    assert np.abs(forecast.to_numpy()).max() < 10 * np.abs(frame.to_numpy()).max()


def test_constant_and_flat_series_give_finite_forecasts():
    frame = _frame(200)
    frame["a"] = 5.0  # zero standard deviation
    frame.iloc[50:150, 1] = frame.iloc[50, 1]  # a long flat stretch
    forecast = neural().fit(frame).predict()
    assert np.isfinite(forecast.to_numpy()).all()
    np.testing.assert_allclose(forecast["a"], 5.0, atol=1e-2)  # eps in instance norm

"""Conversion to and from Darts ``TimeSeries`` (``spikecast.data.darts``).

The tests that need Darts skip without it (``pytest.importorskip``); the error raised when it
is missing, and that ``import spikecast`` never imports it, are tested either way.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast.baselines import SeasonalNaiveForecaster
from spikecast.checks.forecaster import FAST_PARAMS
from spikecast.data.darts import from_darts, quantile_component, to_darts
from spikecast.exceptions import DataValidationError, OptionalDependencyError


@pytest.fixture
def TimeSeries():
    """Darts' ``TimeSeries`` class (the test skips without Darts)."""
    return pytest.importorskip("darts").TimeSeries


@pytest.fixture
def wide() -> pd.DataFrame:
    """Two hourly variables, 72 rows, with a daily cycle."""
    t = np.arange(72)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"load MW": 10 + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=72),
                         "temp": 5 + np.cos(2 * np.pi * t / 24)},
                        index=pd.date_range("2024-01-01", periods=72, freq="h", name="time"))


@pytest.fixture
def long() -> pd.DataFrame:
    """Three daily series of different lengths and starts, integer ids."""
    parts = [pd.DataFrame({"unique_id": uid,
                           "ds": pd.date_range(start, periods=n, freq="D"),
                           "y": np.arange(n, dtype=float) * (uid + 1)})
             for uid, start, n in [(7, "2024-01-01", 30), (3, "2024-01-10", 25),
                                   (5, "2023-12-01", 40)]]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- without Darts
def test_without_darts_both_functions_say_how_to_install_it(monkeypatch, wide):
    monkeypatch.setitem(sys.modules, "darts", None)  # `import darts` raises ImportError
    for call in (lambda: to_darts(wide), lambda: from_darts([])):
        with pytest.raises(OptionalDependencyError, match="pip install darts") as info:
            call()
        assert isinstance(info.value, ImportError)
        assert info.value.package == "darts" and info.value.name == "darts"
        assert isinstance(info.value.__cause__, ImportError)


def test_importing_spikecast_does_not_import_darts():
    code = ("import sys, spikecast, spikecast.data.darts as d;"
            "assert spikecast.to_darts is d.to_darts and spikecast.from_darts is d.from_darts;"
            "print('darts' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_quantile_component_is_the_darts_name():
    assert quantile_component("y", 0.1) == "y_q0.100"
    assert quantile_component("load MW", 0.975) == "load MW_q0.975"


# --------------------------------------------------------------------------- round trips
def test_wide_round_trip_keeps_values_names_and_freq(TimeSeries, wide):
    ts = to_darts(wide)
    assert isinstance(ts, TimeSeries)
    assert ts.components.tolist() == ["load MW", "temp"]
    assert ts.freq == pd.tseries.frequencies.to_offset("h") and ts.n_samples == 1
    np.testing.assert_array_equal(ts.values(), wide.to_numpy())
    back = from_darts(ts)
    pd.testing.assert_frame_equal(back, wide, check_freq=True)
    assert back.index.freq == "h"


@pytest.mark.parametrize("freq", ["MS", "W-SUN", "B", "15min", "7D"])
def test_frequency_is_kept(TimeSeries, freq):
    index = pd.date_range("2024-01-01", periods=12, freq=freq)
    y = pd.DataFrame({"y": np.arange(12.0)}, index=index)
    ts = to_darts(y)
    assert ts.freq == pd.tseries.frequencies.to_offset(freq)
    assert from_darts(ts).index.freq == pd.tseries.frequencies.to_offset(freq)
    # without a freq (a frame read from a file) the inferred one, on the same time stamps
    y.index.freq = None
    ts = to_darts(y)
    assert ts.freq is not None and ts.time_index.equals(index)


def test_series_becomes_a_component_named_like_it(TimeSeries):
    y = pd.Series(np.arange(10.0), index=pd.date_range("2024", periods=10, freq="D"),
                  name="sales")
    ts = to_darts(y)
    assert ts.components.tolist() == ["sales"]
    pd.testing.assert_frame_equal(from_darts(ts), y.to_frame(), check_freq=True)


@pytest.mark.parametrize("index", [pd.RangeIndex(5, 45, 2), pd.Index(np.arange(0, 60, 3))])
def test_integer_index_round_trip(TimeSeries, index):
    y = pd.DataFrame({"a": np.arange(len(index), dtype=float)}, index=index)
    ts = to_darts(y)
    assert ts.has_range_index and ts.freq == index[1] - index[0]
    back = from_darts(ts)
    assert isinstance(back.index, pd.RangeIndex)
    pd.testing.assert_index_equal(back.index, pd.RangeIndex(index[0], index[-1] + 1,
                                                            index[1] - index[0]))
    np.testing.assert_array_equal(back["a"].to_numpy(), y["a"].to_numpy())
    # the integer index from Darts goes straight back into a forecaster
    forecast = SeasonalNaiveForecaster(horizon=3, season_length=4).fit(back).predict()
    assert forecast.index[0] == index[-1] + (index[1] - index[0])


@pytest.mark.filterwarnings("ignore:A future version of pandas will return a BaseOffset")
def test_long_frame_gives_one_series_per_id_like_from_group_dataframe(TimeSeries, long):
    series = to_darts(long)
    assert isinstance(series, list) and len(series) == 3
    expected = TimeSeries.from_group_dataframe(long, group_cols="unique_id", time_col="ds",
                                               value_cols="y")
    by_id = {int(s.static_covariates["unique_id"].iloc[0]): s for s in expected}
    for ts, uid in zip(series, [7, 3, 5]):
        assert ts.freq == pd.tseries.frequencies.to_offset("D")
        assert ts.static_covariates["unique_id"].iloc[0] == uid
        np.testing.assert_array_equal(ts.values(), by_id[uid].values())
        pd.testing.assert_index_equal(ts.time_index, by_id[uid].time_index, exact=False,
                                      check_names=False)
    pd.testing.assert_frame_equal(from_darts(series), long)
    # Darts' own grouped series come back with their ids too
    assert set(from_darts(expected)["unique_id"]) == {7, 3, 5}


def test_long_integer_ds_and_dict_input(TimeSeries):
    long = pd.DataFrame({"unique_id": ["a"] * 6 + ["b"] * 6,
                         "ds": list(range(6)) + list(range(10, 22, 2)),
                         "y": np.arange(12.0)})
    series = to_darts(long)
    assert [s.freq for s in series] == [1, 2] and all(s.has_range_index for s in series)
    pd.testing.assert_frame_equal(from_darts(series), long)
    plain = [TimeSeries.from_values(np.arange(4.0)), TimeSeries.from_values(np.ones(3))]
    assert from_darts(plain)["unique_id"].tolist() == [0] * 4 + [1] * 3
    assert from_darts({"x": plain[0], "y": plain[1]})["unique_id"].tolist() == ["x"] * 4 + ["y"] * 3


def test_static_covariates_round_trip(TimeSeries, long, wide):
    static = pd.DataFrame({"unique_id": [5, 3, 7, 99], "size": [5.0, 3.0, 7.0, 0.0],
                           "region": ["n", "s", "e", "w"]})
    series = to_darts(long, static_covariates=static)
    assert series[0].static_covariates[["unique_id", "size", "region"]].iloc[0].tolist() == \
        [7, 7.0, "e"]
    frame, back = from_darts(series, return_static=True)
    pd.testing.assert_frame_equal(frame, long)
    expected = static.set_index("unique_id").loc[[7, 3, 5]].reset_index()
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    # one series: shared by every component, or one row per column (matched by name)
    ts = to_darts(wide, static_covariates=pd.Series({"site": 1.0}))
    assert ts.static_covariates["site"].tolist() == [1.0]
    per_column = pd.DataFrame({"unit": [2.0, 1.0]}, index=["temp", "load MW"])
    ts = to_darts(wide, static_covariates=per_column)
    assert ts.static_covariates["unit"].tolist() == [1.0, 2.0]
    _, static_back = from_darts(ts, return_static=True)
    assert static_back["unit"].tolist() == [1.0, 2.0]
    assert from_darts(to_darts(wide), return_static=True)[1] is None


# --------------------------------------------------------------------------- forecasts
def test_model_fed_from_darts_and_forecast_back(TimeSeries, wide):
    darts_metrics = pytest.importorskip("darts.metrics")
    ts = to_darts(wide)
    train, actual = ts[:-6], ts[-6:]
    model = SeasonalNaiveForecaster(horizon=6, season_length=24, quantiles=[0.9, 0.1, 0.5])
    model.fit(from_darts(train))
    point = to_darts(model.predict())
    assert point.components.tolist() == ts.components.tolist()
    assert point.start_time() == train.end_time() + train.freq and point.freq == ts.freq
    np.testing.assert_allclose(point.values(), wide.iloc[-30:-24].to_numpy())
    assert darts_metrics.mae(actual, point) < 0.5

    quantiles = to_darts(model.predict_quantiles())
    assert quantiles.components.tolist() == [
        "load MW_q0.100", "load MW_q0.500", "load MW_q0.900",
        "temp_q0.100", "temp_q0.500", "temp_q0.900"]
    q = model.predict_quantiles()
    np.testing.assert_allclose(quantiles["temp_q0.900"].values()[:, 0], q[0.9]["temp"])
    # Darts' quantile metrics read these components by their names
    assert np.isfinite(darts_metrics.mql(actual, quantiles, q=0.9))
    assert np.isfinite(darts_metrics.mql(actual, quantiles, q=[0.1, 0.5])).all()


def test_neural_model_on_a_list_of_darts_series(TimeSeries, long):
    series = to_darts(long)
    model = NeuralForecaster(**{**FAST_PARAMS["neural"], "lookback": 8, "horizon": 3})
    forecast = to_darts(model.fit(from_darts(series)).predict())
    assert [f.static_covariates["unique_id"].iloc[0] for f in forecast] == [7, 3, 5]
    for f, s in zip(forecast, series):
        assert len(f) == 3 and f.start_time() == s.end_time() + s.freq
        assert np.isfinite(f.values()).all()


def test_numpy_forecast_gets_a_range_index(TimeSeries):
    ts = to_darts(np.arange(12.0).reshape(6, 2))
    assert ts.has_range_index and ts.components.tolist() == ["0", "1"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, message", [
    (42, "expected a darts TimeSeries.*got int"),
    ("abc", "got str"),
    (pd.DataFrame({"y": [1.0]}), "got DataFrame; it is a pandas"),
    ([], "empty"),
])
def test_from_darts_rejects_what_is_not_a_time_series(TimeSeries, bad, message):
    with pytest.raises(DataValidationError, match=message):
        from_darts(bad)


def test_from_darts_names_the_bad_item(TimeSeries):
    good = TimeSeries.from_values(np.arange(4.0))
    with pytest.raises(DataValidationError, match=r"series\[1\].*got list"):
        from_darts([good, [1.0, 2.0]])
    with pytest.raises(DataValidationError, match=r"series\['b'\].*got int"):
        from_darts({"a": good, "b": 3})


def test_stochastic_series_is_refused(TimeSeries):
    ts = TimeSeries.from_values(np.random.default_rng(0).normal(size=(5, 1, 3)))
    with pytest.raises(DataValidationError, match=r"stochastic.*3 samples.*ts\.median\(\)"):
        from_darts(ts)
    with pytest.raises(DataValidationError, match=r"series\[0\] is a stochastic"):
        from_darts([ts])


def test_multivariate_series_in_a_list_is_refused(TimeSeries):
    ts = TimeSeries.from_values(np.zeros((5, 2)), columns=["a", "b"])
    with pytest.raises(DataValidationError, match=r"2 components \['a', 'b'\].*one variable"):
        from_darts([ts])


def test_repeated_ids_are_refused(TimeSeries):
    one = TimeSeries.from_values(np.arange(4.0), static_covariates=pd.Series({"unique_id": "a"}))
    with pytest.raises(DataValidationError, match=r"series\[0\] and series\[1\].*'a'"):
        from_darts([one, one])


def test_to_darts_refuses_what_darts_cannot_hold(TimeSeries, wide):
    irregular = wide.drop(wide.index[[5, 9]])
    with pytest.raises(DataValidationError, match="no regular frequency"):
        to_darts(irregular)
    with pytest.raises(DataValidationError, match="time zone"):
        to_darts(wide.tz_localize("Europe/Paris"))
    gappy = wide.copy()
    gappy.iloc[3, 1] = np.nan
    with pytest.raises(DataValidationError, match="missing value.*'temp' at row 3"):
        to_darts(gappy)
    assert np.isfinite(to_darts(gappy, missing="interpolate").values()).all()
    with pytest.raises(DataValidationError, match="unsupported type"):
        to_darts("y.csv")


def test_to_darts_checks_quantile_dicts_and_static_covariates(TimeSeries, wide, long):
    with pytest.raises(DataValidationError, match=r"levels in \(0, 1\).*\[1.5\]"):
        to_darts({1.5: wide})
    with pytest.raises(DataValidationError, match="empty"):
        to_darts({})
    with pytest.raises(DataValidationError, match=r"data\[0.9\] differs"):
        to_darts({0.1: wide, 0.9: wide.iloc[:-1]})
    with pytest.raises(DataValidationError, match="3 decimals"):
        to_darts({0.1: wide, 0.1001: wide})
    with pytest.raises(DataValidationError, match=r"no row for the series \[3\]"):
        to_darts(long, static_covariates=pd.DataFrame({"unique_id": [7, 5], "s": [1, 2]}))
    with pytest.raises(DataValidationError, match="unique_id column"):
        to_darts(long, static_covariates=pd.DataFrame({"s": [1, 2, 3]}))
    with pytest.raises(DataValidationError, match="more than one row"):
        to_darts(long, static_covariates=pd.DataFrame({"unique_id": [7, 7, 3, 5],
                                                       "s": [1, 2, 3, 4]}))
    with pytest.raises(DataValidationError, match="one row per column; got a DataFrame with 3"):
        to_darts(wide, static_covariates=pd.DataFrame({"s": [1.0, 2.0, 3.0]}))

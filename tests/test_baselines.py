"""Classical baselines: values against statsmodels / by hand, parameter checks, warnings
reported once, failures and fallbacks, clear length errors. (The estimator contract and the
input forms are checked for every model in tests/test_forecaster_contract.py.)"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from spikecast.baselines import (
    ARIMAForecaster,
    DriftForecaster,
    ETSForecaster,
    LinearForecaster,
    ModelError,
    ModelWarning,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    VARForecaster,
)
from spikecast.exceptions import DataValidationError, InvalidParameterError

H = 6


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """statsmodels makes many tiny BLAS calls; with two xdist workers on two cores, spinning
    OpenBLAS threads make them ~30x slower. One BLAS thread per worker avoids that."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def co2_monthly() -> pd.Series:
    """Monthly mean CO2 at Mauna Loa (a trend plus a yearly cycle), 240 months."""
    weekly = statsmodels.datasets.co2.load_pandas().data["co2"].interpolate()
    y = weekly.resample("MS").mean().iloc[-240:]
    y.name = "co2"
    return y


@pytest.fixture(scope="module")
def macro() -> pd.DataFrame:
    """Quarterly US macro growth rates (log differences), three columns."""
    data = statsmodels.datasets.macrodata.load_pandas().data
    index = pd.date_range("1959-01-01", periods=len(data), freq="QS")
    levels = pd.DataFrame(data[["realgdp", "realcons", "realinv"]].to_numpy(), index=index,
                          columns=["realgdp", "realcons", "realinv"])
    growth = np.log(levels).diff().iloc[1:]
    growth.index.freq = "QS"
    return growth


def to_long(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": c, "ds": frame.index, "y": frame[c].to_numpy()})
                      for c in frame.columns], ignore_index=True)


#: the baselines that fit one model per series and column
LOCAL = {
    "naive": lambda: NaiveForecaster(horizon=H),
    "seasonal_naive": lambda: SeasonalNaiveForecaster(horizon=H, season_length=4),
    "drift": lambda: DriftForecaster(horizon=H),
    "arima": lambda: ARIMAForecaster(horizon=H, order=(1, 0, 0)),
    "ets": lambda: ETSForecaster(horizon=H, trend="add", damped_trend=True),
}


# ------------------------------------------------------------------ values
def test_naive_family_by_hand(co2_monthly):
    y = co2_monthly
    v = y.to_numpy()
    f = NaiveForecaster(horizon=H).fit(y).predict()
    np.testing.assert_array_equal(f.to_numpy(), np.full(H, v[-1]))
    f = SeasonalNaiveForecaster(horizon=15, season_length=12).fit(y).predict()
    np.testing.assert_array_equal(f.to_numpy(), np.concatenate([v[-12:], v[-12:-9]]))
    f = DriftForecaster(horizon=H).fit(y).predict()
    slope = (v[-1] - v[0]) / (len(v) - 1)
    np.testing.assert_allclose(f.to_numpy(), v[-1] + slope * np.arange(1, H + 1))


def test_arima_matches_statsmodels_and_applies_without_refit(co2_monthly):
    from statsmodels.tsa.arima.model import ARIMA

    train, longer = co2_monthly.iloc[:200], co2_monthly.iloc[:230]
    spec = dict(order=(1, 1, 0), seasonal_order=(0, 1, 1, 12))
    model = ARIMAForecaster(horizon=H, **spec).fit(train)
    direct = ARIMA(train.to_numpy(), **spec).fit()
    np.testing.assert_allclose(model.predict().to_numpy(), direct.forecast(H), rtol=1e-10)
    # new history: fitted parameters applied (statsmodels .apply), not refitted
    params_before = model.models_[(0, 0)][1].params.copy()
    f = model.predict(longer)
    np.testing.assert_allclose(f.to_numpy(), direct.apply(longer.to_numpy()).forecast(H),
                               rtol=1e-10)
    np.testing.assert_array_equal(model.models_[(0, 0)][1].params, params_before)
    assert f.index[0] == longer.index[-1] + pd.offsets.MonthBegin()
    # and it is a sensible forecast: far better than the naive one on the next months
    actual = co2_monthly.iloc[230:230 + H].to_numpy()
    naive = NaiveForecaster(horizon=H).fit(longer).predict().to_numpy()
    assert np.abs(f.to_numpy() - actual).mean() < 0.5 * np.abs(naive - actual).mean()


def test_ets_matches_statsmodels_and_smooths_new_history(co2_monthly):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    train, longer = co2_monthly.iloc[:200], co2_monthly.iloc[:220]
    spec = dict(trend="add", seasonal="add", seasonal_periods=12)
    model = ETSForecaster(horizon=H, **spec).fit(train)
    direct = ETSModel(train.to_numpy(), error="add", **spec).fit(disp=False)
    np.testing.assert_allclose(model.predict().to_numpy(), direct.forecast(H), rtol=1e-8)
    expected = ETSModel(longer.to_numpy(), error="add", **spec).smooth(direct.params)
    np.testing.assert_allclose(model.predict(longer).to_numpy(), expected.forecast(H),
                               rtol=1e-8)


def test_var_matches_statsmodels(macro):
    from statsmodels.tsa.api import VAR

    model = VARForecaster(horizon=H, maxlags=4, ic="aic").fit(macro)
    direct = VAR(macro.to_numpy()).fit(maxlags=4, ic="aic", trend="c")
    assert model.k_ar_ == [direct.k_ar]
    f = model.predict()
    assert list(f.columns) == list(macro.columns)
    np.testing.assert_allclose(f.to_numpy(), direct.forecast(macro.to_numpy()[-direct.k_ar:], H))
    shorter = macro.iloc[:150]
    np.testing.assert_allclose(model.predict(shorter).to_numpy(),
                               direct.forecast(shorter.to_numpy()[-direct.k_ar:], H))
    with pytest.raises(DataValidationError, match="at least 2 target columns"):
        VARForecaster(horizon=H).fit(macro["realgdp"])
    with pytest.raises(DataValidationError, match="one variable per series"):
        VARForecaster(horizon=H).fit(to_long(macro))


def test_linear_is_a_ridge_on_stacked_windows(macro):
    L = 8
    model = LinearForecaster(horizon=H, lookback=L, alpha=0.5, instance_norm=False).fit(macro)
    v = macro.to_numpy()
    X, Y = [], []
    for c in range(v.shape[1]):
        for t in range(len(v) - L - H + 1):
            X.append(v[t:t + L, c])
            Y.append(v[t + L:t + L + H, c])
    ridge = Ridge(alpha=0.5).fit(np.array(X), np.array(Y))
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-8, atol=1e-12)
    assert model.n_windows_ == len(X)
    expected = (v[-L:].T @ ridge.coef_.T + ridge.intercept_).T
    np.testing.assert_allclose(model.predict().to_numpy(), expected, rtol=1e-8)


def test_linear_global_model_beats_naive_on_etth1(etth1_full):
    data = etth1_full.iloc[:2000][["HUFL", "MUFL", "OT"]]
    train, test = data.iloc[:1500], data.iloc[1500:]
    long_train = to_long(train)
    model = LinearForecaster(horizon=24, lookback=96).fit(long_train)  # one model, 3 series
    assert model.coef_.shape == (24, 96)
    assert model.n_windows_ == 3 * (1500 - 96 - 24 + 1)
    errs = {"linear": [], "naive": []}
    naive = NaiveForecaster(horizon=24).fit(long_train)
    for start in range(0, 480, 24):
        hist = to_long(data.iloc[:1500 + start])
        actual = test.iloc[start:start + 24]
        for name, m in (("linear", model), ("naive", naive)):
            f = m.predict(hist).pivot(index="ds", columns="unique_id", values="y")
            errs[name].append(np.abs(f[actual.columns].to_numpy() - actual.to_numpy()).mean())
    assert np.mean(errs["linear"]) < 0.9 * np.mean(errs["naive"])


# ------------------------------------------------------------------ contract
@pytest.mark.parametrize("name", sorted(LOCAL))
def test_local_models_give_the_same_numbers_wide_and_long(name, macro):
    """One model per column: the columns of a wide frame and the series of the same data in
    long form get the same forecasts. (Input and output forms, the sklearn conventions and
    predict on a new history are checked for every model in test_forecaster_contract.py.)"""
    wide = LOCAL[name]().fit(macro).predict()
    long = LOCAL[name]().fit(to_long(macro)).predict()
    np.testing.assert_allclose(
        long.pivot(index="ds", columns="unique_id", values="y")[macro.columns].to_numpy(),
        wide.to_numpy(), rtol=1e-6, atol=1e-9)


def test_constructor_stores_arguments_unchanged_and_validates_in_fit(macro):
    order = [2, 0, 0]  # a list stays a list
    est = ARIMAForecaster(horizon=H, order=order, fallback=NaiveForecaster(horizon=1))
    assert est.order is order
    bad = SeasonalNaiveForecaster(horizon=H, season_length=0)  # accepted until fit
    with pytest.raises(InvalidParameterError, match="season_length"):
        bad.fit(macro)
    for est, match in [
        (NaiveForecaster(horizon=0), "horizon"),
        (ARIMAForecaster(horizon=H, order=(1, 0)), "order"),
        (ARIMAForecaster(horizon=H, seasonal_order=(1, 0, 0, 1)), "period"),
        (ETSForecaster(horizon=H, seasonal="add"), "seasonal_periods"),
        (ETSForecaster(horizon=H, damped_trend=True), "damped_trend"),
        (ETSForecaster(horizon=H, trend="linear"), "trend"),
        (VARForecaster(horizon=H, ic="xyz"), "ic"),
        (LinearForecaster(horizon=H, lookback=0), "lookback"),
        (LinearForecaster(horizon=H, alpha=-1.0), "alpha"),
        (ARIMAForecaster(horizon=H, fallback="naive"), "fallback"),
    ]:
        with pytest.raises(InvalidParameterError, match=match):
            est.fit(macro)


@pytest.mark.parametrize("est, rows, needed", [
    (SeasonalNaiveForecaster(horizon=H, season_length=12), 8, 12),
    (DriftForecaster(horizon=H), 1, 2),
    (ARIMAForecaster(horizon=H, order=(1, 1, 1), seasonal_order=(1, 1, 0, 12)), 20, 27),
    (ETSForecaster(horizon=H, seasonal="add", seasonal_periods=12), 20, 24),
    (VARForecaster(horizon=H, maxlags=4), 10, 20),  # 4 (3 + 1) + 3 + 1
    (LinearForecaster(horizon=H, lookback=24), 25, 30),
])
def test_too_short_series_say_how_many_rows_are_needed(est, rows, needed, macro):
    with pytest.raises(DataValidationError, match=f"has {rows} rows but .*at least {needed}"):
        est.fit(macro.iloc[:rows])


def test_too_short_history_at_predict(macro):
    model = LinearForecaster(horizon=H, lookback=24).fit(macro)
    with pytest.raises(DataValidationError, match="at least 24"):
        model.predict(macro.iloc[:10])


def test_missing_policy(macro):
    gappy = macro.copy()
    gappy.iloc[50, 1] = np.nan
    with pytest.raises(DataValidationError, match="missing value"):
        ARIMAForecaster(horizon=H).fit(gappy)
    f = ARIMAForecaster(horizon=H, missing="interpolate").fit(gappy).predict()
    assert np.isfinite(f.to_numpy()).all()


def test_local_models_reject_unknown_series(macro):
    model = ARIMAForecaster(horizon=H).fit(to_long(macro[["realgdp", "realcons"]]))
    other = to_long(macro[["realinv"]])
    with pytest.raises(DataValidationError, match="'realinv' was not seen in fit"):
        model.predict(other)


# ------------------------------------------------------------------ warnings and failures
def test_statsmodels_warnings_reported_once_per_fit(etth1_full):
    y = etth1_full.iloc[:300][["HUFL", "OT", "LULL"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ARIMAForecaster(horizon=H, order=(3, 0, 3)).fit(y)
    # statsmodels' convergence warnings depend on its version and BLAS; what must hold is
    # that they are recorded per column and summarised once.
    locations = {r["location"] for r in model.fit_warnings_}
    assert len(locations) >= 2
    assert locations <= {"column 'HUFL'", "column 'OT'", "column 'LULL'"}
    assert len(caught) == 1  # ... and the user sees one summary
    message = str(caught[0].message)
    assert caught[0].category is ModelWarning
    assert "ConvergenceWarning" in message
    assert all(loc in message for loc in locations)
    assert f"{len(model.fit_warnings_)} warning(s) on {len(locations)} of 3 model(s)" in message


def test_failure_names_series_and_column_or_uses_fallback(macro):
    # multiplicative seasonality needs positive data: growth rates of realinv go negative
    data = macro.copy()
    data["realgdp"] = np.exp(data["realgdp"].cumsum()) * 100  # positive levels
    spec = dict(horizon=H, seasonal="mul", seasonal_periods=4)
    with pytest.raises(ModelError, match=r"fitting failed on column 'realcons'.*fallback="):
        ETSForecaster(**spec).fit(data)
    long = to_long(data)
    with pytest.raises(ModelError, match="series 'realcons'"):
        ETSForecaster(**spec).fit(long)
    with pytest.warns(ModelWarning, match="used the fallback NaiveForecaster"):
        model = ETSForecaster(**spec, fallback=NaiveForecaster(horizon=1)).fit(data)
    assert [f["column"] for f in model.fallbacks_] == ["realcons", "realinv"]
    assert "positive" in model.fallbacks_[0]["error"]
    f = model.predict()
    np.testing.assert_array_equal(f["realinv"].to_numpy(), np.full(H, data["realinv"].iloc[-1]))
    assert np.isfinite(f["realgdp"].to_numpy()).all()
    g = model.predict(data.iloc[:120])  # the fallback also forecasts from new history
    np.testing.assert_array_equal(g["realcons"].to_numpy(),
                                  np.full(H, data["realcons"].iloc[119]))


def test_docstrings():
    import spikecast.baselines as B

    for name in B.__all__:
        assert getattr(B, name).__doc__, name


def test_warnings_the_user_ignores_are_not_reported(etth1_full):
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, EstimationWarning

    y = etth1_full.iloc[:300][["HUFL", "OT", "LULL"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", category=EstimationWarning)
        model = ARIMAForecaster(horizon=H, order=(3, 0, 3)).fit(y)
    assert model.fit_warnings_ == [] and caught == []


def test_ets_window_starting_elsewhere_gets_its_own_initial_states(co2_monthly):
    """A history that does not start where training did (a backtest or test window) must
    not inherit the training start's seasonal phase: its initial states come from its own
    first rows (statsmodels' heuristic), with the fitted smoothing parameters."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    spec = dict(trend="add", seasonal="add", seasonal_periods=12)
    train = co2_monthly.iloc[:180]
    model = ETSForecaster(horizon=H, **spec).fit(train)
    fitted = model.models_[(0, 0)][1]
    window = co2_monthly.iloc[185:225]  # starts 5 months into the season
    heuristic = ETSModel(window.to_numpy(), error="add", initialization_method="heuristic",
                         **spec)
    expected = heuristic.smooth(fitted.params[:3]).forecast(H)
    f = model.predict(window).to_numpy()
    np.testing.assert_allclose(f, expected, rtol=1e-10)
    # the fitted states, phase-shifted by 5 months, forecast far worse
    stale = ETSModel(window.to_numpy(), error="add", **spec).smooth(fitted.params).forecast(H)
    actual = co2_monthly.iloc[225:225 + H].to_numpy()
    assert np.abs(f - actual).mean() < 0.5 * np.abs(stale - actual).mean()

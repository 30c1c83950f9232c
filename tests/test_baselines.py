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
    model = ETSForecaster(horizon=H, trend="add", season_length=12).fit(train)
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
        (ETSForecaster(horizon=H, season_length=1), "season_length"),
        (ETSForecaster(horizon=H, season_length="daily"), "season_length"),
        (ETSForecaster(horizon=H, quantiles=[0.5, 1.0]), "quantiles"),
        (NaiveForecaster(horizon=H, quantiles=[]), "quantiles"),
        (ARIMAForecaster(horizon=H, quantiles=[0.1],
                         fallback=LinearForecaster(horizon=H)), "fallback"),
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
    (ETSForecaster(horizon=H, season_length=12), 20, 24),
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
    spec = dict(horizon=H, seasonal="mul", season_length=4)
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
    model = ETSForecaster(horizon=H, trend="add", season_length=12).fit(train)
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


# ------------------------------------------------------------------ seasons
def _hourly_season(n: int = 24 * 20, seed: int = 0) -> pd.Series:
    """A daily cycle on hourly data plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(10 + 3 * np.sin(2 * np.pi * t / 24) + 0.3 * rng.standard_normal(n),
                     index=pd.date_range("2024-01-01", periods=n, freq="h"), name="y")


def test_ets_is_seasonal_by_default_with_a_season_length():
    y = _hourly_season()
    model = ETSForecaster(horizon=H, season_length=24).fit(y)  # seasonal defaults to "add"
    result = model.models_[(0, 0)][1]
    assert (result.model.seasonal, result.model.seasonal_periods) == ("add", 24)
    assert model.season_lengths_ == [24]
    plain = ETSForecaster(horizon=H, season_length=24, seasonal=None).fit(y)
    assert plain.models_[(0, 0)][1].model.seasonal is None and plain.season_lengths_ == [None]


@pytest.mark.parametrize("freq, period", [
    ("h", 24), ("D", 7), ("W-SUN", 52), ("MS", 12), ("ME", 12), ("QS", 4), ("QE-DEC", 4),
    ("2h", 12), ("B", 5), ("min", None), ("YS", None), (None, None),
])
def test_season_length_of_frequency(freq, period):
    from spikecast.baselines.statistical import season_length_of

    assert season_length_of(freq if freq is None else pd.tseries.frequencies.to_offset(freq)
                            ) == period


def test_ets_detects_the_season_from_the_index_frequency():
    y = _hourly_season()
    model = ETSForecaster(horizon=H).fit(y)  # season_length="auto"
    assert model.season_lengths_ == [24]
    assert model.models_[(0, 0)][1].model.seasonal_periods == 24
    assert model.min_predict_length() == 48
    # the default ETS on hourly data is no longer the naive forecast
    f = model.predict().to_numpy()
    assert not np.allclose(f, y.iloc[-1])
    actual = 10 + 3 * np.sin(2 * np.pi * np.arange(len(y), len(y) + H) / 24)
    assert np.abs(f - actual).mean() < 0.5 * np.abs(y.iloc[-1] - actual).mean()
    # fewer than two full seasons, or no frequency that implies one: not seasonal, silently
    for short in (y.iloc[:40], pd.Series(y.to_numpy()[:100])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m = ETSForecaster(horizon=H).fit(short)
        assert m.season_lengths_ == [None] and m.models_[(0, 0)][1].model.seasonal is None


def test_ets_old_seasonal_periods_warns_and_still_works():
    y = _hourly_season()
    with pytest.warns(FutureWarning, match=r"seasonal_periods=.*deprecated.*season_length=24"):
        old = ETSForecaster(horizon=H, seasonal_periods=24).fit(y)
    new = ETSForecaster(horizon=H, season_length=24).fit(y)
    np.testing.assert_allclose(old.predict().to_numpy(), new.predict().to_numpy())
    with pytest.raises(InvalidParameterError, match="disagree"):
        ETSForecaster(horizon=H, season_length=12, seasonal_periods=24).fit(y)


# ------------------------------------------------------------------ quantiles
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def _ar1(n: int, phi: float = 0.7, seed: int = 1, columns: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, columns))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal(columns)
    return pd.DataFrame(5 + x, index=pd.date_range("2024-01-01", periods=n, freq="h"),
                        columns=[f"c{j}" for j in range(columns)])


def _random_walk(n: int, seed: int = 2) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(50 + rng.standard_normal(n).cumsum(),
                     index=pd.date_range("2024-01-01", periods=n, freq="h"), name="y")


QUANTILE_MODELS = {
    "naive": lambda: NaiveForecaster(horizon=3, quantiles=LEVELS),
    "seasonal_naive": lambda: SeasonalNaiveForecaster(horizon=3, season_length=24,
                                                      quantiles=LEVELS),
    "drift": lambda: DriftForecaster(horizon=3, quantiles=LEVELS),
    "arima": lambda: ARIMAForecaster(horizon=3, order=(1, 0, 0), quantiles=LEVELS),
    "ets": lambda: ETSForecaster(horizon=3, quantiles=LEVELS),
    "ets_mul": lambda: ETSForecaster(horizon=3, seasonal="mul", quantiles=LEVELS),  # simulated
    "var": lambda: VARForecaster(horizon=3, maxlags=2, quantiles=LEVELS),
}


@pytest.mark.parametrize("name", sorted(QUANTILE_MODELS))
def test_quantiles_are_monotone_and_contain_the_point_forecast(name):
    from spikecast.base import get_tags

    y = pd.concat([_hourly_season(), _hourly_season(seed=3).rename("z") + 5], axis=1)
    model = QUANTILE_MODELS[name]()
    assert get_tags(model).supports_quantiles
    assert not get_tags(model.set_params(quantiles=None)).supports_quantiles
    model.set_params(quantiles=[0.95, 0.5, 0.05, 0.25, 0.75]).fit(y)  # any order
    for history in (None, y.iloc[:300], y.iloc[100:]):
        point = model.predict(history)
        q = model.predict_quantiles(history)
        assert list(q) == LEVELS
        stacked = np.stack([q[lv].to_numpy() for lv in LEVELS], axis=-1)
        assert np.all(np.diff(stacked, axis=-1) >= 0)
        assert np.all(stacked[..., 0] <= point.to_numpy())
        assert np.all(point.to_numpy() <= stacked[..., -1])
        assert q[0.5].index.equals(point.index) and list(q[0.5].columns) == list(y.columns)
        if name != "ets_mul":  # Gaussian intervals: the median is the point forecast
            np.testing.assert_allclose(q[0.5].to_numpy(), point.to_numpy())


def test_quantiles_match_statsmodels_intervals():
    from statsmodels.tsa.arima.model import ARIMA

    y = _ar1(300)["c0"]
    q = ARIMAForecaster(horizon=H, order=(1, 0, 0), quantiles=[0.05, 0.95]).fit(y)
    interval = ARIMA(y.to_numpy(), order=(1, 0, 0)).fit().get_forecast(H).conf_int(alpha=0.1)
    out = q.predict_quantiles()
    np.testing.assert_allclose(out[0.05].to_numpy(), interval[:, 0], rtol=1e-8)
    np.testing.assert_allclose(out[0.95].to_numpy(), interval[:, 1], rtol=1e-8)
    # fpp3 §5.5: the naive interval widens with sqrt(h) from the residual sd
    rw = _random_walk(200)
    nq = NaiveForecaster(horizon=H, quantiles=[0.975]).fit(rw).predict_quantiles()[0.975]
    sd = np.sqrt(np.mean(np.diff(rw.to_numpy()) ** 2))
    np.testing.assert_allclose(nq.to_numpy() - rw.iloc[-1],
                               1.959964 * sd * np.sqrt(np.arange(1, H + 1)), rtol=1e-5)


def test_predict_quantiles_needs_quantiles():
    model = ARIMAForecaster(horizon=H).fit(_ar1(100)["c0"])
    with pytest.raises(DataValidationError, match=r"quantiles=\[0.1, 0.5, 0.9\]"):
        model.predict_quantiles()


@pytest.mark.parametrize("name, make, data", [
    ("naive", lambda: NaiveForecaster(horizon=3, quantiles=[0.05, 0.5, 0.95]),
     lambda: _random_walk(700)),
    ("arima", lambda: ARIMAForecaster(horizon=3, order=(1, 0, 0), quantiles=[0.05, 0.5, 0.95]),
     lambda: _ar1(1400)),
    ("ets", lambda: ETSForecaster(horizon=3, quantiles=[0.05, 0.5, 0.95]),
     lambda: _hourly_season(700).to_frame()),
    ("var", lambda: VARForecaster(horizon=3, maxlags=1, ic=None, quantiles=[0.05, 0.5, 0.95]),
     lambda: _ar1(1400, columns=2)),
])
def test_intervals_cover_about_the_nominal_share(name, make, data):
    """The 90% intervals hold ~90% of the outcomes over many cutoffs of a series simulated
    from (or close to) the model's own family, through backtest's quantile columns."""
    from spikecast.backtest import backtest

    y = data()
    # fitted once on the first cutoff's rows (long enough to estimate the model well), then
    # one forecast after each of the 400 cutoffs
    out = backtest(make(), y, start=len(y) - 400, stride=1, refit=False, progress=False)
    assert {"y_pred_q0.05", "y_pred_q0.5", "y_pred_q0.95"} <= set(out.columns)
    inside = (out["y"] >= out["y_pred_q0.05"]) & (out["y"] <= out["y_pred_q0.95"])
    assert out["cutoff"].nunique() > 390
    assert 0.84 <= inside.mean() <= 0.96, (name, inside.mean())

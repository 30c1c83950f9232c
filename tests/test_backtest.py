"""Backtesting: cutoffs, windows, refit schedules, batching, parallelism, output forms,
evaluate / compare, and the leakage guarantee for every model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from spikecast import NeuralForecaster
from spikecast import metrics as M
from spikecast.backtest import (
    OUTPUT_COLUMNS,
    BacktestWarning,
    ComparisonResult,
    backtest,
    compare,
    evaluate,
)
from spikecast.baselines import (
    ARIMAForecaster,
    DriftForecaster,
    ETSForecaster,
    LinearForecaster,
    ModelWarning,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    VARForecaster,
)
from spikecast.exceptions import DataValidationError, InvalidParameterError

H = 6
NEURAL = dict(lookback=24, horizon=H, hidden_size=8, max_epochs=1, batch_size=64,
              verbose=False)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """statsmodels makes many tiny BLAS calls; with two xdist workers on two cores, spinning
    OpenBLAS threads make them ~30x slower. One BLAS thread per worker avoids that."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def ett(etth1_full) -> pd.DataFrame:
    """300 hours of two ETTh1 columns."""
    return etth1_full.iloc[:300][["HUFL", "OT"]].copy()


def to_long(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": c, "ds": frame.index, "y": frame[c].to_numpy()})
                      for c in frame.columns], ignore_index=True)


class CountingNaive(NaiveForecaster):
    """NaiveForecaster that counts its batched prediction calls (in-process runs only)."""

    calls: list[int] = []

    def _predict_panels(self, panels):
        CountingNaive.calls.append(len(panels))
        return super()._predict_panels(panels)


# ------------------------------------------------------------------ cutoffs and output
def test_output_by_hand(ett):
    out = backtest(NaiveForecaster(horizon=H), ett, start=200, stride=25, progress=False)
    assert tuple(out.columns) == OUTPUT_COLUMNS
    positions = [200, 225, 250, 275]  # 275 + 6 <= 299; 300 would run past the end
    assert list(out["cutoff"].unique()) == list(ett.index[positions])
    assert len(out) == len(positions) * 2 * H
    assert list(out["unique_id"].unique()) == ["HUFL", "OT"]
    assert out["step"].tolist()[:H] == list(range(1, H + 1))
    for (uid, cutoff), g in out.groupby(["unique_id", "cutoff"]):
        p = ett.index.get_loc(cutoff)
        np.testing.assert_array_equal(g["ds"], ett.index[p + 1:p + 1 + H])
        np.testing.assert_array_equal(g["y"], ett[uid].iloc[p + 1:p + 1 + H])
        np.testing.assert_array_equal(g["y_pred"], np.full(H, ett[uid].iloc[p]))
    assert out.attrs["n_cutoffs"] == 4 and out.attrs["n_fits"] == 4
    assert out.attrs["fit_time_s"] >= 0 and out.attrs["predict_time_s"] >= 0


@pytest.mark.parametrize("start, position", [
    (200, 200), (-50, 250), (0.5, 149), ("2016-07-09 08:00", 200),
    (pd.Timestamp("2016-07-09 08:30"), 200),  # between two rows: the last at or before it
])
def test_start_forms(ett, start, position):
    out = backtest(NaiveForecaster(horizon=H), ett, start=start, stride=1000, progress=False)
    assert out["cutoff"].iloc[0] == ett.index[position]


def test_argument_errors(ett):
    naive = NaiveForecaster(horizon=H)
    cases = [
        (dict(start=295), "no cutoff has a full horizon", DataValidationError),
        (dict(start=1.5), "fraction", DataValidationError),
        (dict(start="2000-01-01"), "before the first observation", DataValidationError),
        (dict(start=10, stride=0), "stride", InvalidParameterError),
        (dict(start=10, window="rolling"), "window", InvalidParameterError),
        (dict(start=10, window="sliding"), "train_length", InvalidParameterError),
        (dict(start=10, train_length=5), "sliding. only", InvalidParameterError),
        (dict(start=10, refit=0), "refit", InvalidParameterError),
    ]
    for kwargs, match, error in cases:
        with pytest.raises(error, match=match):
            backtest(naive, ett, progress=False, **kwargs)
    with pytest.raises(DataValidationError, match=r"has 20 row\(s\) .* needs at least 30"):
        backtest(LinearForecaster(horizon=H, lookback=24), ett, start=19, progress=False)
    with pytest.raises(DataValidationError, match="train_length=10 is too short"):
        backtest(LinearForecaster(horizon=H, lookback=24), ett, start=100, window="sliding",
                 train_length=10, progress=False)
    with pytest.raises(TypeError, match="spikecast forecaster"):
        backtest(object(), ett, start=10)


def test_input_forms_and_unique_ids(ett):
    naive = NaiveForecaster(horizon=H)
    kw = dict(start=250, stride=10, progress=False)
    wide = backtest(naive, ett, **kw)
    series = backtest(naive, ett["OT"], **kw)
    assert set(series["unique_id"]) == {"OT"}
    long = backtest(naive, to_long(ett), **kw)
    assert list(long["unique_id"].unique()) == ["HUFL", "OT"]
    pd.testing.assert_frame_equal(long, wide)
    arr = backtest(naive, ett.to_numpy(), **kw)
    assert list(arr["unique_id"].unique()) == ["0", "1"]
    assert arr["cutoff"].iloc[0] == 250 and arr["ds"].iloc[0] == 251
    np.testing.assert_array_equal(arr["y_pred"], wide["y_pred"])


def test_long_series_of_different_lengths(ett):
    long = to_long(ett)
    long = long[~((long["unique_id"] == "OT") & (long["ds"] > ett.index[260]))]
    out = backtest(NaiveForecaster(horizon=H), long, start=240, stride=10, progress=False)
    cutoffs = out.groupby("unique_id")["cutoff"].unique()
    assert list(cutoffs["HUFL"]) == list(ett.index[[240, 250, 260, 270, 280, 290]])
    assert list(cutoffs["OT"]) == list(ett.index[[240, 250]])  # 260 + 6 runs past its end


# ------------------------------------------------------------------ windows and refits
def test_expanding_and_sliding_windows(ett):
    kw = dict(start=100, stride=50, progress=False)
    expanding = backtest(DriftForecaster(horizon=H), ett, **kw)
    sliding = backtest(DriftForecaster(horizon=H), ett, window="sliding", train_length=40,
                       **kw)
    for out, first in ((expanding, lambda p: 0), (sliding, lambda p: p - 39)):
        for (uid, cutoff), g in out.groupby(["unique_id", "cutoff"]):
            p = ett.index.get_loc(cutoff)
            v = ett[uid].to_numpy()
            slope = (v[p] - v[first(p)]) / (p - first(p))
            np.testing.assert_allclose(g["y_pred"], v[p] + slope * np.arange(1, H + 1))


def test_refit_schedules_against_manual_runs(ett):
    y = ett["OT"]
    model = ARIMAForecaster(horizon=H, order=(2, 0, 0))
    kw = dict(start=200, stride=15, progress=False)
    positions = [200, 215, 230, 245, 260, 275, 290]
    once = backtest(model, y, refit=False, **kw)
    assert once.attrs["n_fits"] == 1
    fitted = clone(model).fit(y.iloc[:201])
    for p in positions:
        got = once.loc[once["cutoff"] == y.index[p], "y_pred"].to_numpy()
        np.testing.assert_allclose(got, fitted.predict(y.iloc[:p + 1]).to_numpy(), rtol=1e-10)
    every3 = backtest(model, y, refit=3, **kw)
    assert every3.attrs["n_fits"] == 3  # at 200, 245, 290
    fitted = clone(model).fit(y.iloc[:246])
    got = every3.loc[every3["cutoff"] == y.index[260], "y_pred"].to_numpy()
    np.testing.assert_allclose(got, fitted.predict(y.iloc[:261]).to_numpy(), rtol=1e-10)
    always = backtest(model, y, refit=True, **kw)
    assert always.attrs["n_fits"] == len(positions)
    fitted = clone(model).fit(y.iloc[:261])
    got = always.loc[always["cutoff"] == y.index[260], "y_pred"].to_numpy()
    np.testing.assert_allclose(got, fitted.predict().to_numpy(), rtol=1e-10)


def test_stateless_models_agree_across_schedules(ett):
    outs = [backtest(SeasonalNaiveForecaster(horizon=H, season_length=24), ett, start=100,
                     stride=7, refit=r, progress=False) for r in (True, False, 4)]
    for out in outs[1:]:
        pd.testing.assert_frame_equal(out, outs[0])


def test_no_refit_predicts_all_cutoffs_in_one_batched_call(ett):
    CountingNaive.calls.clear()
    backtest(CountingNaive(horizon=H), ett, start=100, stride=5, refit=False, progress=False)
    assert CountingNaive.calls == [len(range(100, 294, 5))]
    CountingNaive.calls.clear()
    backtest(CountingNaive(horizon=H), ett, start=100, stride=50, refit=2, progress=False)
    assert CountingNaive.calls == [2, 2]


def test_user_forecaster_is_never_fitted_or_changed(ett):
    model = ARIMAForecaster(horizon=H, order=[1, 0, 0])
    params = model.get_params()
    backtest(model, ett, start=250, stride=20, progress=False)
    assert not hasattr(model, "train_panel_") and not hasattr(model, "models_")
    assert model.get_params() == params and model.order == [1, 0, 0]


def test_parallel_equals_sequential_and_progress_bar(ett, capsys):
    model = ARIMAForecaster(horizon=H, order=(1, 0, 0))
    kw = dict(start=220, stride=12, refit=True)
    seq = backtest(model, ett, n_jobs=1, progress=False, **kw)
    assert capsys.readouterr().err == ""
    par = backtest(model, ett, n_jobs=2, progress=True, **kw)
    err = capsys.readouterr().err
    assert "backtest ARIMAForecaster" in err and "7/7" in err
    pd.testing.assert_frame_equal(seq, par)


def test_warnings_reported_once_per_backtest(etth1_full):
    y = etth1_full["OT"].iloc[:300]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = backtest(ARIMAForecaster(horizon=H, order=(3, 0, 3)), y, start=270, stride=8,
                       progress=False)
    assert out.attrs["n_fits"] == 3 and out.attrs["n_warnings"] >= 3
    assert [w.category for w in caught] == [BacktestWarning]
    message = str(caught[0].message)
    assert "over 3 fit(s)" in message and "ModelWarning x3" in message
    assert not any(issubclass(w.category, ModelWarning) for w in caught)


# ------------------------------------------------------------------ evaluate and compare
def test_evaluate_groupings_by_hand(ett):
    out = backtest(NaiveForecaster(horizon=H), ett, start=200, stride=10, progress=False)
    per_series = evaluate(out, metrics=("mae", "rmse"))
    assert list(per_series.columns) == ["unique_id", "mae", "rmse"]
    ot = out[out["unique_id"] == "OT"]
    row = per_series.set_index("unique_id").loc["OT"]
    assert row["mae"] == pytest.approx(M.mae(ot["y"], ot["y_pred"]))
    assert row["rmse"] == pytest.approx(M.rmse(ot["y"], ot["y_pred"]))
    per_step = evaluate(out, metrics="mae", by="horizon")
    assert per_step["step"].tolist() == list(range(1, H + 1))
    first = out[out["step"] == 1]
    assert per_step["mae"].iloc[0] == pytest.approx(M.mae(first["y"], first["y_pred"]))
    # the naive forecast degrades with the step on this series
    assert per_step["mae"].iloc[-1] > per_step["mae"].iloc[0]
    overall = evaluate(out, metrics=("mse", "rse", "r2"), by=None)
    assert overall.shape == (1, 3)
    # RSE pools series with each series' own mean (P2 protocol, series as columns)
    wide_y = out.pivot_table(index=["cutoff", "step"], columns="unique_id", values="y")
    wide_p = out.pivot_table(index=["cutoff", "step"], columns="unique_id", values="y_pred")
    assert overall["rse"].iloc[0] == pytest.approx(M.rse(wide_y, wide_p))
    assert overall["r2"].iloc[0] == pytest.approx(M.r2(wide_y, wide_p))
    with pytest.raises(DataValidationError, match="cannot group by"):
        evaluate(out, by="colour")
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(out, metrics=("mea",))


def test_compare_same_cutoffs_one_row_per_model(ett):
    models = {
        "seasonal_naive": SeasonalNaiveForecaster(horizon=H, season_length=24),
        "naive": NaiveForecaster(horizon=H),
        "linear": LinearForecaster(horizon=H, lookback=48),
    }
    result = compare(models, ett, metrics=("mae", "rse"), start=150, stride=12,
                     progress=False)
    assert isinstance(result, ComparisonResult)
    table = result.table
    assert list(table.index) == list(models)
    assert list(table.columns) == ["mae", "rse", "fit_time_s", "predict_time_s", "n_fits",
                                   "n_cutoffs"]
    preds = result.predictions
    assert list(preds.columns) == ["model", *OUTPUT_COLUMNS]
    naive_rows = preds[preds["model"] == "naive"]
    assert table.loc["naive", "mae"] == pytest.approx(M.mae(naive_rows["y"],
                                                            naive_rows["y_pred"]))
    cutoffs = preds.groupby("model")["cutoff"].apply(lambda s: tuple(sorted(s.unique())))
    assert cutoffs.nunique() == 1
    by_step = evaluate(result, metrics="mae", by="step")
    assert list(by_step.columns) == ["model", "step", "mae"]
    assert by_step["model"].unique().tolist() == list(models)
    with pytest.raises(DataValidationError, match="one horizon"):
        compare({"a": NaiveForecaster(horizon=3), "b": NaiveForecaster(horizon=4)}, ett,
                start=100)


def test_readme_example_runs():
    co2 = statsmodels.datasets.co2.load_pandas().data["co2"].interpolate().iloc[-400:]
    models = {
        "seasonal_naive": SeasonalNaiveForecaster(horizon=13, season_length=52),
        "naive": NaiveForecaster(horizon=13),
        "gru": NeuralForecaster(encoder="gru", lookback=52, horizon=13, hidden_size=8,
                                max_epochs=1, verbose=False),
    }
    result = compare(models, co2, start=0.75, stride=13, refit=False, progress=False)
    assert result.table.shape[0] == 3
    assert result.table.loc["seasonal_naive", "mae"] < result.table.loc["naive", "mae"]


# ------------------------------------------------------------------ neural specifics
def test_neural_quantile_columns_and_covariates(ett):
    model = NeuralForecaster(encoder="gru", loss="quantile", quantiles=[0.1, 0.5, 0.9],
                             **NEURAL)
    out = backtest(model, ett, start=200, stride=20, refit=False, progress=False)
    assert [c for c in out.columns if c.startswith("y_pred_q")] == [
        "y_pred_q0.1", "y_pred_q0.5", "y_pred_q0.9"]
    assert np.isfinite(out.filter(like="y_pred").to_numpy()).all()
    target = NeuralForecaster(encoder="gru", target="OT", **NEURAL)
    with_x = backtest(target, ett[["OT"]], X=ett[["HUFL"]], start=200, stride=20,
                      refit=False, progress=False)
    assert set(with_x["unique_id"]) == {"OT"}
    # covariates after a cutoff do not change its forecast either
    later = ett[["HUFL"]].copy()
    later.iloc[241:] = later.iloc[241:] * 3.0 + 10.0
    changed = backtest(target, ett[["OT"]], X=later, start=200, stride=20, refit=False,
                       progress=False)
    early = with_x["cutoff"] <= ett.index[240]
    np.testing.assert_array_equal(changed.loc[early, "y_pred"], with_x.loc[early, "y_pred"])
    assert not np.allclose(changed.loc[~early, "y_pred"], with_x.loc[~early, "y_pred"])


# ------------------------------------------------------------------ leakage
# Every forecaster that backtests must pass; add new models (spiking encoders) here.
FACTORIES = {
    "naive": lambda: NaiveForecaster(horizon=H),
    "seasonal_naive": lambda: SeasonalNaiveForecaster(horizon=H, season_length=24),
    "drift": lambda: DriftForecaster(horizon=H),
    "arima": lambda: ARIMAForecaster(horizon=H, order=(1, 0, 0)),
    "ets": lambda: ETSForecaster(horizon=H, trend="add", damped_trend=True),
    "var": lambda: VARForecaster(horizon=H, maxlags=2),
    "linear": lambda: LinearForecaster(horizon=H, lookback=24),
    "neural_gru": lambda: NeuralForecaster(encoder="gru", **NEURAL),
}


@pytest.mark.parametrize("refit, window", [(True, "expanding"), (False, "expanding"),
                                           (2, "sliding")])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_data_after_a_cutoff_never_changes_its_forecast(name, refit, window, ett):
    kw = dict(start=200, stride=20, refit=refit, window=window, progress=False,
              train_length=150 if window == "sliding" else None)
    p = 240  # a cutoff (200, 220, 240, 260, 280)
    changed = ett.copy()
    rng = np.random.default_rng(0)
    changed.iloc[p + 1:] = changed.iloc[p + 1:] * 1.5 + 3.0 + rng.normal(
        size=changed.iloc[p + 1:].shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = backtest(FACTORIES[name](), ett, **kw)
        other = backtest(FACTORIES[name](), changed, **kw)
    early = base["cutoff"] <= ett.index[p]
    assert early.sum() == 3 * 2 * H and (~early).sum() == 2 * 2 * H
    np.testing.assert_array_equal(other.loc[early, "y_pred"], base.loc[early, "y_pred"])
    # the test is sensitive: later cutoffs do see the change
    assert not np.allclose(other.loc[~early, "y_pred"], base.loc[~early, "y_pred"])


def test_model_failure_names_series_column_and_cutoff(ett):
    from spikecast.baselines import ModelError

    data = ett.copy()
    data["HUFL"] = data["HUFL"].abs() + 1.0  # positive: multiplicative seasonality works
    model = ETSForecaster(horizon=H, seasonal="mul", season_length=24)
    data.iloc[:, 1] = data.iloc[:, 1] - 40.0  # OT becomes negative: it cannot
    with pytest.raises(ModelError, match="column 'OT'") as info:
        backtest(model, data, start=250, stride=20, progress=False, n_jobs=1)
    notes = getattr(info.value, "__notes__", [])
    assert not notes or "cutoff" in notes[0]
    fallback = ETSForecaster(horizon=H, seasonal="mul", season_length=24,
                             fallback=NaiveForecaster(horizon=H))
    with pytest.warns(BacktestWarning, match="used the fallback NaiveForecaster"):
        out = backtest(fallback, data, start=250, stride=20, progress=False)
    ot = out[out["unique_id"] == "OT"]
    np.testing.assert_array_equal(ot.groupby("cutoff")["y_pred"].nunique(), 1)  # naive

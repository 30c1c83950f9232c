"""The public contracts between the layers: tags, historical forecasts, the backtest's fitted
models, MASE inside ``evaluate``, the data module's windows and scaling, and
``spikecast predict`` writing forecasts in original units."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast import metrics as M
from spikecast.backtest import backtest, compare, evaluate
from spikecast.base import ForecasterTags, HistoricalForecasts, get_tags
from spikecast.baselines import LinearForecaster, NaiveForecaster, SeasonalNaiveForecaster
from spikecast.data import to_panel
from spikecast.data.scaling import StandardScaler
from spikecast.data.windows import (
    WindowDataModule,
    held_out_rows,
    last_windows,
    min_training_rows,
)
from spikecast.exceptions import DataValidationError

REPO = Path(__file__).resolve().parents[1]
NEURAL = dict(lookback=16, horizon=4, hidden_size=8, max_epochs=1, batch_size=64,
              accelerator="cpu", verbose=False)


@pytest.fixture
def wave() -> pd.DataFrame:
    """Two noisy daily waves, 160 hourly rows."""
    t = np.arange(160)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=160),
                         "b": np.cos(2 * np.pi * t / 24) + 5 + 0.1 * rng.normal(size=160)},
                        index=pd.date_range("2024-01-01", periods=160, freq="h"))


# --------------------------------------------------------------------------- tags
def test_tags_declare_capabilities_from_parameters():
    assert get_tags(NaiveForecaster(horizon=2)) == ForecasterTags()
    neural = get_tags(NeuralForecaster())
    assert neural.supports_covariates and neural.batched_history and neural.reports_costs
    assert not neural.supports_quantiles
    quantile = get_tags(NeuralForecaster(loss="quantile", quantiles=[0.1, 0.5, 0.9]))
    assert quantile.supports_quantiles
    with pytest.raises(dataclasses.FrozenInstanceError):
        neural.supports_quantiles = True


# --------------------------------------------------------------------------- historical
@pytest.mark.parametrize("make", [lambda: NaiveForecaster(horizon=4),
                                  lambda: LinearForecaster(horizon=4, lookback=16),
                                  lambda: NeuralForecaster(**NEURAL)])
def test_historical_forecasts_equal_predict_on_each_truncation(wave, make):
    model = make().fit(wave.iloc[:100])
    ends = np.array([100, 120, 137])
    starts = np.array([10, 0, 30])
    hist = model.historical_forecasts(wave, ends, starts=starts)
    assert isinstance(hist, HistoricalForecasts)
    assert hist.targets == ["a", "b"] and hist.quantiles is None
    for c, (lo, hi) in enumerate(zip(starts, ends)):
        expected = model.predict(wave.iloc[lo:hi]).to_numpy()
        np.testing.assert_allclose(hist.points[c][0], expected, rtol=1e-6, atol=1e-6)


def test_historical_quantiles_come_from_the_same_pass(wave):
    model = NeuralForecaster(loss="quantile", quantiles=[0.1, 0.5, 0.9], **NEURAL).fit(wave)
    hist = model.historical_forecasts(wave, [120, 150])
    assert hist.levels == [0.1, 0.5, 0.9]
    q = model.predict_quantiles(wave.iloc[:150])
    np.testing.assert_allclose(hist.quantiles[1][0][..., 2], q[0.9].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(hist.points[1][0], hist.quantiles[1][0][..., 1])


def test_historical_forecasts_name_a_bad_row_range(wave):
    model = LinearForecaster(horizon=4, lookback=16).fit(wave)
    with pytest.raises(DataValidationError, match=r"cutoff 1 uses rows 0:10 of y.*at least 16"):
        model.historical_forecasts(wave, [50, 10])
    with pytest.raises(DataValidationError, match=r"rows 0:999 of y, which has 160 rows"):
        model.historical_forecasts(wave, [999])
    with pytest.raises(DataValidationError, match=r"integer arrays"):
        model.historical_forecasts(wave, [50.5])


# --------------------------------------------------------------------------- backtest
def test_backtest_returns_its_fitted_models(wave):
    frame, models = backtest(LinearForecaster(horizon=4, lookback=16), wave, start=100,
                             stride=10, refit=2, progress=False, return_models=True)
    assert frame.attrs["n_fits"] == len(models) == 3
    assert [len(m.train_panel_.values[0]) for m in models] == [101, 121, 141]
    # the first model's forecast at the first cutoff is the backtest's
    first = frame[frame["cutoff"] == frame["cutoff"].min()]
    np.testing.assert_allclose(first[first["unique_id"] == "a"]["y_pred"],
                               models[0].predict(wave.iloc[:101])["a"])


def test_compare_keeps_models_and_costs_come_from_efficiency(wave):
    result = compare({"naive": NaiveForecaster(horizon=4),
                      "snn": NeuralForecaster(**NEURAL)}, wave, start=100, stride=20,
                     refit=False, progress=False, return_models=True,
                     metrics=["mae", "mase"], season_length=24)
    assert set(result.models) == {"naive", "snn"}
    (snn,) = result.models["snn"]
    assert get_tags(snn).reports_costs and snn.efficiency()["params"] > 0
    assert compare({"naive": NaiveForecaster(horizon=4)}, wave, start=100,
                   progress=False).models == {}


# --------------------------------------------------------------------------- MASE
def test_evaluate_computes_mase_from_the_in_sample_series(wave):
    frame = backtest(SeasonalNaiveForecaster(horizon=4, season_length=24), wave, start=100,
                     stride=10, refit=True, progress=False)
    scores = evaluate(frame, metrics=["mae", "mase"], by="unique_id", y=wave,
                      season_length=24).set_index("unique_id")
    history = wave.loc[:frame["cutoff"].min()]
    for column in ("a", "b"):
        rows = frame[frame["unique_id"] == column]
        expected = M.mase(rows["y"].to_numpy(), rows["y_pred"].to_numpy(),
                          history[column].to_numpy(), 24)
        assert scores.loc[column, "mase"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(DataValidationError, match="mase needs the in-sample series"):
        evaluate(frame, metrics=["mase"])


def test_compare_table_has_mase(wave):
    result = compare({"naive": NaiveForecaster(horizon=4)}, wave, start=100, stride=10,
                     progress=False, metrics=["mae", "mase"], season_length=24)
    expected = evaluate(result.predictions, metrics=["mase"], by=None, y=wave,
                        season_length=24)["mase"].iloc[0]
    assert result.table.loc["naive", "mase"] == pytest.approx(expected)


def test_rse_groups_use_each_series_mean():
    y = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    p = y + np.array([0.5, -0.5, 0.0, 0.0, 1.0, -1.0])
    groups = ["s", "s", "s", "t", "t", "t"]
    expected = np.sqrt(np.sum((y - p) ** 2)) / np.sqrt(4.0)  # (1+0+1) + (1+0+1)
    assert M.rse(y, p, groups=groups) == pytest.approx(expected)
    assert M.rse(y, p) < expected  # the pooled mean inflates the denominator


# --------------------------------------------------------------------------- data layer
def test_data_module_owns_the_held_out_rows_and_minimum_length():
    assert held_out_rows(0.2, 101) == 20 and held_out_rows(7, 101) == 7
    n = min_training_rows(16, 4, 0.2)
    assert n - held_out_rows(0.2, n) >= 20 > (n - 1) - held_out_rows(0.2, n - 1)
    assert NeuralForecaster(lookback=16, horizon=4, val_size=0.2).min_train_length() == n


def test_last_windows_and_unscale_invert_the_data_modules_scaling(wave):
    dm = WindowDataModule(wave, lookback=16, horizon=4, val_size=0.2)
    dm.setup()
    window = last_windows(to_panel(wave), 16, dm.scaler)
    np.testing.assert_allclose(dm.scaler.inverse_transform_columns(window[0].double().numpy()),
                               wave.to_numpy()[-16:], rtol=1e-6)
    out = np.zeros((1, 4, 2))  # a forecast of the training mean, in scaled units
    np.testing.assert_allclose(dm.unscale(out)[0], np.tile(dm.scaler.mean_, (4, 1)))
    assert isinstance(dm.scaler, StandardScaler)


def test_prepare_data_downloads_and_setup_never_does(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr("spikecast.data.download.download_dataset",
                        lambda name, data_dir=None, **kw: calls.append((name, data_dir)))
    WindowDataModule("ETTh2", data_dir=tmp_path).prepare_data()
    WindowDataModule("co2", data_dir=tmp_path).prepare_data()  # embedded: nothing to fetch
    assert calls == [("ETTh2", tmp_path)]
    with pytest.raises(FileNotFoundError, match="ETTh2"):
        WindowDataModule("ETTh2", data_dir=tmp_path).setup()
    assert len(calls) == 1


def test_resolve_targets_is_one_rule_for_estimators_and_data_modules(wave):
    panel = to_panel(wave)
    assert panel.resolve_targets(None) == ["a", "b"]
    assert panel.resolve_targets("b") == ["b"]
    with pytest.raises(DataValidationError, match=r"target column\(s\) \['c'\] not found"):
        panel.resolve_targets(["c"])
    with pytest.raises(DataValidationError, match=r"target column\(s\) \['c'\] not found"):
        WindowDataModule(wave, target="c").target_columns


# --------------------------------------------------------------------------- CLI predict
def test_spikecast_predict_writes_forecasts_in_original_units(tmp_path):
    configs = [str(REPO / "configs" / "fast" / "base.yaml"),
               str(REPO / "configs" / "fast" / "ts_lif.yaml")]
    args = [a for c in configs for a in ("--config", c)]
    common = ["--trainer.enable_progress_bar=false", "--trainer.max_epochs=1",
              f"--trainer.default_root_dir={tmp_path}"]
    run = [sys.executable, "-m", "spikecast.cli"]
    subprocess.run([*run, "fit", *args, *common], cwd=tmp_path, check=True,
                   capture_output=True)
    ckpt = next(tmp_path.rglob("best.ckpt"))
    out = subprocess.run([*run, "predict", *args, *common, f"--ckpt_path={ckpt}"],
                         cwd=tmp_path, check=True, capture_output=True, text=True)
    path = Path(re.search(r"to (\S+forecasts\.csv)", out.stdout).group(1))
    forecasts = pd.read_csv(tmp_path / path, index_col=0, parse_dates=True)
    from spikecast.data import load_dataset

    co2 = load_dataset("co2")
    assert list(forecasts.columns) == ["co2"] and len(forecasts) == 13
    assert forecasts.index[0] == co2.index[-1] + pd.Timedelta(weeks=1)
    # original units (ppm, around the last observations), not standardised values
    assert abs(forecasts["co2"].mean() - co2["co2"].iloc[-52:].mean()) < 20


def test_models_without_covariates_take_the_same_x_at_predict_as_at_fit(wave):
    """Baselines ignore covariates; predict(y, X) after fit(y, X) must work as for the
    neural model, and a column seen nowhere in fit is still refused."""
    y, X = wave[["a"]], wave[["b"]]
    model = NaiveForecaster(horizon=4).fit(y, X)
    assert not get_tags(model).supports_covariates and model.ignored_columns_ == ["b"]
    pd.testing.assert_frame_equal(model.predict(y, X), model.predict(y))
    with pytest.raises(DataValidationError, match=r"column\(s\) \['c'\] were not seen in fit"):
        model.predict(y.assign(c=1.0))

"""Known-future covariates (``X_future``) and forecasts shorter than the fitted horizon,
through the public API: fit, predict, historical forecasts, model files, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast.base import get_tags
from spikecast.baselines import NaiveForecaster
from spikecast.exceptions import DataValidationError, InvalidParameterError

H = 6
FAST = dict(lookback=24, horizon=H, hidden_size=16, max_epochs=15, batch_size=32, lr=0.01,
            early_stopping_patience=None, val_size=0, accelerator="cpu", verbose=False,
            random_state=0)


def _planned(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A load that is 3x a planned (known-future) schedule plus a little noise; the schedule
    is random, so the target's own past cannot predict it."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    plan = pd.DataFrame({"plan": rng.integers(0, 2, n).astype(float)}, index=index)
    load = pd.DataFrame({"load": 3 * plan["plan"].to_numpy() + 0.05 * rng.normal(size=n)},
                        index=index)
    return load, plan


def test_a_future_covariate_that_determines_the_target_is_learned():
    load, plan = _planned()
    train, future = load.iloc[:-H], plan.iloc[-H:]
    with_future = NeuralForecaster(**FAST).fit(train, X_future=plan.iloc[:-H])
    forecast = with_future.predict(X_future=future)
    assert forecast.index.equals(load.index[-H:])
    error = np.abs(forecast["load"].to_numpy() - load["load"].to_numpy()[-H:]).mean()
    blind = NeuralForecaster(**FAST).fit(train).predict()
    blind_error = np.abs(blind["load"].to_numpy() - load["load"].to_numpy()[-H:]).mean()
    assert error < 0.5 < blind_error  # the schedule's effect (3) is learned, not guessed


def test_future_covariates_in_historical_forecasts_match_predict():
    load, plan = _planned(300)
    model = NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(load.iloc[:200],
                                                              X_future=plan.iloc[:200])
    ends = np.array([200, 250])
    hist = model.historical_forecasts(load, ends, X_future=plan)
    for c, end in enumerate(ends):
        direct = model.predict(load.iloc[:end], X_future=plan.iloc[:end + H])
        np.testing.assert_allclose(hist.points[c][0], direct.to_numpy(), rtol=1e-5, atol=1e-6)


def test_future_covariates_survive_save_and_load(tmp_path):
    load, plan = _planned(200)
    model = NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(load.iloc[:-H],
                                                              X_future=plan.iloc[:-H])
    model.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    pd.testing.assert_frame_equal(loaded.predict(X_future=plan.iloc[-H:]),
                                  model.predict(X_future=plan.iloc[-H:]))


def test_future_covariate_errors_name_the_problem():
    load, plan = _planned(200)
    model = NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(load.iloc[:-H],
                                                              X_future=plan.iloc[:-H])
    with pytest.raises(DataValidationError, match=r"fitted with known-future covariates "
                                                  r"\['plan'\]: pass X_future"):
        model.predict()
    with pytest.raises(DataValidationError, match=r"needs 6 row\(s\) right after .* has 3"):
        model.predict(X_future=plan.iloc[-H:-3])
    with pytest.raises(DataValidationError, match=r"columns seen in fit \['plan'\]"):
        model.predict(X_future=plan.rename(columns={"plan": "other"}).iloc[-H:])
    with pytest.raises(DataValidationError, match=r"X_future must have the same index as y"):
        NeuralForecaster(**FAST).fit(load, X_future=plan.iloc[1:])
    with pytest.raises(DataValidationError, match=r"NaiveForecaster does not use known-future"):
        NaiveForecaster(horizon=H).fit(load, X_future=plan)
    assert get_tags(model).supports_future_covariates
    assert not get_tags(NaiveForecaster(horizon=H)).supports_future_covariates


def test_predict_a_shorter_horizon_with_future_covariates():
    load, plan = _planned(200)
    model = NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(load.iloc[:-H],
                                                              X_future=plan.iloc[:-H])
    full = model.predict(X_future=plan.iloc[-H:])
    two = model.predict(X_future=plan.iloc[-H:-H + 2], horizon=2)
    pd.testing.assert_frame_equal(two, full.iloc[:2])
    with pytest.raises(InvalidParameterError, match=r"predict\(horizon=7\) exceeds the "
                                                    r"horizon=6"):
        model.predict(X_future=plan.iloc[-H:], horizon=7)


def test_calendar_features_are_cyclic_encodings_of_the_time_stamps():
    from spikecast.covariates import calendar_features

    index = pd.date_range("2024-01-01", periods=48, freq="h")
    features = calendar_features(index, ["hour", "dayofweek"])
    assert list(features.columns) == ["hour_sin", "hour_cos", "dayofweek_sin",
                                      "dayofweek_cos"]
    np.testing.assert_allclose(features["hour_sin"], np.sin(2 * np.pi * index.hour / 24))
    hours = features[["hour_sin", "hour_cos"]].to_numpy()
    np.testing.assert_allclose(hours[0], hours[24])  # a day later: the same hour
    assert not np.allclose(features["dayofweek_sin"].iloc[0], features["dayofweek_sin"].iloc[24])
    with pytest.raises(DataValidationError, match=r"unknown calendar feature\(s\) \['hours'\]"):
        calendar_features(index, ["hours"])
    with pytest.raises(DataValidationError, match="need a DatetimeIndex"):
        calendar_features(pd.RangeIndex(3), ["hour"])


def test_calendar_features_need_no_x_future_and_are_learned(tmp_path):
    index = pd.date_range("2024-01-01", periods=24 * 25, freq="h")
    rng = np.random.default_rng(1)
    # a daily profile that the last 24 hours alone would show, but only at a cost
    y = pd.DataFrame({"load": np.where(index.hour < 12, 0.0, 4.0)
                      + 0.05 * rng.normal(size=len(index))}, index=index)
    model = NeuralForecaster(**{**FAST, "calendar": ["hour"]}).fit(y.iloc[:-H])
    assert model.future_columns_ == ["hour_sin", "hour_cos"]
    forecast = model.predict()
    assert forecast.index.equals(y.index[-H:])
    assert np.abs(forecast["load"].to_numpy() - y["load"].to_numpy()[-H:]).mean() < 0.6
    model.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    pd.testing.assert_frame_equal(loaded.predict(), forecast)
    with pytest.raises(InvalidParameterError, match="calendar must be a list of calendar"):
        NeuralForecaster(calendar=["fortnight"]).fit(y)


def test_backtest_with_future_covariates_uses_them_at_every_cutoff():
    from spikecast.backtest import backtest, compare

    load, plan = _planned(400)
    frame = backtest(NeuralForecaster(**FAST), load, X_future=plan, start=300, stride=H,
                     refit=False, progress=False)
    assert frame["cutoff"].nunique() == len(range(300, 400 - H, H))
    assert (frame["y"] - frame["y_pred"]).abs().mean() < 0.5  # the schedule is used
    with pytest.raises(DataValidationError, match=r"X_future must have the same index as y"):
        backtest(NeuralForecaster(**FAST), load, X_future=plan.iloc[1:], start=300,
                 progress=False)
    with pytest.raises(DataValidationError, match=r"NaiveForecaster does not use known-future"):
        compare({"naive": NaiveForecaster(horizon=H)}, load, X_future=plan, start=300,
                progress=False)


def test_spikecast_predict_with_future_covariates_from_a_file(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    load, plan = _planned(400)
    data = load.join(plan).iloc[:-H].rename_axis("timestamp")
    data.to_csv(tmp_path / "data.csv")
    plan.iloc[-H:].rename_axis("timestamp").to_csv(tmp_path / "plan.csv")
    args = ["--config", str(repo / "configs/fast/base.yaml"),
            "--config", str(repo / "configs/fast/ts_lif.yaml"),
            "--data.data", "data.csv", "--data.target", "load", "--data.future", "plan",
            "--data.lookback", "24", "--data.horizon", str(H),
            "--trainer.max_epochs", "1", f"--trainer.default_root_dir={tmp_path}"]
    run = [sys.executable, "-m", "spikecast.cli"]
    subprocess.run([*run, "fit", *args], cwd=tmp_path, check=True, capture_output=True)
    ckpt = next(tmp_path.rglob("best.ckpt"))
    subprocess.run([*run, "predict", *args, f"--ckpt_path={ckpt}",
                    "--data.future_data", "plan.csv", "--output", "out.csv"],
                   cwd=tmp_path, check=True, capture_output=True)
    forecasts = pd.read_csv(tmp_path / "out.csv", index_col=0, parse_dates=True)
    assert forecasts.index.equals(plan.index[-H:]) and list(forecasts.columns) == ["load"]
    failed = subprocess.run([*run, "predict", *args, f"--ckpt_path={ckpt}"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert failed.returncode != 0
    assert "needs their values after the end: pass future_data" in failed.stderr

"""benchmarks/results.py scores on exactly the P1/P2 test windows of docs/protocols.md."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import benchmark_script, data_dir

results = benchmark_script("results")

pytestmark = pytest.mark.skipif(not (data_dir() / "ETTh1.csv").exists(),
                                reason="ETTh1.csv not in the data directory")


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch):
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(data_dir()))


def test_naive_p1_matches_the_published_figure():
    """'Repeat the last value' on ETTh1 at H = 96 scores about 1.295 / 0.713 (DLinear
    paper): our borders, train-only scaler and every-window averaging reproduce it."""
    row = results.baseline_row("p1", "naive", 96)
    assert row["mse"] == pytest.approx(1.295, abs=0.005)
    assert row["mae"] == pytest.approx(0.713, abs=0.003)


def test_p2_windows_and_metrics():
    row = results.baseline_row("p2", "seasonal_naive", 24)
    assert -1.0 < row["r2"] < 1.0 and row["rse"] > 0


def test_neural_row_recorded_with_its_command(tmp_path):
    csv = tmp_path / "results.csv"
    overrides = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                 "--trainer.limit_val_batches", "2", "--trainer.enable_progress_bar", "false",
                 "--trainer.enable_model_summary", "false", "--model.hidden_size", "8"]
    results.run("p1", ["gru", "naive"], [24], [0], overrides, csv, tmp_path / "runs")
    frame = pd.read_csv(csv)
    assert list(frame["model"]) == ["gru", "naive"]
    gru = frame[frame["model"] == "gru"].iloc[0]
    assert gru["params"] > 0 and gru["epochs"] == 1
    assert ("--config configs/p1/base.yaml --config configs/p1/etth1_gru.yaml"
            in gru["command"])
    assert "--data.horizon 24" in gru["command"]
    # a rerun of the same key replaces its row instead of duplicating it
    results.run("p1", ["naive"], [24], [0], [], csv, tmp_path / "runs")
    assert len(pd.read_csv(csv)) == 2
    assert "P1 MSE" in results.report(csv)


def test_ets_forecasts_one_pass_serves_every_horizon():
    """ETS is smoothed once per window at the longest horizon and sliced for shorter ones:
    the slice must equal a direct forecast at the shorter horizon, and the test windows of
    a longer horizon must be the first windows of a shorter one."""
    from spikecast.data import WindowDataModule

    short = WindowDataModule("etth1", lookback=96, horizon=96, split="p1")
    long = WindowDataModule("etth1", lookback=96, horizon=720, split="p1")
    x_short = results.test_windows(short)[0].double().numpy()
    x_long = results.test_windows(long)[0].double().numpy()
    assert len(x_long) == len(x_short) - (720 - 96)
    assert (x_short[: len(x_long)] == x_long).all()

    train = results._train_frame(short)
    windows = x_short[[0, 1000]]
    at_720, n_params = results.ets_forecasts(train, windows, 720)
    at_96, _ = results.ets_forecasts(train, windows, 96)
    assert at_720.shape == (2, 720, 7) and n_params == 7 * (4 + 2 + 24)
    assert abs(at_720[:, :96] - at_96).max() < 1e-10
    assert abs(at_96[0] - windows[0][-1]).mean() < 3  # a sane forecast near the level

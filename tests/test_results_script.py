"""benchmarks/results.py scores on exactly the P1/P2 test windows of PROTOCOLS.md."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest
from conftest import REPO, data_dir

spec = importlib.util.spec_from_file_location("results", REPO / "benchmarks" / "results.py")
results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(results)

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
    assert "--config configs/p1/etth1_gru.yaml" in gru["command"]
    assert "--data.horizon 24" in gru["command"]
    # a rerun of the same key replaces its row instead of duplicating it
    results.run("p1", ["naive"], [24], [0], [], csv, tmp_path / "runs")
    assert len(pd.read_csv(csv)) == 2
    assert "P1 MSE" in results.report(csv)

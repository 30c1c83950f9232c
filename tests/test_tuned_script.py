"""benchmarks/tuned.py: a configuration ``spikecast.tune`` selected is scored on the P2 test
windows as the very model it tuned, and baselines keep their tuned parameters."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import benchmark_script, data_dir
from optuna.distributions import CategoricalDistribution

import spikecast
from spikecast import NeuralForecaster

tuned = benchmark_script("tuned")

pytestmark = pytest.mark.skipif(not (data_dir() / "ETTh1.csv").exists(),
                                reason="ETTh1.csv not in the data directory")


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch):
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(data_dir()))


def test_tuned_neural_row_trains_the_model_the_study_selected(etth1_full, tmp_path):
    """The first 80 % of ETTh1 tuned with a quarter of it for validation is P2's training
    and validation part: the tuned row must reach the trial's validation loss again."""
    n_test = int(len(etth1_full) * 0.2)
    y = etth1_full.iloc[: len(etth1_full) - n_test]
    model = NeuralForecaster(horizon=6, lookback=168, encoder="stack", neuron="lif",
                             hidden_size=4, max_epochs=1, stride=64, random_state=0)
    result = spikecast.tune(model, y, space={"readout": CategoricalDistribution(["last"])},
                            n_trials=1, storage=tmp_path / "t.db", val_size=0.25,
                            output=tmp_path / "tuned" / "tiny_lif.yaml", data="etth1",
                            test_rows=n_test, progress=False)
    csv = tmp_path / "rows.csv"
    tuned.score("p2", tmp_path / "tuned", None, [6], [0], csv, tmp_path / "runs")
    (row,) = pd.read_csv(csv).itertuples()
    assert row.model == "tiny_lif" and row.epochs == 1
    assert "--model.readout last" in row.overrides and "--data.stride 64" in row.overrides
    assert row.val_loss == pytest.approx(result.best_value, rel=1e-5)
    assert 0 < row.rse < 2


def test_tuned_baseline_keeps_its_parameters(tmp_path):
    config = {"models": [{"name": "linear", "model": "linear",
                          "params": {"lookback": 84, "alpha": 3.0}}]}
    (tmp_path / "linear.yaml").write_text(yaml.safe_dump(config))
    csv = tmp_path / "rows.csv"
    tuned.score("p2", tmp_path, ["linear"], [6], [0], csv, tmp_path / "runs")
    row = pd.read_csv(csv).iloc[0]
    assert row["params"] == (84 + 1) * 6
    assert json.loads(row["command"].split("--params ")[1].strip("'")) == \
        {"lookback": 84, "alpha": 3.0}
    with pytest.raises(SystemExit, match="no tuned configuration for \\['ets'\\]"):
        tuned.score("p2", tmp_path, ["ets"], [6], [0], csv, tmp_path / "runs")


def test_overrides_parse_back_through_the_lightning_cli():
    tokens = tuned.neural_overrides({
        "model": {"encoder": "stack", "neuron_params": {"threshold": 0.5},
                  "quantiles": None, "instance_norm": True, "lr": 0.002},
        "trainer": {"max_epochs": 5}, "data": {"stride": 8}})[1]
    pairs = dict(zip(tokens[::2], tokens[1::2], strict=True))
    assert pairs["--model.neuron_params"] == '{"threshold": 0.5}'
    assert pairs["--model.quantiles"] == "null"
    assert pairs["--model.instance_norm"] == "true"
    assert pairs["--trainer.max_epochs"] == "5" and pairs["--data.stride"] == "8"


def test_merge_adds_every_workers_rows_once(tmp_path):
    row = {"protocol": "p2", "model": "m", "horizon": 6, "seed": 0, "overrides": "", "rse": 1.0}
    pd.DataFrame([row]).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame([{**row, "seed": 1}, {**row, "rse": 0.5}]).to_csv(tmp_path / "b.csv",
                                                                   index=False)
    out = tmp_path / "all.csv"
    tuned.main(["merge", "--config", "configs/tune/etth1_p2.yaml", "--csv", str(out),
                str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    merged = pd.read_csv(out)
    assert sorted(merged["seed"]) == [0, 1]  # the later file's seed-0 row replaced the first
    assert merged.loc[merged["seed"] == 0, "rse"].item() == 0.5

"""``spikecast tune --config FILE``: equal budgets, configs per model, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spikecast.cli import main
from spikecast.experiment.config import load_spec


@pytest.fixture(autouse=True)
def command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["spikecast"])


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def config(**tune) -> dict:
    return {"dataset": {"name": "co2", "tail": 150},
            "tune": {"horizon": 4, "n_trials": 2, "test_size": 0.2, "seed": 0, **tune},
            "models": [{"model": "naive"}, {"model": "linear", "params": {"lookback": 16}}]}


def test_tune_command_writes_a_config_per_model(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, config(storage=str(tmp_path / "studies.db")))
    assert main(["tune", "--config", str(path), "--output-dir", str(tmp_path / "out")]) == 0
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["model"]) == ["naive", "linear"]
    assert list(summary["n_trials"]) == [1, 2]  # nothing to tune: one trial
    spec = load_spec(tmp_path / "out" / "linear.yaml")
    # the tail of co2 is written beside the config; the test part (30 rows) was kept out
    # of the search, and the config backtests the tuned model on it
    data = pd.read_csv(spec.path)
    assert len(data) == 150 and spec.start == 150 - 30 - 1
    assert "linear" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "expected"), [
    ({"n_trials": 0}, "n_trials"),
    ({"bogus": 1}, "unknown key(s) ['bogus']"),
    ({"val_size": 1.5}, "val_size"),
])
def test_bad_tune_config_is_one_line(tmp_path, capsys, change, expected):
    path = write(tmp_path, config(**change))
    assert main(["tune", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spikecast: error: ")
    assert expected in err[0]


def test_missing_sections_and_files(tmp_path, capsys):
    assert main(["tune", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = config()
    del bad["tune"]
    assert main(["tune", "--config", str(write(tmp_path, bad))]) == 2
    assert "missing required key(s) ['tune']" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "configs" /
                                         "tune").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_tune_configs_load(path):
    """Every configs/tune file is a valid tune configuration whose models all build."""
    from spikecast.cli.tune import load_tune_config

    settings, spec = load_tune_config(str(path))
    assert settings["n_trials"] >= 1 and 0 < settings["test_size"] < 1
    assert len(spec.build_models()) == len(spec.models)

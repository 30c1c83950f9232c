"""The ``spikecast`` command: subcommands, outputs and one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import spikecast.cli.lightning  # noqa: F401  (Lightning's log handler binds to the real stderr)
from spikecast import __version__
from spikecast.cli import main
from spikecast.experiment.config import load_spec, spec_from_dict
from spikecast.experiment.registry import MODELS, ConfigError, build_model

REPO = Path(__file__).resolve().parents[1]
FAST_BASE = REPO / "configs" / "fast" / "base.yaml"  # composed with a model file:
FAST_CONFIG = REPO / "configs" / "fast" / "ts_lif.yaml"  # --config BASE --config MODEL


def tiny_config(**changes) -> dict:
    """A backtest config that runs in about a second."""
    config = {
        "dataset": {"name": "co2", "tail": 150},
        "backtest": {"horizon": 4, "start": 0.8, "stride": 8, "season_length": 52},
        "models": [
            {"model": "naive"},
            {"model": "seasonal_naive", "params": {"season_length": 52}},
            {"model": "linear", "params": {"lookback": 16}},
            {"model": "neural", "params": {"encoder": "stack", "neuron": "da_lif", "lookback": 16,
                                           "hidden_size": 4, "max_epochs": 1,
                                           "accelerator": "cpu", "devices": 1}},
        ],
        "seed": 0,
    }
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if name:
            config[section][name] = value
        else:
            config[section] = value
    return config


def write_config(tmp_path: Path, config, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return path


@pytest.fixture(autouse=True)
def command_line(monkeypatch):
    """Run as the command would (LightningCLI warns when sys.argv holds pytest's args)."""
    monkeypatch.setattr(sys, "argv", ["spikecast"])


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_error(capsys, argv: list[str]) -> str:
    """Run ``spikecast argv``; it must fail with exit status 2 and one error line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("spikecast: error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# ------------------------------------------------------------------------------ basics
def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"spikecast {__version__}"
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("fit", "test", "predict", "validate", "demo", "backtest", "datasets"):
        assert command in out


def test_console_script_exit_status():
    """The installed entry point returns main's status to the shell."""
    exe = Path(sys.executable).with_name("spikecast")
    assert subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                          check=True).stdout.startswith("spikecast ")
    done = subprocess.run([str(exe), "backtest", "--config", "missing.yaml"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "spikecast: error: config file missing.yaml does not exist"


def test_unknown_command_and_bad_option(capsys):
    for argv in (["bogus"], ["demo", "--seed", "x"], ["datasets"], ["backtest"],
                 ["backtest", "--config", "c.yaml", "--threads", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "error:" in capsys.readouterr().err


# ------------------------------------------------------------------------------ datasets
def test_datasets_list(capsys, tmp_path):
    assert main(["datasets", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.strip().splitlines()[1:]}
    assert out.splitlines()[0].split() == ["name", "freq", "rows", "columns", "source", "local"]
    assert rows["co2"] == ["co2", "W-SAT", "2284", "1", "statsmodels", "embedded"]
    assert rows["ETTh1"][-1] == "no"  # nothing in an empty data directory
    (tmp_path / "ETTh1.csv").write_text("date,OT\n")
    main(["datasets", "list", "--data-dir", str(tmp_path)])
    assert "yes" in next(line for line in capsys.readouterr().out.splitlines()
                         if line.split()[0] == "ETTh1")


def test_datasets_download(capsys, tmp_path):
    assert main(["datasets", "download", "co2"]) == 0
    assert "ships with statsmodels" in capsys.readouterr().out
    line = run_error(capsys, ["datasets", "download", "nosuch"])
    assert "unknown dataset 'nosuch'" in line and "ETTh1" in line
    # ILI has no stable URL: a failure to fetch (status 1), not a usage error
    assert main(["datasets", "download", "ILI", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spikecast: error: ") and "ILI" in err and str(tmp_path) in err


# ------------------------------------------------------------------------------ backtest
def test_backtest_writes_results(capsys, tmp_path):
    config = write_config(tmp_path, tiny_config())
    out_dir = tmp_path / "out"
    assert main(["backtest", "--config", str(config), "--output-dir", str(out_dir)]) == 0
    out = capsys.readouterr().out
    for model in ("naive", "seasonal_naive", "linear", "da_lif"):
        assert model in out
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["backtest.png", "errors_by_step.png", "forecast.png", "metrics.csv",
                     "predictions.csv", "results.md"]  # and no temporary files left behind
    for path in out_dir.iterdir():  # as readable as any file the user writes
        assert path.stat().st_mode & 0o777 == 0o666 & ~current_umask(), path.name
    table = pd.read_csv(out_dir / "metrics.csv", index_col="rank")
    assert list(table.index) == [1, 2, 3, 4]
    assert table["mase"].is_monotonic_increasing
    assert {"mae", "mse", "smape", "mase", "fit_time_s", "predict_time_s", "params",
            "energy_nj"} <= set(table.columns)
    neural = table.set_index("model").loc["da_lif"]
    assert neural["params"] > 0 and neural["energy_nj"] > 0
    assert pd.isna(table.set_index("model").loc["naive", "params"])
    predictions = pd.read_csv(out_dir / "predictions.csv")
    assert set(predictions["model"]) == {"naive", "seasonal_naive", "linear", "da_lif"}
    # every model scored on the same cutoffs and steps
    counts = predictions.groupby("model").size()
    assert counts.nunique() == 1
    assert (out_dir / "results.md").read_text().count("\n|") == 6  # header, rule, 4 rows


def test_backtest_config_output_dir_and_target(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tiny_config(output_dir="results/here",
                         dataset={"name": "macrodata", "columns": ["realgdp", "realcons"],
                                  "target": "realgdp"})
    config["backtest"].update(horizon=2, stride=4, season_length=4)
    config["models"][1]["params"] = {"season_length": 4}
    config["models"][2]["params"] = {"lookback": 8}
    config["models"][3]["params"]["lookback"] = 8
    config["models"] = [config["models"][3]]  # baselines cannot take covariates
    path = write_config(tmp_path, config)
    assert main(["backtest", "--config", str(path)]) == 0
    predictions = pd.read_csv(tmp_path / "results" / "here" / "predictions.csv")
    assert set(predictions["unique_id"]) == {"realgdp"}  # realcons is a covariate only


@pytest.mark.parametrize("change, expected", [
    ({"models": [{"model": "prophet"}]},
     "models[0]: unknown model 'prophet'; valid models: ['arima', 'drift', 'ets', "),
    ({"models": [{"model": "naive", "params": {"season": 4}}]},
     "model 'naive' has no parameter(s) ['season']; valid parameters: "),
    ({"models": [{"model": "neural", "params": {"encoder": "snn"}}]},
     "unknown encoder 'snn'; valid encoders: ['stack', 'spike_rnn', 'spike_tcn', "),
    ({"models": [{"model": "neural", "params": {"encoder": "stack", "neuron": "hh"}}]},
     "unknown neuron 'hh' for encoder Stack; valid neurons: ['da_lif', "),
    ({"dataset": {"name": "nosuch"}}, "dataset.name: unknown dataset 'nosuch'; valid names"),
    ({"dataset": {"tail": 100}}, "dataset: missing required key(s) ['name']"),
    ({"backtest": {"start": 0.8}}, "backtest: missing required key(s) ['horizon']"),
    ({"models": []}, "models must be a non-empty list"),
    ({"extra": 1}, "unknown key(s) ['extra']; valid keys: ['dataset', 'backtest', "),
    ({"backtest.metrics": ["mae", "wape"]}, "backtest.metrics: unknown metric(s) ['wape']"),
    ({"backtest.window": "rolling"}, "backtest.window must be 'expanding' or 'sliding'"),
    ({"backtest.horizon": 0}, "backtest.horizon must be an integer >= 1, got 0"),
    ({"models": [{"model": "naive"}, {"model": "naive"}]}, "two models are called 'naive'"),
    ({"models": [{"model": "naive", "params": {"horizon": 3}}]}, "set the horizon once"),
])
def test_backtest_config_errors(capsys, tmp_path, change, expected):
    config = tiny_config(**change)
    line = run_error(capsys, ["backtest", "--config", str(write_config(tmp_path, config))])
    assert expected in line
    assert str(tmp_path / "run.yaml") in line


def test_backtest_file_errors(capsys, tmp_path):
    line = run_error(capsys, ["backtest", "--config", str(tmp_path / "none.yaml")])
    assert line.endswith("does not exist")
    bad = write_config(tmp_path, "dataset: {name: co2\nmodels: [", "bad.yaml")
    line = run_error(capsys, ["backtest", "--config", str(bad)])
    assert "is not valid YAML (line " in line
    empty = write_config(tmp_path, "", "empty.yaml")
    assert "is empty" in run_error(capsys, ["backtest", "--config", str(empty)])


def test_backtest_data_error_is_one_line(capsys, tmp_path):
    """A valid config whose settings do not fit the data: one line, no traceback."""
    config = tiny_config(**{"backtest.start": 0.999})
    line = run_error(capsys, ["backtest", "--config", str(write_config(tmp_path, config))])
    assert "no cutoff has a full horizon" in line
    config = tiny_config(**{"backtest.season_length": 200})
    line = run_error(capsys, ["backtest", "--config", str(write_config(tmp_path, config))])
    assert "mase with season_length=200 on the 120 rows before the first cutoff" in line


def test_shipped_backtest_configs_are_valid():
    for path in sorted((REPO / "configs" / "backtest").glob("*.yaml")):
        spec = load_spec(path)
        assert spec.models and spec.horizon >= 1, path


def test_demo_configs_are_valid():
    """The demo's settings pass the checks every config gets; the full one backtests the
    12 cutoffs the README promises."""
    from spikecast.cli.demo import DEMO_ENCODERS, demo_config

    for quick in (False, True):
        spec = spec_from_dict(demo_config(quick, seed=3))
        assert set(DEMO_ENCODERS) <= set(spec.models)
        assert {"naive", "seasonal_naive", "drift", "ets", "linear"} <= set(spec.models)
        assert all(m.random_state == 3 for m in spec.build_models().values()
                   if hasattr(m, "random_state"))
    spec = spec_from_dict(demo_config())
    first = int(round(spec.start * spec.tail)) - 1  # as backtest places a fractional start
    cutoffs = range(first, spec.tail - spec.horizon, spec.stride)
    assert len(cutoffs) == 12
    assert "same 12 cutoffs" in (REPO / "README.md").read_text().replace("\n", " ")


def test_registry():
    assert set(MODELS) >= {"neural", "naive", "seasonal_naive", "drift", "arima", "ets",
                           "linear"}
    model = build_model("seasonal_naive", {"horizon": 3, "season_length": 7})
    assert (model.horizon, model.season_length) == (3, 7)
    with pytest.raises(ConfigError, match="rejected its parameters"):
        build_model("naive", {})  # horizon is required
    spec = spec_from_dict(tiny_config())
    models = spec.build_models()
    assert models["da_lif"].random_state == 0 and models["da_lif"].horizon == 4


# ------------------------------------------------------------------------------ Lightning
def test_lightning_config_file_errors(capsys, tmp_path):
    assert run_error(capsys, ["fit", "--config", str(tmp_path / "no.yaml")]).endswith(
        "does not exist")
    bad = write_config(tmp_path, "model: [\n", "bad.yaml")
    assert "is not valid YAML (line 2" in run_error(capsys, ["fit", "-c", str(bad)])


@pytest.mark.parametrize("old, new, expected", [
    ("data: co2", "data: nosuch", "unknown dataset 'nosuch'; valid names:"),
    ("encoder: stack", "encoder: snn", "unknown encoder 'snn'; valid encoders:"),
    ("neuron: ts_lif", "neuron: hh", "unknown neuron 'hh' for encoder Stack; valid neurons:"),
    ("encoder: stack", "encoder: ts_lif", "encoder='stack', neuron='ts_lif'"),
])
def test_lightning_bad_names(capsys, tmp_path, old, new, expected):
    assert old in FAST_BASE.read_text() + FAST_CONFIG.read_text()
    base, model = (write_config(tmp_path, p.read_text().replace(old, new), p.name)
                   for p in (FAST_BASE, FAST_CONFIG))
    line = run_error(capsys, ["fit", "--config", str(base), "--config", str(model)])
    assert expected in line


def test_lightning_print_config_and_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(FAST_BASE), "--config", str(FAST_CONFIG),
              "--trainer.max_epochs", "3", "--print_config"])
    assert exit_.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["max_epochs"] == 3
    assert printed["model"]["encoder"] == "stack"
    assert printed["model"]["neuron"] == "ts_lif"
    with pytest.raises(SystemExit) as exit_:
        main(["test", "--help"])
    assert exit_.value.code == 0
    assert "--ckpt_path" in capsys.readouterr().out

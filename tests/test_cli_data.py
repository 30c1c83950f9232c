"""The user's own data files on the command line: ``spikecast fit | predict --data PATH``
(with ``--output``) and ``spikecast backtest`` with ``dataset: {path: ...}``, read by
:func:`spikecast.data.read_table`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from spikecast.data import WindowDataModule, read_table
from spikecast.exceptions import DatasetNotFoundError, DataValidationError, InvalidParameterError
from spikecast.experiment.config import spec_from_dict
from spikecast.experiment.registry import ConfigError

RUN = [sys.executable, "-m", "spikecast.cli"]
ROWS = 60


def hourly(n: int = ROWS) -> pd.DataFrame:
    """A wide hourly frame with a ``timestamp`` column: a daily cycle plus a covariate."""
    t = np.arange(n)
    return pd.DataFrame({
        "timestamp": pd.date_range("2024-03-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
        "load": 100 + 10 * np.sin(2 * np.pi * t / 24) + 0.1 * t,
        "temp": 20 + np.cos(2 * np.pi * t / 24),
    })


def long_frame() -> pd.DataFrame:
    """Two daily series in long form with non-default column names."""
    parts = []
    for k, store in enumerate(("north", "south")):
        t = np.arange(ROWS)
        parts.append(pd.DataFrame({"store": store,
                                   "day": pd.date_range("2024-01-01", periods=ROWS, freq="D"),
                                   "sales": 50 * (k + 1) + 5 * np.sin(2 * np.pi * t / 7)}))
    return pd.concat(parts, ignore_index=True)


def spikecast(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], cwd=cwd, check=check, capture_output=True, text=True)


def fit_predict(tmp_path: Path, data: Path, *extra: str, output: str = "out.csv"):
    """Fit a tiny model on ``data`` for one epoch, predict to ``output``; the forecasts and
    the predict command's stdout."""
    common = ["--data.lookback=8", "--data.horizon=3", "--data.val_size=0.2",
              "--data.batch_size=16", "--model.hidden_size=4", "--trainer.max_epochs=1",
              "--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.logger=false",
              "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}",
              f"--data.data={data}", *extra]
    spikecast("fit", *common, cwd=tmp_path)
    ckpt = next(tmp_path.rglob("*.ckpt"))
    out = spikecast("predict", *common, f"--ckpt_path={ckpt}", f"--output={output}",
                    cwd=tmp_path)
    path = tmp_path / output
    assert f"to {output}" in out.stdout
    return (pd.read_csv(path) if output.endswith(".csv") else pd.read_parquet(path)), out


# ------------------------------------------------------------------------------ read_table
def test_read_table_wide_and_long(tmp_path):
    hourly().to_csv(tmp_path / "h.csv", index=False)
    frame = read_table(tmp_path / "h.csv")
    assert list(frame.columns) == ["load", "temp"] and frame.index.name == "timestamp"
    assert frame.index.freq == pd.tseries.frequencies.to_offset("h")
    assert list(read_table(tmp_path / "h.csv", value_cols="load").columns) == ["load"]
    long_frame().to_csv(tmp_path / "l.csv", index=False)
    long = read_table(tmp_path / "l.csv", id_col="store", time_col="day", freq="D")
    assert list(long.columns) == ["unique_id", "ds", "y"] and long["unique_id"].nunique() == 2


def test_read_table_errors_name_the_file_column_and_row(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="missing.csv does not exist"):
        read_table(tmp_path / "missing.csv")
    path = tmp_path / "h.csv"
    hourly().to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"time column 'when' is missing; the file "
                       r"has columns \['timestamp', 'load', 'temp'\]") as err:
        read_table(path, time_col="when")
    assert str(path) in str(err.value)
    bad = hourly()
    bad.loc[5, "timestamp"] = "not a date"
    bad.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"line 7 \(data row 5\): unparseable date "
                       "'not a date'"):
        read_table(path)
    bad = hourly()
    bad["load"] = bad["load"].astype(object)
    bad.loc[3, "load"] = "=1+1"  # never evaluated: just not a number
    bad.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"column 'load', line 5 \(data row 3\): "
                       "non-numeric value '=1\\+1'"):
        read_table(path)
    hourly().to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="breaks the freq='2h' grid"):
        read_table(path, freq="2h")
    with pytest.raises(DataValidationError, match="not a pandas frequency"):
        read_table(path, freq="fortnightly")
    (tmp_path / "h.txt").write_text("a,b\n")
    with pytest.raises(DataValidationError, match="unknown file type '.txt'"):
        read_table(tmp_path / "h.txt")
    long_frame().assign(extra=1.0).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataValidationError, match="takes one value column"):
        read_table(tmp_path / "l.csv", id_col="store")


def test_parquet(tmp_path):
    frame = hourly()
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        try:
            import fastparquet  # noqa: F401
        except ImportError:
            # neither engine: a clear error, not an ImportError traceback
            (tmp_path / "h.parquet").write_bytes(b"PAR1")
            with pytest.raises(DataValidationError, match="needs pyarrow or fastparquet"):
                read_table(tmp_path / "h.parquet")
            pytest.skip("parquet needs pyarrow or fastparquet")
    frame.to_parquet(tmp_path / "h.parquet", index=False)
    assert read_table(tmp_path / "h.parquet").equals(read_table(_csv(tmp_path, frame)))
    forecasts, _ = fit_predict(tmp_path, tmp_path / "h.parquet", output="f.parquet")
    assert list(forecasts.columns) == ["timestamp", "load", "temp"] and len(forecasts) == 3


def _csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(tmp_path / "same.csv", index=False)
    return tmp_path / "same.csv"


def test_data_module_options_are_checked(tmp_path):
    with pytest.raises(InvalidParameterError, match="freq"):
        WindowDataModule("x.csv", freq="often")
    with pytest.raises(InvalidParameterError, match="time_col"):
        WindowDataModule("x.csv", time_col=3)
    long_frame().to_csv(tmp_path / "l.csv", index=False)
    module = WindowDataModule(str(tmp_path / "l.csv"), id_col="store", lookback=8, horizon=3)
    assert module.panel.kind == "long" and module.panel.ids == ["north", "south"]


# ------------------------------------------------------------------------------ fit/predict
def test_fit_predict_on_a_wide_csv_with_output(tmp_path):
    data = hourly()
    data.to_csv(tmp_path / "my_hourly.csv", index=False)
    forecasts, _ = fit_predict(tmp_path, tmp_path / "my_hourly.csv", "--data.target=load")
    assert list(forecasts.columns) == ["timestamp", "load"]
    last = pd.Timestamp(data["timestamp"].iloc[-1])
    assert list(pd.to_datetime(forecasts["timestamp"])) == [
        last + pd.Timedelta(hours=h) for h in (1, 2, 3)]
    # original units (around 100), not standardised values
    assert forecasts["load"].between(50, 150).all()
    assert not list(tmp_path.glob(".out.csv.*"))  # written atomically: no leftovers


def test_fit_predict_on_a_long_csv(tmp_path):
    long_frame().to_csv(tmp_path / "stores.csv", index=False)
    forecasts, _ = fit_predict(tmp_path, tmp_path / "stores.csv", "--data.id_col=store",
                               "--data.time_col=day", "--data.freq=D")
    assert list(forecasts.columns) == ["unique_id", "ds", "y"]
    assert list(forecasts["unique_id"]) == ["north"] * 3 + ["south"] * 3
    assert list(pd.to_datetime(forecasts["ds"]))[:3] == list(
        pd.date_range("2024-03-01", periods=3, freq="D"))


def test_quantile_model_writes_quantile_columns(tmp_path):
    hourly().to_csv(tmp_path / "h.csv", index=False)
    forecasts, _ = fit_predict(tmp_path, tmp_path / "h.csv", "--model.loss=quantile",
                               "--model.quantiles=[0.1, 0.5, 0.9]", "--data.target=load")
    assert list(forecasts.columns) == ["timestamp", "load", "load_q0.1", "load_q0.5",
                                       "load_q0.9"]
    assert np.allclose(forecasts["load"], forecasts["load_q0.5"])
    assert forecasts["load_q0.5"].between(50, 150).all()  # original units


def test_data_errors_are_one_line(tmp_path):
    common = ["--trainer.accelerator=cpu", "--data.lookback=8", "--data.horizon=3"]
    done = spikecast("fit", "--data.data=missing.csv", *common, cwd=tmp_path, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "data file missing.csv does not exist" in done.stderr
    hourly().to_csv(tmp_path / "h.csv", index=False)
    done = spikecast("fit", "--data.data=h.csv", "--data.time_col=when", *common, cwd=tmp_path,
                     check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "time column 'when' is missing; the file has columns ['timestamp'" in done.stderr
    done = spikecast("predict", "--data.data=h.csv", "--output=f.xlsx", *common, cwd=tmp_path,
                     check=False)
    assert done.returncode == 2 and "must end in .csv or .parquet" in done.stderr
    done = spikecast("fit", "--data.data=h.csv", "--output=f.csv", *common, cwd=tmp_path,
                     check=False)
    assert done.returncode != 0  # --output belongs to predict only


# ------------------------------------------------------------------------------ backtest
def backtest_config(path, **dataset) -> dict:
    return {"dataset": {"path": str(path), **dataset},
            "backtest": {"horizon": 3, "start": 0.7, "stride": 6, "season_length": 24},
            "models": [{"model": "naive"},
                       {"model": "seasonal_naive", "params": {"season_length": 24}}]}


def test_backtest_on_a_csv(tmp_path, monkeypatch):
    data = hourly().rename(columns={"timestamp": "when"})
    data.to_csv(tmp_path / "my_hourly.csv", index=False)
    config = backtest_config("my_hourly.csv", time_col="when", freq="h", target="load")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    done = spikecast("backtest", "--config", "run.yaml", "--output-dir", "res", cwd=tmp_path)
    assert "my_hourly.csv" in done.stdout
    table = pd.read_csv(tmp_path / "res" / "metrics.csv")
    assert set(table["model"]) == {"naive", "seasonal_naive"}
    # a name that is a path works too
    monkeypatch.chdir(tmp_path)
    config["dataset"]["name"] = config["dataset"].pop("path")
    spec = spec_from_dict(config)
    assert spec.path == "my_hourly.csv"


def test_backtest_on_a_long_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long_frame().to_csv("stores.csv", index=False)
    config = backtest_config("stores.csv", id_col="store", time_col="day", target="sales",
                             tail=40)
    config["models"].append({"name": "snn", "model": "neural", "params": {"lookback": 8}})
    spec = spec_from_dict(config)
    frame = spec.load_data()
    assert list(frame.columns) == ["unique_id", "ds", "y"] and len(frame) == 80
    # long data holds one value column per series: the models get no target
    assert spec.build_models(frame)["snn"].target is None
    assert spec.build_models()["snn"].target == ["sales"]  # wide data keeps it


@pytest.mark.parametrize(("dataset", "expected"), [
    ({"path": "nowhere.csv"}, "dataset.path: data file nowhere.csv does not exist"),
    ({"path": "data.xlsx"}, "must be the path of a .csv or .parquet file"),
    ({"name": "co2", "time_col": "t"}, "apply only to a data file"),
    ({"path": "h.csv", "freq": "often"}, "'often' is not a pandas frequency"),
    ({"path": "h.csv", "name": "co2"}, "not both"),
])
def test_backtest_dataset_config_errors(tmp_path, monkeypatch, dataset, expected):
    monkeypatch.chdir(tmp_path)
    hourly().to_csv("h.csv", index=False)
    config = backtest_config("h.csv")
    config["dataset"] = dataset
    with pytest.raises(ConfigError, match=re.escape(expected)):
        spec_from_dict(config, source="run.yaml")


def test_backtest_bad_date_is_one_line(tmp_path):
    bad = hourly()
    bad.loc[10, "timestamp"] = "2024-13-45"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(backtest_config("bad.csv")))
    done = spikecast("backtest", "--config", "run.yaml", cwd=tmp_path, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bad.csv: time column 'timestamp', line 12 (data row 10): unparseable date " \
           "'2024-13-45'" in done.stderr


def test_dataset_head_then_tail_of_every_series(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long_frame().to_csv("stores.csv", index=False)
    spec = spec_from_dict(backtest_config("stores.csv", id_col="store", time_col="day",
                                          target="sales", head=50, tail=30))
    frame = spec.load_data()
    full = read_table("stores.csv", id_col="store", time_col="day", value_cols=["sales"])
    for uid, rows in frame.groupby("unique_id"):
        expected = full[full["unique_id"] == uid].iloc[20:50]
        assert list(rows["ds"]) == list(expected["ds"])
    # a registered dataset: the first rows (P1 keeps the first 14,400 of ETTh1 this way)
    co2 = spec_from_dict({**backtest_config("x"), "dataset": {"name": "co2", "head": 100}})
    assert len(co2.load_data()) == 100
    with pytest.raises(ConfigError, match="dataset.head"):
        spec_from_dict({**backtest_config("x"), "dataset": {"name": "co2", "head": 1}})

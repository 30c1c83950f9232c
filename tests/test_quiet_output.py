"""Quiet by default: nothing from Lightning unless asked for (``verbose=True``, ``--verbose``),
progress bars named after the model they run and drawn only on a terminal, and the scale of
``spikecast test``'s metrics said out loud.

Lightning's log messages go to its own handler on the real stderr, or to pytest's log
capture, so they are checked with ``capfd`` (file descriptors) and ``caplog``, or in a
subprocess; warnings are recorded with the ``"always"`` action, so
that the project's pytest ``filterwarnings`` cannot hide them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightning.pytorch.callbacks import Callback

from spikecast import NeuralForecaster
from spikecast.backtest import backtest, compare
from spikecast.baselines import DriftForecaster, NaiveForecaster
from spikecast.cli import main
from spikecast.cli.lightning import TEST_NOTE

REPO = Path(__file__).resolve().parents[1]
FAST_BASE = REPO / "configs" / "fast" / "base.yaml"
FAST_MODEL = REPO / "configs" / "fast" / "ts_lif.yaml"
SPIKECAST = Path(sys.executable).with_name("spikecast")
TINY = dict(encoder="gru", lookback=8, horizon=3, hidden_size=4, max_epochs=1, batch_size=32,
            random_state=0)
#: what Lightning prints or warns on its own (not about the user's data or model)
LIGHTNING_NOISE = ("Seed set", "GPU available", "TPU available", "💡", "litlogger", "LeafSpec",
                   "Trainable params")


def _frame(n: int = 120) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(t / 4.0) + 2.0, "b": np.cos(t / 7.0)},
                        index=pd.date_range("2024-01-01", periods=n, freq="h"))


def _assert_quiet(text: str) -> None:
    for noise in LIGHTNING_NOISE:
        assert noise not in text, f"{noise!r} printed:\n{text}"


class _WarnAboutModel(Callback):
    """Warns the way a user's model or data would, during training."""

    def on_train_start(self, trainer, pl_module) -> None:
        warnings.warn("the user's model says so", UserWarning, stacklevel=2)
        warnings.warn("a deprecation of the user's own code", FutureWarning, stacklevel=2)


# ------------------------------------------------------------------------------ estimator
def test_quiet_fit_emits_nothing_and_restores_logging(capfd, caplog):
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = NeuralForecaster(verbose=False, **TINY).fit(_frame())
    assert [str(w.message) for w in caught] == []
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert caplog.records == []  # (where pytest routes Lightning's log)
    assert [lg.level for lg in loggers] == levels  # Lightning's logging left as it was
    assert model.predict().shape == (3, 2)


def test_quiet_fit_lets_warnings_about_the_model_through():
    model = NeuralForecaster(verbose=False, trainer_kwargs={"callbacks": [_WarnAboutModel()]},
                             **TINY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(_frame())
    assert sorted(str(w.message) for w in caught) == [
        "a deprecation of the user's own code", "the user's model says so"]


def test_verbose_fit_shows_lightning(capfd, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        NeuralForecaster(verbose=True, **TINY).fit(_frame())
    # Lightning logs to its own stderr handler, or to pytest's when pytest has one
    assert "GPU available" in capfd.readouterr().err + caplog.text


def test_backtest_of_a_neural_model_reports_no_warning(capfd):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = backtest(NeuralForecaster(verbose=False, **TINY), _frame(), start=100,
                       stride=5, refit=False, progress=False)
    assert [str(w.message) for w in caught] == []
    assert out.attrs["n_warnings"] == 0
    _assert_quiet(capfd.readouterr().err)


# ------------------------------------------------------------------------------ progress bars
def test_compare_labels_the_bars_with_the_keys(capsys):
    models = {"last value": NaiveForecaster(horizon=3), "trend": DriftForecaster(horizon=3)}
    result = compare(models, _frame(), start=100, stride=5, progress=True)
    err = capsys.readouterr().err
    assert "backtest last value" in err and "backtest trend" in err
    assert "NaiveForecaster" not in err and "DriftForecaster" not in err
    assert list(result.table.index) == ["last value", "trend"]
    with pytest.raises(TypeError, match="name="):
        compare(models, _frame(), start=100, name="mine")


def test_backtest_name_labels_bar_attrs_and_defaults_to_the_class(capsys):
    out = backtest(NaiveForecaster(horizon=3), _frame(), start=100, stride=5, progress=True,
                   name="my naive")
    assert out.attrs["model"] == "my naive"
    assert "backtest my naive" in capsys.readouterr().err
    out = backtest(NaiveForecaster(horizon=3), _frame(), start=100, stride=5, progress=False)
    assert out.attrs["model"] == "NaiveForecaster"


def test_progress_by_default_only_on_a_terminal(capsys, monkeypatch):
    naive = NaiveForecaster(horizon=3)
    backtest(naive, _frame(), start=100, stride=5)  # captured stderr is no terminal
    compare({"n": naive}, _frame(), start=100, stride=5)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    compare({"n": naive}, _frame(), start=100, stride=5)
    assert "backtest n" in capsys.readouterr().err


def test_cli_backtest_progress_flag(capsys):
    with pytest.raises(SystemExit):
        main(["backtest", "--help"])
    out = capsys.readouterr().out
    assert "--progress" in out and "--no-progress" in out


# ------------------------------------------------------------------------------ the CLI
def _spikecast(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([str(SPIKECAST), *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)


FAST = ["--config", str(FAST_BASE), "--config", str(FAST_MODEL)]


def test_cli_fit_and_test_print_no_lightning_adverts(tmp_path):
    """One run of each (a test needs the fit's checkpoint): no Lightning messages, and the
    test metrics (names unchanged) followed by the note on their scale."""
    fit = _spikecast("fit", *FAST, "--trainer.max_epochs", "1", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    _assert_quiet(fit.stdout + fit.stderr)
    best = Path("outputs") / "fast" / "ts_lif" / "checkpoints" / "best.ckpt"
    assert (tmp_path / best).exists()
    test = _spikecast("test", *FAST, "--ckpt_path", str(best), cwd=tmp_path)
    assert test.returncode == 0, test.stderr
    _assert_quiet(test.stdout + test.stderr)
    assert "test_mse" in test.stdout and "test_mae" in test.stdout
    assert test.stdout.rstrip().endswith(TEST_NOTE)
    assert "standardised scale" in TEST_NOTE and "spikecast predict" in TEST_NOTE


def test_cli_verbose_shows_lightning(tmp_path):
    done = _spikecast("validate", *FAST, "--verbose", "--trainer.limit_val_batches", "1",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Seed set to 0" in done.stderr and "GPU available" in done.stderr


def test_cli_config_error_prints_one_line(tmp_path):
    bad = tmp_path / "base.yaml"
    bad.write_text(FAST_BASE.read_text().replace("data: co2", "data: nosuch"))
    done = _spikecast("fit", "--config", str(bad), "--config", str(FAST_MODEL), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spikecast: error: unknown dataset 'nosuch'"), \
        done.stderr

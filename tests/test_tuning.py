"""spikecast.tune: validation-only selection, pruning, resumable and shared studies, spaces,
and the configs that reproduce the best trial."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

import spikecast
from spikecast import NeuralForecaster
from spikecast.baselines import (
    ETSForecaster,
    LinearForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
)
from spikecast.exceptions import InvalidParameterError
from spikecast.experiment.config import load_spec
from spikecast.tuning import default_space, tune_many
from spikecast.tuning.storage import STARTED_ATTR, TrialBudget, open_storage

REPO = Path(__file__).resolve().parents[1]
HORIZON = 4
LINEAR_SPACE = {"alpha": FloatDistribution(1e-3, 1e2, log=True),
                "lookback": CategoricalDistribution([8, 12, 16])}


@pytest.fixture
def y() -> pd.DataFrame:
    """160 hours of a noisy daily cycle."""
    index = pd.date_range("2024-01-01", periods=160, freq="h")
    rng = np.random.default_rng(0)
    values = np.sin(2 * np.pi * np.arange(160) / 24) + 0.2 * rng.standard_normal(160)
    return pd.DataFrame({"load": 10 + values}, index=index)


def tiny_neural(**params) -> NeuralForecaster:
    return NeuralForecaster(**{"encoder": "stack", "neuron": "lif", "lookback": 16,
                               "horizon": HORIZON, "hidden_size": 8, "max_epochs": 2,
                               "batch_size": 64, "accelerator": "cpu", "verbose": False,
                               **params})


def finished(study) -> list:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


# ------------------------------------------------------------------ selection, baselines
def test_baseline_selected_on_validation_rows_only(y, tmp_path):
    result = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=LINEAR_SPACE,
                            n_trials=3, storage=tmp_path / "t.db", val_size=0.25, seed=0,
                            output=tmp_path / "linear.yaml")
    assert result.n_trials == 3 and len(result.trials) == 3
    assert set(result.trials["state"]) == {"COMPLETE"}
    assert result.best_value == pytest.approx(result.trials["value"].min())
    assert result.model.lookback == result.best_params["lookback"]
    # the loss recomputed by hand: fit before the last 40 rows, forecast every origin in
    # them, MSE on the training rows' standard scale; the rows after y are never read
    train_end = len(y) - 40
    model = LinearForecaster(horizon=HORIZON, **result.best_params).fit(y.iloc[:train_end])
    scale = y.iloc[:train_end]["load"].std(ddof=0)
    errors = [(model.predict(y.iloc[:o]).to_numpy()[:, 0] - y["load"].to_numpy()[o:o + HORIZON])
              / scale for o in range(train_end, len(y) - HORIZON + 1)]
    assert result.best_value == pytest.approx(float(np.mean(np.square(errors))), rel=1e-6)
    # the backtest config reproduces it: spikecast's own config checks accept it
    spec = load_spec(tmp_path / "linear.yaml")
    assert spec.models == {"linear": ("linear", result.best_params)}
    assert spec.start == train_end - 1 and spec.horizon == HORIZON
    assert "validation loss" in (tmp_path / "linear.yaml").read_text().splitlines()[0]


def test_default_spaces():
    lif = default_space(tiny_neural())
    assert {"lr", "hidden_size", "num_layers", "dropout", "readout", "encoding",
            "neuron_params.threshold"} <= set(lif)
    assert lif["lr"].log
    gru = default_space(tiny_neural(encoder="gru", neuron=None))
    assert "neuron_params.threshold" not in gru and "encoding" not in gru
    assert "neuron_params.threshold" not in default_space(tiny_neural(neuron="relu"))
    assert default_space(NaiveForecaster(horizon=4)) == {}
    assert callable(default_space(ETSForecaster(horizon=4)))  # damped only with a trend
    seasonal = default_space(SeasonalNaiveForecaster(horizon=4, season_length=12), 200, "h")
    assert list(seasonal["season_length"].choices) == [12, 24]
    assert set(default_space(LinearForecaster(horizon=4, lookback=8), 100)["lookback"]
               .choices) == {4, 8, 16}


def test_define_by_run_space_and_nothing_to_tune(y, tmp_path):
    storage = tmp_path / "t.db"
    naive = spikecast.tune(NaiveForecaster(horizon=HORIZON), y, n_trials=5, storage=storage)
    assert naive.n_trials == 1 and naive.best_params == {}  # deterministic: one trial
    ets = spikecast.tune(ETSForecaster(horizon=HORIZON, season_length=24), y, n_trials=2,
                         storage=storage, seed=1, stride=4)
    for params in ets.trials.filter(like="params_").to_dict("records"):
        assert params["params_trend"] == "add" or pd.isna(params.get("params_damped_trend"))
    assert ets.model.season_length == 24


# ------------------------------------------------------------------ neural, pruning
class OddTrialsPruner(optuna.pruners.BasePruner):
    """Prunes every odd-numbered trial at its first report."""

    def prune(self, study, trial) -> bool:
        return trial.number % 2 == 1


def test_neural_pruned_through_lightning_and_config_reproduces(y, tmp_path, monkeypatch,
                                                                capsys):
    space = {"lr": FloatDistribution(1e-3, 1e-2, log=True),
             "neuron_params.threshold": FloatDistribution(0.5, 1.5)}
    result = spikecast.tune(tiny_neural(), y, space=space, n_trials=3, seed=0,
                            storage=f"sqlite:///{tmp_path / 't.db'}", pruner=OddTrialsPruner(),
                            output=tmp_path / "best.yaml", val_size=0.25)
    trials = result.study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED,
                                         TrialState.COMPLETE]
    assert len(trials[1].intermediate_values) == 1  # stopped after its first epoch
    assert len(trials[0].intermediate_values) == 2  # val_loss reported every epoch
    assert result.best_value == pytest.approx(min(trials[0].value, trials[2].value))
    assert result.model.neuron_params == {"threshold": result.best_params[
        "neuron_params.threshold"]}
    refit = result.model.fit(y)  # the same validation rows, the same seed: the same loss
    assert refit.best_val_loss_ == pytest.approx(result.best_value, rel=1e-4)

    config = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert config["model"]["lr"] == pytest.approx(result.best_params["lr"])
    assert round(config["data"]["val_size"] * len(y)) == 40
    assert config["data"]["test_size"] == 0
    assert Path(config["data"]["data"]).exists()  # the data, written beside the config
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["spikecast"])
    from spikecast.cli import main

    assert main(["fit", "--config", str(tmp_path / "best.yaml"),
                 "--trainer.max_epochs", "1"]) == 0
    assert (tmp_path / "best" / "checkpoints" / "best.ckpt").exists()  # beside its config


# ------------------------------------------------------------------ resume, workers
def test_resumed_study_counts_finished_trials(y, tmp_path):
    storage = tmp_path / "t.db"
    first = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=LINEAR_SPACE,
                           n_trials=2, storage=storage, seed=0, progress=False)
    again = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=LINEAR_SPACE,
                           n_trials=4, storage=storage, seed=0)
    assert again.study.study_name == first.study.study_name  # same search, same study
    assert again.n_trials == 4 and len(again.trials) == 4
    assert list(again.trials["value"][:2]) == list(first.trials["value"])
    other = spikecast.tune(LinearForecaster(horizon=HORIZON), y.iloc[:-8], space=LINEAR_SPACE,
                           n_trials=1, storage=storage)
    assert other.study.study_name != first.study.study_name  # other data: a new study


WORKER = """
import sys
import numpy as np, pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution
import spikecast
from spikecast.baselines import LinearForecaster
index = pd.date_range("2024-01-01", periods=160, freq="h")
rng = np.random.default_rng(0)
y = pd.DataFrame({{"load": 10 + np.sin(2 * np.pi * np.arange(160) / 24)
                   + 0.2 * rng.standard_normal(160)}}, index=index)
space = {{"alpha": FloatDistribution(1e-3, 1e2, log=True),
          "lookback": CategoricalDistribution([8, 12, 16])}}
spikecast.tune(LinearForecaster(horizon=4), y, space=space, n_trials={n_trials},
               storage=sys.argv[1], study_name="shared", seed=int(sys.argv[2]),
               heartbeat_interval=1)
"""


def start_worker(tmp_path: Path, n_trials: int, seed: int) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER.format(n_trials=n_trials)))
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "shared.db"),
                             str(seed)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def load_shared(tmp_path: Path):
    # through open_storage, which holds the lock file while a worker creates the tables
    return optuna.load_study(study_name="shared", storage=open_storage(tmp_path / "shared.db"))


OPEN_AT = """
import sys, time
from spikecast.tuning.storage import open_storage
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
open_storage(sys.argv[1])
"""


def test_workers_opening_a_new_database_at_once_all_succeed(tmp_path):
    # without the lock, 12 of 20 such openings failed: every worker created the tables
    # and all but one hit "UNIQUE constraint failed: alembic_version.version_num"
    start_at = time.time() + 15  # after every child's imports
    workers = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(tmp_path / "new.db"),
                                 str(start_at)], cwd=REPO, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err


def test_two_workers_share_one_sqlite_study(tmp_path):
    workers = [start_worker(tmp_path, 6, seed) for seed in (1, 2)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    trials = load_shared(tmp_path).get_trials()
    assert len(trials) == 6  # exactly the budget, between them
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert sorted(t.number for t in trials) == list(range(6))


def test_killed_run_resumes_without_losing_finished_trials(y, tmp_path):
    worker = start_worker(tmp_path, 500, 1)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if (tmp_path / "shared.db").exists():
            try:
                if len(finished(load_shared(tmp_path))) >= 3:
                    break
            except (KeyError, optuna.exceptions.StorageInternalError):
                continue  # the study is being created
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    before = {t.number: t.value for t in finished(load_shared(tmp_path))}
    assert len(before) >= 3
    result = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=LINEAR_SPACE,
                            n_trials=len(before) + 2, storage=tmp_path / "shared.db",
                            study_name="shared", seed=3, heartbeat_interval=1)
    assert result.n_trials == len(before) + 2
    after = {t.number: t.value for t in finished(result.study)}
    assert all(after[number] == value for number, value in before.items())
    # a trial the kill interrupted is failed (not counted), never left running
    states = {t.state for t in result.study.get_trials()}
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states


def test_trial_of_a_worker_killed_before_its_first_heartbeat_does_not_block(y, tmp_path):
    """A worker killed between creating its trial and the trial's first heartbeat leaves a
    RUNNING trial that Optuna's stale check never fails (it needs a heartbeat): the next
    run must fail it and finish its budget instead of waiting for ever."""
    orphan = optuna.create_study(study_name="shared",
                                 storage=open_storage(tmp_path / "shared.db")).ask()
    result = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=LINEAR_SPACE,
                            n_trials=2, storage=tmp_path / "shared.db", study_name="shared",
                            seed=3, heartbeat_interval=1)
    assert result.n_trials == 2
    states = {t.number: t.state for t in result.study.get_trials()}
    assert states[orphan.number] == TrialState.FAIL
    assert TrialState.RUNNING not in states.values()


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_trial_killed_right_after_it_started_is_found_stale(tmp_path):
    """A worker killed after marking its trial started but before Optuna's heartbeat thread
    wrote anything left a marked RUNNING trial that nothing failed: the resumed run of
    test_killed_run_resumes_without_losing_finished_trials waited for it for ever. started()
    writes the first heartbeat itself, so the stale check finds the trial."""
    storage = open_storage(tmp_path / "k.db", heartbeat_interval=1)
    study = optuna.create_study(study_name="killed", storage=storage)
    budget = TrialBudget(study, 2, storage)
    assert budget.next() == "go"
    trial = study.ask()
    budget.started(trial)  # ... and the worker dies here
    time.sleep(4)  # past the grace period (two intervals) with the stored time's rounding
    optuna.storages.fail_stale_trials(study)
    assert study.trials[trial.number].state == TrialState.FAIL


def test_a_trial_finishing_while_the_budget_is_counted_starts_no_extra_trial(tmp_path):
    """Another worker's trial that finishes while a worker counts must be counted once:
    counted with two reads (finished, then running) it was in neither, and two workers ran
    21 trials of a budget of 20 (the P1 LSTM search)."""
    storage = open_storage(tmp_path / "b.db")
    study = optuna.create_study(study_name="budget", storage=storage)
    study.tell(study.ask(), 1.0)
    elsewhere = study.ask()  # the other worker's trial, RUNNING
    elsewhere.set_user_attr(STARTED_ATTR, True)
    budget = TrialBudget(study, 2, storage)
    read = study.get_trials

    def read_then_finish(*args, states=None, **kwargs):
        trials = read(*args, states=states, **kwargs)
        counting = states != (TrialState.RUNNING,)  # (not the check for orphans)
        if counting and read(states=(TrialState.RUNNING,)):
            study.tell(elsewhere, 2.0)  # it finishes right after this worker's read
        return trials

    study.get_trials = read_then_finish
    assert budget.next() == "wait"  # 1 finished + 1 running: the budget is taken
    assert budget.next() == "done"


# ------------------------------------------------------------------ several models, errors
def test_tune_many_gives_every_model_the_same_budget(y, tmp_path):
    results = tune_many({"naive": NaiveForecaster(horizon=HORIZON),
                         "linear": LinearForecaster(horizon=HORIZON, lookback=12),
                         "linear_b": LinearForecaster(horizon=HORIZON, lookback=8)},
                        y, n_trials=3, storage=tmp_path / "t.db", output_dir=tmp_path,
                        spaces={"linear_b": {"alpha": FloatDistribution(0.1, 10.0)}})
    assert [r.n_trials for r in results.values()] == [1, 3, 3]
    assert {r.val_size for r in results.values()} == {0.2}
    for label in results:
        assert load_spec(tmp_path / f"{label}.yaml").models[label][0] in ("naive", "linear")


def test_bad_arguments_name_what_is_wrong(y, tmp_path):
    model = LinearForecaster(horizon=HORIZON)
    with pytest.raises(InvalidParameterError, match="no parameter 'alphaa'"):
        spikecast.tune(model, y, space={"alphaa": FloatDistribution(0.1, 1.0)},
                       storage=tmp_path / "t.db")
    with pytest.raises(InvalidParameterError, match="n_trials"):
        spikecast.tune(model, y, n_trials=0, storage=tmp_path / "t.db")
    with pytest.raises(InvalidParameterError, match="val_size"):
        spikecast.tune(model, y, val_size=2, storage=tmp_path / "t.db")
    with pytest.raises(InvalidParameterError, match="space"):
        spikecast.tune(model, y, space=[1, 2], storage=tmp_path / "t.db")


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_configuration_that_cannot_fit_scores_inf(y, tmp_path):
    space = {"lookback": CategoricalDistribution([8, 500])}
    result = spikecast.tune(LinearForecaster(horizon=HORIZON), y, space=space, n_trials=2,
                            storage=tmp_path / "t.db",
                            sampler=optuna.samplers.BruteForceSampler(seed=0))
    too_long = result.trials[result.trials["params_lookback"] == 500]
    assert len(too_long) == 1 and too_long["value"].iloc[0] == math.inf
    assert "needs at least" in too_long["user_attrs_error"].iloc[0]  # why, recorded
    assert math.isfinite(result.best_value) and result.best_params == {"lookback": 8}


def test_optuna_not_imported_by_import_spikecast():
    code = ("import sys, json, spikecast, spikecast.tuning, spikecast.cli.tune\n"
            "print(json.dumps('optuna' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False

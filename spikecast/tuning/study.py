"""``tune`` and ``tune_many``: an Optuna study per model, selected on validation loss only."""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spikecast.exceptions import (
    DataValidationError,
    InvalidParameterError,
    OptionalDependencyError,
)

try:
    import optuna
except ImportError as _err:  # pragma: no cover - optuna is in the ``tune`` extra
    raise OptionalDependencyError(
        "spikecast.tune needs optuna: pip install 'spikecast[tune]' (or pip install optuna "
        "optuna-integration)", package="optuna") from _err

from spikecast.tuning import export
from spikecast.tuning.objective import is_neural, validation_border, validation_loss
from spikecast.tuning.pruning import pruning_callback
from spikecast.tuning.spaces import (
    check_space,
    default_space,
    registry_name,
    sample,
    space_names,
    with_params,
)
from spikecast.tuning.storage import FINISHED, TrialBudget, open_storage

__all__ = ["tune", "tune_many", "TuneResult", "model_label"]


@dataclass
class TuneResult:
    """What :func:`tune` found.

    Attributes:
        name: the model's label (``"ets"``, ``"stack_ts_lif"``, ...).
        best_params: the sampled parameters of the best trial (as the space names them).
        best_value: its validation loss.
        study: the Optuna study (every trial, in its storage).
        n_trials: finished trials (COMPLETE or PRUNED) in the study.
        trials: ``study.trials_dataframe()``: one row per trial (number, value, state,
            ``params_*``, ``user_attrs_*``, times).
        model: an unfitted copy of the tuned model with the best parameters.
        config_path: the config written (``output=``), else ``None``.
        val_size: the validation rows (fraction or count) the trials were scored on.
        stride: rows between validation forecast origins (non-neural models).
    """

    name: str
    best_params: dict
    best_value: float
    study: Any
    n_trials: int
    trials: pd.DataFrame
    model: Any
    config_path: Path | None = None
    val_size: float | int = 0.2
    stride: int = 1
    data: Any = field(default=None, repr=False)

    def write_config(self, path: str | os.PathLike, data=None, test_rows: int = 0) -> Path:
        """Write the config that reproduces the best configuration (atomically).

        A neural model gets a Lightning CLI config (``spikecast fit --config PATH``), any
        other a backtest config (``spikecast backtest --config PATH``):
        :mod:`spikecast.tuning.export`.

        Args:
            path: the ``.yaml`` file.
            data: how the config names the data (a dataset name, a file path, a mapping
                with ``data`` and the data module's file keys); default: the tuning data,
                written beside the config as ``<stem>.data.csv``.
            test_rows: rows after the tuning data in ``data``: its test part (0: ``data``
                is exactly the tuning data).
        """
        ref = export.data_reference(data, self.data, path)
        train_end, n = validation_border(self.data, self.val_size, int(self.model.horizon))
        # the run's folder beside its config, named after it: two configs of one model
        # label (P1 and P2, say) never share checkpoints
        root = Path(path).with_suffix("").as_posix()
        if is_neural(self.model):
            config, skipped = export.lightning_config(
                self.model, ref, val_rows=n - train_end, n_rows=n, test_rows=test_rows,
                root_dir=root)
            command = f"spikecast fit --config {path}"
        else:
            start = n - 1 if test_rows else train_end - 1
            config, skipped = export.backtest_config(
                self.model, ref, registry_name=registry_name(self.model), label=self.name,
                start=start, stride=self.stride, output_dir=root)
            command = f"spikecast backtest --config {path}"
        header = [f"spikecast tune: the best of {self.n_trials} trial(s) of study "
                  f"{self.study.study_name!r}, validation loss {self.best_value:.6g}",
                  f"reproduce: {command}"]
        if skipped:
            header.append(f"not in this file (objects a config cannot hold): {skipped}")
        self.config_path = export.write_yaml(config, path, "\n".join(header))
        return self.config_path


def model_label(model) -> str:
    """A short name of ``model``: its registry name, and for a neural model its
    architecture and neuron (``"stack_ts_lif"``, ``"gru"``)."""
    name = registry_name(model)
    if not is_neural(model):
        return name
    from spikecast.models import architectures

    encoder = architectures.encoder_name(model.encoder).rsplit(".", 1)[-1]
    return encoder if model.neuron is None else f"{encoder}_{model.neuron}"


def _fingerprint(model, space, y, val_size, stride: int) -> str:
    """8 hex digits that change with the fixed parameters, the space, the validation
    settings and the data: the default study name's suffix (same search: same study)."""
    fixed = {}
    for key, value in sorted(model.get_params(deep=False).items()):
        try:
            fixed[key] = export.plain(value)
        except ValueError:
            fixed[key] = type(value).__name__
    described = (getattr(space, "__qualname__", "space") if callable(space)
                 else {k: repr(v) for k, v in space.items()})
    digest = hashlib.sha1(repr((registry_name(model), fixed, described, val_size,
                                stride)).encode())
    if isinstance(y, (pd.DataFrame, pd.Series)):
        digest.update(pd.util.hash_pandas_object(y, index=True).to_numpy().tobytes())
    else:
        digest.update(np.ascontiguousarray(np.asarray(y, dtype=float)).tobytes())
    return digest.hexdigest()[:8]


def _duplicate(study, trial) -> float | None:
    """The value of a COMPLETE trial with the same parameters (deterministic: not re-run)."""
    for done in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if done.params == trial.params and done.number != trial.number:
            trial.set_user_attr("duplicate_of", done.number)
            return done.value
    return None


@dataclass
class _Search:
    """One model's search: what every trial needs."""

    model: Any
    y: Any
    space: Any
    val_size: float | int
    stride: int
    prune: bool
    budget: TrialBudget

    def objective(self, trial) -> float:
        """Sample, build, score; errors of a configuration that cannot fit the data score
        ``inf`` (recorded as the trial's ``error`` attribute)."""
        self.budget.started(trial)
        params = sample(trial, self.space)
        candidate = with_params(self.model, params)
        known = _duplicate(trial.study, trial)
        if known is not None:
            return known
        callbacks = [pruning_callback(trial)] if self.prune and is_neural(candidate) else []
        try:
            value = validation_loss(candidate, self.y, val_size=self.val_size,
                                    stride=self.stride, callbacks=callbacks)
        except (InvalidParameterError, DataValidationError) as err:
            trial.set_user_attr("error", str(err))
            return math.inf
        if not math.isfinite(value):
            trial.set_user_attr("error", "the validation loss is not finite")
        return value


def _progress_bar(total: int, done: int, name: str, progress: bool | None):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, initial=min(done, total), desc=f"tune {name}", unit="trial",
                disable=not progress, file=sys.stderr)


def _best_value(study) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no COMPLETE trial yet
        return None


def _run(study, search: _Search, bar) -> None:
    """Run trials until the budget is spent (by this worker and the others)."""
    def update(study, frozen) -> None:
        bar.update(max(0, min(search.budget.n_trials, search.budget.finished()) - bar.n))
        best = _best_value(study)
        if best is not None:
            bar.set_postfix(best=f"{best:.4g}")

    while True:
        state = search.budget.next()
        if state == "done":
            return
        if state == "wait":
            search.budget.pause()
            update(study, None)
            continue
        with search.budget.trial():
            study.optimize(search.objective, n_trials=1, callbacks=[update],
                           gc_after_trial=False)


def _check_arguments(model, n_trials, stride) -> None:
    from spikecast.base import BaseForecaster

    if not isinstance(model, BaseForecaster):
        raise InvalidParameterError(f"model must be a spikecast forecaster, got "
                                    f"{type(model).__name__}")
    model.validate_params()
    for name, value in (("n_trials", n_trials), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}")


def _open_study(name: str, storage, sampler, pruner, seed):
    """Create the study in the opened ``storage``, or load it to resume."""
    study = optuna.create_study(
        storage=storage, study_name=name,
        direction="minimize", load_if_exists=True,
        sampler=sampler or optuna.samplers.TPESampler(seed=seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
    return study


def _result(name: str, study, model, y, space, val_size, stride: int) -> TuneResult:
    complete = [t for t in study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.COMPLETE,))
                if t.value is not None and math.isfinite(t.value)]
    if not complete:
        errors = [t.user_attrs["error"] for t in study.get_trials(deepcopy=False)
                  if "error" in t.user_attrs]
        raise InvalidParameterError(
            f"study {study.study_name!r}: no trial completed with a finite validation loss"
            + (f"; the first error: {errors[0]}" if errors else ""))
    best = min(complete, key=lambda t: t.value)
    tuned = with_params(model, sample(optuna.trial.FixedTrial(best.params), space))
    if is_neural(tuned):  # it validates on the rows it was selected on
        tuned.set_params(val_size=val_size)
    return TuneResult(name=name, best_params=dict(best.params), best_value=float(best.value),
                      study=study, n_trials=len(study.get_trials(deepcopy=False,
                                                                 states=FINISHED)),
                      trials=study.trials_dataframe(), model=tuned, val_size=val_size,
                      stride=stride, data=y)


def tune(model, y, *, space=None, n_trials: int = 20, storage=None,
         study_name: str | None = None, val_size: float | int = 0.2, stride: int = 1,
         output: str | os.PathLike | None = None, data=None, test_rows: int = 0,
         prune: bool = True, sampler=None, pruner=None, seed: int | None = None,
         progress: bool | None = None, heartbeat_interval: int = 10,
         name: str | None = None) -> TuneResult:
    """Tune ``model`` on ``y`` with Optuna: ``n_trials`` configurations from ``space``,
    each scored on the last ``val_size`` rows of ``y`` only, the best kept.

    The study lives in ``storage`` (SQLite by default), so a search that stops (an
    interrupt, a killed process) resumes where it stopped when ``tune`` is called again
    with the same study: the finished trials count toward ``n_trials``. Several processes
    or machines that call ``tune`` with the same ``storage`` and ``study_name`` share the
    work; together they run ``n_trials`` trials (:mod:`spikecast.tuning.storage`).

    Neural trials report their validation loss after every epoch and stop early when the
    ``pruner`` says so (Optuna's Lightning integration, :mod:`spikecast.tuning.pruning`).
    A configuration that does not fit the data (a look-back longer than the training rows)
    or whose training diverges scores ``inf``, with its ``error`` in the trials table.

    Args:
        model: a spikecast forecaster (its parameters outside ``space`` stay as they are).
        y: the tuning data: training and validation rows, never the test rows.
        space: ``{parameter: optuna distribution}`` (``"neuron_params.threshold"``
            sets one key of a dict parameter) or a function ``space(trial) -> params``
            (:mod:`spikecast.tuning.spaces`); default: the model's
            :func:`~spikecast.tuning.spaces.default_space`. A model with nothing to tune
            gets one trial.
        n_trials: finished trials (COMPLETE or PRUNED) the study should hold.
        storage: an SQLite file path, a database URL, or an Optuna storage object
            (default: ``spikecast-tune.db`` in the working directory).
        study_name: the study to create or resume (default: the model's label and a digest
            of its fixed parameters, the space, the validation settings and the data, so
            that the same search resumes and a different one starts afresh).
        val_size: the validation rows at the end of every series (a fraction or a count).
        stride: rows between validation forecast origins of non-neural models (1: every
            window, as the neural validation loss).
        output: write the best configuration here (:meth:`TuneResult.write_config`).
        data: how that config names the data (see :meth:`TuneResult.write_config`).
        test_rows: rows after ``y`` in ``data`` (its test part).
        prune: prune neural trials (``False``: every trial runs to its end).
        sampler: an Optuna sampler (default: TPE seeded with ``seed``).
        pruner: an Optuna pruner (default: median, after 5 trials and 1 epoch).
        seed: the default sampler's seed; workers sharing a study need different seeds (or
            ``None``) so that they do not propose the same configurations.
        progress: a progress bar over the trials with the best value so far (default:
            when stderr is a terminal).
        heartbeat_interval: seconds between a running trial's heartbeats (a killed
            worker's trial is failed and queued again after twice that).
        name: the model's label (default: :func:`model_label`).

    Returns:
        A :class:`TuneResult`.

    Raises:
        InvalidParameterError: a bad argument, a space that names no parameter of the
            model, or no trial with a finite validation loss.
    """
    _check_arguments(model, n_trials, stride)
    train_end, _ = validation_border(y, val_size, int(model.horizon))
    if space is None:
        from spikecast.data.frames import to_panel

        space = default_space(model, train_end, to_panel(y, what="y").freqs[0])
    space = check_space(space)
    with_params(model, {n: None for n in space_names(space)})  # unknown names fail here
    name = name or model_label(model)
    budget_size = int(n_trials) if callable(space) or space else 1
    study_name = study_name or f"{name}-{_fingerprint(model, space, y, val_size, stride)}"
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the bar says it all
    try:
        opened = open_storage(storage, heartbeat_interval)
        study = _open_study(study_name, opened, sampler, pruner, seed)
        budget = TrialBudget(study, budget_size, opened)
        search = _Search(model, y, space, val_size, int(stride), prune, budget)
        with _progress_bar(budget_size, budget.finished(), name, progress) as bar:
            _run(study, search, bar)
    finally:
        optuna.logging.set_verbosity(verbosity)
    result = _result(name, study, model, y, space, val_size, int(stride))
    if output is not None:
        result.write_config(output, data=data, test_rows=test_rows)
    return result


def _labelled(models) -> dict:
    """``{label: model}`` from a mapping or a sequence (labels by :func:`model_label`,
    numbered when two models share one)."""
    if isinstance(models, Mapping):
        return dict(models)
    if not isinstance(models, Sequence) or isinstance(models, str):
        raise InvalidParameterError("models must be a dict {label: forecaster} or a list of "
                                    f"forecasters, got {type(models).__name__}")
    labelled: dict = {}
    for model in models:
        label = model_label(model)
        k = 2
        while label in labelled:
            label, k = f"{model_label(model)}_{k}", k + 1
        labelled[label] = model
    return labelled


def tune_many(models, y, *, n_trials: int = 20, output_dir: str | os.PathLike | None = None,
              study_prefix: str | None = None, spaces: Mapping | None = None,
              **kwargs) -> dict[str, TuneResult]:
    """Tune several models with the same budget: ``n_trials`` trials each (one for a model
    with nothing to tune), on the same validation rows, one study per model.

    Args:
        models: ``{label: forecaster}`` or a list of forecasters.
        y: the tuning data (no test rows).
        n_trials: trials per model.
        output_dir: write each best configuration as ``<label>.yaml`` here.
        study_prefix: study names ``<prefix><label>`` (default: :func:`tune`'s).
        spaces: ``{label: space}`` for the models that do not use their default space.
        **kwargs: :func:`tune`'s other arguments (``storage``, ``val_size``, ...).

    Returns:
        ``{label: TuneResult}``, in the order of ``models``.
    """
    if "space" in kwargs or "output" in kwargs or "study_name" in kwargs:
        raise InvalidParameterError("tune_many takes spaces= (by label), output_dir= and "
                                    "study_prefix= instead of space=, output=, study_name=")
    results = {}
    for label, model in _labelled(models).items():
        output = None if output_dir is None else Path(output_dir) / f"{label}.yaml"
        study_name = None if study_prefix is None else f"{study_prefix}{label}"
        results[label] = tune(model, y, space=(spaces or {}).get(label), n_trials=n_trials,
                              study_name=study_name, output=output, name=label, **kwargs)
    return results

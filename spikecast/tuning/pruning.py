"""Pruning of neural trials through Optuna's Lightning integration.

:func:`pruning_callback` is ``optuna_integration.PyTorchLightningPruningCallback``: after
every validation epoch it reports ``val_loss`` to the trial (``trial.report``) and, when the
study's pruner says so, raises :class:`optuna.TrialPruned` out of ``Trainer.fit``, which the
study records as a PRUNED trial. It imports ``lightning.pytorch`` (the namespace
spikecast's Lightning modules use), not the older ``pytorch_lightning`` package, so it
plugs straight into a :class:`~spikecast.NeuralForecaster` through
``trainer_kwargs={"callbacks": [...]}``.
"""

from __future__ import annotations

from spikecast.exceptions import OptionalDependencyError

__all__ = ["MONITOR", "pruning_callback"]

#: the metric the neural trials are pruned and selected on (``ForecastModule`` logs it)
MONITOR = "val_loss"


def pruning_callback(trial, monitor: str = MONITOR):
    """A Lightning callback that reports ``monitor`` to ``trial`` after every validation
    epoch and prunes the trial when the study's pruner decides so.

    Raises:
        OptionalDependencyError: ``optuna-integration`` is not installed (the message says
            how to install it).
    """
    try:
        from optuna_integration import (  # type: ignore[import-untyped]  # no py.typed
            PyTorchLightningPruningCallback,
        )
    except ImportError as err:
        raise OptionalDependencyError(
            "pruning neural trials needs optuna-integration (pip install "
            "'spikecast[tune]' or pip install optuna-integration), or pass prune=False",
            package="optuna-integration") from err
    return PyTorchLightningPruningCallback(trial, monitor=monitor)

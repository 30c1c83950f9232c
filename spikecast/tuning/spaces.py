"""Search spaces: the default one of every registered model, and how a trial samples one.

A search space is either

- a mapping ``{parameter: optuna distribution}`` (``optuna.distributions.FloatDistribution``,
  ``IntDistribution``, ``CategoricalDistribution``), where a dotted name sets one key of a
  dict parameter (``"neuron_params.threshold"`` sets ``threshold`` in ``neuron_params``,
  merged with the model's own), or
- a callable ``space(trial) -> {parameter: value}`` that samples with Optuna's
  define-by-run API (``trial.suggest_float(...)``), for spaces where one choice depends on
  another (ETS: a damped trend needs a trend).

:func:`default_space` gives the space a model is tuned over when the user gives none;
:data:`SPACES` holds the builders by registry name (:data:`spikecast.experiment.registry.MODELS`),
so a new model gets a default space by one line there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import BaseTrial
from sklearn.base import clone

from spikecast.exceptions import InvalidParameterError

__all__ = ["Space", "SPACES", "default_space", "registry_name", "sample", "with_params",
           "space_names"]

#: a search space: distributions by parameter name, or a define-by-run sampler
Space = Mapping[str, BaseDistribution] | Callable[[BaseTrial], dict]

#: hidden sizes tried for neural models (powers of two: the usual grid of the literature)
HIDDEN_SIZES = [16, 32, 64, 128]


def registry_name(model) -> str:
    """The name of ``model``'s class in :data:`spikecast.experiment.registry.MODELS`
    (``"neural"``, ``"ets"``, ...), or its class name for an unregistered forecaster."""
    from spikecast.experiment.registry import MODELS, model_class

    for name in MODELS:
        if type(model) is model_class(name):
            return name
    return type(model).__name__


def _neural_space(model, n_rows: int, freq) -> Space:
    """lr (log-uniform), hidden size, layers, dropout, readout; the spike encoding where the
    architecture takes one; the firing threshold where the neuron has one."""
    from spikecast import neurons
    from spikecast.models import READOUTS, architectures
    from spikecast.models.encodings import ENCODINGS

    space: dict[str, BaseDistribution] = {
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
        "hidden_size": CategoricalDistribution(HIDDEN_SIZES),
        "num_layers": IntDistribution(1, 3),
        "dropout": FloatDistribution(0.0, 0.3),
        "readout": CategoricalDistribution(list(READOUTS)),
    }
    cls = architectures.resolve(model.encoder)
    if "encoding" in inspect.signature(cls.__init__).parameters:
        space["encoding"] = CategoricalDistribution(list(ENCODINGS))
    neuron = cls.default_neuron if model.neuron is None else model.neuron
    if neuron in neurons.NEURONS and \
            "threshold" in inspect.signature(neurons.NEURONS[neuron].__init__).parameters:
        space["neuron_params.threshold"] = FloatDistribution(0.25, 2.0, log=True)
    return space


def _seasonal_naive_space(model, n_rows: int, freq) -> Space:
    """The model's own season length and the usual one of the data's frequency."""
    from spikecast.baselines.statistical import season_length_of

    usual = season_length_of(freq)
    lengths = {int(model.season_length)} | ({usual} if usual and usual < n_rows else set())
    return {"season_length": CategoricalDistribution(sorted(lengths))} if len(lengths) > 1 \
        else {}


def _ets_space(model, n_rows: int, freq) -> Space:
    """Trend (none / additive, damped or not) and seasonal component (additive / none)."""
    def space(trial: BaseTrial) -> dict:
        trend = trial.suggest_categorical("trend", [None, "add"])
        damped = trial.suggest_categorical("damped_trend", [False, True]) if trend else False
        seasonal = trial.suggest_categorical("seasonal", ["add", None])
        return {"trend": trend, "damped_trend": damped, "seasonal": seasonal}

    return space


def _arima_space(model, n_rows: int, freq) -> Space:
    """Non-seasonal orders ``p, q`` in 0..3 and ``d`` in 0..1 (``order`` is one tuple)."""
    def space(trial: BaseTrial) -> dict:
        p = trial.suggest_int("p", 0, 3)
        d = trial.suggest_int("d", 0, 1)
        q = trial.suggest_int("q", 0, 3)
        return {"order": (p, d, q)}

    return space


def _linear_space(model, n_rows: int, freq) -> Space:
    """The look-back (half, once and twice the model's, as far as the data allows) and the
    ridge penalty (log-uniform)."""
    lookback, horizon = int(model.lookback), int(model.horizon)
    lags = sorted({max(1, lookback // 2), lookback, 2 * lookback})
    lags = [lag for lag in lags if lag + horizon <= n_rows] or [lookback]
    return {"lookback": CategoricalDistribution(lags),
            "alpha": FloatDistribution(1e-3, 1e2, log=True)}


def _var_space(model, n_rows: int, freq) -> Space:
    """The largest lag order and the criterion that selects the order below it."""
    return {"maxlags": IntDistribution(1, 8),
            "ic": CategoricalDistribution(["aic", "bic", "hqic"])}


def _no_space(model, n_rows: int, freq) -> Space:
    """Nothing to tune: one trial evaluates the model as it is."""
    return {}


#: registry name -> ``builder(model, n_rows, freq) -> Space``: the default space of the
#: model given its training rows (per series, the shortest) and the data's frequency
SPACES: dict[str, Callable[[Any, int, Any], Space]] = {
    "neural": _neural_space,
    "naive": _no_space,
    "drift": _no_space,
    "seasonal_naive": _seasonal_naive_space,
    "ets": _ets_space,
    "arima": _arima_space,
    "linear": _linear_space,
    "var": _var_space,
}


def default_space(model, n_rows: int = 10**9, freq=None) -> Space:
    """The search space ``model`` is tuned over by default (:data:`SPACES`).

    Args:
        model: a spikecast forecaster (its fixed parameters shape the space: the neuron's
            threshold is tuned only where the neuron has one).
        n_rows: the training rows available (so that look-backs fit in them).
        freq: the data's frequency (so that seasonal models try its usual period).

    Raises:
        InvalidParameterError: a model without a default space (pass ``space=``).
    """
    name = registry_name(model)
    if name not in SPACES:
        raise InvalidParameterError(
            f"space: {type(model).__name__} has no default search space; pass space= (a "
            f"dict of optuna distributions or a function of the trial); models with one: "
            f"{sorted(SPACES)}")
    return SPACES[name](model, n_rows, freq)


def space_names(space: Space) -> list[str]:
    """The parameter names of a static space (a callable space: none known in advance)."""
    return [] if callable(space) else list(space)


def _suggest(trial: BaseTrial, name: str, dist: BaseDistribution):
    """One value of ``dist`` through the trial's public ``suggest_*`` methods."""
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    raise InvalidParameterError(
        f"space[{name!r}] must be an optuna FloatDistribution, IntDistribution or "
        f"CategoricalDistribution, got {type(dist).__name__}")


def check_space(space) -> Space:
    """``space`` if it is a mapping of optuna distributions or a callable, else an
    :class:`InvalidParameterError` saying what is valid."""
    if callable(space):
        return space
    if not isinstance(space, Mapping):
        raise InvalidParameterError(
            f"space must be a dict {{parameter: optuna distribution}} or a function of the "
            f"trial returning {{parameter: value}}, got {type(space).__name__}")
    for name, dist in space.items():
        if not isinstance(name, str) or not isinstance(
                dist, (FloatDistribution, IntDistribution, CategoricalDistribution)):
            raise InvalidParameterError(
                f"space[{name!r}] must be an optuna FloatDistribution, IntDistribution or "
                f"CategoricalDistribution, got {type(dist).__name__}")
    return space


def sample(trial: BaseTrial, space: Space) -> dict:
    """The parameters of one trial: every distribution of a static space sampled, or what
    a callable space returns."""
    if callable(space):
        return dict(space(trial))
    return {name: _suggest(trial, name, dist) for name, dist in space.items()}


def with_params(model, params: Mapping[str, Any]):
    """An unfitted copy of ``model`` with ``params`` set; a dotted name ``"a.b"`` sets key
    ``b`` of the dict parameter ``a`` (merged with the model's own).

    Raises:
        InvalidParameterError: a name that is not a parameter of the model.
    """
    valid = model.get_params(deep=False)
    flat: dict[str, Any] = {}
    for name, value in params.items():
        top, _, key = name.partition(".")
        if top not in valid:
            raise InvalidParameterError(
                f"space: {type(model).__name__} has no parameter {top!r}; valid: "
                f"{sorted(valid)}")
        if key:
            flat[top] = {**(flat.get(top) or valid[top] or {}), key: value}
        else:
            flat[top] = value
    return clone(model).set_params(**flat)

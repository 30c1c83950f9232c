"""Forecasters by name, for configuration files and the demo.

``spikecast backtest`` configs and ``spikecast demo`` name their models with the keys of
:data:`MODELS` (``"neural"``, ``"naive"``, ``"seasonal_naive"``, ...) and give the
constructor's keyword arguments; :func:`build_model` checks both (the arguments against the
forecaster's declared constraints, :mod:`spikecast.validation`) and says exactly what is
wrong. The classes are imported on first use, so listing names does not load torch.
"""

from __future__ import annotations

import importlib
import inspect

from spikecast.exceptions import ConfigError, InvalidParameterError

__all__ = ["MODELS", "ConfigError", "model_class", "model_params", "build_model"]

#: model name -> ``module:Class`` of its forecaster
MODELS: dict[str, str] = {
    "neural": "spikecast.forecaster:NeuralForecaster",
    "naive": "spikecast.baselines:NaiveForecaster",
    "seasonal_naive": "spikecast.baselines:SeasonalNaiveForecaster",
    "drift": "spikecast.baselines:DriftForecaster",
    "arima": "spikecast.baselines:ARIMAForecaster",
    "ets": "spikecast.baselines:ETSForecaster",
    "var": "spikecast.baselines:VARForecaster",
    "linear": "spikecast.baselines:LinearForecaster",
}




def model_class(name: str) -> type:
    """The forecaster class registered as ``name``.

    Raises:
        ConfigError: unknown name (the message lists the valid ones).
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; valid models: {sorted(MODELS)}")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def model_params(name: str) -> list[str]:
    """The constructor arguments the model called ``name`` accepts."""
    return list(inspect.signature(model_class(name)).parameters)


def build_model(name: str, params: dict | None = None, *, where: str = "model"):
    """An unfitted forecaster ``MODELS[name](**params)``, its arguments checked as ``fit``
    checks them (``validate_params``), so a bad value fails before any data is loaded.

    Args:
        name: a key of :data:`MODELS`.
        params: constructor keyword arguments.
        where: how error messages refer to this model (e.g. ``"models[2] (ts_lif)"``).

    Raises:
        ConfigError: unknown model name, unknown parameter, an invalid parameter value (the
            message names it and what is valid), or a constructor that rejects the arguments.
    """
    cls = model_class(name)
    params = dict(params or {})
    valid = model_params(name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(
            f"{where}: model {name!r} has no parameter(s) {unknown}; valid parameters: {valid}"
        )
    try:
        model = cls(**params)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {name} rejected its parameters: {err}") from err
    try:
        model.validate_params()
    except InvalidParameterError as err:
        raise ConfigError(f"{where}: {err}") from err
    return model

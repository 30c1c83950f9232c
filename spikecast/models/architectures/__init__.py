"""Encoder architectures by name: :func:`available`, :func:`resolve`, :func:`build`.

An architecture and a neuron are separate choices: ``build("spike_tcn", neuron="liaf", ...)``
is SpikeTCN made of LIAF neurons, ``neuron="relu"`` the same network run as an ANN. A new
architecture is one file with an :class:`~spikecast.models.architectures.base.Encoder`
subclass plus one line in :data:`ARCHITECTURES`; a user's own class can be passed instead of a
name (or, in a config file, its import path ``"package.module.Class"``).
"""

from __future__ import annotations

import importlib
import inspect
from typing import cast

from spikecast.models.architectures.base import (
    Encoder,
    SpikeMatMul,
    Synapse,
)
from spikecast.models.units import neuron_names

__all__ = [
    "ARCHITECTURES",
    "Encoder",
    "SpikeMatMul",
    "Synapse",
    "available",
    "build",
    "encoder_name",
    "resolve",
]

#: Architecture name -> ``module:Class``.
ARCHITECTURES: dict[str, str] = {
    "stack": "spikecast.models.architectures.stack:Stack",
    "spike_rnn": "spikecast.models.architectures.spike_rnn:SpikeRNN",
    "spike_tcn": "spikecast.models.architectures.spike_tcn:SpikeTCN",
    "spike_gru": "spikecast.models.architectures.spike_gru:SpikeGRU",
    "ispikformer": "spikecast.models.architectures.ispikformer:ISpikformer",
    "gru": "spikecast.models.architectures.recurrent:GRU",
    "lstm": "spikecast.models.architectures.recurrent:LSTM",
}


def available() -> list[str]:
    """The architecture names :func:`resolve` accepts, in registry order."""
    return list(ARCHITECTURES)


def _import(path: str) -> object:
    module, _, name = path.replace(":", ".").rpartition(".")
    return getattr(importlib.import_module(module), name)


def resolve(encoder) -> type[Encoder]:
    """The :class:`Encoder` class for a name, an import path or a class.

    Raises:
        ValueError: an unknown name (the message lists the valid ones; a neuron name gets the
            new spelling), a path that does not import, or a class that is no ``Encoder``.
    """
    if isinstance(encoder, str):
        if encoder in ARCHITECTURES:
            # our own registry: every entry is an Encoder subclass
            return cast("type[Encoder]", _import(ARCHITECTURES[encoder]))
        if encoder in neuron_names():
            raise ValueError(
                f"encoder={encoder!r} is a neuron: the architecture and the neuron are separate "
                f"choices, e.g. encoder='stack', neuron={encoder!r}; architectures: "
                f"{available()}"
            )
        if "." not in encoder:
            raise ValueError(f"unknown encoder {encoder!r}; valid encoders: {available()} or "
                             "an Encoder subclass (or its import path 'package.module.Class')")
        try:
            found = _import(encoder)
        except (ImportError, AttributeError, ValueError) as err:
            raise ValueError(f"encoder {encoder!r} cannot be imported: {err}; valid encoders: "
                             f"{available()}") from err
        encoder = found
    if not (inspect.isclass(encoder) and issubclass(encoder, Encoder)):
        raise ValueError(
            f"encoder must be one of {available()} or a subclass of "
            f"spikecast.models.architectures.Encoder, got {encoder!r}"
        )
    return encoder


def encoder_name(encoder) -> str:
    """A short label: the registry name, else the class's import path."""
    if isinstance(encoder, str):
        return encoder
    return f"{encoder.__module__}.{encoder.__qualname__}"


def build(encoder, input_size: int, **params) -> Encoder:
    """Construct an architecture, its keyword arguments checked against its signature.

    Args:
        encoder: a name of :func:`available`, an import path or an ``Encoder`` subclass.
        input_size: see :class:`Encoder`.
        **params: the architecture's arguments (``hidden_size``, ``neuron``, ...).

    Raises:
        ValueError: unknown architecture, unknown argument (the message lists the valid
            ones), or a neuron the architecture cannot use.
    """
    cls = resolve(encoder)
    signature = inspect.signature(cls.__init__).parameters
    accepted = [k for k, p in signature.items() if k not in ("self", "input_size")
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    open_ended = any(p.kind == p.VAR_KEYWORD for p in signature.values())
    unknown = sorted(set(params) - set(accepted))
    if unknown and not open_ended:  # **kwargs pass on to Encoder, which checks them
        raise ValueError(f"encoder {encoder_name(encoder)!r} takes no {unknown}; its "
                         f"arguments: {accepted}")
    return cls(input_size=input_size, **params)

"""Neurons by name: :func:`build` and :func:`available`."""

from __future__ import annotations

from spikecast.neurons.base import BaseNeuron
from spikecast.neurons.da_lif import DALIF
from spikecast.neurons.liaf import LIAF
from spikecast.neurons.lif import LIF
from spikecast.neurons.plif import PLIF
from spikecast.neurons.tc_lif import TCLIF
from spikecast.neurons.ts_lif import TSLIF

__all__ = ["NEURONS", "available", "build"]

#: Neuron classes by name.
NEURONS: dict[str, type[BaseNeuron]] = {
    "lif": LIF,
    "plif": PLIF,
    "liaf": LIAF,
    "da_lif": DALIF,
    "ts_lif": TSLIF,
    "tc_lif": TCLIF,
}


def available() -> list[str]:
    """Names accepted by :func:`build`, sorted."""
    return sorted(NEURONS)


def build(name: str, **params) -> BaseNeuron:
    """The neuron called ``name`` (see :func:`available`), constructed with ``params``.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    if not isinstance(name, str) or name not in NEURONS:
        raise ValueError(f"unknown neuron {name!r}; valid neurons: {available()}")
    return NEURONS[name](**params)

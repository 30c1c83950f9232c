"""Spiking neurons: LIF, PLIF, LIAF, DA-LIF, TS-LIF, TC-LIF, and surrogate gradients.

Every neuron is a :class:`BaseNeuron`: ``neuron(x)`` maps an input current ``[T, B, *features]``
(time-major, features last) to an output of the same shape; ``neuron.step(x_t, state)`` runs
one step. :func:`build` constructs a neuron by name. The dynamics follow
``docs/neurons.md``.
"""

from __future__ import annotations

from spikecast.neurons import surrogate
from spikecast.neurons.base import BACKENDS, BaseNeuron
from spikecast.neurons.da_lif import DALIF
from spikecast.neurons.liaf import LIAF
from spikecast.neurons.lif import LIF
from spikecast.neurons.plif import PLIF
from spikecast.neurons.registry import NEURONS, available, build
from spikecast.neurons.tc_lif import TCLIF
from spikecast.neurons.ts_lif import TSLIF

__all__ = [
    "BACKENDS",
    "NEURONS",
    "BaseNeuron",
    "DALIF",
    "LIAF",
    "LIF",
    "PLIF",
    "TCLIF",
    "TSLIF",
    "available",
    "build",
    "surrogate",
]

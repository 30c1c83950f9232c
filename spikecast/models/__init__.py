"""Forecasting models: architectures, readouts, the forecasting network and its LightningModule.

- :mod:`spikecast.models.architectures`: the encoder architectures (one file each, one
  registry) and their base class;
- :mod:`spikecast.models.units`: the neurons they are built from (spiking or analog twin),
  with the calibrated initialisation;
- :mod:`spikecast.models.encodings`: spike encodings; :mod:`spikecast.models.readouts`: readouts
  and heads;
- :class:`ForecastNetwork` (normalise, encode, read out) and :class:`ForecastModule` (its
  ``LightningModule``).

The names load on first use (torch with the architectures and networks, Lightning with
:class:`ForecastModule` only), so ``import spikecast.models.architectures`` does not import
Lightning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikecast.lazy import lazy_exports

if TYPE_CHECKING:
    from spikecast.models import architectures
    from spikecast.models.losses import PinballLoss, build_loss
    from spikecast.models.module import ForecastModule
    from spikecast.models.network import ForecastNetwork
    from spikecast.models.normalization import InstanceNorm
    from spikecast.models.readouts import READOUTS, Readout
    from spikecast.models.units import NeuronUnit, neuron_names

#: public name -> the module that defines it (``architectures`` is a subpackage)
_LAZY = {
    "architectures": "spikecast.models.architectures",
    "PinballLoss": "spikecast.models.losses",
    "build_loss": "spikecast.models.losses",
    "ForecastModule": "spikecast.models.module",
    "ForecastNetwork": "spikecast.models.network",
    "InstanceNorm": "spikecast.models.normalization",
    "READOUTS": "spikecast.models.readouts",
    "Readout": "spikecast.models.readouts",
    "NeuronUnit": "spikecast.models.units",
    "neuron_names": "spikecast.models.units",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "READOUTS",
    "ForecastModule",
    "ForecastNetwork",
    "InstanceNorm",
    "NeuronUnit",
    "PinballLoss",
    "Readout",
    "architectures",
    "build_loss",
    "neuron_names",
]

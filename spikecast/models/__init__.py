"""Forecasting models: architectures, readouts, the forecasting network and its LightningModule.

- :mod:`spikecast.models.architectures`: the encoder architectures (one file each, one
  registry) and their base class;
- :mod:`spikecast.models.units`: the neurons they are built from (spiking or analog twin),
  with the calibrated initialisation;
- :mod:`spikecast.models.encodings`: spike encodings; :mod:`spikecast.models.readouts`: readouts
  and heads;
- :class:`ForecastNetwork` (normalise, encode, read out) and :class:`ForecastModule` (its
  ``LightningModule``).
"""

from spikecast.models import architectures
from spikecast.models.losses import PinballLoss, build_loss
from spikecast.models.module import ForecastModule
from spikecast.models.network import ForecastNetwork
from spikecast.models.normalization import InstanceNorm
from spikecast.models.readouts import READOUTS, Readout
from spikecast.models.units import NeuronUnit, neuron_names

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

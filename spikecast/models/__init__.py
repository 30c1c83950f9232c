"""Forecasting models: encoders, the forecasting network and its LightningModule."""

from spikecast.models.encoders import (
    ENCODERS,
    RECURRENT_ENCODERS,
    SPIKING_ENCODERS,
    RecurrentEncoder,
    SpikingEncoder,
    build_encoder,
)
from spikecast.models.losses import PinballLoss, build_loss
from spikecast.models.module import ForecastModule
from spikecast.models.network import ForecastNetwork
from spikecast.models.normalization import InstanceNorm

__all__ = [
    "ENCODERS",
    "SPIKING_ENCODERS",
    "RECURRENT_ENCODERS",
    "SpikingEncoder",
    "RecurrentEncoder",
    "build_encoder",
    "ForecastNetwork",
    "ForecastModule",
    "InstanceNorm",
    "PinballLoss",
    "build_loss",
]

"""The contract every encoder architecture implements (:class:`Encoder`).

An encoder turns the windows of a batch into a sequence of features that a readout
(:mod:`spikecast.models.readouts`) reduces for the forecasting head:

- ``tokens = "time"`` (most architectures): ``forward(x)`` takes items ``[N, L, D]`` (one
  window of one series each, ``D`` inputs per step) and returns ``[S, N, F]``: ``S``
  steps (time points, or time points x spike steps) of ``F = output_size`` features.
- ``tokens = "variates"`` (inverted architectures such as iSpikformer): ``forward(x)`` takes
  whole windows ``[B, L, C]`` and returns ``[S, B, C, F]``: one token per input column, ``S``
  spike steps. The head then forecasts every target column from its own token.

Every architecture is built with the same arguments (``input_size``, ``hidden_size``,
``num_layers``, ``neuron``, ``neuron_params``, ``dropout``, ``init_rate``) plus its own
options, and builds its nonlinearities with :meth:`Encoder.unit`, so any neuron of
:func:`spikecast.models.units.neuron_names` (spiking or analog twin) fits any architecture
unless :meth:`Encoder.check_neuron` says why not.

The cost hook: :meth:`Encoder.synapses` lists every synaptic layer (Linear, Conv1d,
:class:`SpikeMatMul`, GRU, LSTM) with the units whose outputs feed it, and
:meth:`Encoder.output_sources` the units whose outputs leave the encoder. From these
:mod:`spikecast.models.efficiency` counts accumulates for spike-fed layers and multiply-accumulates
for analog-fed ones; a synaptic layer that ``synapses`` does not list is an error there, so
a new architecture can never be costed as an ANN by omission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar, cast

import torch
from torch import nn

from spikecast.models.units import NeuronUnit, is_analog, neuron_names
from spikecast.validation import Integral, Interval, Real, validate_params

__all__ = ["POSITIVE_INT", "Encoder", "SpikeMatMul", "Synapse", "modules_of"]

_M = TypeVar("_M", bound=nn.Module)


#: a positive integer (numpy integers count, ``bool`` does not)
POSITIVE_INT = Interval(Integral, 1, None, closed="left")


def modules_of(modules: nn.ModuleList, kind: type[_M]) -> list[_M]:
    """The items of ``modules``, each a ``kind`` (checked), typed as such.

    Iterating or indexing an ``nn.ModuleList`` gives plain ``nn.Module``s to the type
    checker, which hides the attributes of an architecture's own blocks and units.
    """
    items = list(modules)
    wrong = [type(m).__name__ for m in items if not isinstance(m, kind)]
    if wrong:
        raise TypeError(f"expected modules of type {kind.__name__}, got {wrong}")
    return cast("list[_M]", items)


@dataclass(frozen=True)
class Synapse:
    """One synaptic layer and what feeds it.

    Attributes:
        layer: ``nn.Linear``, ``nn.Conv1d``, :class:`SpikeMatMul`, ``nn.GRU`` or ``nn.LSTM``.
        sources: the units whose outputs (summed, when several) are the layer's input; empty
            when the input is analog (the data, a normalised or averaged value).
        repeats: spike steps over which the layer's output is reused. The product is computed
            once, but a spiking network receives the input spikes again at every step, so
            spike-fed operations count ``repeats`` times (an ANN computes it once).
    """

    layer: nn.Module
    sources: tuple[NeuronUnit, ...] = ()
    repeats: int = 1


class SpikeMatMul(nn.Module):
    """``a @ b`` as a module, so that the cost hook sees the products of spiking attention."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``a [..., m, k] @ b [..., k, n]``."""
        return a @ b


class Encoder(nn.Module):
    """Base class of the encoder architectures.

    Args:
        input_size: inputs per step ``D`` (``tokens="time"``) or the window length ``L``
            (``tokens="variates"``: each column's whole window is one token's input).
        hidden_size: width of the layers.
        num_layers: number of layers (blocks, levels) of the architecture.
        neuron: a name of :func:`spikecast.models.units.neuron_names`: a spiking neuron or
            an analog twin (``"relu"``, ...). ``None`` for architectures without neurons.
        neuron_params: keyword arguments of the spiking neuron.
        dropout: dropout after every layer.
        init_rate: firing rate every unit is calibrated to on the first batch
            (:class:`~spikecast.models.units.NeuronUnit`); ``None`` keeps PyTorch's init.

    Attributes:
        output_size: features ``F`` per output step.
        output_repeats: spike steps each output value averages over (1 unless the
            architecture averages its spikes, as SpikeTCN does): a layer reading the output
            receives that many times the units' spike events per value.
        tokens: ``"time"`` or ``"variates"`` (see the module docstring).
        default_neuron: the neuron used when ``neuron`` is not given. For the registered
            architectures, the neuron with the lowest validation loss in the search of
            docs/defaults.md (LIAF, TS-LIF for SpikeTCN).
    """

    tokens: ClassVar[str] = "time"
    default_neuron: ClassVar[str | None] = "liaf"

    #: what the common arguments may be (:mod:`spikecast.validation`); each subclass
    #: declares and checks its own options the same way. ``neuron`` is checked by
    #: :meth:`check_neuron`, which knows which neurons suit the architecture.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "input_size": [POSITIVE_INT],
        "hidden_size": [POSITIVE_INT],
        "num_layers": [POSITIVE_INT],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15):
        super().__init__()
        validate_params({"input_size": input_size, "hidden_size": hidden_size,
                         "num_layers": num_layers, "dropout": dropout},
                        Encoder._parameter_constraints)
        neuron = self.default_neuron if neuron is None else neuron
        type(self).check_neuron(neuron)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.neuron = neuron
        self.neuron_params = dict(neuron_params or {})
        self.dropout = dropout
        self.init_rate = init_rate
        self.output_size = hidden_size
        self.output_repeats = 1

    # ------------------------------------------------------------------ neurons
    @classmethod
    def check_neuron(cls, neuron: str | None) -> None:
        """Raise ``ValueError`` if this architecture cannot use ``neuron`` (the message says
        why and lists the valid names)."""
        if neuron is None or neuron not in neuron_names():
            raise ValueError(f"unknown neuron {neuron!r} for encoder {cls.__name__}; valid "
                             f"neurons: {neuron_names()}")

    @property
    def analog(self) -> bool:
        """Whether this is an analog twin (every spiking nonlinearity an activation)."""
        return self.neuron is not None and is_analog(self.neuron)

    def unit(self, num_features: int, neuron: str | None = None) -> NeuronUnit:
        """A calibrated unit of this encoder's neuron (or of ``neuron``, e.g. the LIF of a
        spike encoding: an analog twin replaces it by its own activation)."""
        if neuron is None or self.analog:
            neuron, params = self.neuron, self.neuron_params
        else:
            params = None
        if neuron is None:  # an encoder without neurons (GRU, LSTM)
            raise ValueError(f"unknown neuron None for encoder {type(self).__name__}; valid "
                             f"neurons: {neuron_names()}")
        return NeuronUnit(neuron, num_features, params, self.init_rate)

    def layer_dropout(self) -> nn.Module:
        """The dropout applied after every layer (``nn.Identity`` when 0)."""
        return nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()

    # ------------------------------------------------------------------ contract
    def output_steps(self, lookback: int) -> int:
        """Steps ``S`` of the output for windows of ``lookback`` time points."""
        return lookback

    def synapses(self) -> list[Synapse]:
        """Every synaptic layer with the units that feed it (see :class:`Synapse`)."""
        raise NotImplementedError(f"{type(self).__name__} must list its synaptic layers")

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """The units whose outputs form the encoder's output; empty when it is analog."""
        raise NotImplementedError(f"{type(self).__name__} must name its output units")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[S, N, F]`` (``tokens="time"``), or ``[B, L, C]`` ->
        ``[S, B, C, F]`` (``tokens="variates"``)."""
        raise NotImplementedError

"""Readouts: how the forecasting head reads an encoder's output sequence.

Every readout maps the encoder output ``[S, *items, F]`` (``S`` steps first) to
``[*items, out_features]`` and owns the head, so the cost hook sees exactly which products it
computes and what feeds them (:meth:`Readout.synapses`):

- ``last``: ``head(o[S])``, the last step only (SeqSNN's and TS-LIF's head).
- ``mean``: ``head(mean_t o[t])``; the mean of spikes is a rate, so the head multiplies.
- ``flatten``: every step, each projected to ``size`` features by a shared Linear (spike-fed),
  concatenated and read by the head: ``head([P o[1], ..., P o[S]])``. The head sees the whole
  window, as the linear heads of PatchTST and DLinear do. ``size=None`` skips the projection
  (the head then reads ``S x F`` values directly).
- ``membrane``: a layer of non-spiking leaky integrators reads the spikes of every step and
  the forecast is their membrane potential after the last one:
  ``v[t] = β ⊙ v[t-1] + (1 - β) ⊙ (W o[t] + b)``, output ``v[S]``, with one learnable
  ``β = sigmoid(w)`` per output (initialised at ``β = 0.75``). Computed in closed form,
  ``v[S] = Σ_t (1 - β) β^(S-t) ⊙ (W o[t] + b)`` from ``v[0] = 0``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from spikecast.models.architectures.base import POSITIVE_INT, Synapse
from spikecast.models.units import NeuronUnit
from spikecast.validation import Registered, validate_params

__all__ = ["READOUTS", "Readout"]

#: Valid ``readout`` names.
READOUTS = ("last", "mean", "flatten", "membrane")

_MEMBRANE_DECAY = 0.75


class Readout(nn.Module):
    """A readout with its head (see the module docstring).

    Args:
        kind: a name of :data:`READOUTS`.
        in_features: ``F``.
        steps: ``S``, the encoder's output steps (``flatten`` and ``membrane`` need it).
        out_features: the head's outputs.
        size: per-step projection width of ``flatten`` (None: no projection).
    """

    #: what ``kind`` and ``size`` may be, under the names the forecaster gives them
    _parameter_constraints: dict[str, list] = {
        "readout": [Registered("readout", READOUTS)],
        "readout_size": [POSITIVE_INT, None],
    }

    def __init__(self, kind: str, in_features: int, steps: int, out_features: int,
                 size: int | None = None):
        super().__init__()
        validate_params({"readout": kind, "readout_size": size}, self._parameter_constraints)
        self.kind = kind
        self.steps = steps
        self.project = nn.Linear(in_features, size) if kind == "flatten" and size else None
        width = in_features
        if kind == "flatten":
            width = steps * (size or in_features)
        self.head = nn.Linear(width, out_features)
        if kind == "membrane":
            w = math.log(_MEMBRANE_DECAY / (1 - _MEMBRANE_DECAY))
            self.decay = nn.Parameter(torch.full((out_features,), w))

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """``[S, *items, F]`` -> ``[*items, out_features]``."""
        if seq.shape[0] != self.steps and self.kind in ("flatten", "membrane"):
            raise ValueError(f"readout {self.kind!r} was built for {self.steps} steps, got "
                             f"{seq.shape[0]}")
        if self.kind == "last":
            return self.head(seq[-1])
        if self.kind == "mean":
            return self.head(seq.mean(dim=0))
        if self.kind == "flatten":
            if self.project is not None:
                seq = self.project(seq)
            return self.head(seq.movedim(0, -2).flatten(-2))
        beta = torch.sigmoid(self.decay)
        age = torch.arange(self.steps - 1, -1, -1, device=seq.device, dtype=seq.dtype)
        weights = (1 - beta) * beta ** age[:, None]  # [S, out]: (1 - β) β^(S - t)
        z = self.head(seq)  # [S, *items, out]
        return (z * weights.reshape(self.steps, *([1] * (z.dim() - 2)), -1)).sum(dim=0)

    def synapses(self, sources: tuple[NeuronUnit, ...], repeats: int = 1) -> list[Synapse]:
        """The head (and projection) with what feeds them, given the encoder's output units
        and the spike steps its output values average over."""
        if self.kind == "mean":
            return [Synapse(self.head)]  # a rate: analog
        if self.project is not None:
            return [Synapse(self.project, sources, repeats), Synapse(self.head)]
        return [Synapse(self.head, sources, repeats)]


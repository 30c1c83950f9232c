"""Neuron units: the nonlinearity of every architecture, spiking or its analog twin.

An architecture never builds a neuron itself: it asks for a :class:`NeuronUnit`, which holds

- the neuron chosen by name: a spiking neuron of :mod:`spikecast.neurons` (``"ts_lif"``,
  ``"liaf"``, ...) or an analog activation (``"relu"``, ``"tanh"``, ``"gelu"``: the *analog
  twin*, the same architecture run as an ANN);
- a per-feature input bias (``I + shift``), set from the first batch the unit sees so that
  the layer starts alive.

Why calibrate: a default-initialised ``nn.Linear`` fed by sparse spikes delivers a current
whose spread is a small fraction of the threshold, so a spiking layer can start silent
(firing rate 0, every neuron dead: no gradient but the surrogate's tails). On its first
forward the unit finds, for every feature at once, the bias at which that feature fires at
``init_rate`` on the batch (a bisection per feature over ``[-16, 16]``): every neuron starts
at an operating point where its input's fluctuations decide whether it fires. An analog
twin's bias centres its input instead. Only a bias: scaling the current up would also scale
the learning rate of the synapses that feed it. It is a data-dependent initialisation in the
spirit of LSUV (Mishkin & Matas, ICLR 2016) and ActNorm (Kingma & Dhariwal, NeurIPS 2018);
after it the bias is a constant that folds into the synaptic biases, so it costs nothing in
the energy count. It is stored in the state dict: a loaded or resumed model never
recalibrates.
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast import neurons

__all__ = ["ANALOG_NEURONS", "Center", "NeuronUnit", "is_analog", "neuron_names"]

#: Analog twins: name -> activation class.
ANALOG_NEURONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}

_CALIBRATION_ITEMS = 4096  # items (non-time positions) used to calibrate; enough for a rate
_BISECTION_STEPS = 24  # resolution 32 / 2**24 of the bias: finer than a near-constant input
_MAX_BIAS = 16.0


def neuron_names() -> list[str]:
    """Every valid ``neuron``: the spiking neurons, then the analog twins."""
    return neurons.available() + sorted(ANALOG_NEURONS)


def is_analog(name: str) -> bool:
    """Whether ``name`` is an analog twin (an activation, no spikes)."""
    return name in ANALOG_NEURONS


def _build(name: str, num_features: int, params: dict | None) -> nn.Module:
    if not isinstance(name, str) or name not in neuron_names():
        raise ValueError(f"unknown neuron {name!r}; valid neurons: {neuron_names()}")
    if is_analog(name):
        if params:
            raise ValueError(f"neuron {name!r} is an analog activation and takes no "
                             f"neuron_params, got {sorted(params)}")
        return ANALOG_NEURONS[name]()
    return neurons.build(name, num_features=num_features, **(params or {}))


class _Calibrated(nn.Module):
    """A per-feature ``shift`` buffer set from the first batch (see :attr:`calibrated`).

    Attributes:
        shift: the per-feature bias added to the input.
        calibrated: a buffer: 0 before calibration, 1 once calibrated on a forward in eval
            mode, 2 in training mode. A module calibrated in eval mode (a sanity-check
            validation pass before training, say) calibrates again on its first training
            batch: a BatchNorm before it normalises differently in the two modes.
    """

    # registered buffers: declared so that they type as tensors, not nn.Module's Tensor | Module
    shift: torch.Tensor
    calibrated: torch.Tensor

    def __init__(self, num_features: int, enabled: bool):
        super().__init__()
        self.register_buffer("shift", torch.zeros(num_features))
        self.register_buffer("calibrated", torch.tensor(0 if enabled else 2))

    @property
    def needs_calibration(self) -> bool:
        """Whether the next forward calibrates (see :attr:`calibrated`)."""
        return int(self.calibrated) < (2 if self.training else 1)

    def _set_shift(self, shift: torch.Tensor) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # every rank calibrates on its own first batch: agree on one bias
            shift = shift.to(self.shift.device)
            torch.distributed.all_reduce(shift)
            shift = shift / torch.distributed.get_world_size()
        self.shift.copy_(shift)
        self.calibrated.fill_(2 if self.training else 1)


class NeuronUnit(_Calibrated):
    """A neuron (spiking or analog twin) behind a calibrated per-feature input bias.

    Args:
        neuron: a name of :func:`neuron_names`.
        num_features: size of the last input dimension.
        neuron_params: keyword arguments of the spiking neuron.
        init_rate: firing rate every feature is calibrated to on the first batch (spiking
            neurons); ``None`` switches the calibration off (the current reaches the neuron
            unchanged).

    Attributes:
        neuron: the neuron module.
        spiking: whether the output is made of spikes a synapse can accumulate (False for
            analog twins and for LIAF, whose output is analog).
        shift, calibrated: see :class:`_Calibrated`.
    """

    def __init__(self, neuron: str, num_features: int, neuron_params: dict | None = None,
                 init_rate: float | None = 0.15):
        super().__init__(num_features, init_rate is not None)
        if init_rate is not None and not 0 < init_rate < 1:
            raise ValueError(f"init_rate must lie in (0, 1) or be None, got {init_rate!r}")
        self.name = neuron
        self.neuron = _build(neuron, num_features, neuron_params)
        self.spiking = isinstance(self.neuron, neurons.BaseNeuron) \
            and not self.neuron.analog_output
        self.init_rate = init_rate
        self._outputs = 0
        self._spikes = 0
        self._monitor = False

    # ------------------------------------------------------------------ monitoring
    def start_monitor(self) -> None:
        """Count spikes from now on (see :attr:`events_per_output`); resets the tallies."""
        self._outputs, self._spikes, self._monitor = 0, 0, True
        if isinstance(self.neuron, neurons.BaseNeuron):
            self.neuron.monitor = True

    def stop_monitor(self) -> None:
        """Stop counting; the tallies stay readable."""
        self._monitor = False
        if isinstance(self.neuron, neurons.BaseNeuron):
            self.neuron.monitor = False

    @property
    def events_per_output(self) -> float | None:
        """Spike events per output value since :meth:`start_monitor`; None when the output is
        dense (analog twins, LIAF with a non-zero sub-threshold output).

        A binary neuron gives its firing rate; TS-LIF, whose output sums two spike trains,
        up to 2 (both compartments); LIAF the rate at which it sends an analog value.
        """
        neuron = self.neuron
        if not isinstance(neuron, neurons.BaseNeuron) or not neuron.silent_output_zero:
            return None
        return self._spikes / self._outputs if self._outputs else 0.0

    @property
    def firing_rate(self) -> float | None:
        """Mean firing rate since :meth:`start_monitor` over every spiking compartment."""
        if not isinstance(self.neuron, neurons.BaseNeuron):
            return None
        total = self._outputs * self.neuron.num_spike_tensors
        return self._spikes / total if total else 0.0

    # ------------------------------------------------------------------ forward
    def forward(self, current: torch.Tensor) -> torch.Tensor:
        """``[T, *items, F]`` current -> output of the same shape (time first), from rest."""
        self.calibrate(current)
        out = self.neuron(current + self.shift)
        self._tally(out)
        return out

    def sub_step_average(self, current: torch.Tensor, steps: int) -> torch.Tensor:
        """``current`` ``[*items, F]`` presented ``steps`` times from rest, the outputs
        averaged over the sub-steps: ``[*items, F]``.

        With ``T = steps`` and the calibrated bias ``shift``::

            y = (1/T) · sum_{m=1..T} neuron(I + shift, ..., I + shift)[m]

        exactly ``self(current.unsqueeze(0).repeat(T, 1, ...)).mean(dim=0)``. An analog twin
        (memoryless) and ``T = 1`` run once; a spiking neuron goes through
        :meth:`spikecast.neurons.BaseNeuron.sub_step_average` (a fused kernel where there is
        one), except on a calibrating or monitored call, which runs the ``T`` copies.
        """
        if is_analog(self.name) or steps == 1:
            # a memoryless activation gives the same value at every sub-step
            return self(current.unsqueeze(0)).squeeze(0)
        neuron = self.neuron
        if self.needs_calibration or self._monitor or not isinstance(neuron,
                                                                     neurons.BaseNeuron):
            return self(current.unsqueeze(0).repeat(steps, *(1,) * current.dim())).mean(dim=0)
        return neuron.sub_step_average(current + self.shift, steps)

    def step(self, current: torch.Tensor, state=None):
        """One step ``[*items, F]`` from ``state`` (``None``: rest): ``(output, new_state)``.

        For architectures whose current depends on the unit's own previous output (a
        recurrence): they :meth:`calibrate` first on a whole-window current, then step.
        Analog twins have no state (``new_state`` is ``None``).
        """
        self.calibrate(current[None])
        current = current + self.shift
        if not isinstance(self.neuron, neurons.BaseNeuron):
            return self.neuron(current), None
        out, state = self.neuron.step(current, state)
        self._tally(out)
        return out, state

    def _tally(self, out: torch.Tensor) -> None:
        if self._monitor and isinstance(self.neuron, neurons.BaseNeuron):
            count = self.neuron.last_spike_count
            # start_monitor switched the neuron's monitor on: the forward just recorded a count
            assert count is not None
            self._spikes += int(count)
            self._outputs += out.numel()

    def calibrate(self, current: torch.Tensor) -> None:
        """Set the input bias from ``current`` ``[T, *items, F]`` if
        :attr:`needs_calibration`."""
        if self.needs_calibration:
            self._calibrate(current.detach())

    @torch.no_grad()
    def _calibrate(self, current: torch.Tensor) -> None:
        flat = current.reshape(current.shape[0], -1, current.shape[-1])[:, :_CALIBRATION_ITEMS]
        mean = flat.float().mean(dim=(0, 1)).to(current.dtype)
        # LIAF passes analog values on but fires to reset: its rate is calibrated too
        neuron = self.neuron
        if isinstance(neuron, neurons.BaseNeuron):
            self._set_shift(self._bias_for_rate(neuron, flat - mean) - mean)
        else:
            self._set_shift(-mean)

    def _bias_for_rate(self, neuron: neurons.BaseNeuron, centred: torch.Tensor) -> torch.Tensor:
        """Per feature, the bias at which it fires at ``init_rate`` (a bisection per feature;
        firing grows with the bias; the upper end of the final bracket, which reaches the
        rate). A feature fires where the neuron's output is non-zero."""
        lo = torch.full_like(centred[0, 0], -_MAX_BIAS)
        hi = torch.full_like(lo, _MAX_BIAS)
        was = neuron.monitor
        neuron.monitor = False
        try:
            for _ in range(_BISECTION_STEPS):
                mid = (lo + hi) / 2
                rate = neuron(centred + mid).ne(0).float().mean(dim=(0, 1))
                low = rate < self.init_rate
                lo, hi = torch.where(low, mid, lo), torch.where(low, hi, mid)
        finally:
            neuron.monitor = was
        return hi

    def extra_repr(self) -> str:
        rate = "off" if self.init_rate is None else self.init_rate
        return f"init_rate={rate}"


class Center(_Calibrated):
    """Subtract the first batch's per-feature mean (a fixed bias afterwards).

    For pre-activations that are no neuron's current but still cross a threshold at 0, such
    as the Heaviside gates of a spiking GRU: centred, every gate opens about half the time
    and follows its input, instead of staying shut (or open) wherever its bias outweighs its
    input. The calibration rule of :class:`NeuronUnit`.

    Args:
        num_features: size of the last input dimension.
        enabled: ``False`` leaves the input unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., F]`` -> ``x - mean`` per feature of the first batch."""
        if self.needs_calibration:
            with torch.no_grad():
                flat = x.detach().reshape(-1, x.shape[-1]).float()
                self._set_shift(-flat.mean(dim=0).to(x.dtype))
        return x + self.shift

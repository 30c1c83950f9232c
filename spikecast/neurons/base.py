"""The contract every spiking neuron implements (:class:`BaseNeuron`).

A neuron maps an input current ``x`` of shape ``[T, B, *features]`` to an output of the same
shape, running an elementwise recurrence over the first (time) dimension. The feature
(channel) dimension is the LAST one. No hidden state survives between calls: every forward
starts from the ``state`` it is given (zeros when ``None``).

Subclasses implement three things:

- ``_coefficients(x)``: the per-call constants (e.g. ``sigmoid(w)``), in ``x``'s dtype, computed
  once per forward;
- ``_step_impl(x_t, state, coeffs)``: one charge / fire / reset step, returning
  ``(y_t, new_state, spikes)`` where ``spikes`` is a tuple of the binary spike tensors;
- ``state_names`` (and ``num_spike_tensors`` for two-compartment neurons).

The multi-step forward goes through one method, :meth:`BaseNeuron._multi_step`, which picks
the backend: the plain autograd loop over ``_step_impl`` (``"reference"``) or the subclass's
``_multi_step_fused`` (``"fused"``, :mod:`spikecast.neurons.fused`: one forward loop without a
graph, one reverse loop for the backward, bit-identical forward values).
"""

from __future__ import annotations

import torch
from torch import nn

from spikecast.neurons import fused as _fused
from spikecast.neurons import surrogate as _surrogate
from spikecast.validation import Integral, Interval, validate_params

__all__ = ["BACKENDS", "RESETS", "BaseNeuron"]

#: Values of the ``backend`` constructor argument.
BACKENDS = ("auto", "reference", "fused")
#: Values of the ``reset`` constructor argument (for neurons that offer a choice).
RESETS = ("hard", "soft")

State = tuple[torch.Tensor, ...]


class BaseNeuron(nn.Module):
    """Base class of the spiking neurons: multi-step and single-step forward, monitoring.

    Args:
        num_features: size of the last (feature) dimension; needed for per-channel
            parameters, per-feature weights and normalisation layers.
        surrogate: surrogate gradient name (see :func:`spikecast.neurons.surrogate.available`).
        alpha: surrogate sharpness; ``None`` is the surrogate's default.
        detach_reset: detach the spike in the reset path (no gradient through the reset).
        per_channel: one set of learnable parameters per feature instead of per layer.
        backend: ``"auto"`` (the fused kernels where the configuration supports them, else
            the reference loop), ``"reference"`` (plain autograd time loop over one step:
            slow, but supports double backward) or ``"fused"`` (:mod:`spikecast.neurons.fused`;
            a configuration it cannot run raises ``ValueError``). Single steps
            (:meth:`step`) always use the reference step.

    Attributes:
        state_names: names of the state tensors, in the order of the ``state`` tuple.
        num_spike_tensors: binary spike tensors produced per step (2 for two-compartment
            neurons whose compartments both fire).
        analog_output: the output is a real number (LIAF), not spikes: a synaptic layer fed
            by it multiplies and accumulates like an ANN layer
            (see :mod:`spikecast.models.efficiency`).
        silent_output_zero: the output is exactly 0 wherever no compartment fires, so a
            synaptic layer fed by it works only at spike events (every spiking neuron; LIAF
            when its activation of a sub-threshold membrane is 0).
        monitor: when True, every forward / step stores ``last_firing_rate`` (python float,
            mean of the binary spikes over all elements, steps and spiking compartments) and
            ``last_spike_count`` (python int). When False nothing is recorded.
    """

    state_names: tuple[str, ...] = ("v",)
    num_spike_tensors: int = 1
    analog_output: bool = False

    #: what ``num_features`` may be (:mod:`spikecast.validation`); ``backend`` and
    #: ``surrogate`` are looked up by name, and ``per_channel`` needs ``num_features``
    _parameter_constraints: dict[str, list] = {
        "num_features": [Interval(Integral, 1, None, closed="left"), None],
    }

    @property
    def silent_output_zero(self) -> bool:
        """See the class docstring; a property, since LIAF's depends on its configuration."""
        return True

    def __init__(self, num_features: int | None = None, surrogate: str = "atan",
                 alpha: float | None = None, detach_reset: bool = False,
                 per_channel: bool = False, backend: str = "auto"):
        super().__init__()
        validate_params({"num_features": num_features}, BaseNeuron._parameter_constraints)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid backends: {list(BACKENDS)}")
        if per_channel and num_features is None:
            raise ValueError(f"{type(self).__name__}: per_channel=True needs num_features "
                             "(the size of the last input dimension)")
        self.num_features = num_features
        self.per_channel = bool(per_channel)
        self.detach_reset = bool(detach_reset)
        self.backend = backend
        self.spike_fn = _surrogate.get(surrogate, alpha)
        self.monitor = False
        self.last_firing_rate: float | None = None
        self.last_spike_count: int | None = None

    # ------------------------------------------------------------------ helpers
    @property
    def surrogate(self) -> str:
        """Name of the surrogate gradient."""
        return self.spike_fn.name

    @property
    def alpha(self) -> float:
        """Sharpness of the surrogate gradient."""
        return self.spike_fn.alpha

    def _param_shape(self) -> tuple[int, ...]:
        """Shape of a learnable parameter: ``()`` per layer, ``(num_features,)`` per channel."""
        if not self.per_channel:
            return ()
        assert self.num_features is not None  # __init__ refuses per_channel without it
        return (self.num_features,)

    def _new_param(self, value: float) -> nn.Parameter:
        """A learnable parameter filled with ``value`` (per layer or per channel)."""
        return nn.Parameter(torch.full(self._param_shape(), float(value)))

    def _needs_features(self) -> bool:
        """Whether the last input dimension must equal ``num_features``."""
        return self.per_channel

    def _reset_spike(self, s: torch.Tensor) -> torch.Tensor:
        """The spike as the reset path sees it (detached if ``detach_reset``)."""
        return s.detach() if self.detach_reset else s

    def fire(self, u: torch.Tensor, threshold) -> torch.Tensor:
        """Fire: ``Θ(u - θ)`` with the surrogate gradient."""
        return self.spike_fn(u - threshold)

    def _check_step_input(self, x_t: torch.Tensor, what: str = "x_t") -> None:
        if not isinstance(x_t, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x_t).__name__}")
        if not x_t.is_floating_point():
            raise TypeError(f"{what} must be a floating-point tensor, got {x_t.dtype}")
        if x_t.dim() < 1:
            raise ValueError(f"{what} must have at least a batch dimension [B, *features]")
        if self._needs_features():
            if x_t.dim() < 2 or x_t.shape[-1] != self.num_features:
                raise ValueError(
                    f"{type(self).__name__} has per-feature parameters for num_features="
                    f"{self.num_features}: the input's last dimension must be that size "
                    f"(input shape [T, B, ..., {self.num_features}]), got "
                    f"{what} shape {tuple(x_t.shape)}")

    def _check_state(self, state, x_t: torch.Tensor) -> State:
        if state is None:
            return self.init_state(x_t)
        if isinstance(state, torch.Tensor):
            state = (state,)
        state = tuple(state)
        if len(state) != len(self.state_names):
            raise ValueError(f"{type(self).__name__} state has {len(self.state_names)} "
                             f"tensors {self.state_names}, got {len(state)}")
        for name, s in zip(self.state_names, state):
            if not isinstance(s, torch.Tensor) or s.shape != x_t.shape:
                shape = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"state {name!r} must be a tensor shaped like one input step "
                                 f"{tuple(x_t.shape)}, got {shape}")
        return state

    def _record(self, n_spikes: torch.Tensor, n_elements: int) -> None:
        count = int(n_spikes.item())
        self.last_spike_count = count
        total = n_elements * self.num_spike_tensors
        self.last_firing_rate = count / total if total else 0.0

    # ------------------------------------------------------------------ public API
    def init_state(self, x_t: torch.Tensor) -> State:
        """The zero state for an input step ``x_t`` ``[B, *features]``: zeros like ``x_t``."""
        return tuple(torch.zeros_like(x_t) for _ in self.state_names)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        """Run the neuron over a whole sequence.

        Args:
            x: input current ``[T, B, *features]``.
            state: tuple of tensors shaped like ``x[0]`` (order :attr:`state_names`);
                ``None`` starts from zeros.
            return_state: also return the final state.

        Returns:
            ``y`` shaped like ``x``, or ``(y, final_state)`` if ``return_state``.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"x must be time-major [T, B, *features], got shape "
                             f"{tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("x has no time steps (T = 0)")
        self._check_step_input(x[0], "x[t]")
        state = self._check_state(state, x[0])
        y, final, n_spikes = self._multi_step(x, state)
        if self.monitor:
            self._record(n_spikes, x.numel())
        return (y, final) if return_state else y

    def step(self, x_t: torch.Tensor, state=None):
        """One time step.

        Args:
            x_t: input current ``[B, *features]``.
            state: tuple of tensors shaped like ``x_t``; ``None`` is zeros.

        Returns:
            ``(y_t, new_state)``.
        """
        self._check_step_input(x_t)
        state = self._check_state(state, x_t)
        y, new_state, spikes = self._step_impl(x_t, state, self._coefficients(x_t))
        if self.monitor:
            n = sum(s.detach().count_nonzero() for s in spikes)
            self._record(n, x_t.numel())
        return y, new_state

    def sub_step_average(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """The mean output over ``steps`` sub-steps of the constant current ``x``, from rest.

        With ``T = steps`` and ``x`` ``[*items, F]`` (one current per neuron)::

            y = (1/T) · sum_{m=1..T} neuron(x, x, ..., x)[m]

        the neuron's multi-step forward over the sequence of ``T`` copies of ``x``, starting
        from the zero state, averaged over the ``T`` steps: exactly
        ``self(x.unsqueeze(0).repeat(T, 1, ...)).mean(dim=0)`` (SpikeTCN's sub-steps). The
        ``"fused"`` backend runs it as one elementwise kernel for LIF, PLIF, DA-LIF, TS-LIF
        and TC-LIF on CPU float32/float64 tensors with ``T <= 4``
        (:mod:`spikecast.neurons.fused`; the same forward bits, gradients within rounding,
        without the ``T`` copies); every other case, and a call with :attr:`monitor` on,
        takes the sequence path.

        Args:
            x: the current ``[*items, F]`` (``F`` = :attr:`num_features` for per-feature
                parameters).
            steps: ``T >= 1``.

        Returns:
            ``y``, shaped like ``x``.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        self._check_step_input(x, "x")
        if not self.monitor and self._resolve_backend(x) == "fused":
            y = _fused.sub_step_mean(self, x, steps)
            if y is not None:
                return y
        return self(x.unsqueeze(0).repeat(steps, *(1,) * x.dim())).mean(dim=0)

    # ------------------------------------------------------------------ backends
    def _fused_unsupported(self) -> str | None:
        """Why this configuration has no fused implementation (None: it has one)."""
        if type(self)._multi_step_fused is BaseNeuron._multi_step_fused:
            return "this neuron (it has no fused implementation)"
        return None

    def _check_backend(self) -> None:
        """Raise ``ValueError`` if ``backend="fused"`` was asked for an unsupported setup.

        Subclasses call this at the end of ``__init__`` (once their options are known).
        """
        if self.backend == "fused":
            reason = self._fused_unsupported()
            if reason is not None:
                raise ValueError(f"{type(self).__name__}: backend='fused' does not support "
                                 f"{reason}; use backend='auto' or 'reference'")

    def _resolve_backend(self, x: torch.Tensor) -> str:
        """The backend that runs this call (``"auto"`` resolves here)."""
        if self.backend == "auto":
            return "reference" if self._fused_unsupported() is not None else "fused"
        self._check_backend()  # ``backend`` may have been reassigned after construction
        return self.backend

    def _multi_step(self, x: torch.Tensor, state: State):
        """The whole-sequence recurrence: ``(y, final_state, n_spikes or None)``.

        ``n_spikes`` is an integer tensor (total binary spikes over all steps and spiking
        compartments) when :attr:`monitor` is on, else ``None``. This is the single place
        a fused implementation replaces.
        """
        backend = self._resolve_backend(x)
        if backend == "reference":
            return self._multi_step_reference(x, state)
        return self._multi_step_fused(x, state)

    def _multi_step_fused(self, x: torch.Tensor, state: State):
        """The fused recurrence (same contract as :meth:`_multi_step`); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no fused implementation")

    def _as_coef(self, value, x: torch.Tensor) -> torch.Tensor:
        """A coefficient as a tensor in ``x``'s dtype and device.

        A python float becomes its rounding to ``x``'s dtype, which is what torch multiplies
        a tensor by in the reference loop.
        """
        if isinstance(value, torch.Tensor):
            return value.to(dtype=x.dtype, device=x.device)
        return torch.tensor(value, dtype=x.dtype, device=x.device)

    def _fused_surrogate(self) -> tuple[str, float]:
        """``(name, alpha)`` of the surrogate, as the fused configs take them."""
        return self.spike_fn.name, self.spike_fn.alpha

    def _multi_step_reference(self, x: torch.Tensor, state: State):
        """Plain autograd time loop over :meth:`_step_impl`."""
        coeffs = self._coefficients(x)
        count = torch.zeros((), dtype=torch.int64, device=x.device) if self.monitor else None
        ys = []
        # unbind: one backward node for all steps. Indexing x[t] gave every step a
        # SelectBackward that materialised a zero tensor shaped like the whole x (O(T²·N)).
        for x_t in x.unbind(0):
            y, state, spikes = self._step_impl(x_t, state, coeffs)
            ys.append(y)
            if count is not None:
                for s in spikes:
                    count += s.detach().count_nonzero()
        return torch.stack(ys), state, count

    # ------------------------------------------------------------------ to implement
    def _coefficients(self, x: torch.Tensor) -> tuple:
        """Per-call constants (derived from the parameters), cast to ``x``'s dtype."""
        return ()

    def _step_impl(self, x_t: torch.Tensor, state: State, coeffs: tuple):
        """One charge / fire / reset step: ``(y_t, new_state, spikes)``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        parts = [f"surrogate={self.surrogate!r}", f"alpha={self.alpha}"]
        if self.num_features is not None:
            parts.insert(0, f"num_features={self.num_features}")
        if self.per_channel:
            parts.append("per_channel=True")
        if self.detach_reset:
            parts.append("detach_reset=True")
        if self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)

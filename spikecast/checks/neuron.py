"""The contract every spiking neuron keeps, as a suite of named checks.

In the spirit of scikit-learn's ``check_estimator`` / ``parametrize_with_checks``:
:func:`neuron_checks` yields the checks that apply to a neuron, each a function
``check(name_or_class)`` (named ``check_...``) that builds small instances of the neuron,
runs them and raises ``AssertionError`` if the contract is broken; :func:`check_neuron` runs
them all. The test suite parametrises them over every neuron of
:data:`spikecast.neurons.NEURONS`; the author of a new neuron runs
``check_neuron(MyNeuron)`` (or its registry name) on theirs.

What a neuron promises (see :class:`spikecast.neurons.BaseNeuron`):

- It is registered with one line in :data:`spikecast.neurons.NEURONS`; its constructor
  takes keyword arguments only, each with a default (so ``neuron_params`` of a forecaster
  can set any of them), among them ``num_features``, ``backend``, ``surrogate`` (any name
  of :data:`spikecast.neurons.surrogate.SURROGATES`) and ``alpha``.
- Its docstring gives the equations (charge or integrate, fire ``Θ(...)``, reset), the
  source paper (``Reference``) and every constructor argument.
- It keeps no hidden state: every call starts from the ``state`` it is given (zeros when
  ``None``), returns the final state on request, and a sequence cut in two and chained
  through that state gives the same result; a forward leaves the module unchanged.
- Input ``[T, B, *features]``, features last, any dtype: the output has the input's shape
  and dtype, each state tensor the shape of one step; per-channel parameters act on the
  last dimension only.
- ``step`` run over the sequence equals the multi-step forward (values exactly, gradients
  to rounding); every backend gives the same output, and the fused kernels (where the
  neuron has them) equal the reference loop in value and gradient.
- Gradients reach the input, the initial state and every learnable parameter, and agree
  with finite differences wherever the surrogate is not involved.
- It fires through its spike function (``self.fire``), ``num_spike_tensors`` times a step;
  its output is the spike (binary) for a single-compartment spiking neuron, a function of
  the spikes for a multi-compartment one, and real-valued where it declares
  ``analog_output``; it is exactly 0 wherever nothing fires iff ``silent_output_zero``; a
  neuron at rest with no input stays silent.
- Monitoring counts exactly the spikes fired; it records nothing when off; results are
  deterministic; no-grad, ``state_dict``, deepcopy, pickle and ``torch.save`` work.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import itertools
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import torch

from spikecast import neurons
from spikecast.neurons import fused, surrogate
from spikecast.neurons.base import BaseNeuron

__all__ = ["check_neuron", "neuron_checks"]

# A small problem: T steps, batch B, F features (F > 1 so per-feature parameters show).
T, B, F = 6, 2, 3
_DTYPES = (torch.float32, torch.float64)


# --------------------------------------------------------------------------- helpers
def _resolve(name_or_class) -> tuple[str | None, type[BaseNeuron]]:
    """``(registry name or None, class)`` of a neuron given by name or class."""
    if isinstance(name_or_class, str):
        if name_or_class not in neurons.NEURONS:
            raise ValueError(f"unknown neuron {name_or_class!r}; registered: "
                             f"{neurons.available()}")
        return name_or_class, neurons.NEURONS[name_or_class]
    if isinstance(name_or_class, type) and issubclass(name_or_class, BaseNeuron):
        name = next((n for n, c in neurons.NEURONS.items() if c is name_or_class), None)
        return name, name_or_class
    raise TypeError(f"expected a neuron class or registry name, got {name_or_class!r}")


def _configs(cls) -> list[dict]:
    """The configurations every check runs: the defaults, and per channel where offered."""
    per_channel = "per_channel" in inspect.signature(cls).parameters
    return [{}, {"per_channel": True}] if per_channel else [{}]


def _label(config: dict) -> str:
    """How a message names a configuration."""
    return ", ".join(f"{k}={v!r}" for k, v in config.items()) or "defaults"


def _build(cls, dtype=torch.float64, seed: int = 0, **params) -> BaseNeuron:
    """``cls(num_features=F, **params)`` with every parameter moved off its initial value
    (no coefficient hides behind 0, 0.5 or 1), in ``dtype``."""
    torch.manual_seed(seed)
    neuron = cls(num_features=F, **params)
    with torch.no_grad():
        for p in neuron.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return neuron.to(dtype)


def _inputs(neuron, shape=(T, B, F), dtype=torch.float64, seed: int = 1, grad: bool = False):
    """An input that makes the neurons fire part of the time, and a random initial state."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype) * 1.5 + 1.0
    state = tuple(0.5 * torch.randn(shape[1:], generator=g, dtype=dtype)
                  for _ in neuron.state_names)
    if grad:
        x.requires_grad_(True)
        for s in state:
            s.requires_grad_(True)
    return x, state


def _loss(y, final, seed: int = 2):
    """A random projection of the output and the final state."""
    g = torch.Generator().manual_seed(seed)
    loss = (y * torch.randn(y.shape, generator=g, dtype=y.dtype)).sum()
    for f in final:
        loss = loss + (f * torch.randn(f.shape, generator=g, dtype=f.dtype)).sum()
    return loss


def _grads(neuron, x, state):
    """Output, final state and the gradients of :func:`_loss` w.r.t. x, state, parameters."""
    y, final = neuron(x, state=state, return_state=True)
    leaves = [x, *state, *neuron.parameters()]
    grads = torch.autograd.grad(_loss(y, final), leaves, allow_unused=True)
    return y.detach(), [f.detach() for f in final], grads


def _leaf_names(neuron) -> list[str]:
    return ["x", *(f"state.{s}" for s in neuron.state_names),
            *(n for n, _ in neuron.named_parameters())]


class _Recorder:
    """Stands in for a neuron's spike function and keeps every spike tensor it returns."""

    def __init__(self, fn):
        self.fn = fn
        self.calls: list[torch.Tensor] = []

    def __call__(self, x):
        s = self.fn(x)
        self.calls.append(s.detach())
        return s

    def __getattr__(self, name):  # name, alpha: the fused configs read them
        return getattr(self.__dict__["fn"], name)


@contextlib.contextmanager
def _recording(neuron):
    recorder = _Recorder(neuron.spike_fn)
    neuron.spike_fn = recorder
    try:
        yield recorder
    finally:
        neuron.spike_fn = recorder.fn


def _run_steps(neuron, x, state):
    """Step by step: ``[(y_t, spikes fired at t)]`` and the final state (no graph)."""
    out = []
    with torch.no_grad(), _recording(neuron) as rec:
        for x_t in x:
            first = len(rec.calls)
            y_t, state = neuron.step(x_t, state)
            out.append((y_t, rec.calls[first:]))
    return out, state


def _equal(a, b, what: str) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype, (
        f"{what}: {tuple(a.shape)} {a.dtype} != {tuple(b.shape)} {b.dtype}")
    assert torch.equal(a, b), f"{what} differ (max |diff| {(a - b).abs().max().item():.3g})"


def _close(grads, expected, names, rtol: float, what: str) -> None:
    for name, a, b in zip(names, grads, expected):
        assert (a is None) == (b is None), f"{what}: gradient of {name} is None on one side"
        if a is not None:
            try:
                torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * 1e-3 * (1 + b.abs().max()))
            except AssertionError as err:
                raise AssertionError(f"{what}, gradient of {name}: {err}") from None


def _has_fused(cls) -> bool:
    return cls._multi_step_fused is not BaseNeuron._multi_step_fused


def _cpu_kernels() -> list[str]:
    return ["torch"] + (["numba"] if fused.numba_available() else [])


# --------------------------------------------------------------------------- checks
def check_registered(name_or_class) -> None:
    """The neuron is in :data:`spikecast.neurons.NEURONS` and ``build`` makes it."""
    name, cls = _resolve(name_or_class)
    assert name is not None, (
        f"{cls.__name__} is not registered: add one line '\"my_neuron\": {cls.__name__},' to "
        "NEURONS in spikecast/neurons/registry.py")
    assert name in neurons.available()
    built = neurons.build(name, num_features=F)
    assert type(built) is cls, f"build({name!r}) made a {type(built).__name__}"


def check_constructor_params(name_or_class) -> None:
    """Keyword arguments with defaults only (``neuron_params`` can set any of them), the
    common ones present, and every surrogate of the table accepted by name."""
    name, cls = _resolve(name_or_class)
    params = inspect.signature(cls).parameters
    for p in params.values():
        assert p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD), (
            f"{cls.__name__}({p}): no *args / **kwargs (neuron_params are validated "
            "against the signature)")
        assert p.default is not p.empty, f"{cls.__name__}: argument {p.name!r} has no default"
    for arg in ("num_features", "backend", "surrogate", "alpha"):
        assert arg in params, f"{cls.__name__} does not take {arg!r}"
    for sg, spec in surrogate.SURROGATES.items():
        neuron = cls(num_features=F, surrogate=sg, alpha=None)
        assert neuron.surrogate == sg and neuron.alpha == spec.default_alpha, (
            f"surrogate={sg!r}: got ({neuron.surrogate!r}, {neuron.alpha})")
        assert cls(num_features=F, surrogate=sg, alpha=0.7).spike_fn == surrogate.get(sg, 0.7)
    try:
        cls(num_features=F, surrogate="no-such-surrogate")
    except ValueError as err:
        missing = [sg for sg in surrogate.SURROGATES if sg not in str(err)]
        assert not missing, f"the unknown-surrogate message does not list {missing}: {err}"
    else:
        raise AssertionError("an unknown surrogate name was accepted")
    if name is not None:
        built = neurons.build(name, num_features=F, surrogate="sigmoid", alpha=1.5)
        assert (built.surrogate, built.alpha) == ("sigmoid", 1.5)


def check_docstring(name_or_class) -> None:
    """Equations (charge/integrate, fire ``Θ(...)``, reset), the source paper and every
    constructor argument in the class docstring; the public methods documented."""
    _, cls = _resolve(name_or_class)
    doc = inspect.getdoc(cls)
    assert doc, f"{cls.__name__} has no docstring"
    for word in ("fire", "reset", "Reference", "Θ("):
        assert word in doc, f"the docstring of {cls.__name__} lacks {word!r}"
    assert "charge" in doc or "integrate" in doc, (
        f"the docstring of {cls.__name__} lacks the charge / integrate equation")
    undocumented = [p for p in inspect.signature(cls).parameters if p not in doc]
    assert not undocumented, f"{cls.__name__}: arguments not in the docstring: {undocumented}"
    for meth in ("forward", "step", "init_state"):
        assert inspect.getdoc(getattr(cls, meth)), f"{cls.__name__}.{meth} has no docstring"


def check_state_is_explicit(name_or_class) -> None:
    """No hidden state: each call starts from the given state (zeros for None), returns
    the final one, chaining halves equals one call, and a forward changes no parameter."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        names = neuron.state_names
        assert isinstance(names, tuple) and names and all(isinstance(n, str) for n in names)
        x, state = _inputs(neuron)
        zeros = neuron.init_state(x[0])
        assert len(zeros) == len(names)
        assert all(z.shape == x[0].shape and z.dtype == x.dtype and not z.any() for z in zeros)
        before = {k: v.clone() for k, v in neuron.state_dict().items()}
        with torch.no_grad():
            y, final = neuron(x, state=state, return_state=True)
            assert isinstance(final, tuple) and len(final) == len(names)
            # the (real-valued) final states show a hidden state that the spikes may not
            for given, what in ((state, "a given state"), (None, "no state")):
                first = neuron(x, state=given, return_state=True)
                neuron(torch.randn_like(x) * 5)  # a call in between must change nothing
                again = neuron(x, state=given, return_state=True)
                for a, b in zip((first[0], *first[1]), (again[0], *again[1])):
                    _equal(a, b, f"{_label(config)}: a call repeated from {what}")
            for a, b in zip(neuron(x, return_state=True)[1],
                            neuron(x, state=zeros, return_state=True)[1]):
                _equal(a, b, f"{_label(config)}: final state from state=None vs zeros")
            y1, s1 = neuron(x[:2], state=state, return_state=True)
            y2, s2 = neuron(x[2:], state=s1, return_state=True)
            _equal(torch.cat([y1, y2]), y, f"{_label(config)}: output of two chained calls")
            for n, a, b in zip(names, s2, final):
                _equal(a, b, f"{_label(config)}: final state {n!r} of two chained calls")
        for k, v in neuron.state_dict().items():
            _equal(v, before[k], f"{_label(config)}: {k} after a forward")


def check_shapes_and_dtypes(name_or_class) -> None:
    """Output shaped and typed like the input (features last, any leading dims, T = 1),
    states shaped like one step; a float32 module given float64 input returns float64."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        for dtype in _DTYPES:
            neuron = _build(cls, dtype=dtype, **config)
            for shape in [(T, B, F), (1, B, F), (T, B, 2, F), (T, 1, 1, 1, F)]:
                x, state = _inputs(neuron, shape, dtype, grad=True)
                y, final = neuron(x, state=state, return_state=True)
                assert y.shape == x.shape and y.dtype == dtype, (
                    f"{_label(config)}: input {shape} {dtype} gave output "
                    f"{tuple(y.shape)} {y.dtype}")
                assert len(final) == len(neuron.state_names)
                for s in final:
                    assert s.shape == x.shape[1:] and s.dtype == dtype
                _loss(y, final).backward()
                assert x.grad is not None and x.grad.shape == x.shape
                y_t, st = neuron.step(x[0].detach(), tuple(s.detach() for s in state))
                assert y_t.shape == x.shape[1:] and y_t.dtype == dtype
                assert all(s.shape == x.shape[1:] for s in st)
        neuron = _build(cls, dtype=torch.float32, **config)
        y = neuron(torch.randn(4, B, F, dtype=torch.float64))
        assert y.dtype == torch.float64, f"float32 module, float64 input: {y.dtype} output"


def check_features_last(name_or_class) -> None:
    """The feature dimension is the last: each slice ``x[:, :, c]`` of a
    ``[T, B, C, F]`` input runs independently (per-channel parameters act on F only)."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        x = torch.randn(5, B, 3, F, generator=torch.Generator().manual_seed(3),
                        dtype=torch.float64)
        with torch.no_grad():
            y = neuron(x)
            for c in range(x.shape[2]):
                _equal(neuron(x[:, :, c].contiguous()), y[:, :, c], f"{_label(config)}: slice {c}")


def check_step_equals_sequence(name_or_class) -> None:
    """``step`` over the sequence equals the multi-step forward: output and final state
    exactly, gradients (input, initial state, parameters) to rounding."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        for given_state in (False, True):
            neuron = _build(cls, **config)
            x, state0 = _inputs(neuron, grad=True)
            state0 = state0 if given_state else None
            y, final = neuron(x, state=state0, return_state=True)
            x2 = x.detach().clone().requires_grad_(True)
            init = None if state0 is None else tuple(
                s.detach().clone().requires_grad_(True) for s in state0)
            state: Any = init  # (None, then the tuple each step returns)
            ys = []
            for x_t in x2:
                y_t, state = neuron.step(x_t, state)
                ys.append(y_t)
            y2 = torch.stack(ys)
            what = f"{_label(config)}, state {'given' if given_state else 'None'}"
            _equal(y, y2, f"{what}: multi-step vs step output")
            for n, a, b in zip(neuron.state_names, final, state):
                _equal(a, b, f"{what}: final state {n!r}")
            params = list(neuron.parameters())
            g1 = torch.autograd.grad(_loss(y, final), [x, *(state0 or ()), *params],
                                     allow_unused=True)
            g2 = torch.autograd.grad(_loss(y2, state), [x2, *(init or ()), *params],
                                     allow_unused=True)
            names = ["x", *([f"state.{n}" for n in neuron.state_names] if given_state
                            else []), *(n for n, _ in neuron.named_parameters())]
            _close(g1, g2, names, 1e-12, what)


def check_backends(name_or_class) -> None:
    """``"auto"``, ``"reference"`` and ``"fused"`` give the same output (``"fused"`` is
    refused with ValueError where there are no fused kernels), an unknown one is refused."""
    _, cls = _resolve(name_or_class)
    for config, dtype in itertools.product(_configs(cls), _DTYPES):
        reference = _build(cls, dtype=dtype, backend="reference", **config)
        x, state = _inputs(reference, dtype=dtype)
        with torch.no_grad():
            y = reference(x, state=state)
            auto = copy.deepcopy(reference)
            auto.backend = "auto"
            _equal(auto(x, state=state), y, f"{_label(config)}, {dtype}: backend auto vs reference")
            if _has_fused(cls):
                _equal(_build(cls, dtype=dtype, backend="fused", **config)(x, state=state), y,
                       f"{_label(config)}, {dtype}: backend fused vs reference")
            else:
                try:
                    cls(num_features=F, backend="fused", **config)
                except ValueError:
                    pass
                else:
                    raise AssertionError("backend='fused' accepted without fused kernels")
    try:
        cls(num_features=F, backend="cuda")
    except ValueError as err:
        assert "backend" in str(err), f"the message does not say 'backend': {err}"
    else:
        raise AssertionError("backend='cuda' was accepted")


def check_fused_matches_reference(name_or_class) -> None:
    """Every CPU kernel backend of :mod:`spikecast.neurons.fused`: output and final state
    bit-identical to the reference loop, gradients within 1e-6 (float64) / 1e-4 (float32)."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        for dtype, rtol in ((torch.float64, 1e-6), (torch.float32, 1e-4)):
            reference = _build(cls, dtype=dtype, backend="reference", **config)
            fast = copy.deepcopy(reference)
            fast.backend = "fused"
            x, state = _inputs(reference, dtype=dtype, grad=True)
            y_ref, final_ref, g_ref = _grads(reference, x, state)
            for kernel in _cpu_kernels():
                what = f"{_label(config)}, {dtype}, kernel {kernel!r}"
                with fused.use_kernel(kernel):
                    y, final, g = _grads(fast, x, state)
                _equal(y, y_ref, f"{what}: output")
                for n, a, b in zip(reference.state_names, final, final_ref):
                    _equal(a, b, f"{what}: final state {n!r}")
                _close(g, g_ref, _leaf_names(reference), rtol, what)


def check_gradients_flow(name_or_class) -> None:
    """With the default surrogate, the gradient of the output and final state reaches the
    input, the initial state and every learnable parameter (finite, not all zero)."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        x, state = _inputs(neuron, grad=True)
        _, _, grads = _grads(neuron, x, state)
        for name, g in zip(_leaf_names(neuron), grads):
            assert g is not None, f"{_label(config)}: no gradient reaches {name}"
            assert torch.isfinite(g).all(), f"{_label(config)}: gradient of {name} is not finite"
            assert g.abs().sum() > 0, f"{_label(config)}: gradient of {name} is zero"


def check_gradients_match_finite_differences(name_or_class) -> None:
    """Autograd (reference, and fused where it exists) against finite differences.

    A surrogate is not the step's derivative, so finite differences can only see the
    dynamics where the surrogate is zero: ``rect`` with ``α = 1e6`` (a window of ±5e-7 that no
    membrane of this input falls into). Spikes and resets still happen.
    """
    _, cls = _resolve(name_or_class)
    backends = ["reference"] + (["fused"] if _has_fused(cls) else [])
    for config in _configs(cls):
        for backend in backends:
            neuron = _build(cls, surrogate="rect", alpha=1e6, backend=backend, **config)
            names = [n for n, _ in neuron.named_parameters()]
            params = [p.detach().clone().requires_grad_(True) for p in neuron.parameters()]
            x, state = _inputs(neuron, shape=(5, B, F), grad=True)
            n_state = len(state)

            def fn(x, *leaves, neuron=neuron, names=names, n_state=n_state):
                y, final = torch.func.functional_call(
                    neuron, dict(zip(names, leaves[n_state:])), (x,),
                    {"state": tuple(leaves[:n_state]), "return_state": True})
                return (y, *final)

            if backend == "reference":  # (the fused kernels do not call the spike function)
                with _recording(neuron) as rec:
                    fn(x, *state, *params)
                assert sum(int(s.sum()) for s in rec.calls) > 0, (
                    f"{_label(config)}: the check's input did not make the neuron fire")
            try:
                torch.autograd.gradcheck(fn, (x, *state, *params), atol=1e-6)
            except Exception as err:  # gradcheck's GradcheckError names the input
                raise AssertionError(f"{_label(config)}, backend {backend!r}: {err}") from err


def check_output_kind(name_or_class) -> None:
    """It fires through its spike function ``num_spike_tensors`` times a step, binary
    spikes; the output is the spike (one compartment), a function of the spikes (several),
    or takes other values where the neuron declares ``analog_output``."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        k = neuron.num_spike_tensors
        steps, _ = _run_steps(neuron, *_inputs(neuron))
        values: set[float] = set()
        fired = silent = 0
        for t, (y_t, spikes) in enumerate(steps):
            assert len(spikes) == k, (
                f"{_label(config)}: step {t} fired through the spike function {len(spikes)} times, "
                f"num_spike_tensors = {k} (fire with self.fire)")
            for s in spikes:
                assert ((s == 0) | (s == 1)).all(), f"{_label(config)}: spikes must be 0 or 1"
                fired += int(s.sum())
                silent += int((s == 0).sum())
            if not neuron.analog_output and k == 1:
                _equal(y_t, spikes[0], f"{_label(config)}: output of a spiking neuron vs its spike")
            values |= set(y_t.flatten().tolist())
        assert fired and silent, (
            f"{_label(config)}: the check's input fired {fired} of {fired + silent}")
        if neuron.analog_output:
            assert len(values) > 2 ** k, (
                f"{_label(config)}: analog_output, but only the values {sorted(values)}")
        elif k > 1:  # a function of the spikes: per feature, one value per spike pattern
            y = torch.stack([y_t for y_t, _ in steps])
            pattern = sum(torch.stack([s[i] for _, s in steps]) * 2 ** i for i in range(k))
            for f in range(y.shape[-1]):
                for p in pattern[..., f].unique():
                    chosen = y[..., f][pattern[..., f] == p]
                    assert (chosen == chosen[0]).all(), (
                        f"{_label(config)}: feature {f}, spike pattern {int(p)}: outputs "
                        f"{chosen.unique()[:4].tolist()} (not a function of the spikes)")


def check_silent_output_zero(name_or_class) -> None:
    """The output is exactly 0 wherever no compartment fires iff ``silent_output_zero``;
    a neuron at rest (zero state) given no input stays silent."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        steps, _ = _run_steps(neuron, *_inputs(neuron))
        # the outputs wherever no compartment fired
        quiet = torch.cat([y_t[torch.stack(spikes).sum(0) == 0] for y_t, spikes in steps])
        assert quiet.numel(), f"{_label(config)}: the check's input left no neuron silent"
        if neuron.silent_output_zero:
            assert (quiet == 0).all(), (
                f"{_label(config)}: silent_output_zero, but a step without spikes output "
                f"{quiet[quiet != 0][:3].tolist()}")
        else:
            assert (quiet != 0).any(), (
                f"{_label(config)}: the output is 0 wherever nothing fires: declare "
                "silent_output_zero = True")
        rest = torch.zeros(T, B, F, dtype=torch.float64)
        steps, _ = _run_steps(neuron, rest, None)
        assert not any(s.any() for _, spikes in steps for s in spikes), (
            f"{_label(config)}: a neuron at rest given no input fired")


def check_monitor(name_or_class) -> None:
    """Off (the default): nothing recorded. On: ``last_spike_count`` (int) is the number of
    spikes fired and ``last_firing_rate`` (float) that over elements × compartments, for a
    sequence, a step and a silent sequence."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        x, state = _inputs(neuron)
        assert neuron.monitor is False
        with torch.no_grad():
            neuron(x + 2)
            neuron.step(x[0] + 2)
        assert neuron.last_firing_rate is None and neuron.last_spike_count is None, (
            f"{_label(config)}: monitor off, but something was recorded")
        steps, _ = _run_steps(neuron, x, state)
        counts = [sum(int(s.sum()) for s in spikes) for _, spikes in steps]
        assert sum(counts) > 0, f"{_label(config)}: the check's input did not make it fire"
        k = neuron.num_spike_tensors
        neuron.monitor = True

        def expect(run: str, count: int, n: int, neuron=neuron, config=config, k=k) -> None:
            assert isinstance(neuron.last_spike_count, int)
            assert isinstance(neuron.last_firing_rate, float)
            assert neuron.last_spike_count == count, (
                f"{_label(config)}, {run}: counted {neuron.last_spike_count} spikes, fired {count}")
            assert neuron.last_firing_rate == count / (n * k), (
                f"{_label(config)}, {run}: rate {neuron.last_firing_rate} != {count} / ({n}·{k})")

        with torch.no_grad():
            neuron(x, state=state)
            expect("sequence", sum(counts), x.numel())
            neuron.step(x[0], state)
            expect("step", counts[0], x[0].numel())
            neuron(torch.zeros_like(x))
            expect("silent sequence", 0, x.numel())


def check_deterministic(name_or_class) -> None:
    """The same seed builds the same neuron; the same call gives the same output and
    gradients, bit for bit."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        a, b = _build(cls, **config), _build(cls, **config)
        for k, v in a.state_dict().items():
            _equal(v, b.state_dict()[k], f"{_label(config)}: {k} of two neurons built alike")
        x, state = _inputs(a, grad=True)
        first, second = _grads(a, x, state), _grads(a, x, state)
        _equal(first[0], second[0], f"{_label(config)}: output of two identical calls")
        for name, g1, g2 in zip(_leaf_names(a), first[2], second[2]):
            if g1 is not None:
                _equal(g1, g2, f"{_label(config)}: gradient of {name} in two identical calls")


def check_no_grad(name_or_class) -> None:
    """Under ``torch.no_grad`` nothing requires grad and the values are unchanged."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        x, _ = _inputs(neuron)
        with torch.no_grad():
            y = neuron(x)
            y_t, state = neuron.step(x[0])
        assert not y.requires_grad and not y_t.requires_grad, (
            f"{_label(config)}: the output requires grad under torch.no_grad")
        assert all(not s.requires_grad for s in state), (
            f"{_label(config)}: a state requires grad under torch.no_grad")
        torch.testing.assert_close(y, neuron(x).detach())


def check_serialisation(name_or_class) -> None:
    """``state_dict`` into a fresh neuron, deepcopy, ``torch.save`` / ``load`` and pickle
    all give the same outputs."""
    _, cls = _resolve(name_or_class)
    for config in _configs(cls):
        neuron = _build(cls, **config)
        x, _ = _inputs(neuron)
        with torch.no_grad():
            y = neuron(x)
            other = _build(cls, seed=1, **config)
            other.load_state_dict(neuron.state_dict())
            _equal(other(x), y, f"{_label(config)}: after load_state_dict")
            _equal(copy.deepcopy(neuron)(x), y, f"{_label(config)}: deepcopy")
            try:
                buf = io.BytesIO()
                torch.save(neuron, buf)
                buf.seek(0)
                saved = torch.load(buf, weights_only=False)
                pickled = pickle.loads(pickle.dumps(neuron))
            except Exception as err:  # an AssertionError, like every broken promise
                raise AssertionError(f"{_label(config)}: cannot save / pickle the neuron: "
                                     f"{type(err).__name__}: {err}") from err
            _equal(saved(x), y, f"{_label(config)}: torch.save / load")
            _equal(pickled(x), y, f"{_label(config)}: pickle")


_CHECKS: tuple[Callable, ...] = (
    check_registered,
    check_constructor_params,
    check_docstring,
    check_state_is_explicit,
    check_shapes_and_dtypes,
    check_features_last,
    check_step_equals_sequence,
    check_backends,
    check_gradients_flow,
    check_gradients_match_finite_differences,
    check_output_kind,
    check_silent_output_zero,
    check_monitor,
    check_deterministic,
    check_no_grad,
    check_serialisation,
)


def neuron_checks(name_or_class) -> Iterator[Callable]:
    """The checks that apply to a neuron (a registry name or a :class:`BaseNeuron`
    subclass), in order: each is a function ``check(name_or_class)`` (named ``check_...``)
    that raises ``AssertionError`` if the contract is broken.

    ``check_fused_matches_reference`` applies to neurons with fused kernels (a
    ``_multi_step_fused``).
    """
    _, cls = _resolve(name_or_class)
    yield from _CHECKS
    if _has_fused(cls):
        yield check_fused_matches_reference


def check_neuron(name_or_class) -> None:
    """Run every check of :func:`neuron_checks` on a neuron (registry name or class).

    Raises:
        AssertionError: naming the first failing check and the neuron, with the reason.
    """
    _, cls = _resolve(name_or_class)
    for check in neuron_checks(cls):
        try:
            check(cls)
        except Exception as err:
            raise AssertionError(
                f"{check.__name__} failed for {cls.__name__}: {type(err).__name__}: {err}"
            ) from err

"""The neuron contract (:mod:`spikecast.checks.neuron`) for every registered neuron, and
proof that each check catches the neuron that breaks it."""

from __future__ import annotations

import pytest
import torch

from spikecast import neurons
from spikecast.checks import check_neuron, neuron_checks
from spikecast.checks import neuron as contract
from spikecast.neurons.base import BaseNeuron


def _cases():
    for name in neurons.available():
        for check in neuron_checks(name):
            yield pytest.param(name, check, id=f"{name}-{check.__name__}")


@pytest.mark.parametrize("name, check", list(_cases()))
def test_neuron_contract(name, check):
    check(name)


def test_suite_covers_every_check():
    """Every ``check_*`` function of the module is in the suite (none is forgotten)."""
    defined = {n for n in vars(contract) if n.startswith("check_") and n != "check_neuron"}
    yielded = {c.__name__ for name in neurons.available() for c in neuron_checks(name)}
    assert defined == yielded


def test_fused_check_only_for_neurons_with_fused_kernels():
    assert contract.check_fused_matches_reference in list(neuron_checks("lif"))
    assert contract.check_fused_matches_reference in list(neuron_checks(neurons.LIF))
    assert contract.check_fused_matches_reference not in list(neuron_checks(_ReferenceOnly))


def test_unknown_neuron_is_refused():
    with pytest.raises(ValueError, match="lif"):
        check_neuron("izhikevich")
    with pytest.raises(TypeError):
        check_neuron(torch.nn.ReLU)


# ------------------------------------------------------------------ broken neurons
# Each breaks one promise; the check that states it must fail on it. Those that change
# ``_step_impl`` drop the inherited fused kernels, so every backend runs the broken step.
class _ReferenceOnly(neurons.LIF):
    """LIF without fused kernels (the reference loop for every backend)."""

    _multi_step_fused = BaseNeuron._multi_step_fused


class _Unregistered(neurons.LIF):
    """Not in the registry."""


class _KwargsOnly(neurons.LIF):
    """Takes ``**kwargs`` (neuron_params cannot be checked against the signature)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)


class _NoReference(neurons.LIF):
    """A leaky neuron, no equations, no paper."""


class _HiddenState(neurons.LIF):
    """Starts where its last call ended when given no state."""

    def forward(self, x, state=None, return_state=False):
        if state is None:
            state = getattr(self, "_last", None)
        y, final = super().forward(x, state, return_state=True)
        self._last = tuple(s.detach() for s in final)
        return (y, final) if return_state else y


class _Float32Output(neurons.LIF):
    """Always returns float32."""

    def forward(self, x, state=None, return_state=False):
        out = super().forward(x, state, return_state)
        return (out[0].float(), out[1]) if return_state else out.float()


class _MixesNeurons(_ReferenceOnly):
    """Adds the mean over the second-to-last dimension (not the features) to every input."""

    def _step_impl(self, x_t, state, coeffs):
        return super()._step_impl(x_t + 0.5 * x_t.mean(-2, keepdim=True), state, coeffs)


class _StepDrifts(neurons.LIF):
    """``step`` returns a slightly different state from the sequence's."""

    def step(self, x_t, state=None):
        y, new = super().step(x_t, state)
        return y, tuple(s + 1e-9 for s in new)


class _FusedSilent(neurons.LIF):
    """The fused kernels' output is all zeros."""

    def _multi_step_fused(self, x, state):
        y, final, count = super()._multi_step_fused(x, state)
        return torch.zeros_like(y), final, count


class _FusedWrongSurrogate(neurons.LIF):
    """The fused kernels use another surrogate than the reference step."""

    def _fused_surrogate(self):
        return ("sigmoid", 4.0)


class _DetachedTau(neurons.PLIF):
    """No gradient reaches ``w``."""

    def _coefficients(self, x):
        return (torch.sigmoid(self.w).detach().to(x.dtype),)


class _DoubledInputGradient(_ReferenceOnly):
    """The input's gradient is twice its derivative (the forward is unchanged)."""

    def _step_impl(self, x_t, state, coeffs):
        return super()._step_impl(x_t + (x_t - x_t.detach()), state, coeffs)


class _HalfSpikes(_ReferenceOnly):
    """Outputs half a spike."""

    def _step_impl(self, x_t, state, coeffs):
        y, new, spikes = super()._step_impl(x_t, state, coeffs)
        return 0.5 * y, new, spikes


class _UndeclaredSilence(neurons.LIF):
    # Silent outputs are 0, but it says otherwise. (No docstring of its own: it inherits
    # LIF's, so that check_neuron gets as far as the broken promise.)
    silent_output_zero = False


class _Miscounts(neurons.LIF):
    """Its monitor counts one spike too many."""

    def _record(self, n_spikes, n_elements):
        super()._record(n_spikes + 1, n_elements)


class _Noisy(_ReferenceOnly):
    """Adds noise to its input."""

    def _step_impl(self, x_t, state, coeffs):
        return super()._step_impl(x_t + 1e-3 * torch.randn_like(x_t), state, coeffs)


class _GradUnderNoGrad(neurons.LIF):
    """Its output requires grad even under ``torch.no_grad``."""

    def forward(self, x, state=None, return_state=False):
        out = super().forward(x, state, return_state)
        if not torch.is_grad_enabled():
            (out[0] if return_state else out).requires_grad_(True)
        return out


class _Unpicklable(neurons.LIF):
    """Keeps a lambda (torch.save and pickle fail)."""

    def __init__(self, num_features=None):
        super().__init__(num_features=num_features)
        self.hook = lambda u: u


BROKEN = {
    "check_registered": _Unregistered,
    "check_constructor_params": _KwargsOnly,
    "check_docstring": _NoReference,
    "check_state_is_explicit": _HiddenState,
    "check_shapes_and_dtypes": _Float32Output,
    "check_features_last": _MixesNeurons,
    "check_step_equals_sequence": _StepDrifts,
    "check_backends": _FusedSilent,
    "check_fused_matches_reference": _FusedWrongSurrogate,
    "check_gradients_flow": _DetachedTau,
    "check_gradients_match_finite_differences": _DoubledInputGradient,
    "check_output_kind": _HalfSpikes,
    "check_silent_output_zero": _UndeclaredSilence,
    "check_monitor": _Miscounts,
    "check_deterministic": _Noisy,
    "check_no_grad": _GradUnderNoGrad,
    "check_serialisation": _Unpicklable,
}


@pytest.mark.parametrize("check_name, broken", BROKEN.items(), ids=list(BROKEN))
def test_each_check_catches_the_neuron_that_breaks_it(check_name, broken):
    with pytest.raises(AssertionError):
        getattr(contract, check_name)(broken)


def test_every_check_has_a_broken_neuron():
    defined = {n for n in vars(contract) if n.startswith("check_") and n != "check_neuron"}
    assert set(BROKEN) == defined


def test_check_neuron_names_the_failing_check(monkeypatch):
    with pytest.raises(AssertionError, match="check_registered failed for _UndeclaredSilence"):
        check_neuron(_UndeclaredSilence)
    # registered with one line, it passes every check up to the one it breaks
    monkeypatch.setitem(neurons.NEURONS, "undeclared_silence", _UndeclaredSilence)
    with pytest.raises(AssertionError, match="check_silent_output_zero failed"):
        check_neuron("undeclared_silence")
    check_neuron(neurons.LIF)  # and the parent keeps the whole contract

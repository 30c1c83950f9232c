"""Static configuration of a fused call, shared by every kernel backend.

A config is a hashable :class:`typing.NamedTuple` of python scalars: it selects the
variant (reset kind, surrogate, detach) and carries the fixed constants. The surrogate is a
name in :data:`spikecast.neurons.surrogate.SURROGATES`, the table every kernel reads.
Kernels read the constants in the tensor's dtype (a python float meets a float32 tensor as
its float32 rounding in torch too), which keeps the forward bit-identical to the reference
loop.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LeakyConfig", "LIAFConfig", "TSLIFConfig", "TCLIFConfig"]


class LeakyConfig(NamedTuple):
    """LIF / PLIF / DA-LIF: ``h = c1·v + c3 + c2·(x + x_offset)``, fire, hard or soft reset.

    Attributes:
        threshold: ``θ``.
        v_reset: reset potential of the hard reset (0 for DA-LIF).
        hard: hard reset (``h·(1-s) + v_reset·s``) instead of soft (``h - θ·s``).
        detach: no gradient through the spike in the reset path.
        x_offset: constant added to the input before scaling (LIF's ``v_reset`` with
            ``decay_input``), 0 for none.
        use_c3: whether the constant term ``c3`` is present (LIF without ``decay_input``
            and ``v_reset != 0``).
        surrogate, alpha: surrogate gradient.
    """

    threshold: float
    v_reset: float
    hard: bool
    detach: bool
    x_offset: float
    use_c3: bool
    surrogate: str
    alpha: float


class LIAFConfig(NamedTuple):
    """LIAF without normalisation: ``u = x + v``, ``r = f·v_reset + (1-f)·u``, ``v = leak·r + β``.

    Attributes:
        threshold, v_reset, beta: LIAF's constants.
        detach: no gradient through the spike in the reset path.
        surrogate, alpha: surrogate gradient.
    """

    threshold: float
    v_reset: float
    beta: float
    detach: bool
    surrogate: str
    alpha: float


class TSLIFConfig(NamedTuple):
    """TS-LIF: two firing compartments, soft resets ``γ`` (dendrite) and ``θ`` (soma)."""

    gamma: float
    threshold: float
    detach: bool
    surrogate: str
    alpha: float


class TCLIFConfig(NamedTuple):
    """TC-LIF: the soma fires, soft resets ``γ`` (dendrite) and ``θ`` (soma)."""

    gamma: float
    threshold: float
    detach: bool
    surrogate: str
    alpha: float

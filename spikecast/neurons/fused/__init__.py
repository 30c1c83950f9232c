"""Fused multi-step kernels: the time loop once forward, one reverse loop backward.

A fused call runs a neuron's recurrence over the whole sequence without building an
autograd graph, keeps only what the backward needs (the pre-spike / pre-reset membranes),
and recomputes the spikes and surrogate gradients in a single reverse loop. Forward values
are bit-identical to the reference loop (same operations in the same order).

Kernel backends (:func:`kernel_for` picks one per call):

- ``"numba"``: compiled CPU loops (each thread owns a block of neurons and walks the time
  axis), used for float32/float64 CPU tensors when numba is importable (a dependency of
  spikecast);
- ``"triton"``: GPU kernels for CUDA tensors when triton is importable;
- ``"torch"``: a vectorised torch loop, for every other device and dtype.

Every backend evaluates the surrogate gradient from its entry in
:data:`spikecast.neurons.surrogate.SURROGATES` (the module doc there says how); no kernel
lists the surrogates. The neurons use these through ``backend="fused"`` (the default via
``"auto"``).
"""

from __future__ import annotations

from spikecast.neurons.fused._config import LeakyConfig, LIAFConfig, TCLIFConfig, TSLIFConfig
from spikecast.neurons.fused._functions import (
    KERNELS,
    LeakyFunction,
    LIAFFunction,
    TCLIFFunction,
    TSLIFFunction,
    kernel_for,
    numba_available,
    triton_available,
    use_kernel,
)

__all__ = [
    "KERNELS",
    "LeakyConfig",
    "LIAFConfig",
    "TSLIFConfig",
    "TCLIFConfig",
    "LeakyFunction",
    "LIAFFunction",
    "TSLIFFunction",
    "TCLIFFunction",
    "kernel_for",
    "numba_available",
    "triton_available",
    "use_kernel",
]

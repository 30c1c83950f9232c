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
``"auto"``). :func:`sub_step_mean` (:class:`SubStepMeanFunction`) is the fused form of
:meth:`~spikecast.neurons.BaseNeuron.sub_step_average`: ``T`` sub-steps from rest with a
constant current, averaged, as one elementwise numba kernel.
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
from spikecast.neurons.fused._substeps import (
    MAX_FUSED_STEPS,
    SubStepMeanFunction,
    sub_step_mean,
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
    "MAX_FUSED_STEPS",
    "SubStepMeanFunction",
    "sub_step_mean",
    "kernel_for",
    "numba_available",
    "triton_available",
    "use_kernel",
]

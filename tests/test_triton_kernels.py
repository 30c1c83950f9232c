"""The Triton kernels of every neuron against the reference loop, on the CPU (no GPU needed).

Triton's interpreter (``TRITON_INTERPRET=1``) runs the kernels on CPU tensors with numpy, one
operation at a time in the data's dtype, so the forward pass must be bit-identical to the
reference and the gradients within 1e-6 (float64), as on a GPU. The variable is read when a
kernel is decorated (``triton.jit``, at the import of ``_triton_kernels``), so it cannot be
switched on inside a test process that may already hold the compiled kernels:
:func:`test_triton_kernels_under_the_interpreter` runs this file's interpreter tests, and those
of ``tests/test_neurons_fused.py`` (every neuron and option, both dtypes), in a child process
with ``TRITON_INTERPRET=1``. Run them directly with::

    TRITON_INTERPRET=1 python -m pytest -k triton \\
        tests/test_triton_kernels.py tests/test_neurons_fused.py

Without the variable, :func:`test_triton_kernels_compile_for_a_gpu_without_fma` compiles every
kernel ahead of time for an H100 (``sm_90``) and checks that no forward kernel contracts a
multiply and an add into an FMA (which would round differently from torch).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("triton")

from test_neurons_fused import CASES, IDS, _compare, _inputs, _pair  # noqa: E402

from spikecast import neurons  # noqa: E402
from spikecast.neurons import fused, surrogate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
INTERPRETING = os.environ.get("TRITON_INTERPRET") == "1"
# The neurons whose kernels the issue added; LIF, PLIF and DA-LIF are in CASES too.
NEW = ("liaf", "ts_lif", "tc_lif")
interpreter_only = pytest.mark.skipif(
    not INTERPRETING, reason="runs in test_triton_kernels_under_the_interpreter's child "
    "process (TRITON_INTERPRET=1)")


@pytest.mark.slow  # 12 s of CPU time
@pytest.mark.skipif(INTERPRETING, reason="this is the child process")
def test_triton_kernels_under_the_interpreter():
    """Every ``-k triton`` test of this file and of test_neurons_fused.py, interpreted."""
    env = {**os.environ, "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-k", "triton",
           "tests/test_triton_kernels.py", "tests/test_neurons_fused.py"]
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, f"interpreted Triton tests failed ({elapsed:.0f} s):\n{tail}"
    passed = re.search(r"(\d+) passed", run.stdout)
    # CASES in two dtypes at least: the child did run the kernels, not skip them
    assert passed and int(passed.group(1)) >= 2 * len(CASES), tail


def test_every_fused_function_has_a_triton_kernel():
    """No neuron falls back to the torch loop on CUDA: the Triton module has every function."""
    from spikecast.neurons.fused import _torch_kernels
    from spikecast.neurons.fused import _triton_kernels as tk

    assert set(tk.__all__) == set(_torch_kernels.__all__)
    for name in _torch_kernels.__all__:
        assert getattr(tk, name) is not getattr(_torch_kernels, name), name
        assert getattr(tk, name).__doc__


@interpreter_only
@pytest.mark.parametrize("name", neurons.available())
def test_triton_runs_its_own_kernels(monkeypatch, name):
    """With the torch loop disabled, a Triton fused call still runs (no silent fallback)."""
    from spikecast.neurons.fused import _functions, _torch_kernels

    for func in _torch_kernels.__all__:
        monkeypatch.setattr(_torch_kernels, func, None)
    monkeypatch.setattr(_functions, "_modules", {})
    _compare(name, {}, torch.float64, "triton", shape=(4, 2, 5))


@interpreter_only
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("name", "kwargs"), [
    ("lif", {}), ("plif", {"per_channel": True}), ("da_lif", {"reset": "soft"}),
    ("liaf", {"per_channel": True}), ("ts_lif", {}), ("ts_lif", {"output": "kappa"}),
    ("tc_lif", {"per_channel": True}),
])
def test_triton_several_blocks(name, kwargs, dtype):
    """300 neurons: three program blocks of 128, the last one partly masked."""
    _compare(name, kwargs, dtype, "triton", shape=(5, 3, 100),
             rtol=1e-6 if dtype == torch.float64 else 1e-4)


@interpreter_only
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("sg", surrogate.available())
@pytest.mark.parametrize("name", NEW)
def test_triton_every_surrogate(name, sg, detach_reset):
    """Each surrogate of the table, with and without detach_reset, in each new kernel."""
    _compare(name, {"surrogate": sg, "detach_reset": detach_reset}, torch.float64, "triton")


@interpreter_only
@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("shape", [(1, 4, 5), (6, 2, 3, 5)])
def test_triton_shapes(name, shape):
    """T = 1 (the first step is the last: no previous row) and extra feature dimensions."""
    _compare(name, {}, torch.float64, "triton", shape=shape)


@interpreter_only
@pytest.mark.parametrize(("name", "kwargs"), [(n, kw) for n, kw in CASES if n in NEW],
                         ids=[i for (n, _), i in zip(CASES, IDS) if n in NEW])
def test_triton_frozen_parameters(name, kwargs):
    """No parameter needs a gradient: the kernels skip the coefficient sums."""
    ref, fast = _pair(name, kwargs, torch.float64)
    for m in (ref, fast):
        m.requires_grad_(False)
    x, state = _inputs(ref, torch.float64, (6, 3, 5))
    outs = []
    for m, kernel in ((ref, None), (fast, "triton")):
        with fused.use_kernel(kernel):
            y, final = m(x, state=state, return_state=True)
            loss = (y * y).sum() + sum((f * f).sum() for f in final)
            outs.append((y.detach(), torch.autograd.grad(loss, [x, *state])))
    assert torch.equal(outs[0][0], outs[1][0])
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


@interpreter_only
@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("use", ["output", "state"])
def test_triton_gradient_of_output_or_state_alone(name, use):
    """A loss of only the output, or only the final state."""
    ref, fast = _pair(name, {}, torch.float64)
    x, state = _inputs(ref, torch.float64, (5, 3, 5))

    def grads(m):
        y, final = m(x, state=state, return_state=True)
        loss = (y ** 2).sum() if use == "output" else (final[-1] ** 2).sum()
        return torch.autograd.grad(loss, [x, *state, *m.parameters()], allow_unused=True)

    g_ref = grads(ref)
    with fused.use_kernel("triton"):
        g = grads(fast)
    for a, b, leaf in zip(g, g_ref, [x, *state, *ref.parameters()]):
        a = torch.zeros_like(leaf) if a is None else a
        b = torch.zeros_like(leaf) if b is None else b
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.skipif(INTERPRETING, reason="the interpreter's kernels cannot be compiled "
                    "ahead of time")
def test_triton_kernels_compile_for_a_gpu_without_fma():
    """Ahead-of-time compilation of the LIAF, TS-LIF and TC-LIF kernels to an H100 (sm_90)
    binary, no GPU needed: valid Triton, and no fused multiply-add in the forwards."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from spikecast.neurons.fused import _triton_kernels as tk

    sg = tk._surrogate_fn(surrogate.SURROGATES["sigmoid"])
    kernels = {  # kernel: (pointer arguments, compile-time flags)
        tk._liaf_fwd_kernel: (6, {"HAS_BETA": True}),
        tk._liaf_bwd_kernel: (8, {"DETACH": False, "NEED": True, "SG": sg}),
        tk._tslif_fwd_kernel: (10, {}),
        tk._tslif_bwd_kernel: (14, {"DETACH": False, "NEED": True, "SG": sg}),
        tk._tclif_fwd_kernel: (11, {}),
        tk._tclif_bwd_kernel: (14, {"DETACH": False, "NEED1": True, "NEED2": True, "SG": sg}),
    }
    target = GPUTarget("cuda", 90, 32)
    for kernel, (n_ptr, flags) in kernels.items():
        names = kernel.arg_names
        flags = {**flags, "BLOCK": 128}
        sig = {n: "*fp32" for n in names[:n_ptr]}
        assert names[n_ptr:n_ptr + 2] == ["T", "N"], names
        sig.update({"T": "i32", "N": "i32", **{k: "constexpr" for k in flags}})
        assert set(sig) == set(names), (kernel, names)
        compiled = triton.compile(ASTSource(fn=kernel, signature=sig, constexprs=flags),
                                  target=target, options={"enable_fp_fusion": False})
        assert "cubin" in compiled.asm
        if "fwd" in kernel.__name__:
            assert "fma.rn" not in compiled.asm["ptx"], kernel.__name__

"""The fused backend against the reference loop, for every neuron, option and kernel.

Forward values and final states must be bit-identical (the fused kernels repeat the
reference's operations in the same order); gradients of the input, the initial state and
every learnable parameter must agree within 1e-6 relative in float64. Parameters are moved
away from their initial values and the initial states are random, so no coefficient hides
behind a special value (0.5, 0, 1). Every available kernel backend is checked (the numba one
only when numba is installed; Triton in interpreter mode only when triton is).
"""

from __future__ import annotations

import copy
import os

import pytest
import torch

from spikecast import neurons
from spikecast.neurons import fused, surrogate
from spikecast.neurons.surrogate import TORCH_OPS as ops

T, B, F = 7, 3, 5

KERNELS = ["torch"] + (["numba"] if fused.numba_available() else [])

# (neuron, kwargs): together they cover every option of every neuron and all surrogates.
CASES = [
    ("lif", {}),
    ("lif", {"reset": "soft", "surrogate": "sigmoid"}),
    ("lif", {"detach_reset": True, "surrogate": "rect", "alpha": 0.7}),
    ("lif", {"reset": "soft", "detach_reset": True, "surrogate": "triangle"}),
    ("lif", {"tau": 3.3, "threshold": 0.7, "v_reset": -0.3}),
    ("lif", {"decay_input": False, "tau": 1.7}),
    ("lif", {"decay_input": False, "v_reset": 0.2, "tau": 2.9, "reset": "soft"}),
    ("plif", {}),
    ("plif", {"per_channel": True, "reset": "soft", "surrogate": "triangle"}),
    ("plif", {"decay_input": False, "v_reset": -0.2, "surrogate": "sigmoid"}),
    ("plif", {"decay_input": False, "per_channel": True, "detach_reset": True}),
    ("plif", {"v_reset": 0.1, "init_tau": 3.0, "surrogate": "rect"}),
    ("da_lif", {}),
    ("da_lif", {"per_channel": True, "reset": "soft", "surrogate": "sigmoid"}),
    ("da_lif", {"detach_reset": True, "surrogate": "rect", "threshold": 0.8}),
    ("da_lif", {"per_channel": True, "surrogate": "triangle", "reset": "soft",
                "detach_reset": True}),
    ("liaf", {}),
    ("liaf", {"activation": "selu", "threshold_related": False, "surrogate": "atan"}),
    ("liaf", {"activation": "tanh", "per_channel": True, "v_reset": 0.2, "beta": 0.1}),
    ("liaf", {"activation": "sigmoid", "learn_alpha": False, "alpha_init": 0.3}),
    ("liaf", {"activation": "gelu", "detach_reset": True, "surrogate": "triangle"}),
    ("liaf", {"activation": "leaky_relu", "surrogate": "sigmoid", "per_channel": True,
              "threshold_related": False}),
    ("liaf", {"activation": "identity", "beta": -0.05, "v_reset": -0.1}),
    ("ts_lif", {}),
    ("ts_lif", {"per_channel": True, "surrogate": "sigmoid"}),
    ("ts_lif", {"output": "kappa", "detach_reset": True, "surrogate": "rect"}),
    ("ts_lif", {"output": "kappa", "per_channel": True, "surrogate": "triangle",
                "gamma": 0.3, "threshold": 0.9}),
    ("tc_lif", {}),
    ("tc_lif", {"per_channel": True, "surrogate": "atan", "threshold": 1.0}),
    ("tc_lif", {"detach_reset": True, "surrogate": "sigmoid", "gamma": 0.7}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CASES]


def _pair(name, kwargs, dtype, seed=0, features=F):
    """A reference and a fused neuron with the same (perturbed) parameters."""
    torch.manual_seed(seed)
    ref = neurons.build(name, num_features=features, backend="reference", **kwargs)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ref = ref.to(dtype)
    fast = copy.deepcopy(ref)
    fast.backend = "fused"
    return ref, fast


def _inputs(neuron, dtype, shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=dtype) * 0.8 + 0.5).requires_grad_()
    state = tuple((torch.randn(shape[1:], generator=g, dtype=dtype) * 0.5).requires_grad_()
                  for _ in neuron.state_names)
    return x, state


def _run(neuron, x, state, seed=2):
    """Output, final state and the gradients of a random projection of both."""
    y, final = neuron(x, state=state, return_state=True)
    g = torch.Generator().manual_seed(seed)
    loss = (y * torch.randn(y.shape, generator=g, dtype=y.dtype)).sum()
    for f in final:
        loss = loss + (f * torch.randn(f.shape, generator=g, dtype=f.dtype)).sum()
    leaves = [x, *state, *neuron.parameters()]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return y.detach(), [f.detach() for f in final], grads


def _compare(name, kwargs, dtype, kernel, shape=(T, B, F), rtol=1e-6):
    ref, fast = _pair(name, kwargs, dtype, features=shape[-1])
    x, state = _inputs(ref, dtype, shape)
    y_ref, fin_ref, g_ref = _run(ref, x, state)
    with fused.use_kernel(kernel):
        y, fin, g = _run(fast, x, state)
    assert torch.equal(y, y_ref)
    for a, b in zip(fin, fin_ref):
        assert torch.equal(a, b)
    names = ["x"] + [f"state.{s}" for s in ref.state_names] + [
        n for n, _ in ref.named_parameters()]
    assert len(g) == len(g_ref) == len(names)
    for n, a, b in zip(names, g, g_ref):
        assert (a is None) == (b is None), n
        if a is not None:
            torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * 1e-3 * (1 + b.abs().max()),
                                       msg=lambda m, n=n: f"{n}: {m}")
    return y_ref


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_fused_matches_reference_float64(name, kwargs, kernel):
    y = _compare(name, kwargs, torch.float64, kernel)
    assert y.abs().sum() > 0  # the inputs do make the neuron fire / output something


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("name", "kwargs"), CASES[::3], ids=IDS[::3])
def test_fused_matches_reference_float32(name, kwargs, kernel):
    _compare(name, kwargs, torch.float32, kernel, rtol=1e-4)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", neurons.available())
@pytest.mark.parametrize("shape", [(1, 4, F), (6, 2, 3, F), (5, 2, 1, 2, F)])
def test_fused_shapes(name, kernel, shape):
    """T = 1 and extra (trailing) feature dimensions."""
    _compare(name, {}, torch.float64, kernel, shape=shape)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", neurons.available())
def test_fused_inference_and_return_state(name, kernel):
    ref, fast = _pair(name, {}, torch.float32)
    x = torch.randn(T, B, F) + 0.5
    with torch.no_grad(), fused.use_kernel(kernel):
        y, state = fast(x, return_state=True)
        y_only = fast(x)
    assert not y.requires_grad and torch.equal(y, y_only)
    with torch.no_grad():
        y_ref, state_ref = ref(x, return_state=True)
    assert torch.equal(y, y_ref)
    assert all(torch.equal(a, b) for a, b in zip(state, state_ref))
    # chaining two halves through the returned state equals one call
    with torch.no_grad(), fused.use_kernel(kernel):
        y1, s1 = fast(x[:3], return_state=True)
        y2 = fast(x[3:], state=s1)
    assert torch.equal(torch.cat([y1, y2]), y)


@pytest.mark.parametrize("name", neurons.available())
def test_monitor_counts_agree(name):
    ref, fast = _pair(name, {}, torch.float32)
    ref.monitor = fast.monitor = True
    x = torch.randn(T, B, F) + 0.5
    ref(x)
    fast(x)
    assert fast.last_spike_count == ref.last_spike_count > 0
    assert fast.last_firing_rate == ref.last_firing_rate


def test_auto_is_fused_and_unsupported_setups():
    x = torch.randn(3, 2, 4)
    assert neurons.LIF()._resolve_backend(x) == "fused"
    assert neurons.LIF(backend="reference")._resolve_backend(x) == "reference"
    normed = neurons.LIAF(norm="layer", num_features=4)
    assert normed._resolve_backend(x) == "reference"  # "auto" falls back
    with pytest.raises(ValueError, match="norm"):
        neurons.LIAF(norm="batch", num_features=4, backend="fused")
    normed.backend = "fused"  # reassigned after construction: still refused, not ignored
    with pytest.raises(ValueError, match="norm"):
        normed(x)
    with pytest.raises(ValueError, match="unknown fused kernel"), fused.use_kernel("cupy"):
        pass


def test_kernel_choice():
    x = torch.zeros(2, 3)
    expected = "numba" if fused.numba_available() else "torch"
    assert fused.kernel_for(x) == expected
    assert fused.kernel_for(x.half()) == "torch"
    with fused.use_kernel("torch"):
        assert fused.kernel_for(x) == "torch"


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("name", "kwargs"), [
    ("plif", {"per_channel": True}),
    ("da_lif", {"reset": "soft"}),
    ("ts_lif", {"output": "kappa"}),
    ("liaf", {"activation": "tanh", "v_reset": 0.1}),
    ("tc_lif", {"per_channel": True}),
])
def test_gradcheck(name, kwargs, kernel):
    """Fused backward against finite differences, input, initial state and parameters.

    A surrogate is not the step's derivative, so finite differences can only see the
    dynamics where the surrogate is exactly zero: a narrow rectangular window (|z| < 0.01)
    that no membrane of this seeded input falls into. Spikes and resets still happen.
    """
    torch.manual_seed(0)
    m = neurons.build(name, num_features=3, backend="fused", surrogate="rect", alpha=50.0,
                      **kwargs).double()
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(5, 2, 3, generator=g, dtype=torch.float64) * 3.0 - 0.5).requires_grad_()
    s0 = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.4).requires_grad_()

    def fn(x, s0, *ps):
        y, st = torch.func.functional_call(
            m, dict(zip(names, ps)), (x,), {"state": (s0,) * len(m.state_names),
                                              "return_state": True})
        return (y, *st)

    with fused.use_kernel(kernel):
        assert fn(x, s0, *params)[0].detach().abs().sum() > 0
        assert torch.autograd.gradcheck(fn, (x, s0, *params), atol=1e-6)


_TRITON_INTERPRETER = fused.triton_available() and os.environ.get("TRITON_INTERPRET") == "1"


@pytest.mark.skipif(not _TRITON_INTERPRETER,
                    reason="needs triton and TRITON_INTERPRET=1 to run Triton kernels on CPU")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_triton_interpreter(name, kwargs, dtype):
    """The Triton kernels (LIF family; the others fall back to the torch loop) on CPU."""
    _compare(name, kwargs, dtype, "triton", rtol=1e-6 if dtype == torch.float64 else 1e-4)


@pytest.mark.skipif(not fused.numba_available(), reason="numba not installed")
@pytest.mark.parametrize(("name", "kwargs"), [("lif", {}), ("ts_lif", {"per_channel": True}),
                                              ("liaf", {"per_channel": True})])
def test_numba_kernels_split_over_threads(name, kwargs):
    """Enough neurons for several blocks on two threads: same results as the reference."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _compare(name, kwargs, torch.float64, "numba", shape=(5, 4, 3, 200))
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(not fused.triton_available(), reason="triton not installed")
@pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1",
                    reason="the interpreter's kernels cannot be compiled ahead of time")
def test_triton_kernels_compile_for_a_gpu_without_fma():
    """Ahead-of-time compilation to an H100 (sm_90) binary, no GPU needed: the kernels are
    valid Triton, and the forward has no fused multiply-add (which would break exactness)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from spikecast.neurons.fused import _triton_kernels as tk

    target = GPUTarget("cuda", 90, 32)
    ptr = "*fp32"
    fwd_sig = {n: ptr for n in ("x_ptr", "v0_ptr", "c1_ptr", "c2_ptr", "c3_ptr", "s_ptr",
                                 "h_ptr", "vT_ptr", "cst_ptr")}
    fwd_flags = {"HARD": True, "USE_C3": True, "HAS_OFF": True, "HAS_VR": True, "BLOCK": 128}
    fwd_sig.update({"T": "i32", "N": "i32", **{k: "constexpr" for k in fwd_flags}})
    kernel = triton.compile(ASTSource(fn=tk._leaky_fwd_kernel, signature=fwd_sig,
                                      constexprs=fwd_flags),
                            target=target, options={"enable_fp_fusion": False})
    assert "fma.rn" not in kernel.asm["ptx"]
    bwd_sig = {n: ptr for n in ("gs_ptr", "gv_ptr", "h_ptr", "x_ptr", "v0_ptr", "c1_ptr",
                                 "c2_ptr", "gx_ptr", "gv0_ptr", "acc1_ptr", "acc2_ptr",
                                 "acc3_ptr", "cst_ptr")}
    bwd_flags = {"HARD": True, "DETACH": False, "NEED1": True, "NEED2": True, "NEED3": True,
                 "HAS_OFF": True, "HAS_VR": True, "BLOCK": 128,
                 "SG": tk._surrogate_fn(surrogate.SURROGATES["sigmoid"])}
    bwd_sig.update({"T": "i32", "N": "i32", **{k: "constexpr" for k in bwd_flags}})
    kernel = triton.compile(ASTSource(fn=tk._leaky_bwd_kernel, signature=bwd_sig,
                                      constexprs=bwd_flags),
                            target=target, options={"enable_fp_fusion": False})
    assert "cubin" in kernel.asm


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", neurons.available())
@pytest.mark.parametrize("use", ["output", "state"])
def test_fused_gradient_of_output_or_state_alone(name, kernel, use):
    """A loss of only the output, or only the final state (unused outputs get no gradient)."""
    ref, fast = _pair(name, {}, torch.float64)
    x, state = _inputs(ref, torch.float64, (T, B, F))

    def grads(m):
        y, final = m(x, state=state, return_state=True)
        loss = (y ** 2).sum() if use == "output" else (final[-1] ** 2).sum()
        return torch.autograd.grad(loss, [x, *state, *m.parameters()], allow_unused=True)

    g_ref = grads(ref)
    with fused.use_kernel(kernel):
        g = grads(fast)
    leaves = [x, *state, *ref.parameters()]
    for a, b, leaf in zip(g, g_ref, leaves):
        # The fused graph reaches every parameter, so one the loss does not depend on gets
        # zeros where the reference gives None (TS-LIF's output weights for a state loss).
        a = torch.zeros_like(leaf) if a is None else a
        b = torch.zeros_like(leaf) if b is None else b
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


# A surrogate the package does not have (the Gaussian density), registered for one test.
def _gauss(z, p0, p1, one, zero):
    return p0 * ops.exp(-p1 * z * z)


GAUSS = surrogate.SurrogateSpec("gauss", 1.5, lambda a: (a * 0.3989422804014327, a * a / 2),
                                _gauss)
NEW_SURROGATE_KERNELS = KERNELS + (["triton"] if _TRITON_INTERPRETER else [])


@pytest.mark.parametrize("kernel", NEW_SURROGATE_KERNELS)
@pytest.mark.parametrize(("name", "kwargs"), [("lif", {}), ("lif", {"reset": "soft"}),
                                              ("liaf", {"activation": "tanh"}),
                                              ("ts_lif", {}), ("tc_lif", {})])
def test_a_new_table_entry_reaches_every_kernel(monkeypatch, name, kwargs, kernel):
    """One entry in SURROGATES and the fused kernels use it: fused == reference, whose
    backward is the new formula (an unrelated surrogate would fail the gradients)."""
    monkeypatch.setitem(surrogate.SURROGATES, "gauss", GAUSS)
    _compare(name, {"surrogate": "gauss", "alpha": 0.9, **kwargs}, torch.float64, kernel)
    ref, _ = _pair(name, {"surrogate": "gauss", "alpha": 0.9, **kwargs}, torch.float64)
    other, _ = _pair(name, {"surrogate": "atan", "alpha": 0.9, **kwargs}, torch.float64)
    x, state = _inputs(ref, torch.float64, (T, B, F))
    assert not torch.allclose(_run(ref, x, state)[2][0], _run(other, x, state)[2][0])


@pytest.mark.skipif(not fused.numba_available(), reason="numba not installed")
def test_numba_kernels_are_specialised_per_surrogate():
    """The table entry reaches the numba kernels as an argument whose type names its
    formula, so each backward kernel has one compiled version per surrogate and dtype, the
    formula inlined (no call through a pointer)."""
    from spikecast.neurons.fused import _numba_kernels as nk

    for sg in surrogate.available():
        _compare("lif", {"surrogate": sg}, torch.float64, "numba")
        _compare("tc_lif", {"surrogate": sg}, torch.float64, "numba")
    for kernel in (nk._leaky_bwd, nk._tclif_bwd):
        float64 = [sig for sig in kernel.signatures if str(sig[0]) == "array(float64, 2d, C)"]
        types = [t for sig in float64 for t in sig if isinstance(t, nk.SurrogateType)]
        assert len(types) == len(float64) == len(set(types)), kernel.signatures
        assert {t.surrogate for t in types} >= set(surrogate.available())


def _atan_copy(z, p0, p1, one, zero):
    """The atan formula again, in another module (its docstring does not count)."""
    w = p1 * z
    return p0 / (one + w * w)


def _atan_edited(z, p0, p1, one, zero):
    """The atan formula, edited."""
    w = p1 * z
    return p0 / (one + w * w * w)


@pytest.mark.skipif(not fused.numba_available(), reason="numba not installed")
def test_numba_cache_key_follows_the_formula():
    """The kernels' cache key holds a digest of the formula's code: the same code gives the
    same type (in any process: it pickles, with no address in it), an edited formula under
    the same name a new one, so the disk cache never serves a stale formula."""
    import pickle

    from numba import typeof

    atan = surrogate.SURROGATES["atan"]
    same = typeof(surrogate.SurrogateSpec("atan", 2.0, atan.params, _atan_copy))
    edited = typeof(surrogate.SurrogateSpec("atan", 2.0, atan.params, _atan_edited))
    assert same == typeof(atan) and pickle.loads(pickle.dumps(same)) == same
    assert edited != same and edited.surrogate == "atan"
    assert "0x" not in str(same)


@pytest.mark.skipif(not fused.numba_available(), reason="numba not installed")
def test_numba_kernels_load_from_the_disk_cache():
    """Every compiled version of the kernels, one per surrogate included, is served by
    numba's disk cache to a fresh dispatcher (as in a new process): no process but the first
    compiles them."""
    from numba import njit

    from spikecast.neurons.fused import _numba_kernels as nk

    x = torch.randn(T, B, F, requires_grad=True)
    neurons.LIF(backend="fused")(x).sum().backward()  # compiles and caches, if not yet
    for kernel in (nk._leaky_fwd, nk._leaky_bwd):
        fresh = njit(cache=True, nogil=True, error_model="numpy")(kernel.py_func)
        for sig in kernel.signatures:
            fresh.compile(sig)
        assert not fresh.stats.cache_misses
        assert sum(fresh.stats.cache_hits.values()) == len(kernel.signatures) > 0

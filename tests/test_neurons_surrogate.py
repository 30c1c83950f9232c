"""Surrogate gradients: exact step forward, the docs/neurons.md formulas backward."""

from __future__ import annotations

import math
import os
import pickle

import numpy as np
import pytest
import torch

from spikecast.neurons import fused, surrogate
from spikecast.neurons.surrogate import TORCH_OPS as ops

NAMES = ["atan", "sigmoid", "rect", "triangle"]
DEFAULTS = {"atan": 2.0, "sigmoid": 4.0, "rect": 1.0, "triangle": 1.0}


# The docs/neurons.md table, written out independently of the package.
def formula(name: str, x: torch.Tensor, a: float) -> torch.Tensor:
    if name == "atan":
        return (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)
    if name == "sigmoid":
        sg = 1 / (1 + torch.exp(-a * x))
        return a * sg * (1 - sg)
    if name == "rect":
        return torch.where(x.abs() < 0.5 / a, torch.full_like(x, a), torch.zeros_like(x))
    if name == "triangle":
        return torch.where(a - a * a * x.abs() > 0, a - a * a * x.abs(), torch.zeros_like(x))
    raise AssertionError(name)


# Smooth primitives whose derivative is the surrogate (for finite differences).
def primitive(name: str, x: torch.Tensor, a: float) -> torch.Tensor:
    if name == "atan":
        return torch.atan(math.pi / 2 * a * x) / math.pi + 0.5
    if name == "sigmoid":
        return torch.sigmoid(a * x)
    if name == "rect":
        return torch.clamp(a * x, -0.5, 0.5) + 0.5
    if name == "triangle":
        u = torch.clamp(x.abs(), max=1 / a)
        return torch.sign(x) * (a * u - a * a * u * u / 2) + 0.5
    raise AssertionError(name)


def kinks(name: str, a: float) -> list[float]:
    return {"rect": [-0.5 / a, 0.5 / a], "triangle": [-1 / a, 0.0, 1 / a]}.get(name, [])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_is_exact_step(name, dtype):
    x = torch.tensor([-3.0, -1e-30, -0.0, 0.0, 1e-30, 0.25, 7.0], dtype=dtype)
    y = surrogate.get(name)(x)
    assert y.dtype == dtype
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    big = torch.randn(1000, dtype=dtype)
    assert torch.equal(surrogate.get(name, 3.0)(big), (big >= 0).to(dtype))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alpha", [None, 0.5, 3.0])
def test_backward_matches_formula(name, alpha):
    a = DEFAULTS[name] if alpha is None else alpha
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    x = x[torch.stack([(x - k).abs() > 1e-9 for k in kinks(name, a)]).all(0)] \
        if kinks(name, a) else x
    x = x.clone().requires_grad_(True)
    g = torch.rand_like(x) + 0.5
    surrogate.get(name, alpha)(x).backward(g)
    torch.testing.assert_close(x.grad, g * formula(name, x.detach(), a), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alpha", [None, 0.7, 2.5])
def test_backward_matches_finite_differences_of_smooth_primitive(name, alpha):
    a = DEFAULTS[name] if alpha is None else alpha
    torch.manual_seed(0)
    x = (torch.rand(400, dtype=torch.float64) - 0.5) * 6 / a
    eps = 1e-6
    # stay away from the kinks of the piecewise surrogates
    for k in kinks(name, a):
        x = x[(x - k).abs() > 10 * eps]
    x.requires_grad_(True)
    surrogate.get(name, alpha)(x).sum().backward()
    fd = (primitive(name, x.detach() + eps, a) - primitive(name, x.detach() - eps, a)) / (2 * eps)
    torch.testing.assert_close(x.grad, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,peak_at_default", [("atan", 1.0), ("sigmoid", 1.0),
                                                   ("rect", 1.0), ("triangle", 1.0)])
def test_default_alpha_and_peak(name, peak_at_default):
    fn = surrogate.get(name)
    assert fn.alpha == DEFAULTS[name]
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    assert x.grad.item() == pytest.approx(peak_at_default)


@pytest.mark.parametrize("name", NAMES)
def test_surrogate_integrates_to_one(name):
    # Every surrogate is a density: its integral over the real line is 1.
    a = 1.7
    x = torch.linspace(-400, 400, 4_000_001, dtype=torch.float64)
    area = torch.trapezoid(formula(name, x, a), x).item()
    assert area == pytest.approx(1.0, abs=2e-3)


def test_autograd_functions_directly():
    x = torch.tensor([-0.1, 0.0, 0.3], dtype=torch.float64, requires_grad=True)
    for fn, name in [(surrogate.ATan, "atan"), (surrogate.Sigmoid, "sigmoid"),
                     (surrogate.Rect, "rect"), (surrogate.Triangle, "triangle")]:
        x.grad = None
        y = fn.apply(x, 1.3)
        assert y.tolist() == [0.0, 1.0, 1.0]
        y.sum().backward()
        torch.testing.assert_close(x.grad, formula(name, x.detach(), 1.3))


def test_get_errors_and_available():
    assert surrogate.available() == sorted(NAMES)
    with pytest.raises(ValueError) as err:
        surrogate.get("gauss")
    for name in NAMES:
        assert name in str(err.value)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            surrogate.get("atan", bad)


def test_surrogate_is_picklable_and_comparable():
    fn = surrogate.get("triangle", 0.8)
    back = pickle.loads(pickle.dumps(fn))
    assert back == fn and back.name == "triangle" and back.alpha == 0.8
    assert fn != surrogate.get("triangle", 0.9)
    assert "triangle" in repr(fn)


def test_no_grad_and_non_leaf_inputs():
    x = torch.randn(5)
    with torch.no_grad():
        y = surrogate.get("atan")(x)
    assert not y.requires_grad
    w = torch.randn(5, requires_grad=True)
    y = surrogate.get("sigmoid")(w * 2)
    y.sum().backward()
    torch.testing.assert_close(w.grad, 2 * formula("sigmoid", 2 * w.detach(), 4.0))


# ----------------------------------------------------------------------------- the table
def test_table_is_the_one_definition():
    """Names, defaults and the old public names all come from SURROGATES."""
    assert surrogate.available() == sorted(surrogate.SURROGATES)
    for name, spec in surrogate.SURROGATES.items():
        assert spec.name == name
        assert surrogate.DEFAULT_ALPHA[name] == spec.default_alpha
        assert surrogate.get(name).alpha == spec.default_alpha
    assert dict(surrogate.DEFAULT_ALPHA) == DEFAULTS
    for old, name in [("ATan", "atan"), ("Sigmoid", "sigmoid"), ("Rect", "rect"),
                      ("Triangle", "triangle")]:
        assert getattr(surrogate, old) is surrogate.SURROGATES[name]
        x = torch.linspace(-2, 2, 9, dtype=torch.float64)
        assert torch.equal(getattr(surrogate, f"{name}_grad")(x, 1.3),
                           surrogate.SURROGATES[name].derivative(x, 1.3))


def _grid(dtype):
    # dense around 0 and out to where every default surrogate has decayed
    return torch.cat([torch.linspace(-4, 4, 801, dtype=dtype),
                      torch.tensor([0.0, 0.25, -0.25, 0.5, -0.5, 1.0, -1.0], dtype=dtype)])


def _numba_pass(nk):
    """A compiled loop over ``m`` that evaluates the surrogate as the kernels do, inside
    their reverse loop: ``_dtheta(spec, m - θ, ...)`` (the table's formula with numba's
    scalar operations)."""
    from numba import njit

    @njit
    def evaluate(spec, m, theta, out, p0, p1, one, zero):
        for i in range(m.shape[0]):
            out[i] = nk._dtheta(spec, m[i] - theta, p0, p1, one, zero)

    return evaluate


@pytest.mark.parametrize("name", sorted(surrogate.SURROGATES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("alpha", [None, 0.6, 3.0])
def test_every_backend_evaluates_the_table_formula(name, dtype, alpha):
    """The autograd function, the torch kernels' derivative and the numba pass agree."""
    spec = surrogate.SURROGATES[name]
    a = spec.default_alpha if alpha is None else alpha
    x = _grid(dtype)
    expected = spec.derivative(x, a)
    # the autograd function's backward is exactly the torch derivative
    xg = x.clone().requires_grad_(True)
    g = torch.rand(x.shape, generator=torch.Generator().manual_seed(0), dtype=dtype) + 0.5
    spec.apply(xg, a).backward(g)
    assert torch.equal(xg.grad, g * expected)
    assert expected.dtype == dtype and expected.max() > 0
    if not fused.numba_available():
        pytest.skip("numba not installed")
    from spikecast.neurons.fused import _numba_kernels as nk

    theta = 0.3  # the pass evaluates at m - θ
    m = (x + theta).numpy()
    out = np.empty_like(m)
    p0, p1 = np.array(spec.params(a), dtype=m.dtype)
    one, zero = m.dtype.type(1), m.dtype.type(0)
    _numba_pass(nk)(spec, m, m.dtype.type(theta), out, p0, p1, one, zero)
    assert out.dtype == m.dtype
    # m - θ rounds differently from x in float32: compare with the torch formula at m - θ
    z = torch.from_numpy(m) - torch.tensor(theta, dtype=dtype)
    tol = 1e-14 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(torch.from_numpy(out), spec.derivative(z, a), rtol=tol,
                               atol=tol * a)


_TRITON_INTERPRETER = fused.triton_available() and os.environ.get("TRITON_INTERPRET") == "1"


@pytest.mark.skipif(not _TRITON_INTERPRETER,
                    reason="needs triton and TRITON_INTERPRET=1 to run Triton kernels on CPU")
@pytest.mark.parametrize("name", sorted(surrogate.SURROGATES))
def test_triton_formula_matches_torch(name):
    import triton
    import triton.language as tl

    from spikecast.neurons.fused import _triton_kernels as tk

    @triton.jit
    def kernel(z_ptr, out_ptr, cst_ptr, N, SG: tl.constexpr, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < N
        z = tl.load(z_ptr + offs, mask=mask, other=0.0)
        out = SG(z, tl.load(cst_ptr), tl.load(cst_ptr + 1), 1.0, 0.0 * z)
        tl.store(out_ptr + offs, out, mask=mask)

    spec = surrogate.SURROGATES[name]
    x = _grid(torch.float64)
    out = torch.empty_like(x)
    cst = torch.tensor(spec.params(1.7), dtype=x.dtype)
    kernel[(triton.cdiv(x.numel(), 128),)](x, out, cst, x.numel(), SG=tk._surrogate_fn(spec),
                                            BLOCK=128)
    torch.testing.assert_close(out, spec.derivative(x, 1.7), rtol=1e-14, atol=1e-14)


# A surrogate the package does not have: the Gaussian density, derivative of Φ(αx).
def _gauss(z, p0, p1, one, zero):
    return p0 * ops.exp(-p1 * z * z)


GAUSS = surrogate.SurrogateSpec("gauss", 1.5, lambda a: (a / math.sqrt(2 * math.pi),
                                                         a * a / 2), _gauss)


def test_registering_a_surrogate_makes_it_available(monkeypatch):
    """One table entry: get(), available(), DEFAULT_ALPHA and the neurons know it."""
    assert "gauss" not in surrogate.available()
    monkeypatch.setitem(surrogate.SURROGATES, "gauss", GAUSS)
    assert "gauss" in surrogate.available() and surrogate.DEFAULT_ALPHA["gauss"] == 1.5
    fn = surrogate.get("gauss")
    assert fn.alpha == 1.5
    x = torch.linspace(-3, 3, 301, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    assert torch.equal(y, (x >= 0).to(x.dtype))
    y.sum().backward()
    # finite differences of the smooth primitive Φ(1.5·x)
    eps = 1e-6
    phi = lambda u: 0.5 * (1 + torch.erf(1.5 * u / math.sqrt(2)))  # noqa: E731
    fd = (phi(x.detach() + eps) - phi(x.detach() - eps)) / (2 * eps)
    torch.testing.assert_close(x.grad, fd, rtol=1e-6, atol=1e-9)
    from spikecast import neurons

    assert neurons.LIF(surrogate="gauss").spike_fn == fn
    monkeypatch.undo()
    with pytest.raises(ValueError, match="gauss"):
        surrogate.get("gauss")

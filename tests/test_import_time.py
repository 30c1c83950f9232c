"""A fast start: the light entry points do not import Lightning, numba or torch.

Each import runs in a fresh interpreter and the test asserts on the set of modules it left in
``sys.modules`` (never on timings, which depend on the machine). Lightning alone takes seconds
to import and numba compiles on first use; the neural model loads them when it is used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: the heavy packages watched, by the name they have in ``sys.modules``
WATCHED = ("lightning", "lightning.pytorch", "lightning_fabric", "pytorch_lightning", "numba",
           "torch", "sklearn", "statsmodels", "matplotlib")
NEURAL = ("lightning", "lightning.pytorch", "lightning_fabric", "pytorch_lightning", "numba")
NO_TORCH = (*NEURAL, "torch")

_REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {WATCHED!r} if m in sys.modules)))
"""


def loaded_after(code: str) -> set[str]:
    """The watched modules in ``sys.modules`` after running ``code`` in a new interpreter."""
    result = subprocess.run([sys.executable, "-c", code + _REPORT], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("code", "absent"), [
    ("import spikecast", (*NO_TORCH, "sklearn")),
    ("import spikecast.exceptions", (*NO_TORCH, "sklearn")),
    ("import spikecast.validation", (*NO_TORCH, "sklearn")),
    ("import spikecast.metrics", NO_TORCH),
    ("import spikecast.backtest", NO_TORCH),
    ("import spikecast.baselines", NO_TORCH),
    ("import spikecast, spikecast.baselines, spikecast.metrics, spikecast.backtest", NO_TORCH),
    ("import spikecast.data", NO_TORCH),
    ("import spikecast.checks", NO_TORCH),
    # the neural building blocks need torch, but not Lightning (nor numba until a fused
    # kernel runs on a CPU tensor)
    ("from spikecast.neurons import LIF, build", NEURAL),
    ("from spikecast.models import architectures; architectures.available()", NEURAL),
], ids=lambda value: value if isinstance(value, str) else None)
def test_light_imports(code, absent):
    loaded = loaded_after(code)
    assert not loaded & set(absent), f"{code!r} imported {sorted(loaded & set(absent))}"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_help_is_light(flag):
    """``python -m spikecast.cli --help`` (what the ``spikecast`` script runs) builds the
    parser of every command without importing torch, Lightning, numba or sklearn."""
    code = ("import contextlib, io, runpy, sys\n"
            f"sys.argv = ['spikecast', {flag!r}]\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    runpy.run_module('spikecast.cli', run_name='__main__')\n")
    loaded = loaded_after(code)
    assert not loaded & {*NO_TORCH, "sklearn"}, sorted(loaded)


def test_cli_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "spikecast.cli", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for command in ("fit", "validate", "test", "predict", "demo", "backtest", "datasets"):
        assert command in result.stdout


def test_lazy_names_resolve():
    """The lazily loaded names are the same objects as before."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    import spikecast.exceptions
    from spikecast import checks, models
    from spikecast.exceptions import NotFittedError

    assert NotFittedError is SklearnNotFittedError
    assert "NotFittedError" in dir(spikecast.exceptions)

    class Unfitted(BaseEstimator):
        def fit(self, X, y=None):
            return self

    with pytest.raises(NotFittedError):
        check_is_fitted(Unfitted())
    from spikecast.checks.forecaster import check_forecaster
    from spikecast.models.module import ForecastModule
    from spikecast.models.units import neuron_names

    assert checks.check_forecaster is check_forecaster
    assert models.ForecastModule is ForecastModule
    assert models.neuron_names is neuron_names
    assert models.architectures.available()
    with pytest.raises(AttributeError):
        models.no_such_name

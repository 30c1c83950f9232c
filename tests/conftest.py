"""Shared fixtures: real data from the project's data directory, small and fast."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from threadpoolctl import threadpool_limits

# Two xdist workers share two cores: one intra-op thread each (torch and the BLAS behind
# numpy/statsmodels/scikit-learn) avoids oversubscription.
torch.set_num_threads(1)
threadpool_limits(1)
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]


def benchmark_script(name: str):
    """``benchmarks/<name>.py`` loaded as a module (the scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_dir() -> Path:
    """The directory holding the real benchmark files (CI points it at ../shared/data)."""
    env = os.environ.get("SPIKECAST_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def etth1_full() -> pd.DataFrame:
    """The whole ETTh1 table (17420 hourly rows, 7 columns)."""
    path = data_dir() / "ETTh1.csv"
    if not path.exists():
        pytest.skip(f"ETTh1.csv not found in {path.parent}; set SPIKECAST_DATA_DIR")
    frame = pd.read_csv(path, index_col="date", parse_dates=True)
    return frame.asfreq("h")


@pytest.fixture
def etth1_small(etth1_full) -> pd.DataFrame:
    """The first 400 hours of ETTh1, three columns: a small real multivariate series."""
    return etth1_full.iloc[:400][["HUFL", "MUFL", "OT"]].copy()


# ------------------------------------------------------------------ the hostile catalogue
# Every test in a tests/test_hostile_*.py module (crafted checkpoints, model files, YAML,
# HDF5 stores, archives, streams from a 127.0.0.1 server) runs under a memory limit and a
# deadline: an input that tried to exhaust the machine fails its test (MemoryError, or the
# timeout) instead of taking the machine down.
HOSTILE_PREFIX = "test_hostile_"
HOSTILE_EXTRA_BYTES = 2 * 1024**3  # address space beyond what the process already maps
HOSTILE_DEADLINE_S = 120


def _mapped_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2].startswith(HOSTILE_PREFIX):
            item.add_marker(pytest.mark.timeout(HOSTILE_DEADLINE_S))


@pytest.fixture(autouse=True)
def hostile_memory_limit(request):
    """Cap the address space of a hostile-catalogue test (Linux; other tests unchanged)."""
    import resource

    if not (request.module.__name__.rpartition(".")[2].startswith(HOSTILE_PREFIX)
            and os.path.exists("/proc/self/status")):
        yield None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + HOSTILE_EXTRA_BYTES
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

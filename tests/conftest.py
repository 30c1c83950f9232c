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

"""Data loading, windowing and splits.

Data flows one way: datasets (``load_dataset``) -> input forms (``frames``) -> windows
(``WindowDataModule``) -> model.
"""

from __future__ import annotations

import importlib

from spikecast.data.frames import Panel, to_panel

# Submodules with heavy imports (lightning, urllib, statsmodels) load on first use.
_LAZY = {
    "WindowDataModule": "spikecast.data.windows",
    "WindowDataset": "spikecast.data.windows",
    "read_table": "spikecast.data.files",
    "load_dataset": "spikecast.data.datasets",
    "list_datasets": "spikecast.data.datasets",
    "dataset_card": "spikecast.data.datasets",
    "download_dataset": "spikecast.data.download",
    "SplitBorders": "spikecast.data.splits",
    "p1_borders": "spikecast.data.splits",
    "p2_borders": "spikecast.data.splits",
    "ratio_borders": "spikecast.data.splits",
    "split_frame": "spikecast.data.splits",
    "scale_by_train": "spikecast.data.splits",
    "StandardScaler": "spikecast.data.scaling",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spikecast.data' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["Panel", "to_panel", *_LAZY]

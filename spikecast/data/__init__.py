"""Data loading, windowing and splits.

Data flows one way: datasets (``load_dataset``) -> input forms (``frames``) -> windows
(``WindowDataModule``) -> model.
"""

from __future__ import annotations

from spikecast.data.frames import Panel, to_panel
from spikecast.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = ["Panel", "to_panel", *_LAZY]

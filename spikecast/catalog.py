"""``spikecast datasets``: the dataset cards as a table, and downloads by name."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["datasets_table", "download"]


def datasets_table(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per dataset card: ``name``, ``freq``, ``rows``, ``columns``, ``source`` and
    ``local`` (``embedded`` for series that ship with statsmodels, ``yes`` when the file is
    in the data directory, else ``no``).

    Args:
        data_dir: the data directory (default: ``$SPIKECAST_DATA_DIR``, else the user cache).
    """
    from spikecast.data.datasets import dataset_card, list_datasets, resolve_data_dir

    directory = resolve_data_dir(data_dir)
    rows = []
    for name in list_datasets():
        card = dataset_card(name)
        if card["source"] == "statsmodels":
            local = "embedded"
        else:
            local = "yes" if (directory / card["file"]).is_file() else "no"
        rows.append({"name": card["name"], "freq": card["freq"],
                     "rows": card["rows"] if card["rows"] is not None else "?",
                     "columns": card["n_columns"], "source": card["source"], "local": local})
    return pd.DataFrame(rows)


def download(name: str, data_dir: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """Fetch dataset ``name`` into the data directory.

    Returns:
        ``(path, message)``: the local file (``None`` for an embedded dataset, which has
        nothing to download) and a line to show the user.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        spikecast.data.datasets.DatasetNotFoundError: no stable URL (manual download).
        spikecast.data.download.DownloadError: the download failed.
    """
    from spikecast.data import dataset_card, download_dataset

    card = dataset_card(name)  # unknown names fail here, before anything else
    if card["source"] == "statsmodels":
        return None, (f"dataset {card['name']!r} ships with statsmodels; there is nothing to "
                      "download (spikecast.data.load_dataset loads it)")
    path = download_dataset(card["name"], data_dir)
    return path, f"dataset {card['name']!r} is in {path}"

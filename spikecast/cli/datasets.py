"""``spikecast datasets list | download NAME``: the dataset cards as a table, and downloads."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads when a command runs, not for `spikecast --help`
    import pandas as pd

__all__ = ["datasets_table", "download", "add_parser", "run"]


def datasets_table(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per dataset card: ``name``, ``freq``, ``rows``, ``columns``, ``source`` and
    ``local`` (``embedded`` for series that ship with statsmodels, ``yes`` when the file is
    in the data directory, else ``no``).

    ``source`` is ``url``, ``manual`` or ``statsmodels``, followed by ``(unverified)`` for a
    file whose card has no SHA-256: such a file is used without any check that it is the
    right one (and loading it warns once).

    Args:
        data_dir: the data directory (default: ``$SPIKECAST_DATA_DIR``, else the user cache).
    """
    import pandas as pd

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
                     "columns": card["n_columns"], "source": _source(card), "local": local})
    return pd.DataFrame(rows)


def _source(card: dict) -> str:
    """The card's source, marked ``(unverified)`` for a file without a SHA-256."""
    if card["source"] != "statsmodels" and not card["sha256"]:
        return f"{card['source']} (unverified)"
    return card["source"]


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


def add_parser(subparsers) -> None:
    """Register the ``datasets`` command and its ``list`` / ``download`` actions."""
    datasets = subparsers.add_parser("datasets", help="list or download benchmark datasets")
    dsub = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = dsub.add_parser("list", help="names, frequency, size, source, availability")
    listing.add_argument("--data-dir", help="data directory (default: $SPIKECAST_DATA_DIR, "
                         "else the user cache)")
    fetch = dsub.add_parser("download", help="download a dataset into the data directory")
    fetch.add_argument("name", help="a name from `spikecast datasets list`")
    fetch.add_argument("--data-dir", help="data directory (default: $SPIKECAST_DATA_DIR, "
                       "else the user cache)")


def run(args) -> int:
    """List the cards, or download one dataset (a failed download exits with status 1)."""
    from spikecast.cli import EXIT_FAILURE
    from spikecast.exceptions import ConfigError, SpikecastError

    if args.action == "list":
        print(datasets_table(args.data_dir).to_string(index=False))
        return 0
    try:
        _, message = download(args.name, args.data_dir)
    except SpikecastError as err:
        # the name is fine but the file could not be fetched (no URL, network, checksum)
        print(f"spikecast: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except ValueError as err:  # an unknown name; the message lists the valid ones
        raise ConfigError(str(err)) from err
    print(message)
    return 0

"""A tiny dataset card and the way to register it for one test (shared by the dataset and
download tests)."""

from __future__ import annotations

from spikecast.data import datasets
from spikecast.data.datasets import validate_card

CSV_TEXT = ("date,a,b\n2020-01-01 00:00:00,1.0,10\n2020-01-01 01:00:00,2.5,11\n"
            "2020-01-01 02:00:00,3.0,12\n2020-01-01 03:00:00,4.0,13\n")

RAW_CARD = {
    "name": "tiny", "description": "test", "source": "url",
    "url": "http://127.0.0.1:9/tiny.csv", "file": "tiny.csv", "sha256": None,
    "format": "csv", "date_column": "date", "freq": "h", "rows": 4,
    "columns": ["a", "b"], "n_columns": 2, "target": "b", "license": "none",
    "citation": "none", "split": {"p1": {"ratios": [0.7, 0.1, 0.2]},
                                  "p2": {"ratios": [0.6, 0.2, 0.2]}},
}


def make_card(drop=(), **overrides) -> dict:
    """A valid card for a small hourly CSV with columns a, b (validated, defaults filled)."""
    card = {k: v for k, v in {**RAW_CARD, **overrides}.items() if k not in drop}
    return validate_card(card, "<test card>")


def register(monkeypatch, *cards: dict) -> None:
    """Make extra cards visible to load_dataset / dataset_card / download_dataset for this
    test."""
    known, lookup = datasets._registry()
    known, lookup = dict(known), dict(lookup)
    for card in cards:
        known[card["name"]] = card
        lookup[datasets._norm(card["name"])] = card["name"]
    monkeypatch.setattr(datasets, "_registry", lambda: (known, lookup))

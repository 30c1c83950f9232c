"""Benchmark datasets by name: cards, local files, downloads and embedded series.

Every dataset is described by a YAML *card* in the repository's ``datasets/`` folder (the
installed package sees the same files as ``spikecast/data/cards``). A card says where the
file comes from (URL, SHA-256, licence, citation), how to read it (CSV with a date column,
headerless matrix with a synthetic index, HDF5, or a series bundled with statsmodels), its
frequency, columns, default target and its standard splits (see
:mod:`spikecast.data.splits`). ``datasets/README.md`` documents every key.

:func:`load_dataset` returns a :class:`pandas.DataFrame` with a :class:`~pandas.DatetimeIndex`
named ``date`` (with its ``freq`` set whenever the series is regular) and one ``float64``
column per variable. Files are looked up in the data directory: the ``data_dir`` argument,
else the environment variable ``SPIKECAST_DATA_DIR``, else a per-user cache
(``$XDG_CACHE_HOME/spikecast`` or ``~/.cache/spikecast``). A file found there is used as is
(verified when its card has a SHA-256); a missing one is downloaded when the card has a
stable URL and ``download=True``, otherwise :class:`DatasetNotFoundError` says which file to
put in which directory.
"""

from __future__ import annotations

import copy
import functools
import gzip
import importlib
import importlib.resources
import io
import os
import re
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from spikecast.data.download import (
    ChecksumMismatchError,
    DownloadError,
    sha256_file,
)
from spikecast.exceptions import (
    CardError,
    DatasetNotFoundError,
    DataValidationError,
    DataWarning,
    OptionalDependencyError,
)

__all__ = [
    "list_datasets",
    "dataset_card",
    "load_dataset",
    "load_card",
    "validate_card",
    "cards_dir",
    "resolve_data_dir",
    "default_cache_dir",
    "verify_file",
    "warn_unverified",
    "max_data_bytes",
    "missing_file_message",
    "DatasetNotFoundError",
    "CardError",
    "DATA_DIR_ENV",
]

#: Environment variable naming the data directory (CI points it at the shared data folder).
DATA_DIR_ENV = "SPIKECAST_DATA_DIR"


# ------------------------------------------------------------------------------ cards
_SOURCES = ("url", "manual", "statsmodels")
_FORMATS = ("csv", "matrix", "h5", "statsmodels")
_NONE = type(None)
# compressed files that pandas would unpack without a size limit: refused in cards
_COMPRESSED = (".bz2", ".xz", ".lzma", ".zip", ".zst", ".tar", ".tgz", ".7z")

# key -> (allowed types, required)
_KEYS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), True),
    "description": ((str,), True),
    "source": ((str,), True),
    "url": ((str, _NONE), True),
    "file": ((str, _NONE), True),
    "sha256": ((str, _NONE), True),
    "size": ((int, _NONE), False),
    "format": ((str,), True),
    "freq": ((str,), True),
    "n_columns": ((int,), True),
    "target": ((str, _NONE), True),
    "license": ((str,), True),
    "citation": ((str,), True),
    "split": ((dict,), True),
    "columns": ((list, _NONE), False),
    "rows": ((int, _NONE), False),
    "aliases": ((list,), False),
    "manual_download": ((str, _NONE), False),
    "date_column": ((str,), False),
    "start": ((str,), False),
    "h5_key": ((str, _NONE), False),
    "regular": ((bool,), False),
    "homepage": ((str, _NONE), False),
    "notes": ((str, _NONE), False),
}
_DEFAULTS: dict[str, Any] = {
    "size": None, "columns": None, "rows": None, "aliases": [], "manual_download": None,
    "date_column": None, "start": None, "h5_key": None, "regular": True,
    "homepage": None, "notes": None,
}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a mapping",
               bool: "true or false", _NONE: "null"}


def _card_error(path: str | os.PathLike, key: str | None, message: str) -> CardError:
    where = f"dataset card {path}" + (f": key {key!r}" if key else "")
    return CardError(f"{where}: {message}")


def _check_type(path, key, value, types) -> None:
    ok = isinstance(value, types)
    if isinstance(value, bool) and bool not in types:
        ok = False  # a YAML true/false is not an integer here
    if not ok:
        wanted = " or ".join(_TYPE_NAMES[t] for t in types)
        raise _card_error(path, key, f"expected {wanted}, got {type(value).__name__} "
                                     f"({value!r})")


def _check_split(path, split: dict) -> None:
    for protocol in ("p1", "p2"):
        key = f"split.{protocol}"
        if protocol not in split:
            raise _card_error(path, key, "missing (give borders: [a, b, c] or ratios: "
                                         "[train, val, test])")
        spec = split[protocol]
        _check_type(path, key, spec, (dict,))
        if len(spec) != 1 or next(iter(spec)) not in ("borders", "ratios"):
            raise _card_error(path, key, f"expected exactly one of 'borders' or 'ratios', "
                                         f"got {sorted(spec)}")
        kind, values = next(iter(spec.items()))
        _check_split_values(path, f"{key}.{kind}", kind, values)
    extra = sorted(set(split) - {"p1", "p2"})
    if extra:
        raise _card_error(path, "split", f"unknown protocol(s) {extra}; expected p1 and p2")


def _check_split_values(path, key: str, kind: str, values) -> None:
    """The three ``borders`` (increasing row counts) or ``ratios`` (summing to 1)."""
    _check_type(path, key, values, (list,))
    if len(values) != 3:
        raise _card_error(path, key, f"expected 3 values (train, val, test), got "
                                     f"{len(values)}")
    if kind == "borders":
        for v in values:
            _check_type(path, key, v, (int,))
        if not 0 < values[0] < values[1] < values[2]:
            raise _card_error(path, key, f"borders must increase from above 0, got "
                                         f"{values}")
    else:
        for v in values:
            _check_type(path, key, v, (int, float))
        if min(values) <= 0 or abs(sum(values) - 1.0) > 1e-9:
            raise _card_error(path, key, f"ratios must be positive and sum to 1, got "
                                         f"{values}")


def validate_card(card: Any, path: str | os.PathLike = "<card>") -> dict:
    """Check a card mapping (keys, types, consistency); return it with defaults filled in.

    Raises:
        CardError: naming ``path`` and the offending key.
    """
    _check_keys(path, card)
    card = {**copy.deepcopy(_DEFAULTS), **card}
    _check_origin(path, card)
    _check_reading(path, card)
    _check_columns(path, card)
    _check_split(path, card["split"])
    return card


def _check_keys(path, card: Any) -> None:
    """A mapping with known keys only, every required one, each of its allowed types."""
    if not isinstance(card, dict):
        raise _card_error(path, None, f"expected a YAML mapping, got {type(card).__name__}")
    unknown = sorted(set(card) - set(_KEYS))
    if unknown:
        raise _card_error(path, unknown[0], f"unknown key (known keys: {sorted(_KEYS)})")
    for key, (types, required) in _KEYS.items():
        if key not in card:
            if required:
                raise _card_error(path, key, "required key is missing")
            continue
        _check_type(path, key, card[key], types)


def _check_origin(path, card: dict) -> None:
    """The name (the file's), the aliases, and where the data comes from."""
    stem = Path(path).stem
    if Path(path).suffix in (".yaml", ".yml") and card["name"] != stem:
        raise _card_error(path, "name", f"{card['name']!r} must equal the file name {stem!r}")
    if card["source"] not in _SOURCES:
        raise _card_error(path, "source", f"{card['source']!r} is not one of {list(_SOURCES)}")
    if card["format"] not in _FORMATS:
        raise _card_error(path, "format", f"{card['format']!r} is not one of {list(_FORMATS)}")
    for alias in card["aliases"]:
        _check_type(path, "aliases", alias, (str,))
    if card["source"] == "statsmodels":
        _check_embedded(path, card)
    else:
        _check_file_source(path, card)


def _check_embedded(path, card: dict) -> None:
    """A series bundled with statsmodels: its format and a loader for its name."""
    if card["format"] != "statsmodels":
        raise _card_error(path, "format", "must be 'statsmodels' when source is "
                                          "'statsmodels'")
    if card["name"] not in _EMBEDDED:
        raise _card_error(path, "name", f"no embedded loader for {card['name']!r}; "
                                        f"available: {sorted(_EMBEDDED)}")
    if card["sha256"] is not None or card["size"] is not None:
        raise _card_error(path, "sha256" if card["sha256"] is not None else "size",
                          "must be null for an embedded dataset (there is no file)")


def _check_file_source(path, card: dict) -> None:
    """A file to download (``url``) or to fetch by hand (``manual``, with a note)."""
    if card["format"] == "statsmodels":
        raise _card_error(path, "source", "must be 'statsmodels' for format 'statsmodels'")
    if card["file"] is None:
        raise _card_error(path, "file", "a file name is required for a downloaded dataset")
    if card["file"] != Path(card["file"]).name:
        raise _card_error(path, "file", f"{card['file']!r} must be a bare file name")
    suffix = Path(card["file"]).suffix.lower()
    if suffix in _COMPRESSED or (suffix == ".gz" and card["format"] == "h5"):
        raise _card_error(path, "file", f"{card['file']!r}: only gzip (.gz) compression of "
                                        "a text file is supported (its size stays bounded "
                                        "while it is decompressed)")
    if card["size"] is not None and card["size"] < 1:
        raise _card_error(path, "size", f"must be a positive number of bytes, got "
                                        f"{card['size']}")
    if card["source"] == "url" and card["url"] is None:
        raise _card_error(path, "url", "source 'url' needs a URL (or use source 'manual' "
                                       "with a manual_download note)")
    if card["source"] == "manual":
        if card["url"] is not None:
            raise _card_error(path, "url", "must be null when source is 'manual'")
        if not card["manual_download"]:
            raise _card_error(path, "manual_download", "source 'manual' needs a note "
                                                       "saying where to get the file")


def _check_reading(path, card: dict) -> None:
    """What reading the file needs: checksum, frequency, date column or start stamp."""
    if card["sha256"] is not None and not re.fullmatch(r"[0-9a-f]{64}", card["sha256"]):
        raise _card_error(path, "sha256", "expected 64 lower-case hex digits or null")
    try:
        pd.tseries.frequencies.to_offset(card["freq"])
    except ValueError as err:
        raise _card_error(path, "freq", f"{card['freq']!r} is not a pandas frequency: "
                                        f"{err}") from None
    if card["format"] == "csv" and not card["date_column"]:
        raise _card_error(path, "date_column", "required for format 'csv'")
    if card["format"] == "matrix":
        if not card["start"]:
            raise _card_error(path, "start", "required for format 'matrix' (the first "
                                             "time stamp of the synthetic index)")
        try:
            pd.Timestamp(card["start"])
        except ValueError as err:
            raise _card_error(path, "start", f"{card['start']!r} is not a time stamp: "
                                             f"{err}") from None


def _check_columns(path, card: dict) -> None:
    """The column count, the names (unique, as many as counted), the target, the rows."""
    if card["n_columns"] < 1:
        raise _card_error(path, "n_columns", f"must be positive, got {card['n_columns']}")
    if card["columns"] is not None:
        for column in card["columns"]:
            _check_type(path, "columns", column, (str,))
        if len(card["columns"]) != card["n_columns"]:
            raise _card_error(path, "columns", f"{len(card['columns'])} names but n_columns "
                                               f"is {card['n_columns']}")
        if len(set(card["columns"])) != len(card["columns"]):
            raise _card_error(path, "columns", "names must be unique")
    if card["target"] is not None:
        _check_target(path, card)
    if card["rows"] is not None and card["rows"] < 1:
        raise _card_error(path, "rows", f"must be positive, got {card['rows']}")


def _check_target(path, card: dict) -> None:
    """The default target is a column (a matrix's unnamed columns are "0", "1", ...)."""
    names = card["columns"]
    if names is None and card["format"] == "matrix":
        names = [str(i) for i in range(card["n_columns"])]
    if names is not None and card["target"] not in names:
        raise _card_error(path, "target", f"{card['target']!r} is not one of the columns")


def load_card(path: str | os.PathLike) -> dict:
    """Read and validate one dataset card (a YAML file); return it with defaults filled in.

    Raises:
        CardError: the file is not valid YAML, or a key is missing, of the wrong type or
            inconsistent; the message names the file and the key.
    """
    path = Path(path)
    try:
        from spikecast import safe_yaml  # no aliases, bounded size and nesting

        card = safe_yaml.load_file(path)
    except yaml.YAMLError as err:
        raise _card_error(path, None, f"not valid YAML: {err}") from None
    return validate_card(card, path)


def cards_dir() -> Path:
    """The folder holding the dataset cards (``spikecast/data/cards`` -> ``datasets/``)."""
    candidates = []
    try:
        candidates.append(Path(str(importlib.resources.files("spikecast.data") / "cards")))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - unusual loaders
        pass
    here = Path(__file__).resolve().parent
    candidates += [here / "cards", here.parents[1] / "datasets"]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise FileNotFoundError(f"no dataset cards found (looked in {[str(c) for c in candidates]})")


def _norm(name: str) -> str:
    return name.strip().casefold().replace("-", "_").replace(" ", "_")


@functools.lru_cache(maxsize=1)
def _registry() -> tuple[dict[str, dict], dict[str, str]]:
    """Cards by name and a lookup from normalised names and aliases to card names."""
    cards: dict[str, dict] = {}
    lookup: dict[str, str] = {}
    for path in sorted(cards_dir().glob("*.yaml")):
        card = load_card(path)
        for key in [card["name"], *card["aliases"]]:
            other = lookup.get(_norm(key))
            if other is not None and other != card["name"]:
                raise _card_error(path, "aliases", f"{key!r} is also a name or alias of "
                                                   f"dataset {other!r}")
            lookup[_norm(key)] = card["name"]
        cards[card["name"]] = card
    return cards, lookup


def list_datasets() -> list[str]:
    """Names of all datasets with a card, embedded ones included (sorted, case-insensitive)."""
    cards, _ = _registry()
    return sorted(cards, key=str.casefold)


def _card(name: str) -> dict:
    if not isinstance(name, str):
        raise TypeError(f"a dataset name must be a string, got {type(name).__name__}")
    cards, lookup = _registry()
    key = lookup.get(_norm(name))
    if key is None:
        raise ValueError(f"unknown dataset {name!r}; valid names: {list_datasets()}")
    return cards[key]


def dataset_card(name: str) -> dict:
    """The validated card of dataset ``name`` (a copy; name matching is case-insensitive).

    Raises:
        ValueError: unknown name (the message lists the valid names).
    """
    return copy.deepcopy(_card(name))


def _match_card(name: str | os.PathLike | None) -> dict | None:
    """The card of a dataset name, alias or file path (by file name or stem), else None."""
    if name is None:
        return None
    cards, lookup = _registry()
    text = os.fspath(name)
    key = lookup.get(_norm(text))
    if key is not None:
        return cards[key]
    base = Path(text).name.casefold()
    for card in cards.values():
        if card["file"] is not None and card["file"].casefold() == base:
            return card
    key = lookup.get(_norm(Path(text).stem))
    return cards[key] if key is not None else None


# ------------------------------------------------------------------------------ directories
def default_cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/spikecast``, else ``~/.cache/spikecast``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "spikecast"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$SPIKECAST_DATA_DIR``, else the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


_VERIFIED: dict[tuple[str, int, int, str], bool] = {}


def verify_file(path: str | os.PathLike, card: dict) -> None:
    """Check a local file against its card's SHA-256 (no-op when the card has none).

    A successful check is remembered for the process by path, size and modification time,
    so loading the same file again does not hash it again.

    Raises:
        ChecksumMismatchError: the file's digest differs (the message says how to re-fetch).
    """
    expected = card.get("sha256")
    if not expected:
        return
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    actual = sha256_file(path)
    if actual != expected:
        how = (f"call spikecast.data.download_dataset({card['name']!r}, force=True) to fetch "
               f"it again from {card['url']}" if card.get("url") else
               f"get it again: {card.get('manual_download')}")
        raise ChecksumMismatchError(
            f"{path} has sha256 {actual} but the card of dataset {card['name']!r} expects "
            f"{expected}: the file is corrupt or a different version; delete it and {how}",
            path=path, expected=expected, actual=actual)
    _VERIFIED[key] = True


_UNVERIFIED_WARNED: set[str] = set()


def warn_unverified(card: dict, detail: str, *, stacklevel: int = 2,
                    always: bool = False) -> None:
    """Issue a :class:`~spikecast.exceptions.DataWarning` that ``card`` has no SHA-256.

    Once per process and dataset: later calls for the same dataset are silent, unless
    ``always`` (a fresh download, whose digest the warning reports). ``detail`` says what
    happened to the file (used unverified, downloaded unverified with digest ...).
    """
    if card["name"] in _UNVERIFIED_WARNED and not always:
        return
    _UNVERIFIED_WARNED.add(card["name"])
    warnings.warn(f"dataset {card['name']!r} is unverified: its card has no SHA-256, so "
                  f"{detail}; a tampered or different file would not be noticed",
                  DataWarning, stacklevel=stacklevel + 1)


def missing_file_message(card: dict, directory: Path, *, download: bool = True) -> str:
    """The message of :class:`DatasetNotFoundError`: which file, which directory, what URL."""
    text = (f"dataset {card['name']!r} needs the file {card['file']} in {directory}, "
            "which is not there. ")
    if card["url"]:
        text += f"Download it from {card['url']} and put it in that directory"
        if not download:
            text += f", or call load_dataset({card['name']!r}, download=True)"
    else:
        text += ("There is no stable download URL: "
                 + card["manual_download"].strip().rstrip("."))
    text += (f". The data directory is the data_dir argument, else ${DATA_DIR_ENV}, else "
             f"{default_cache_dir()}.")
    return text


# ------------------------------------------------------------------------------ readers
def _bad(path: Path | str, message: str) -> DataValidationError:
    return DataValidationError(f"{path}: {message}")


def _to_float(frame: pd.DataFrame, path, first_line: int) -> pd.DataFrame:
    """Every column as float64; a non-numeric or empty cell raises naming column and line."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or not (
                pd.api.types.is_numeric_dtype(values)):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = numeric.isna() & values.notna()
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise _bad(path, f"column {column!r}, line {pos + first_line} (data row {pos})"
                                 f": non-numeric value {values.iloc[pos]!r}")
            values = numeric
        values = values.astype("float64")
        missing = values.isna().to_numpy()
        if missing.any():
            pos = int(np.flatnonzero(missing)[0])
            raise _bad(path, f"column {column!r}, line {pos + first_line} (data row {pos}): "
                             f"missing value ({int(missing.sum())} in this column)")
        infinite = np.isinf(values.to_numpy())
        if infinite.any():
            pos = int(np.flatnonzero(infinite)[0])
            raise _bad(path, f"column {column!r}, line {pos + first_line} (data row {pos}): "
                             f"infinite value {float(values.iloc[pos])} "
                             f"({int(infinite.sum())} in this column)")
        out[column] = values.to_numpy()
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


_MIN_DATA_BYTES = 64 << 20  # 64 MiB: the smallest bound on a file's (decompressed) data
_DEFAULT_DATA_BYTES = 1 << 30  # 1 GiB: the bound when the card gives no row count
_DATA_BYTES_PER_VALUE = 64  # generous: a float in text is ~10 bytes, in HDF5 8 bytes


def max_data_bytes(card: dict) -> int:
    """The most bytes of data a dataset file may hold once decompressed.

    64 bytes per value of the card's ``rows`` x (``n_columns`` + 1) (the date column), at
    least 64 MiB; 1 GiB when the card gives no row count. It bounds what a gzip'd text
    file may decompress to, what an uncompressed text file may weigh and what the arrays of
    an HDF5 store may declare, so a hostile file (a "gzip bomb") cannot exhaust memory.
    """
    if card.get("rows"):
        cells = card["rows"] * (card["n_columns"] + 1)
        return max(_MIN_DATA_BYTES, _DATA_BYTES_PER_VALUE * cells)
    return _DEFAULT_DATA_BYTES


def _too_big(path, what: str, limit: int, card: dict) -> DataValidationError:
    return _bad(path, f"{what} more than {limit} bytes, far more than the "
                      f"{card['rows'] or '?'} rows x {card['n_columns']} columns its card "
                      "describes; refused (a corrupt or hostile file, e.g. a compression "
                      "bomb)")


def _text_source(path: Path, card: dict) -> Path | io.BytesIO:
    """What pandas reads: the file itself, or its gzip'd content decompressed in bounds.

    Decompression streams with a cap of :func:`max_data_bytes`; pandas then parses the
    bytes in memory and never decompresses anything itself.
    """
    limit = max_data_bytes(card)
    if path.suffix.lower() != ".gz":
        if path.stat().st_size > limit:
            raise _too_big(path, "the file holds", limit, card)
        return path
    buffer = io.BytesIO()
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):  # GzipFile.read(n) inflates at most n bytes
                if buffer.tell() + len(chunk) > limit:
                    raise _too_big(path, "the file decompresses to", limit, card)
                buffer.write(chunk)
    except (OSError, EOFError, zlib.error) as err:
        raise _bad(path, f"cannot be decompressed as gzip: {err}") from None
    buffer.seek(0)
    return buffer


def _read_csv(path: Path, card: dict) -> pd.DataFrame:
    source = _text_source(path, card)
    try:
        raw = pd.read_csv(source, low_memory=False, compression=None)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise _bad(path, f"cannot be read as CSV: {err}") from None
    date_column = card["date_column"]
    if date_column not in raw.columns:
        raise _bad(path, f"date column {date_column!r} is missing; the file has columns "
                         f"{list(raw.columns)}")
    if card["columns"] is not None:
        missing = [c for c in card["columns"] if c not in raw.columns]
        if missing:
            raise _bad(path, f"column(s) {missing} are missing; the file has columns "
                             f"{list(raw.columns)}")
        values = raw[card["columns"]]
    else:
        values = raw.drop(columns=[date_column])
        if values.shape[1] != card["n_columns"]:
            raise _bad(path, f"expected {card['n_columns']} value columns besides "
                             f"{date_column!r}, found {values.shape[1]}: {list(values.columns)}")
    values.columns = [str(c) for c in values.columns]
    dates_raw = raw[date_column]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format" chatter
        try:
            dates = pd.to_datetime(dates_raw, errors="coerce")
        except ValueError:  # mixed UTC offsets: pandas refuses to pick one zone
            offsets = dates_raw.astype(str).str.extract(r"([+-]\d{2}:?\d{2}|Z)$")[0]
            first = offsets.iloc[0]
            pos = int(np.flatnonzero((offsets != first).to_numpy())[0]) if (
                offsets != first).any() else 0
            raise _bad(path, f"column {date_column!r}, line {pos + 2} (data row {pos}): "
                             f"time stamp {dates_raw.iloc[pos]!r} has another UTC offset / "
                             f"time zone than line 2 ({dates_raw.iloc[0]!r}); write all "
                             "time stamps in one zone (e.g. UTC)") from None
    bad = dates.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise _bad(path, f"column {date_column!r}, line {pos + 2} (data row {pos}): "
                         f"unparseable date {dates_raw.iloc[pos]!r}")
    frame = _to_float(values, path, first_line=2)
    frame.index = pd.DatetimeIndex(dates)
    return _index(frame, card, path, first_line=2)


def _read_matrix(path: Path, card: dict) -> pd.DataFrame:
    source = _text_source(path, card)
    try:
        raw = pd.read_csv(source, header=None, sep=",", low_memory=False, compression=None)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError, OSError,
            EOFError) as err:
        raise _bad(path, f"cannot be read as a comma-separated matrix: {err}") from None
    if raw.shape[1] != card["n_columns"]:
        raise _bad(path, f"expected {card['n_columns']} columns, found {raw.shape[1]}")
    raw.columns = [str(i) for i in range(raw.shape[1])]
    frame = _to_float(raw, path, first_line=1)
    frame.index = pd.date_range(card["start"], periods=len(frame), freq=card["freq"])
    return _index(frame, card, path, first_line=1)


# HDF5 stores are read with h5py, never with pandas.read_hdf: PyTables unpickles object
# arrays (pandas writes object columns and labels that way) and every attribute that looks
# like a pickle (pandas stores an index's ``freq`` as one), so opening a hostile store with
# pandas runs code. Here only numeric arrays with string or integer labels are read, in
# pandas' "fixed" layout (group attribute pandas_type 'frame'; datasets axis0 = column
# labels, axis1 = time stamps, block<i>_items / block<i>_values = the columns of block i).
_H5_UNIT = re.compile(r"datetime64(?:\[(s|ms|us|ns)\])?")


def _import_h5py(path: Path, card: dict):
    try:
        return importlib.import_module("h5py")
    except ImportError as err:
        raise OptionalDependencyError(
            f"reading {path} (dataset {card['name']!r}) needs h5py: pip install h5py "
            "(spikecast reads the numeric arrays itself; it never reads HDF5 through "
            "pandas.read_hdf and the tables package, which unpickle objects stored in the "
            "file)", package="h5py") from err


def _read_h5(path: Path, card: dict) -> pd.DataFrame:
    h5py = _import_h5py(path, card)
    try:
        with h5py.File(path, "r") as store:
            raw = _h5_frame(h5py, store, path, card)
    except OSError as err:  # not HDF5, truncated, unreadable
        raise _bad(path, f"cannot be read as an HDF5 file: {err}") from None
    if raw.shape[1] != card["n_columns"]:
        raise _bad(path, f"expected {card['n_columns']} columns, found {raw.shape[1]}")
    frame = _to_float(raw, path, first_line=1)
    return _index(frame, card, path, first_line=1)


def _h5_attr(obj, name: str) -> str | None:
    """A string attribute as text (h5py returns raw values: nothing is unpickled)."""
    try:
        value = obj.attrs.get(name)
    except (OSError, TypeError, ValueError):
        return None
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _h5_group(h5py, store, path: Path, key: str | None):
    """The store's one object (``key`` null) or the object at ``key``; a hard-linked group."""
    if key is None:
        names = list(store.keys())
        if len(names) != 1:
            raise _bad(path, f"holds {len(names)} objects {names[:10]}; the card needs "
                             "h5_key to say which one to read")
        key = names[0]
    link = store.get(key, getlink=True)
    if link is None:
        raise _bad(path, f"has no object {key!r}; it holds {list(store.keys())[:10]}")
    group = store[key] if isinstance(link, h5py.HardLink) else None
    if not isinstance(group, h5py.Group):
        raise _bad(path, f"{key!r} is not a pandas DataFrame stored in this file")
    if _h5_attr(group, "pandas_type") != "frame":
        raise _bad(path, f"{key!r} is not a pandas DataFrame in the 'fixed' format "
                         f"(pandas_type {_h5_attr(group, 'pandas_type')!r}); only that "
                         "layout is read (save it with df.to_hdf(path, key='df'))")
    return group


def _h5_unsafe(h5py, obj) -> str | None:
    """Why a stored dataset must not be read, or None for plain numbers / fixed strings."""
    if h5py.check_vlen_dtype(obj.dtype) is not None or obj.dtype.kind not in "biufS":
        pseudo = _h5_attr(obj, "PSEUDOATOM")
        return ("pickled Python objects" if pseudo == "object" else
                f"values of type {obj.dtype} (not numbers)")
    if obj.external:
        return "data in external files"
    if obj.is_virtual:
        return "a virtual dataset (data from other files)"
    return None


def _h5_arrays(h5py, group, path: Path) -> dict:
    """The group's datasets by name, each checked to hold plain numbers or strings."""
    arrays: dict[str, Any] = {}
    for name in group:
        link = group.get(name, getlink=True)
        obj = group[name] if isinstance(link, h5py.HardLink) else None
        if not isinstance(obj, h5py.Dataset):
            raise _bad(path, f"{group.name}/{name} is a link or a group, not an array of "
                             "a pandas DataFrame; refused")
        problem = _h5_unsafe(h5py, obj)
        if problem is not None:
            what = f"{group.name}/{name}"
            items = arrays.get(name.replace("_values", "_items"))
            if items is not None and _h5_unsafe(h5py, items) is None:
                what += f" (column(s) {_h5_labels(items, path)[:10]})"
            raise _bad(path, f"{what} holds {problem}; refused: reading it would unpickle "
                             "(run code from the file). Store numeric columns only")
        arrays[name] = obj
    return arrays


def _h5_layout(group, arrays: dict, path: Path, card: dict) -> int:
    """Check the fixed layout and the declared sizes; return the number of blocks."""
    nblocks = group.attrs.get("nblocks")
    if not isinstance(nblocks, (int, np.integer)) or not 1 <= nblocks <= 10_000:
        raise _bad(path, f"{group.name}: attribute nblocks is {nblocks!r}, expected a count "
                         "of blocks")
    for axis in ("axis0", "axis1"):
        if _h5_attr(group, f"{axis}_variety") != "regular":
            raise _bad(path, f"{group.name}/{axis}: only a plain (not a multi-level) index "
                             "is read")
    needed = ["axis0", "axis1"] + [f"block{i}_{part}" for i in range(int(nblocks))
                                   for part in ("items", "values")]
    missing = [name for name in needed if name not in arrays]
    if missing:
        raise _bad(path, f"{group.name} lacks {missing[:5]}: not a pandas DataFrame in the "
                         "'fixed' format")
    limit = max_data_bytes(card)
    declared = sum(int(np.prod(a.shape, dtype=np.float64)) * a.dtype.itemsize
                   for a in arrays.values())
    if declared > limit:
        raise _too_big(path, "its arrays declare", limit, card)
    return int(nblocks)


def _h5_labels(obj, path: Path) -> list[str]:
    """Column labels stored as fixed-length strings or integers."""
    kind = _h5_attr(obj, "kind")
    if obj.ndim != 1 or (kind, obj.dtype.kind) not in (
            ("string", "S"), ("integer", "i"), ("integer", "u")):
        raise _bad(path, f"{obj.name}: labels of kind {kind!r} ({obj.dtype}) cannot be read; "
                         "use string or integer column names")
    values = obj[()]
    if obj.dtype.kind == "S":
        return [bytes(v).decode("utf-8", "replace") for v in values]
    return [str(int(v)) for v in values]


def _h5_index(obj, path: Path) -> pd.DatetimeIndex:
    """The time stamps: integers in the unit the ``kind`` attribute names, without zone."""
    kind = _h5_attr(obj, "kind") or ""
    match = _H5_UNIT.fullmatch(kind)
    if match is None or obj.ndim != 1 or obj.dtype.kind not in "iu":
        raise _bad(path, f"{obj.name}: expected a DatetimeIndex, found an index of kind "
                         f"{kind!r} ({obj.dtype})")
    if "tz" in obj.attrs:
        raise _bad(path, f"{obj.name}: time stamps with a time zone are not supported; "
                         "store them as naive local or UTC times")
    stamps = np.asarray(obj[()], dtype=np.int64).view(f"M8[{match.group(1) or 'ns'}]")
    return pd.DatetimeIndex(stamps)


def _h5_frame(h5py, store, path: Path, card: dict) -> pd.DataFrame:
    """The DataFrame of a pandas "fixed" store, read array by array without unpickling."""
    group = _h5_group(h5py, store, path, card["h5_key"])
    arrays = _h5_arrays(h5py, group, path)
    nblocks = _h5_layout(group, arrays, path, card)
    columns = _h5_labels(arrays["axis0"], path)
    index = _h5_index(arrays["axis1"], path)
    if len(set(columns)) != len(columns):
        raise _bad(path, "duplicate column labels")
    data: dict[str, np.ndarray] = {}
    for i in range(nblocks):
        items = _h5_labels(arrays[f"block{i}_items"], path)
        values = arrays[f"block{i}_values"]
        if values.shape != (len(index), len(items)):
            raise _bad(path, f"{values.name} has shape {values.shape}, expected "
                             f"({len(index)}, {len(items)}) (rows, columns of the block)")
        block = values[()]
        data.update({item: block[:, j] for j, item in enumerate(items)})
    absent = [c for c in columns if c not in data]
    if absent or len(data) != len(columns):
        raise _bad(path, f"the blocks do not match the columns (missing {absent[:10]})")
    return pd.DataFrame(data, index=index, columns=columns)


def _index(frame: pd.DataFrame, card: dict, path, first_line: int) -> pd.DataFrame:
    """Check the time index (increasing, regular at the card's freq) and set its freq."""
    index = frame.index
    if len(index) == 0:
        raise _bad(path, "no data rows")
    steps = np.diff(index.asi8)
    if (steps <= 0).any():
        pos = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise _bad(path, f"line {pos + first_line} (data row {pos}): time stamp "
                         f"{index[pos]} does not come after {index[pos - 1]} (duplicate or "
                         "out of order)")
    offset = pd.tseries.frequencies.to_offset(card["freq"])
    expected = pd.date_range(index[0], periods=len(index), freq=offset, unit=index.unit)
    if expected.equals(index):
        index = pd.DatetimeIndex(index, freq=offset)
    elif card["regular"]:
        pos = int(np.flatnonzero(expected.asi8 != index.asi8)[0])
        raise _bad(path, f"line {pos + first_line} (data row {pos}): time stamp {index[pos]} "
                         f"breaks the regular {card['freq']!r} grid (expected "
                         f"{expected[pos]})")
    frame.index = index.rename("date")
    frame.columns.name = None
    if card["rows"] is not None and len(frame) != card["rows"]:
        warnings.warn(f"{path}: {len(frame)} rows, but the card of {card['name']!r} says "
                      f"{card['rows']}; the file may be a different version",
                      DataWarning, stacklevel=4)
    return frame


# ------------------------------------------------------------------------------ embedded
def _statsmodels_data(name: str) -> pd.DataFrame:
    module = importlib.import_module(f"statsmodels.datasets.{name}")
    return module.load_pandas().data


def _embedded_co2() -> pd.DataFrame:
    data = _statsmodels_data("co2")[["co2"]]
    data = data.asfreq("W-SAT").interpolate(method="time", limit_direction="both")
    return data


def _embedded_sunspots() -> pd.DataFrame:
    data = _statsmodels_data("sunspots")
    years = data["YEAR"].astype(int).to_numpy()
    if not (np.diff(years) == 1).all():  # pragma: no cover - statsmodels data is contiguous
        raise DataValidationError("statsmodels sunspots: years are not contiguous")
    index = pd.date_range(f"{years[0]}-01-01", periods=len(years), freq="YS")
    return pd.DataFrame({"SUNACTIVITY": data["SUNACTIVITY"].to_numpy()}, index=index)


def _embedded_elnino() -> pd.DataFrame:
    data = _statsmodels_data("elnino")
    years = data["YEAR"].astype(int).to_numpy()
    values = data.drop(columns="YEAR").to_numpy().reshape(-1)  # row-major: year by year
    index = pd.date_range(f"{years[0]}-01-01", periods=len(values), freq="MS")
    return pd.DataFrame({"sst": values}, index=index)


def _embedded_macrodata() -> pd.DataFrame:
    data = _statsmodels_data("macrodata")
    first = f"{int(data['year'].iloc[0])}-{3 * int(data['quarter'].iloc[0]) - 2:02d}-01"
    index = pd.date_range(first, periods=len(data), freq="QS")
    expected_q = index.quarter.to_numpy()
    if not ((data["year"].astype(int).to_numpy() == index.year.to_numpy()).all()
            and (data["quarter"].astype(int).to_numpy() == expected_q).all()):
        raise DataValidationError("statsmodels macrodata: quarters are not contiguous")
    return data.drop(columns=["year", "quarter"]).set_axis(index)


_EMBEDDED = {
    "co2": _embedded_co2,
    "sunspots": _embedded_sunspots,
    "elnino": _embedded_elnino,
    "macrodata": _embedded_macrodata,
}


def _load_embedded(card: dict) -> pd.DataFrame:
    raw = _EMBEDDED[card["name"]]()
    where = f"statsmodels dataset {card['name']!r}"
    if card["columns"] is not None:
        missing = [c for c in card["columns"] if c not in raw.columns]
        if missing:
            raise _bad(where, f"column(s) {missing} are missing")
        raw = raw[card["columns"]]
    frame = _to_float(raw, where, first_line=0)
    return _index(frame, card, where, first_line=0)


# ------------------------------------------------------------------------------ public
_READERS = {"csv": _read_csv, "matrix": _read_matrix, "h5": _read_h5}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None,
                 download: bool = True) -> pd.DataFrame:
    """Load a benchmark dataset as a wide DataFrame.

    Args:
        name: a name from :func:`list_datasets` or an alias (case-insensitive).
        data_dir: where the file is looked up (and downloaded to); default
            ``$SPIKECAST_DATA_DIR``, else the per-user cache (:func:`default_cache_dir`).
            Ignored for embedded (statsmodels) datasets.
        download: fetch a missing file from the card's URL.

    Returns:
        A DataFrame with a :class:`~pandas.DatetimeIndex` named ``date`` (synthetic, from the
        card's ``start``, for files without time stamps) whose ``freq`` is the card's
        frequency when the series is regular, and one ``float64`` column per variable, in
        file order. No NaN: a missing value in a file is an error.

    Raises:
        ValueError: unknown name (lists the valid ones).
        DatasetNotFoundError: the file is missing and ``download`` is false, the dataset has
            no stable URL, or the download failed (the message says which file to put in
            which directory, and the URL).
        ChecksumMismatchError: the file's SHA-256 differs from the card's.
        spikecast.exceptions.DataValidationError: bad data (missing column, unparseable
            date, non-numeric or missing value, irregular time stamps); the message names
            the file, the column and the line.
    """
    card = _card(name)
    if card["source"] == "statsmodels":
        return _load_embedded(card)
    directory = resolve_data_dir(data_dir)
    path = directory / card["file"]
    if not path.is_file():
        if not (download and card["url"]):
            raise DatasetNotFoundError(missing_file_message(card, directory,
                                                            download=download))
        from spikecast.data.download import download_dataset

        try:
            download_dataset(card["name"], directory)
        except DownloadError as err:
            raise DatasetNotFoundError(
                f"{missing_file_message(card, directory)} (Downloading failed: {err})"
            ) from err
    verify_file(path, card)
    if card["sha256"] is None:
        warn_unverified(card, f"{path} is used as it is, without verification")
    return _READERS[card["format"]](path, card)

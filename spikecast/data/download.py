"""Downloading benchmark files: atomic, verified, with a progress bar.

:func:`download_file` streams a URL into a temporary file next to the destination, checks
its length and (when known) its SHA-256, and only then renames it into place with
:func:`os.replace`. An interrupted or corrupt download therefore never leaves a file at the
destination. :func:`download_dataset` does this for a dataset card (see
:mod:`spikecast.data.datasets`). Only the standard library (``urllib``) is used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from spikecast.atomic import atomic_path
from spikecast.exceptions import ChecksumMismatchError, DataWarning, DownloadError

__all__ = [
    "DownloadError",
    "ChecksumMismatchError",
    "download_file",
    "download_dataset",
    "sha256_file",
    "DEFAULT_TIMEOUT",
]

#: Seconds to wait for the connection and for every read from the socket.
DEFAULT_TIMEOUT = 60.0

_CHUNK = 1 << 20  # 1 MiB






def sha256_file(path: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, dest: str | os.PathLike, sha256: str | None = None,
                  progress: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download ``url`` to ``dest`` atomically and return ``dest`` as a :class:`~pathlib.Path`.

    The body goes to a temporary file in ``dest``'s directory (created if needed); it is
    renamed to ``dest`` with :func:`os.replace` only after the whole body arrived (as many
    bytes as ``Content-Length`` announced) and, if ``sha256`` is given, its digest matched.
    On any failure, including ``KeyboardInterrupt``, the temporary file is removed and
    ``dest`` is left as it was (absent, or the previous file).

    Args:
        url: what to fetch (``http://``, ``https://``; ``file://`` works too).
        dest: the final path of the file.
        sha256: the expected SHA-256 hex digest, or ``None`` to skip the check.
        progress: show a tqdm progress bar on stderr.
        timeout: seconds to wait for the connection and for each read.

    Raises:
        DownloadError: HTTP error status, network failure or a truncated body (the message
            names the URL).
        ChecksumMismatchError: the downloaded bytes do not have the expected digest.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = sha256.lower() if sha256 else None
    request = urllib.request.Request(url, headers={"User-Agent": "spikecast"})
    with atomic_path(dest, suffix=".part") as tmp:
        digest = hashlib.sha256()
        received = 0
        with open(tmp, "wb") as out:
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as err:
                err.close()  # release the connection; the error keeps code and reason
                raise DownloadError(f"HTTP {err.code} ({err.reason}) while downloading {url}",
                                    url=url, status=err.code) from err
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                raise DownloadError(f"cannot download {url}: {reason}", url=url) from err
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                          desc=dest.name, file=sys.stderr, disable=not progress,
                          leave=False) as bar:
                    while True:
                        try:
                            block = response.read(_CHUNK)
                        except (http.client.IncompleteRead, OSError) as err:
                            raise DownloadError(
                                f"download of {url} was interrupted after {received} bytes"
                                + (f" of {total}" if total is not None else "") + f": {err!r}",
                                url=url) from err
                        if not block:
                            break
                        out.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
            if total is not None and received != total:
                raise DownloadError(
                    f"download of {url} is incomplete: received {received} of {total} bytes",
                    url=url)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise ChecksumMismatchError(
                f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
                f"{dest} was not written (the source may have changed or the transfer was "
                "corrupted)",
                path=dest, expected=expected, actual=actual)
    return dest


def download_dataset(name: str, data_dir: str | os.PathLike | None = None, *,
                     force: bool = False, progress: bool = True) -> Path:
    """Download the file of dataset ``name`` into the data directory; return its path.

    The data directory is resolved as in :func:`spikecast.data.datasets.load_dataset`
    (argument, then ``SPIKECAST_DATA_DIR``, then the per-user cache). A file already present
    is kept (and verified when the card has a SHA-256) unless ``force`` is true. Without a
    known SHA-256 the download is not verified and a :class:`UserWarning` gives the digest
    of what arrived.

    Raises:
        ValueError: the dataset ships with the package (nothing to download) or the name
            is unknown.
        spikecast.data.datasets.DatasetNotFoundError: the dataset has no stable URL and its
            file is absent (the message says where to get it and where to put it).
        DownloadError, ChecksumMismatchError: see :func:`download_file`.
    """
    from spikecast.data import datasets

    card = datasets.dataset_card(name)
    if card["source"] == "statsmodels":
        raise ValueError(f"dataset {card['name']!r} ships with statsmodels; there is nothing "
                         "to download (load it with load_dataset)")
    directory = datasets.resolve_data_dir(data_dir)
    path = directory / card["file"]
    if path.exists() and not force:
        datasets.verify_file(path, card)
        return path
    if card["url"] is None:
        raise datasets.DatasetNotFoundError(datasets.missing_file_message(card, directory))
    download_file(card["url"], path, sha256=card["sha256"], progress=progress)
    if card["sha256"] is None:
        warnings.warn(
            f"no SHA-256 is known for dataset {card['name']!r}; {path} was downloaded from "
            f"{card['url']} without verification (its sha256 is {sha256_file(path)})",
            DataWarning, stacklevel=2)
    return path

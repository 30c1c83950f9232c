"""Downloading benchmark files: atomic, verified, bounded, with a progress bar.

:func:`download_file` streams a URL into a temporary file next to the destination, checks
its length and (when known) its SHA-256, and only then renames it into place with
:func:`os.replace`. An interrupted or corrupt download therefore never leaves a file at the
destination. Every download is bounded: at most ``max_bytes`` bytes are accepted (a larger
``Content-Length`` is refused before reading; a body without one is cut off there), the
whole transfer must finish within ``deadline`` seconds (not only each read within
``timeout``), and the body must have exactly as many bytes as ``Content-Length`` announced.
A full disk is a :class:`DownloadError` that names the file. Temporary files that a killed
run left next to the destination are removed by the next download of that file
(:func:`remove_stale_parts`). :func:`download_dataset` does all this for a dataset card (see
:mod:`spikecast.data.datasets`), with a size cap taken from the card. Only the standard
library (``urllib``) is used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from spikecast.atomic import (
    STALE_PART_SECONDS,
    atomic_path,
)
from spikecast.atomic import remove_stale_temporaries as remove_stale_parts
from spikecast.exceptions import ChecksumMismatchError, DownloadError

__all__ = [
    "DownloadError",
    "ChecksumMismatchError",
    "download_file",
    "download_dataset",
    "sha256_file",
    "card_max_bytes",
    "remove_stale_parts",
    "DEFAULT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "STALE_PART_SECONDS",
]

#: Seconds to wait for the connection and for every read from the socket.
DEFAULT_TIMEOUT = 60.0
#: Seconds the whole download (connection, headers and body) may take.
DEFAULT_DEADLINE = 3600.0
#: The most bytes :func:`download_file` accepts unless told otherwise (1 GiB).
DEFAULT_MAX_BYTES = 1 << 30

_CHUNK = 1 << 20  # 1 MiB
_PROBE_TIMEOUT = 2.0  # after the announced body: how long to look for bytes beyond it
_BYTES_PER_CELL = 64  # a generous bound on one value of a text file (digits, separator)


def sha256_file(path: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def card_max_bytes(card: dict) -> int:
    """The most bytes a download of ``card``'s file may have.

    The card's ``size`` plus a margin of 10 % (and 64 KiB) when it is known; else a
    generous estimate from its ``rows`` and ``n_columns`` (64 bytes per value, plus 1 MiB),
    never more than :data:`DEFAULT_MAX_BYTES`; else :data:`DEFAULT_MAX_BYTES`.
    """
    size = card.get("size")
    if size:
        return int(size) + int(size) // 10 + (64 << 10)
    rows, columns = card.get("rows"), card.get("n_columns")
    if rows and columns:
        return min(DEFAULT_MAX_BYTES, _BYTES_PER_CELL * rows * (columns + 1) + (1 << 20))
    return DEFAULT_MAX_BYTES


# ------------------------------------------------------------------------ leftovers
# ------------------------------------------------------------------------ deadline
class _Deadline:
    """The overall deadline of one download.

    Connections opened for it register their sockets; when the deadline passes a timer
    shuts them down, which wakes up a read blocked on a server that sends a byte now and
    then, and :meth:`check` turns that into a :class:`DownloadError`.
    """

    def __init__(self, url: str, seconds: float | None):
        self.url = url
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        if seconds is not None:
            self._timer = threading.Timer(max(seconds, 0.0), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def register(self, sock: socket.socket) -> None:
        """Watch ``sock``: it is shut down when the deadline passes."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            self._shutdown(sock)

    def set_timeout(self, seconds: float) -> None:
        """Shorten the read timeout of the watched sockets (never past the deadline)."""
        if self.end is not None:
            seconds = min(seconds, max(self.end - time.monotonic(), 0.001))
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.settimeout(seconds)
            except OSError:
                pass

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def check(self, received: int) -> None:
        """Raise :class:`DownloadError` if the deadline has passed."""
        if self.expired or (self.end is not None and time.monotonic() >= self.end):
            self.expired = True
            raise DownloadError(
                f"download of {self.url} did not finish within the deadline of "
                f"{self.seconds:g} s ({received} bytes received); the server is too slow "
                "or stalls (pass a larger deadline if the connection is just slow)",
                url=self.url)

    def cancel(self) -> None:
        """Stop the timer (the download is over)."""
        if self._timer is not None:
            self._timer.cancel()


class _Watched:
    """Registers a connection's socket with a :class:`_Deadline` once it is connected (for
    HTTPS after the TLS handshake, which ``connect`` includes)."""

    def __init__(self, *args: Any, watch: _Deadline, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        """Connect, then register the socket with the deadline."""
        super().connect()  # type: ignore[misc]
        self._watch.register(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTPConnection(_Watched, http.client.HTTPConnection):
    """An HTTP connection whose socket is registered with a :class:`_Deadline`."""


class _WatchedHTTPSConnection(_Watched, http.client.HTTPSConnection):
    """An HTTPS connection whose (TLS) socket is registered with a :class:`_Deadline`."""


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: _Deadline):
        super().__init__()
        self._watch = watch

    def http_open(self, req):
        return self.do_open(
            lambda host, **kw: _WatchedHTTPConnection(host, watch=self._watch, **kw), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Deadline):
        super().__init__()
        self._watch = watch
        self._ssl = ssl.create_default_context()

    def https_open(self, req):
        return self.do_open(
            lambda host, **kw: _WatchedHTTPSConnection(host, watch=self._watch, **kw), req,
            context=self._ssl)


# ------------------------------------------------------------------------ transfer
def _open(url: str, watch: _Deadline, timeout: float):
    """The response to a GET of ``url``; errors become :class:`DownloadError`."""
    request = urllib.request.Request(url, headers={"User-Agent": "spikecast"})
    opener = urllib.request.build_opener(_WatchedHTTPHandler(watch), _WatchedHTTPSHandler(watch))
    if watch.end is not None:
        timeout = min(timeout, max(watch.end - time.monotonic(), 0.001))
    try:
        return opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()  # release the connection; the error keeps code and reason
        raise DownloadError(f"HTTP {err.code} ({err.reason}) while downloading {url}",
                            url=url, status=err.code) from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        watch.check(0)
        reason = getattr(err, "reason", err)
        raise DownloadError(f"cannot download {url}: {reason}", url=url) from err


def _announced_length(response, url: str, max_bytes: int | None) -> int | None:
    """The ``Content-Length`` (validated against ``max_bytes``), or ``None``."""
    length = response.headers.get("Content-Length")
    if length is None:
        return None
    length = length.strip()
    if not length.isdigit():
        raise DownloadError(f"download of {url}: invalid Content-Length {length[:40]!r}",
                            url=url)
    total = int(length)
    if max_bytes is not None and total > max_bytes:
        raise DownloadError(
            f"download of {url} refused: the server announces {total} bytes, more than the "
            f"limit of {max_bytes} bytes for this file", url=url)
    if isinstance(response, http.client.HTTPResponse) and not response.chunked:
        # read to the end of the stream ourselves, so that a body longer than announced is
        # seen (and refused) instead of silently cut at Content-Length
        response.length = None
    return total


def _read_block(response, url: str, watch: _Deadline, received: int,
                total: int | None) -> bytes:
    """One read (at most one system call); past the announced length, a short probe."""
    watch.check(received)
    probing = total is not None and received >= total
    if probing:
        watch.set_timeout(_PROBE_TIMEOUT)
    try:
        return response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
    except TimeoutError as err:
        if probing:  # the whole announced body arrived; the server just keeps the line open
            return b""
        watch.check(received)
        raise DownloadError(f"download of {url} timed out after {received} bytes (no data "
                            "for the read timeout)", url=url) from err
    except (http.client.HTTPException, OSError) as err:
        watch.check(received)
        raise DownloadError(
            f"download of {url} was interrupted after {received} bytes"
            + (f" of {total}" if total is not None else "") + f": {err!r}", url=url) from err


def _check_received(url: str, received: int, total: int | None,
                    max_bytes: int | None) -> None:
    """Refuse a body over the cap, or longer than ``Content-Length``."""
    if max_bytes is not None and received > max_bytes:
        raise DownloadError(
            f"download of {url} stopped: more than the limit of {max_bytes} bytes for this "
            "file arrived (the server sends an endless or much larger body than expected)",
            url=url)
    if total is not None and received > total:
        raise DownloadError(
            f"download of {url} refused: the server sent more bytes than the {total} its "
            "Content-Length announced", url=url)


def _stream(response, out, url: str, watch: _Deadline, max_bytes: int | None,
            bar_args: dict) -> tuple[str, int]:
    """Copy the body to ``out`` within all bounds; return its SHA-256 and length."""
    total = _announced_length(response, url, max_bytes)
    digest = hashlib.sha256()
    received = 0
    with tqdm(total=total, **bar_args) as bar:
        while True:
            block = _read_block(response, url, watch, received, total)
            if not block:
                break
            received += len(block)
            _check_received(url, received, total, max_bytes)
            out.write(block)
            digest.update(block)
            bar.update(len(block))
    watch.check(received)  # a stream cut by the deadline ends like a complete one
    if total is not None and received != total:
        raise DownloadError(
            f"download of {url} is incomplete: received {received} of {total} bytes",
            url=url)
    return digest.hexdigest(), received


def _disk_error(url: str, dest: Path, err: OSError) -> DownloadError:
    """A :class:`DownloadError` for a failure to write (full disk, read-only folder)."""
    why = os.strerror(err.errno) if err.errno else str(err)
    return DownloadError(f"cannot write the download of {url} to {dest}: {why} "
                         f"({err.__class__.__name__}: {err}); free some space or choose "
                         "another data directory", url=url)


def download_file(url: str, dest: str | os.PathLike, sha256: str | None = None,
                  progress: bool = True, timeout: float = DEFAULT_TIMEOUT, *,
                  max_bytes: int | None = DEFAULT_MAX_BYTES,
                  deadline: float | None = DEFAULT_DEADLINE) -> Path:
    """Download ``url`` to ``dest`` atomically and return ``dest`` as a :class:`~pathlib.Path`.

    The body goes to a temporary file in ``dest``'s directory (created if needed); it is
    renamed to ``dest`` with :func:`os.replace` only after the whole body arrived (exactly
    as many bytes as ``Content-Length`` announced, when it did) and, if ``sha256`` is given,
    its digest matched. On any failure, including ``KeyboardInterrupt``, the temporary file
    is removed and ``dest`` is left as it was (absent, or the previous file). Temporary
    files of earlier, killed downloads of ``dest`` are removed first
    (:func:`remove_stale_parts`).

    Args:
        url: what to fetch (``http://``, ``https://``; ``file://`` works too).
        dest: the final path of the file.
        sha256: the expected SHA-256 hex digest, or ``None`` to skip the check.
        progress: show a tqdm progress bar on stderr.
        timeout: seconds to wait for the connection and for each read.
        max_bytes: the most bytes accepted (``None``: no limit). A larger
            ``Content-Length`` is refused before any byte is read; a body without one is
            cut off as soon as it exceeds the limit.
        deadline: seconds the whole download may take, however the server paces its bytes
            (``None``: no deadline).

    Raises:
        DownloadError: HTTP error status, network failure, a truncated body, a body longer
            than announced or than ``max_bytes``, the deadline passed, or the file cannot
            be written (full disk); the message names the URL (and the file for a write
            error).
        ChecksumMismatchError: the downloaded bytes do not have the expected digest.
    """
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _disk_error(url, dest, err) from err
    remove_stale_parts(dest)
    watch = _Deadline(url, deadline)
    bar_args = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, "desc": dest.name,
                "file": sys.stderr, "disable": not progress, "leave": False}
    try:
        return _download_to(url, dest, watch, timeout, max_bytes, bar_args, expected)
    finally:
        watch.cancel()


def _download_to(url: str, dest: Path, watch: _Deadline, timeout: float,
                 max_bytes: int | None, bar_args: dict, expected: str | None) -> Path:
    """The body of :func:`download_file`: write, check, rename into place."""
    try:
        with atomic_path(dest, suffix=".part") as tmp:
            with open(tmp, "wb") as out, _open(url, watch, timeout) as response:
                actual, _ = _stream(response, out, url, watch, max_bytes, bar_args)
                out.flush()
                os.fsync(out.fileno())
            if expected is not None and actual != expected:
                raise ChecksumMismatchError(
                    f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
                    f"{dest} was not written (the source may have changed or the transfer "
                    "was corrupted)",
                    path=dest, expected=expected, actual=actual)
    except DownloadError:
        raise
    except OSError as err:  # writing, syncing or renaming: a full disk, a read-only folder
        raise _disk_error(url, dest, err) from err
    return dest


def download_dataset(name: str, data_dir: str | os.PathLike | None = None, *,
                     force: bool = False, progress: bool = True,
                     deadline: float | None = DEFAULT_DEADLINE) -> Path:
    """Download the file of dataset ``name`` into the data directory; return its path.

    The data directory is resolved as in :func:`spikecast.data.datasets.load_dataset`
    (argument, then ``SPIKECAST_DATA_DIR``, then the per-user cache). A file already present
    is kept (and verified when the card has a SHA-256) unless ``force`` is true. The
    download may have at most :func:`card_max_bytes` bytes and must finish within
    ``deadline`` seconds. Without a known SHA-256 the download is not verified and a
    :class:`~spikecast.exceptions.DataWarning` gives the digest of what arrived.
    Temporary files left by a killed earlier download are removed.

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
    remove_stale_parts(path)
    if path.exists() and not force:
        datasets.verify_file(path, card)
        return path
    if card["url"] is None:
        raise datasets.DatasetNotFoundError(datasets.missing_file_message(card, directory))
    download_file(card["url"], path, sha256=card["sha256"], progress=progress,
                  max_bytes=card_max_bytes(card), deadline=deadline)
    if card["sha256"] is None:
        datasets.warn_unverified(
            card, f"{path} was downloaded from {card['url']} without verification (its "
                  f"sha256 is {sha256_file(path)})", stacklevel=3, always=True)
    return path

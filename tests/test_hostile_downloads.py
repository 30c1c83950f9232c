"""Hostile and careless dataset input (issue 17): downloads, archives, HDF5 stores, checksums.

Every test here reproduces a finding: a download that never ends or drips forever, a wrong
Content-Length, a full disk, leftovers of a killed run, a gzip bomb, an HDF5 store that
unpickles code, and URL cards without a checksum. A local HTTP server on 127.0.0.1 plays
the hostile server; no test needs the network.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import os
import pickle
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_cards import CSV_TEXT, make_card, register

from spikecast.cli.datasets import datasets_table
from spikecast.data import datasets, download
from spikecast.data.datasets import (
    CardError,
    dataset_card,
    list_datasets,
    load_dataset,
    validate_card,
)
from spikecast.data.download import (
    ChecksumMismatchError,
    DownloadError,
    card_max_bytes,
    download_dataset,
    download_file,
    remove_stale_parts,
)
from spikecast.exceptions import DataValidationError, DataWarning


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """No real cache directory; the once-per-process warnings start afresh."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.setattr(datasets, "_UNVERIFIED_WARNED", set())


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------------------ server
class _Hostile(http.server.BaseHTTPRequestHandler):
    """Misbehaving answers by path; ``files`` holds well-behaved ones."""

    files: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 - http.server API
        route = {"/endless": self._endless, "/drip": self._drip,
                 "/drip-headers": self._drip_headers, "/longer": self._longer,
                 "/shorter": self._shorter, "/huge": self._huge}.get(self.path)
        try:
            if route is not None:
                route()
            elif self.path in self.files:
                self._send(self.files[self.path])
            else:
                self.send_error(404, "Not Found")
        except OSError:  # the client gave up: expected
            pass

    def _send(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _endless(self) -> None:  # no Content-Length, bytes until the client stops reading
        self.send_response(200)
        self.end_headers()
        block = b"0" * (1 << 16)
        for _ in range(1 << 16):  # 4 GiB at most, never reached
            self.wfile.write(block)

    def _drip(self) -> None:  # one byte every 0.2 s: each read is fast, the whole never ends
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.2)

    def _drip_headers(self) -> None:  # headers that never end
        self.wfile.write(b"HTTP/1.0 200 OK\r\n")
        for i in range(1000):
            self.wfile.write(f"X-Slow-{i}: 1\r\n".encode())
            self.wfile.flush()
            time.sleep(0.2)

    def _longer(self) -> None:  # more bytes than announced
        self._send(b"y" * 5000, length=10)

    def _shorter(self) -> None:  # fewer bytes than announced, then the connection closes
        self._send(b"z" * 50, length=100)

    def _huge(self) -> None:  # announces a terabyte
        self.send_response(200)
        self.send_header("Content-Length", str(10 ** 12))
        self.end_headers()
        self.wfile.write(b"w" * 1000)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server():
    """``(base_url, files)`` of a local hostile server on an ephemeral port."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Hostile.files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        _Hostile.files.clear()


# ------------------------------------------------------------------------------ downloads
def test_endless_stream_stops_at_the_size_cap(server, tmp_path):
    base, _ = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"more than the limit of 1048576 bytes") as info:
        download_file(f"{base}/endless", tmp_path / "x.bin", progress=False,
                      max_bytes=1 << 20)
    assert time.monotonic() - start < 10
    assert info.value.url == f"{base}/endless"
    assert listing(tmp_path) == []  # no .part left behind


def test_slow_drip_fails_at_the_overall_deadline(server, tmp_path):
    base, _ = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"did not finish within the deadline of 1\.5 s"):
        download_file(f"{base}/drip", tmp_path / "x.bin", progress=False, timeout=60,
                      deadline=1.5)
    assert time.monotonic() - start < 5  # not 1000 x 0.2 s, although every read is quick
    assert listing(tmp_path) == []


def test_headers_that_never_end_fail_at_the_deadline(server, tmp_path):
    base, _ = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match="deadline"):
        download_file(f"{base}/drip-headers", tmp_path / "x.bin", progress=False,
                      timeout=60, deadline=1.0)
    assert time.monotonic() - start < 5


def test_body_longer_than_content_length_is_refused(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="more bytes than the 10 its Content-Length"):
        download_file(f"{base}/longer", tmp_path / "x.bin", progress=False)
    assert listing(tmp_path) == []


def test_body_shorter_than_content_length_is_refused(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="received 50 of 100 bytes|after 50 bytes of 100"):
        download_file(f"{base}/shorter", tmp_path / "x.bin", progress=False)
    assert listing(tmp_path) == []


def test_announced_size_over_the_cap_is_refused_before_reading(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match=r"announces 1000000000000 bytes, more than the "
                                            r"limit of 65536"):
        download_file(f"{base}/huge", tmp_path / "x.bin", progress=False, max_bytes=1 << 16)
    assert listing(tmp_path) == []


def test_full_disk_is_a_download_error_naming_the_file(server, tmp_path, monkeypatch):
    base, files = server
    files["/ok.bin"] = b"data" * 1000

    class FullDisk:
        def __init__(self, fh):
            self._fh = fh

        def write(self, block):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

    monkeypatch.setattr(download, "open", lambda *a, **k: FullDisk(open(*a, **k)),
                        raising=False)
    dest = tmp_path / "ok.bin"
    with pytest.raises(DownloadError, match="No space left on device") as info:
        download_file(f"{base}/ok.bin", dest, progress=False)
    assert str(dest) in str(info.value) and isinstance(info.value, OSError)
    assert listing(tmp_path) == []


def test_leftover_part_files_are_removed_on_the_next_run(server, tmp_path):
    base, files = server
    files["/blob.bin"] = b"b" * 100
    old = time.time() - 2 * download.STALE_PART_SECONDS
    stale = [tmp_path / ".blob.bin.ab12cd34.part", tmp_path / ".blob.bin.zz_9yy8x.tmp"]
    kept = [tmp_path / ".blob.bin.live0001.part",  # recent: a download still running
            tmp_path / ".other.bin.ab12cd34.part",  # another file's
            tmp_path / "blob.bin.part", tmp_path / "notes.tmp"]  # not our naming pattern
    for path in stale + kept:
        path.write_bytes(b"leftover")
    for path in stale + kept[1:]:
        os.utime(path, (old, old))
    download_file(f"{base}/blob.bin", tmp_path / "blob.bin", progress=False)
    assert listing(tmp_path) == sorted(["blob.bin", *(p.name for p in kept)])
    # the file already there: download_dataset cleans up too, without downloading
    stale[0].write_bytes(b"leftover")
    os.utime(stale[0], (old, old))
    assert remove_stale_parts(tmp_path / "blob.bin") == [stale[0]]


def test_download_dataset_caps_the_size_from_the_card(server, tmp_path, monkeypatch):
    base, files = server
    files["/capped.csv"] = CSV_TEXT.encode() * 2000  # far more than the card's size
    card = make_card(url=f"{base}/capped.csv", size=len(CSV_TEXT))
    register(monkeypatch, card)
    assert card_max_bytes(card) < len(files["/capped.csv"])
    with pytest.raises(DownloadError, match="more than the limit"):
        download_dataset("tiny", data_dir=tmp_path, progress=False)
    assert listing(tmp_path) == []
    assert card_max_bytes(dataset_card("Exchange")) < 2 * dataset_card("Exchange")["size"]
    estimate = card_max_bytes(dataset_card("Traffic"))  # no size: rows x columns, bounded
    assert 100 << 20 < estimate <= download.DEFAULT_MAX_BYTES


# ------------------------------------------------------------------------------ archives
def _gzip_bomb(path: Path, decompressed: int, line: bytes = b"0,0,0,0,0,0,0,0\n") -> None:
    """A small gzip file that inflates to ``decompressed`` bytes of valid-looking rows."""
    block = line * ((1 << 20) // len(line))
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as fh:
        for _ in range(decompressed // len(block)):
            fh.write(packer.compress(block))
        fh.write(packer.flush())


def test_gzip_bomb_is_refused_while_decompressing(tmp_path, monkeypatch):
    card = make_card(drop=("date_column",), name="bomb", file="bomb.txt.gz",
                     format="matrix", start="2012-01-01", columns=None, n_columns=8,
                     target="7", rows=5, freq="D")
    register(monkeypatch, card)
    _gzip_bomb(tmp_path / "bomb.txt.gz", 100 << 20)
    assert (tmp_path / "bomb.txt.gz").stat().st_size < 400_000
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataValidationError, match=r"bomb\.txt\.gz: the file decompresses "
                                                      r"to more than 67108864 bytes"):
            load_dataset("bomb", data_dir=tmp_path, download=False)
    assert time.monotonic() - start < 10


def test_gzip_bomb_as_exchange_is_refused_by_its_checksum(tmp_path):
    _gzip_bomb(tmp_path / "exchange_rate.txt.gz", 20 << 20)
    with pytest.raises(ChecksumMismatchError, match="exchange_rate.txt.gz has sha256"):
        load_dataset("Exchange", data_dir=tmp_path, download=False)


def test_oversized_plain_file_is_refused_before_parsing(tmp_path, monkeypatch):
    register(monkeypatch, make_card())
    with open(tmp_path / "tiny.csv", "wb") as fh:  # sparse: 80 MiB that take no space
        fh.write(CSV_TEXT.encode())
        fh.truncate(80 << 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataValidationError, match=r"tiny\.csv: the file holds more than"):
            load_dataset("tiny", data_dir=tmp_path, download=False)


def test_a_gzip_text_file_within_bounds_still_loads(tmp_path, monkeypatch):
    card = make_card(name="tinygz", file="tinygz.csv.gz")
    register(monkeypatch, card)
    (tmp_path / "tinygz.csv.gz").write_bytes(gzip.compress(CSV_TEXT.encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        frame = load_dataset("tinygz", data_dir=tmp_path, download=False)
    assert frame.shape == (4, 2) and frame.iloc[1, 0] == 2.5


@pytest.mark.parametrize("overrides, key", [
    ({"file": "tiny.csv.bz2"}, "file"),
    ({"file": "tiny.zip"}, "file"),
    ({"size": 0}, "size"),
    ({"size": True}, "size"),
])
def test_cards_refuse_unbounded_archives_and_bad_sizes(overrides, key):
    with pytest.raises(CardError, match=f"key '{key}'"):
        make_card(**overrides)


def test_embedded_cards_have_no_checksum_or_size():
    card = {k: v for k, v in dataset_card("co2").items() if v is not None}
    card.update(url=None, file=None, sha256=None, size=10)
    with pytest.raises(CardError, match="key 'size'.*embedded"):
        validate_card(card)


# ------------------------------------------------------------------------------ checksums
def test_every_url_card_is_verified_or_marked_unverified():
    table = datasets_table().set_index("name")
    for name in list_datasets():
        card = dataset_card(name)
        if card["source"] == "statsmodels":
            assert table.loc[name, "source"] == "statsmodels"
        elif card["sha256"] and (card["size"] or card["source"] == "manual"):
            assert table.loc[name, "source"] == card["source"]
        else:
            assert table.loc[name, "source"] == f"{card['source']} (unverified)", name
    assert table.loc["ETTh1", "source"] == "url" and table.loc["Exchange", "source"] == "url"
    assert table.loc["ETTm1", "source"] == "url (unverified)"
    assert table.loc["METR-LA", "source"] == "manual (unverified)"


def test_loading_an_unverified_file_warns_once(tmp_path, monkeypatch):
    register(monkeypatch, make_card())
    (tmp_path / "tiny.csv").write_text(CSV_TEXT)
    with pytest.warns(DataWarning, match=r"dataset 'tiny' is unverified.*tiny\.csv"):
        load_dataset("tiny", data_dir=tmp_path, download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("tiny", data_dir=tmp_path, download=False)  # once per process


def test_download_and_load_of_an_unverified_file_warn_once(server, tmp_path, monkeypatch):
    base, files = server
    files["/tiny.csv"] = CSV_TEXT.encode()
    register(monkeypatch, make_card(url=f"{base}/tiny.csv"))
    digest = hashlib.sha256(CSV_TEXT.encode()).hexdigest()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset("tiny", data_dir=tmp_path)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1 and digest in messages[0] and "unverified" in messages[0]


# ------------------------------------------------------------------------------ HDF5
MARKER_CODE = "open({path!r}, 'w').write('pwned')"


class _Exploit:
    """Unpickling this runs code that writes a marker file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (MARKER_CODE.format(path=self.path),))


def _store(path: Path, marker: Path, *, rows: int = 6, pickled_freq: bool = True,
           object_column: bool = False, declared_rows: int | None = None) -> None:
    """A pandas "fixed" DataFrame store written with h5py, as pandas lays it out."""
    h5py = pytest.importorskip("h5py")
    columns = [b"773869", b"767541", b"767542"]
    stamps = pd.date_range("2012-03-01", periods=rows, freq="5min").as_unit("us")
    with h5py.File(path, "w") as f:
        group = f.create_group("df")
        for key, value in {"pandas_type": b"frame", "axis0_variety": b"regular",
                           "axis1_variety": b"regular", "encoding": b"UTF-8"}.items():
            group.attrs[key] = np.bytes_(value)
        group.attrs["nblocks"] = np.int64(2 if object_column else 1)
        group.attrs["ndim"] = np.int64(2)
        axis0 = group.create_dataset("axis0", data=np.array(
            columns + ([b"evil"] if object_column else [])))
        axis0.attrs["kind"] = np.bytes_(b"string")
        axis1 = group.create_dataset("axis1", data=stamps.asi8)
        axis1.attrs["kind"] = np.bytes_(b"datetime64[us]")
        if pickled_freq:  # PyTables unpickles an attribute that looks like a pickle
            axis1.attrs["freq"] = np.bytes_(pickle.dumps(_Exploit(marker), protocol=0))
        items = group.create_dataset("block0_items", data=np.array(columns))
        items.attrs["kind"] = np.bytes_(b"string")
        if declared_rows is None:
            group.create_dataset("block0_values",
                                 data=np.arange(rows * 3, dtype="f8").reshape(rows, 3))
        else:  # declared, never written: a tiny file that claims a huge array
            group.create_dataset("block0_values", shape=(declared_rows, 3), dtype="f8",
                                 chunks=(1024, 3), compression="gzip")
        if object_column:  # pandas' layout of an object column: a pickled VLArray
            items1 = group.create_dataset("block1_items", data=np.array([b"evil"]))
            items1.attrs["kind"] = np.bytes_(b"string")
            payload = np.frombuffer(pickle.dumps(_Exploit(marker), protocol=2), np.uint8)
            values = group.create_dataset("block1_values", (1,),
                                          dtype=h5py.vlen_dtype(np.uint8))
            values[0] = payload
            values.attrs["CLASS"] = np.bytes_(b"VLARRAY")
            values.attrs["PSEUDOATOM"] = np.bytes_(b"object")


def _h5_card(monkeypatch, n_columns: int = 3, rows: int = 6) -> None:
    card = {k: v for k, v in dataset_card("METR-LA").items() if v is not None}
    card.update(name="h5tiny", aliases=[], file="t.h5", n_columns=n_columns, rows=rows,
                url=None, sha256=None, target=None)
    register(monkeypatch, validate_card(card))


def test_h5_store_is_read_without_unpickling_its_attributes(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    _store(tmp_path / "t.h5", marker)
    _h5_card(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        frame = load_dataset("h5tiny", data_dir=tmp_path, download=False)
    assert not marker.exists()
    assert list(frame.columns) == ["773869", "767541", "767542"]
    assert frame.index[1] == pd.Timestamp("2012-03-01 00:05") and frame.index.freqstr == "5min"
    assert frame.iloc[2, 1] == 7.0 and (frame.dtypes == "float64").all()


def test_h5_object_column_is_refused_not_unpickled(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    _store(tmp_path / "t.h5", marker, pickled_freq=False, object_column=True)
    _h5_card(monkeypatch, n_columns=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataValidationError, match=r"t\.h5: /df/block1_values \(column\(s\)"
                                                      r" \['evil'\]\) holds pickled Python"):
            load_dataset("h5tiny", data_dir=tmp_path, download=False)
    assert not marker.exists()


def test_h5_store_declaring_a_huge_array_is_refused(tmp_path, monkeypatch):
    _store(tmp_path / "t.h5", tmp_path / "pwned", pickled_freq=False,
           declared_rows=50_000_000)
    assert (tmp_path / "t.h5").stat().st_size < 1 << 20
    _h5_card(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataValidationError, match="its arrays declare more than"):
            load_dataset("h5tiny", data_dir=tmp_path, download=False)


def test_h5_never_goes_through_pandas_read_hdf(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pandas.read_hdf unpickles objects: it must not be used")

    monkeypatch.setattr(pd, "read_hdf", refuse)
    (tmp_path / "metr-la.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises((ImportError, DataValidationError), match="h5py|HDF5"):
            load_dataset("METR-LA", data_dir=tmp_path)
        monkeypatch.setitem(sys.modules, "h5py", None)  # h5py not installed
        with pytest.raises(ImportError, match=r"needs h5py: pip install h5py"):
            load_dataset("METR-LA", data_dir=tmp_path)

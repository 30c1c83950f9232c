"""Dataset cards, load_dataset, the data directory, downloads from a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.resources
import importlib.util
import os
import socket
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets
import yaml
from dataset_cards import CSV_TEXT, RAW_CARD, make_card, register

from spikecast.data import datasets
from spikecast.data.datasets import (
    CardError,
    DatasetNotFoundError,
    dataset_card,
    list_datasets,
    load_card,
    load_dataset,
    resolve_data_dir,
    verify_file,
)
from spikecast.data.download import (
    ChecksumMismatchError,
    DownloadError,
    download_dataset,
    download_file,
    sha256_file,
)
from spikecast.exceptions import DataValidationError

REPO = Path(__file__).resolve().parents[1]
ETTH1_SHA = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"
BENCHMARKS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "Exchange", "Electricity", "Solar",
              "Traffic", "Weather", "ILI", "METR-LA", "PEMS-BAY"]
EMBEDDED = ["co2", "sunspots", "elnino", "macrodata"]


def shared_data_dir() -> Path:
    env = os.environ.get("SPIKECAST_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture
def etth1_path() -> Path:
    path = shared_data_dir() / "ETTh1.csv"
    if not path.exists():
        pytest.skip(f"ETTh1.csv not found in {path.parent}; set SPIKECAST_DATA_DIR")
    return path


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path_factory, monkeypatch):
    """Never touch the real ~/.cache: point XDG_CACHE_HOME at a temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))


# ------------------------------------------------------------------------------ helpers


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if self.path.startswith("/truncated"):
            payload = b"x" * 5000
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload) + 100_000))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True
            return
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server():
    """A local HTTP server on an ephemeral port: ``(base_url, files, requests)``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.files, _Handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        _Handler.files.clear()
        _Handler.requests.clear()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------ cards
def test_every_benchmark_and_embedded_dataset_has_a_valid_card():
    names = list_datasets()
    assert set(BENCHMARKS + EMBEDDED) <= set(names)
    for path in sorted((REPO / "datasets").glob("*.yaml")):
        card = load_card(path)
        assert card["name"] == path.stem
    assert dataset_card("ETTh1")["sha256"] == ETTH1_SHA
    assert dataset_card("ETTh1")["split"]["p1"] == {"borders": [8640, 11520, 14400]}
    assert dataset_card("ETTm2")["split"]["p1"] == {"borders": [34560, 46080, 57600]}
    assert dataset_card("PEMS-BAY")["split"]["p2"] == {"ratios": [0.7, 0.2, 0.1]}
    for name in ("Weather", "ILI", "METR-LA", "PEMS-BAY"):
        card = dataset_card(name)
        assert card["url"] is None and card["source"] == "manual" and card["manual_download"]
    for name in EMBEDDED:
        assert dataset_card(name)["source"] == "statsmodels"


def test_cards_are_found_through_the_package_symlink():
    link = REPO / "spikecast" / "data" / "cards"
    assert link.is_symlink() and os.readlink(link) == "../../datasets"
    resource = importlib.resources.files("spikecast.data") / "cards"
    found = sorted(p.name for p in resource.iterdir() if p.name.endswith(".yaml"))
    assert found == sorted(p.name for p in (REPO / "datasets").glob("*.yaml"))
    assert datasets.cards_dir().resolve() == (REPO / "datasets").resolve()


def test_names_are_case_insensitive_and_aliases_work():
    assert dataset_card("etth1")["name"] == "ETTh1"
    assert dataset_card("ETTH1")["name"] == "ETTh1"
    assert dataset_card("exchange_rate")["name"] == "Exchange"
    assert dataset_card("metr_la")["name"] == "METR-LA"
    assert dataset_card("CO2")["name"] == "co2"


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*ETTh1.*co2|unknown.*co2.*ETTh1"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="valid names"):
        dataset_card("nope")


def test_dataset_card_returns_a_copy():
    card = dataset_card("ETTh1")
    card["columns"].append("junk")
    assert "junk" not in dataset_card("ETTh1")["columns"]


@pytest.mark.parametrize("change, key", [
    ({"freq": None}, "freq"),
    ({"n_columns": "7"}, "n_columns"),
    ({"n_columns": True}, "n_columns"),
    ({"sha256": "abc"}, "sha256"),
    ({"source": "ftp"}, "source"),
    ({"url": None}, "url"),
    ({"freq": "fortnightly"}, "freq"),
    ({"target": "zz"}, "target"),
    ({"columns": ["a"]}, "columns"),
    ({"split": {"p1": {"ratios": [0.5, 0.1, 0.1]}, "p2": {"ratios": [0.6, 0.2, 0.2]}}},
     "split.p1.ratios"),
    ({"split": {"p1": {"borders": [100, 50, 200]}, "p2": {"ratios": [0.6, 0.2, 0.2]}}},
     "split.p1.borders"),
    ({"split": {"p1": {"ratios": [0.7, 0.1, 0.2]}}}, "split.p2"),
    ({"colour": "red"}, "colour"),
    ({"name": "other"}, "name"),
    ({"format": "matrix"}, "start"),
    ({"source": "manual", "url": None}, "manual_download"),
])
def test_bad_card_names_file_and_key(tmp_path, change, key):
    raw = {**RAW_CARD, **change}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CardError) as info:
        load_card(path)
    assert str(path) in str(info.value)
    assert f"key {key!r}" in str(info.value)


def test_missing_key_and_bad_yaml(tmp_path):
    raw = {k: v for k, v in RAW_CARD.items() if k != "license"}
    path = write(tmp_path / "tiny.yaml", yaml.safe_dump(raw))
    with pytest.raises(CardError, match=r"tiny\.yaml: key 'license': required key is missing"):
        load_card(path)
    bad = write(tmp_path / "bad.yaml", "name: [unclosed\n")
    with pytest.raises(CardError, match=r"bad\.yaml: not valid YAML"):
        load_card(bad)
    assert isinstance(CardError("x"), ValueError)


# ------------------------------------------------------------------------------ real data
def test_etth1_loads_from_the_data_dir_env(etth1_path, monkeypatch):
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(etth1_path.parent))
    frame = load_dataset("ETTh1", download=False)
    assert frame.shape == (17420, 7)
    assert list(frame.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
    assert frame.index.freqstr == "h"
    assert frame.index[0] == pd.Timestamp("2016-07-01 00:00:00")
    assert (frame.dtypes == "float64").all() and not frame.isna().any().any()
    assert frame["OT"].iloc[0] == pytest.approx(30.5310001373291)


def test_data_dir_argument_beats_env_and_env_beats_cache(etth1_path, tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(tmp_path / "empty"))
    assert load_dataset("etth1", data_dir=etth1_path.parent, download=False).shape[0] == 17420
    assert resolve_data_dir() == tmp_path / "empty"
    assert resolve_data_dir(tmp_path) == tmp_path
    monkeypatch.delenv("SPIKECAST_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "spikecast"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_dir() == Path.home() / ".cache" / "spikecast"


def test_verification_is_cached_by_size_and_mtime(etth1_path, monkeypatch):
    calls = []
    real = datasets.sha256_file
    monkeypatch.setattr(datasets, "sha256_file", lambda p: calls.append(p) or real(p))
    monkeypatch.setattr(datasets, "_VERIFIED", {})
    card = dataset_card("ETTh1")
    verify_file(etth1_path, card)
    verify_file(etth1_path, card)
    assert len(calls) == 1


def test_corrupt_local_file_fails_the_checksum(etth1_path, tmp_path):
    data = etth1_path.read_bytes()
    (tmp_path / "ETTh1.csv").write_bytes(data.replace(b"30.531", b"30.532", 1))
    with pytest.raises(ChecksumMismatchError, match="ETTh1.csv has sha256") as info:
        load_dataset("ETTh1", data_dir=tmp_path, download=False)
    assert info.value.expected == ETTH1_SHA
    assert "force=True" in str(info.value)


def test_missing_file_without_download_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("ETTh2", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "ETTh2.csv" in message and str(tmp_path) in message
    assert "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh2.csv" \
        in message
    assert isinstance(info.value, FileNotFoundError)


def test_manual_dataset_missing_gives_the_manual_note(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="weather.csv.*no stable download URL.*"
                                                   "drive.google.com"):
        load_dataset("Weather", data_dir=tmp_path)  # download=True: nothing to fetch from
    with pytest.raises(DatasetNotFoundError, match="metr-la.h5"):
        download_dataset("METR-LA", data_dir=tmp_path)


def test_h5_without_h5py_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if it were not installed
    (tmp_path / "metr-la.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ImportError, match="h5py"):
        load_dataset("METR-LA", data_dir=tmp_path)


# ------------------------------------------------------------------------------ embedded
@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_datasets_are_regular_float_frames(name):
    card = dataset_card(name)
    frame = load_dataset(name)
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
    assert frame.index.freq is not None
    assert frame.index.freq == pd.tseries.frequencies.to_offset(card["freq"])
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert (frame.dtypes == "float64").all() and not frame.isna().any().any()
    assert list(frame.columns) == card["columns"] and card["target"] in frame.columns
    assert len(frame) == card["rows"]


def test_embedded_values_match_statsmodels():
    co2 = load_dataset("co2")["co2"]
    raw = statsmodels.datasets.co2.load_pandas().data["co2"]
    assert raw.isna().any()
    np.testing.assert_allclose(co2.to_numpy(), raw.interpolate().to_numpy())
    elnino = load_dataset("elnino")["sst"]
    table = statsmodels.datasets.elnino.load_pandas().data
    assert elnino.loc["1951-03-01"] == table.loc[1, "MAR"]
    assert elnino.index[-1] == pd.Timestamp("2010-12-01")
    macro = load_dataset("macrodata")
    assert macro.index[1] == pd.Timestamp("1959-04-01")
    assert macro["realgdp"].iloc[0] == pytest.approx(2710.349)
    sun = load_dataset("sunspots")
    assert sun.index[0] == pd.Timestamp("1700-01-01") and sun["SUNACTIVITY"].iloc[1] == 11.0


# ------------------------------------------------------------------------------ bad data
@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Register the 'tiny' card; return a function writing its file and loading it."""
    def load(text: str, **overrides):
        card = make_card(**overrides)
        register(monkeypatch, card)
        write(tmp_path / card["file"], text)
        return load_dataset(card["name"], data_dir=tmp_path, download=False)
    return load


def test_small_csv_loads(tiny):
    frame = tiny(CSV_TEXT)
    assert frame.index.freqstr == "h" and list(frame.columns) == ["a", "b"]
    assert frame["b"].dtype == "float64" and frame["a"].tolist() == [1.0, 2.5, 3.0, 4.0]


def test_missing_column_names_file_and_column(tiny):
    with pytest.raises(DataValidationError, match=r"tiny\.csv: column\(s\) \['b'\] are missing"):
        tiny(CSV_TEXT.replace(",b\n", ",c\n", 1))


def test_missing_date_column(tiny):
    with pytest.raises(DataValidationError, match=r"tiny\.csv: date column 'date' is missing"):
        tiny(CSV_TEXT.replace("date,", "time,", 1))


def test_unparseable_date_names_file_column_and_line(tiny):
    text = CSV_TEXT.replace("2020-01-01 02:00:00", "not a date")
    with pytest.raises(DataValidationError,
                       match=r"tiny\.csv: column 'date', line 4 \(data row 2\): unparseable "
                             r"date 'not a date'"):
        tiny(text)


def test_non_numeric_value_names_file_column_line_and_value(tiny):
    text = CSV_TEXT.replace("3.0,12", "3.0,twelve")
    with pytest.raises(DataValidationError,
                       match=r"tiny\.csv: column 'b', line 4 \(data row 2\): non-numeric "
                             r"value 'twelve'"):
        tiny(text)


def test_empty_value_is_an_error(tiny):
    with pytest.raises(DataValidationError, match=r"column 'a', line 3 .*missing value"):
        tiny(CSV_TEXT.replace("2.5,11", ",11"))


def test_duplicate_and_irregular_time_stamps(tiny):
    dup = CSV_TEXT.replace("2020-01-01 02:00:00", "2020-01-01 01:00:00")
    with pytest.raises(DataValidationError, match="line 4 .*duplicate or out of order"):
        tiny(dup)
    gap = CSV_TEXT.replace("2020-01-01 03:00:00", "2020-01-01 05:00:00")
    with pytest.raises(DataValidationError, match="line 5 .*breaks the regular 'h' grid"):
        tiny(gap)
    frame = tiny(gap, regular=False)
    assert frame.index.freq is None and len(frame) == 4


def test_row_count_differing_from_the_card_warns(tiny):
    with pytest.warns(UserWarning, match="5 rows, but the card"):
        tiny(CSV_TEXT + "2020-01-01 04:00:00,5,14\n")


def test_headerless_matrix_gets_a_synthetic_index(tmp_path, monkeypatch):
    card = make_card(drop=("date_column",), name="mat", file="mat.txt.gz", format="matrix",
                     start="2012-01-01 00:00:00", columns=None, n_columns=3, target="2",
                     rows=5, freq="10min")
    register(monkeypatch, card)
    rows = "\n".join(",".join(str(i * 3 + j) for j in range(3)) for i in range(5)) + "\n"
    (tmp_path / "mat.txt.gz").write_bytes(gzip.compress(rows.encode()))
    frame = load_dataset("mat", data_dir=tmp_path)
    assert list(frame.columns) == ["0", "1", "2"] and frame.index.freqstr == "10min"
    assert frame.index[0] == pd.Timestamp("2012-01-01") and frame.iloc[4, 2] == 14.0
    bad = rows.replace("7,8", "7,x")
    (tmp_path / "mat.txt.gz").write_bytes(gzip.compress(bad.encode()))
    with pytest.raises(DataValidationError, match=r"mat\.txt\.gz: column '2', line 3"):
        load_dataset("mat", data_dir=tmp_path)
    (tmp_path / "mat.txt.gz").write_bytes(gzip.compress(b"1,2\n3,4\n"))
    with pytest.raises(DataValidationError, match="expected 3 columns, found 2"):
        load_dataset("mat", data_dir=tmp_path)


# ------------------------------------------------------------------------------ downloads
def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_download_file_success(server, tmp_path, capsys):
    base, files, _ = server
    body = os.urandom(3 * (1 << 20) + 123)  # several chunks
    files["/blob.bin"] = body
    dest = download_file(f"{base}/blob.bin", tmp_path / "sub" / "blob.bin", sha256=sha(body),
                         progress=False)
    assert dest.read_bytes() == body and _listing(dest.parent) == ["blob.bin"]
    assert capsys.readouterr().err == ""
    download_file(f"{base}/blob.bin", tmp_path / "again.bin", progress=True)
    assert "again.bin" in capsys.readouterr().err  # the tqdm bar, on stderr


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    base, files, _ = server
    files["/data.csv"] = CSV_TEXT.encode()
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch for .*/data.csv"):
        download_file(f"{base}/data.csv", tmp_path / "data.csv", sha256="0" * 64,
                      progress=False)
    assert _listing(tmp_path) == []
    (tmp_path / "data.csv").write_text("old")  # an existing file stays untouched
    with pytest.raises(ChecksumMismatchError):
        download_file(f"{base}/data.csv", tmp_path / "data.csv", sha256="0" * 64,
                      progress=False)
    assert (tmp_path / "data.csv").read_text() == "old" and _listing(tmp_path) == ["data.csv"]


def test_http_404_names_the_url(server, tmp_path):
    base, _, _ = server
    with pytest.raises(DownloadError, match=rf"HTTP 404 .*{base}/absent.csv") as info:
        download_file(f"{base}/absent.csv", tmp_path / "absent.csv", progress=False)
    assert info.value.status == 404 and info.value.url == f"{base}/absent.csv"
    assert _listing(tmp_path) == []


def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path):
    base, _, _ = server
    with pytest.raises(DownloadError, match="interrupted|incomplete"):
        download_file(f"{base}/truncated.csv", tmp_path / "t.csv", progress=False)
    assert _listing(tmp_path) == []


def test_unreachable_server_is_a_download_error(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port}"):
        download_file(f"http://127.0.0.1:{port}/x.csv", tmp_path / "x.csv", progress=False,
                      timeout=5)
    assert _listing(tmp_path) == []


def test_load_dataset_downloads_through_a_card(server, tmp_path, monkeypatch):
    base, files, requests = server
    files["/tiny.csv"] = CSV_TEXT.encode()
    card = make_card(url=f"{base}/tiny.csv", sha256=sha(CSV_TEXT.encode()))
    register(monkeypatch, card)
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(tmp_path / "data"))
    before = len(requests)
    frame = load_dataset("TINY")
    assert frame.shape == (4, 2) and frame.index.freqstr == "h"
    assert (tmp_path / "data" / "tiny.csv").read_text() == CSV_TEXT
    load_dataset("tiny")  # now local: no second request
    assert len(requests) == before + 1
    assert download_dataset("tiny") == tmp_path / "data" / "tiny.csv"
    assert len(requests) == before + 1
    download_dataset("tiny", force=True, progress=False)
    assert len(requests) == before + 2


def test_download_without_known_checksum_warns_with_the_digest(server, tmp_path, monkeypatch):
    base, files, _ = server
    files["/nosha.csv"] = CSV_TEXT.encode()
    register(monkeypatch, make_card(url=f"{base}/nosha.csv"))
    with pytest.warns(UserWarning, match=f"without verification .*{sha(CSV_TEXT.encode())}"):
        frame = load_dataset("tiny", data_dir=tmp_path)
    assert frame.shape == (4, 2)


def test_failed_download_in_load_dataset_is_dataset_not_found(server, tmp_path, monkeypatch):
    base, _, _ = server
    register(monkeypatch, make_card(url=f"{base}/gone.csv"))
    with pytest.raises(DatasetNotFoundError, match=r"tiny\.csv.*HTTP 404") as info:
        load_dataset("tiny", data_dir=tmp_path)
    assert isinstance(info.value.__cause__, DownloadError)
    assert _listing(tmp_path) == []


def test_download_dataset_of_an_embedded_set_is_an_error():
    with pytest.raises(ValueError, match="ships with statsmodels"):
        download_dataset("co2")


def test_sha256_file_matches_hashlib(tmp_path):
    data = os.urandom(10_000)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == sha(data)


def test_no_warnings_when_loading_a_verified_file(etth1_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("ETTh1", data_dir=etth1_path.parent, download=False)

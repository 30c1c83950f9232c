"""Hostile and careless inputs to NeuralForecaster's fit, save and load (issue 4/6).

Each test is a reproducer of a finding: a checkpoint URL or pickle that would run code, a
tampered model file that would exhaust memory or time, a loaded model that stayed a view of
its file, fits that shared a checkpoint folder, values fit accepts that save refused, and a
fit that changed the caller's random state.
"""

from __future__ import annotations

import http.server
import json
import os
import random
import stat
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from spikecast import NeuralForecaster
from spikecast.exceptions import DataValidationError, InvalidParameterError, ModelFileError

TINY = dict(encoder="gru", lookback=8, horizon=3, hidden_size=4, max_epochs=1, val_size=0,
            verbose=False)


def _frame(n=60, index=None, columns=("a", "b")):
    t = np.arange(n)
    data = {c: np.sin(t / (3 + i)) + 0.1 * i for i, c in enumerate(columns)}
    return pd.DataFrame(data, index=pd.date_range("2024-01-01", periods=n, freq="h")
                        if index is None else index)


@pytest.fixture(scope="module")
def fitted():
    return NeuralForecaster(**TINY).fit(_frame())


@pytest.fixture
def saved(tmp_path, fitted):
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    return path


def _tamper(path, edit_meta=None, edit_tensors=None):
    """Rewrite a model file with edited metadata and/or tensors (as an attacker would)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["spikecast"])
    tensors = load_file(str(path))
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(path), metadata={"spikecast": json.dumps(meta)})
    return path


# ------------------------------------------------------------------ nothing runs code
class _Payload:
    """Unpickling this creates the file named in ``target``."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_checkpoint_url_is_refused_before_any_request(tmp_path):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/evil.ckpt"
        with pytest.raises(InvalidParameterError, match="ckpt_path.*URL"):
            NeuralForecaster(**TINY).fit(_frame(), ckpt_path=url)
    finally:
        server.shutdown()
    assert hits == []


def test_a_pickled_checkpoint_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Payload(marker)}, ckpt)
    with pytest.raises(Exception, match="(?i)weights.only|unpickl"):
        NeuralForecaster(**TINY).fit(_frame(), ckpt_path=str(ckpt))
    assert not marker.exists()


def test_a_missing_checkpoint_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataValidationError, match="nothere.ckpt"):
        NeuralForecaster(**TINY).fit(_frame(), ckpt_path=str(tmp_path / "nothere.ckpt"))


# ------------------------------------------------------------------ tampered model files
@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format_version="2"), "version"),
    (lambda m: m.update(format_version=True), "version"),
    (lambda m: m["params"].update(lookback=-5), "lookback"),
    (lambda m: m["params"].update(num_layers=100_000), "num_layers"),
    (lambda m: m["params"].update(spike_steps=10**9), "spike_steps"),
    (lambda m: m["params"].update(hidden_size=10**6), "hidden_size"),
    (lambda m: m["params"].update(instance_norm="false"), "instance_norm"),
    (lambda m: m["params"].update(random_state=1.7), "random_state"),
    (lambda m: m["params"].update(bogus=1), "bogus"),
    (lambda m: m.update(scaler_mean=[0.0]), "scaler"),
    (lambda m: m.update(scaler_std=[0.0, 1.0]), "scale"),
    (lambda m: m.update(scaler_std=[float("nan"), 1.0]), "scale"),
    (lambda m: m["params"].update(hidden_size=5), "do not match the architecture"),
    (lambda m: m["params"].update(lookback=9), "history"),
])
def test_tampered_metadata_is_refused_before_a_network_is_built(saved, edit, message):
    _tamper(saved, edit_meta=edit)
    with pytest.raises(ModelFileError, match=message):
        NeuralForecaster.load(saved)


def test_where_a_fit_writes_never_comes_from_a_model_file(saved, tmp_path):
    victim = tmp_path / "victim"

    def inject(meta):
        meta["params"]["checkpoint_dir"] = str(victim)
        meta["params"]["trainer_kwargs"] = {"default_root_dir": str(victim)}
    _tamper(saved, edit_meta=inject)
    loaded = NeuralForecaster.load(saved)
    assert loaded.checkpoint_dir is None and loaded.trainer_kwargs is None
    from sklearn.base import clone
    clone(loaded).fit(_frame())
    assert not victim.exists()


def test_a_loaded_model_owns_its_history_and_weights(tmp_path, fitted, saved):
    expected = fitted.predict()
    loaded = NeuralForecaster.load(saved)
    saved.write_bytes(b"")  # truncated: a memory-mapped view would now SIGBUS
    pd.testing.assert_frame_equal(loaded.predict(), expected)
    other = NeuralForecaster(**{**TINY, "random_state": 7}).fit(_frame() * 3)
    other.save(saved)  # replaced: a view would now give other forecasts
    pd.testing.assert_frame_equal(loaded.predict(), expected)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_loading_a_directory_or_fifo_says_what_it_is(tmp_path, kind):
    path = tmp_path / "thing"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(ModelFileError, match="is (a directory|not a regular file)"):
        NeuralForecaster.load(path)


# ------------------------------------------------------------------ saving
def test_save_keeps_the_mode_of_the_file_it_replaces(fitted, saved):
    os.chmod(saved, 0o600)
    fitted.save(saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_save_onto_a_symlink_keeps_the_link(tmp_path, fitted, saved):
    link = tmp_path / "current.safetensors"
    link.symlink_to(saved)
    fitted.save(link)
    assert link.is_symlink() and os.readlink(link) == str(saved)
    pd.testing.assert_frame_equal(NeuralForecaster.load(link).predict(), fitted.predict())


def test_a_full_disk_is_an_os_error_naming_the_file(tmp_path, fitted, monkeypatch):
    import errno

    import safetensors.torch
    from safetensors import SafetensorError

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(No space left on device "
                              "(os error 28))")
    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(OSError, match="m.safetensors") as info:
        fitted.save(tmp_path / "m.safetensors")
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", [
    lambda: pd.Series(np.sin(np.arange(60) / 3), name=np.int64(5),
                      index=pd.date_range("2024-01-01", periods=60, freq="h")),
    lambda: pd.Series(np.sin(np.arange(60) / 3), name=pd.Timestamp("2024-05-01"),
                      index=pd.date_range("2024-01-01", periods=60, freq="h")),
    lambda: pd.Series(np.sin(np.arange(60) / 3), name=("load", "kW"),
                      index=pd.date_range("2024-01-01", periods=60, freq="h")),
    lambda: pd.DataFrame({
        "unique_id": np.repeat([pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")], 60),
        "ds": np.tile(pd.date_range("2024-01-01", periods=60, freq="h"), 2),
        "y": np.sin(np.arange(120) / 4)}),
], ids=["numpy-int-name", "timestamp-name", "tuple-name", "timestamp-ids"])
def test_every_name_and_id_fit_accepts_can_be_saved(tmp_path, make):
    model = NeuralForecaster(**TINY).fit(make())
    model.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    expected = model.predict()
    got = loaded.predict()
    if isinstance(expected, pd.Series):
        assert got.name == expected.name  # a Timestamp name stays a Timestamp (!= its str)
        pd.testing.assert_series_equal(got, expected)
    else:
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("param", ["lookback", "horizon", "hidden_size", "max_epochs"])
def test_numpy_integer_parameters_fit_save_and_load(tmp_path, param):
    params = {**TINY, "val_size": 0.2}
    params[param] = np.int64(params[param])
    model = NeuralForecaster(**params).fit(_frame())
    model.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    assert type(loaded.get_params()[param]) is int
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())


def test_time_zones_and_units_round_trip_across_dst(tmp_path):
    # Europe/Berlin switches to summer time on 2024-03-31 at 02:00: the UTC offset changes
    index = pd.date_range("2024-03-29", periods=72, freq="h", tz="Europe/Berlin").as_unit("s")
    model = NeuralForecaster(**TINY).fit(_frame(72, index=index))
    model.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    got, expected = loaded.predict(), model.predict()
    assert str(got.index.tz) == "Europe/Berlin" and got.index.unit == expected.index.unit
    pd.testing.assert_frame_equal(got, expected)


# ------------------------------------------------------------------ fit settings
@pytest.mark.parametrize("key, value, message", [
    ("max_epochs", 3, "max_epochs=.*instead"),
    ("default_root_dir", "/tmp/x", "checkpoint_dir=.*instead"),
    ("accelerator", "cpu", "accelerator=.*instead"),
    ("devices", 1, "devices=.*instead"),
    ("enable_checkpointing", False, "best weights"),
    ("callbacks", "not a list", "list of callbacks"),
    ("no_such_argument", 1, "not an argument of lightning"),
])
def test_trainer_kwargs_that_overlap_spikecast_are_named(key, value, message):
    with pytest.raises(InvalidParameterError, match=rf"trainer_kwargs\['{key}'\].*{message}"):
        NeuralForecaster(**TINY, trainer_kwargs={key: value}).fit(_frame())


def test_trainer_kwargs_callbacks_none_means_no_callbacks():
    NeuralForecaster(**TINY, trainer_kwargs={"callbacks": None}).fit(_frame())


def test_fits_sharing_a_checkpoint_dir_keep_their_own_weights(tmp_path):
    small = NeuralForecaster(**{**TINY, "val_size": 0.2, "checkpoint_dir": str(tmp_path)})
    large = NeuralForecaster(**{**TINY, "val_size": 0.2, "hidden_size": 16,
                                "checkpoint_dir": str(tmp_path)})
    small.fit(_frame())
    large.fit(_frame())  # restored small's best.ckpt before: a size-mismatch crash
    assert small.checkpoint_path_ != large.checkpoint_path_
    assert {Path(m.checkpoint_path_).parent for m in (small, large)} == {tmp_path}
    small.predict()
    large.predict()


def test_fit_restores_the_callers_random_state():
    random.seed(3)
    np.random.seed(3)  # noqa: NPY002 (the legacy global state is what is checked)
    torch.manual_seed(3)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    random.seed(3)
    np.random.seed(3)  # noqa: NPY002
    torch.manual_seed(3)
    NeuralForecaster(**TINY).fit(_frame())
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002


def test_duplicate_targets_are_refused():
    with pytest.raises(DataValidationError, match=r"target names column\(s\) \['a'\] more"):
        NeuralForecaster(**TINY, target=["a", "a"]).fit(_frame())


def test_the_hostile_catalogue_runs_under_a_memory_limit_and_a_deadline(
        request, hostile_memory_limit):
    import resource

    assert resource.getrlimit(resource.RLIMIT_AS)[0] == hostile_memory_limit
    assert request.node.get_closest_marker("timeout").args[0] <= 120
    with pytest.raises(MemoryError):  # what a 64 GB request by a tampered input meets
        bytearray(64 * 1024**3)


def test_integer_column_names_come_back_as_integers(tmp_path):
    y = _frame(columns=("a", "b")).set_axis([0, 1], axis=1)
    model = NeuralForecaster(**TINY).fit(y)
    assert list(model.predict().columns) == [0, 1]
    model.save(tmp_path / "m.safetensors")
    assert list(NeuralForecaster.load(tmp_path / "m.safetensors").predict().columns) == [0, 1]
    from spikecast.baselines import NaiveForecaster
    assert list(NaiveForecaster(horizon=3).fit(y).predict().columns) == [0, 1]


def test_a_save_removes_what_a_killed_save_left_behind(tmp_path, fitted):
    stale = tmp_path / ".m.safetensors.abcd1234.tmp"  # atomic_path's naming
    running = tmp_path / ".m.safetensors.efgh5678.tmp"
    other = tmp_path / ".other.safetensors.abcd1234.tmp"
    for path in (stale, running, other):
        path.write_bytes(b"partial")
    old = os.path.getmtime(stale) - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    fitted.save(tmp_path / "m.safetensors")
    assert not stale.exists() and running.exists() and other.exists()


def test_more_devices_or_jobs_than_the_machine_has_are_refused():
    from spikecast.backtest import backtest

    many = (os.cpu_count() or 1) + 62
    with pytest.raises(InvalidParameterError, match=f"devices={many} asks for {many} devices"):
        NeuralForecaster(**{**TINY, "accelerator": "cpu", "devices": many}).fit(_frame())
    with pytest.raises(InvalidParameterError, match=f"n_jobs: {many} parallel workers"):
        backtest(NeuralForecaster(**TINY), _frame(), start=0.8, n_jobs=many)

"""Faults: a training run killed mid-way resumes from its last checkpoint and ends where an
uninterrupted run ends; NaN losses stop training with a clear error; every file writer is
atomic; a truncated or tampered model file is a ModelFileError, and loading one never runs
code (safetensors + JSON, no pickle)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast.exceptions import ModelFileError

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np, pandas as pd, torch
    from lightning.pytorch.callbacks import Callback
    from spikecast import NeuralForecaster

    torch.set_num_threads(1)
    data_path, ckpt_dir, kill_at, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

    class KillAt(Callback):
        # SIGKILL, not an exception: nothing gets a chance to clean up
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    y = pd.read_pickle(data_path)
    model = NeuralForecaster({encoder}, lookback=24, horizon=6, hidden_size=8,
                             max_epochs=4, batch_size=32, early_stopping_patience=None,
                             checkpoint_dir=ckpt_dir, verbose=False,
                             trainer_kwargs={{"callbacks": [KillAt()]}})
    model.fit(y, ckpt_path="last" if resume == "1" else None)
    np.save(os.path.join(ckpt_dir, "forecast.npy"), model.predict().to_numpy())
""")


def _run(tmp_path, encoder, ckpt_dir, kill_at, resume):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(encoder=encoder))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "y.pkl"), str(ckpt_dir), str(kill_at),
         resume], capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("encoder", ['encoder="stack", neuron="ts_lif"', 'encoder="gru"'])
def test_sigkilled_run_resumes_to_the_same_result(tmp_path, etth1_small, encoder):
    etth1_small[["OT", "HUFL"]].to_pickle(tmp_path / "y.pkl")
    steps_per_epoch = -(-(round(400 * 0.8) - 30 + 1) // 32)  # ceil(train windows / batch)

    full = _run(tmp_path, encoder, tmp_path / "full", kill_at=-1, resume="0")
    assert full.returncode == 0, full.stderr[-2000:]

    # killed in the middle of the third epoch: last.ckpt holds the end of the second
    killed = _run(tmp_path, encoder, tmp_path / "killed", kill_at=2 * steps_per_epoch + 3,
                  resume="0")
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "forecast.npy").exists()
    # each fit writes into its own fit-* subdirectory of checkpoint_dir
    assert len(list((tmp_path / "killed").glob("fit-*/last.ckpt"))) == 1

    resumed = _run(tmp_path, encoder, tmp_path / "killed", kill_at=-1, resume="1")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "killed" / "forecast.npy"),
                                  np.load(tmp_path / "full" / "forecast.npy"))


def test_resume_without_checkpoint_dir_is_a_clear_error(etth1_small):
    with pytest.raises(ValueError, match="checkpoint_dir"):
        NeuralForecaster(encoder="gru", lookback=24, horizon=6, max_epochs=1,
                         verbose=False).fit(etth1_small, ckpt_path="last")


def test_nan_loss_stops_training_with_epoch_and_step(etth1_small):
    model = NeuralForecaster(encoder="gru", lookback=24, horizon=6, hidden_size=8,
                             max_epochs=2, lr=1e30, optimizer="sgd", instance_norm=False,
                             verbose=False)
    with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+"):
        model.fit(etth1_small * 1e20)
    assert not hasattr(model, "module_")


# ------------------------------------------------------------------------------ atomic saves
# Every writer puts its bytes into a temporary file in the target folder and renames it over
# the target (os.replace) only when complete: a crash mid-write leaves the previous file (or
# none) and no temporary files. Downloads are covered in tests/test_datasets.py
# (test_checksum_mismatch_leaves_nothing, test_interrupted_transfer_leaves_no_partial_file).


def _tiny_frame(n=80):
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(t / 3.0), "b": np.cos(t / 5.0)},
                        index=pd.date_range("2024-01-01", periods=n, freq="h"))


@pytest.fixture(scope="module")
def fitted():
    return NeuralForecaster(encoder="gru", lookback=8, horizon=3, hidden_size=4, max_epochs=1,
                            val_size=0, verbose=False).fit(_tiny_frame())


@pytest.fixture
def saved(tmp_path, fitted):
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    return path


def _crash_after_partial_write(monkeypatch, module, name):
    """Make ``module.name(obj, target, ...)`` write a few bytes to ``target`` and fail."""
    def broken(obj, target, *args, **kwargs):
        if hasattr(target, "write"):
            target.write(b"\x89PNG partial")
        else:
            with open(target, "wb") as handle:
                handle.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(module, name, broken)


def test_model_save_is_atomic(tmp_path, fitted, saved, monkeypatch):
    import safetensors.torch

    before = saved.read_bytes()
    _crash_after_partial_write(monkeypatch, safetensors.torch, "save_file")
    with pytest.raises(OSError, match="disk full"):
        fitted.save(saved)
    assert saved.read_bytes() == before  # the previous model is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
    with pytest.raises(OSError, match="disk full"):
        fitted.save(tmp_path / "new.safetensors")
    assert not (tmp_path / "new.safetensors").exists()  # no half-written new file either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_model_save_rename_failure_leaves_no_temporary_file(tmp_path, fitted, monkeypatch):
    def no_rename(src, dst):
        raise OSError("rename refused")
    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="rename refused"):
        fitted.save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_figure_save_is_atomic(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikecast.plotting import save_figure

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    path = save_figure(fig, tmp_path / "plot.png")
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")

    def broken(self, target, **kwargs):  # writes part of the file, then fails
        with open(target, "wb") as handle:
            handle.write(b"\x89PNG partial")
        raise OSError("disk full")
    monkeypatch.setattr(type(fig), "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, path)
    plt.close(fig)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_report_writer_is_atomic(tmp_path, monkeypatch):
    """The backtest result writers (metrics / predictions CSV, markdown) go through
    spikecast.experiment.report.write_text."""
    reporting = pytest.importorskip("spikecast.experiment.report")
    path = reporting.write_text(tmp_path / "out" / "metrics.csv", "model,mae\nnaive,1.0\n")
    assert path.read_text() == "model,mae\nnaive,1.0\n"

    def no_rename(src, dst):
        raise OSError("rename refused")
    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="rename refused"):
        reporting.write_text(path, "model,mae\nnaive,2.0\n")
    assert path.read_text() == "model,mae\nnaive,1.0\n"
    assert [p.name for p in path.parent.iterdir()] == ["metrics.csv"]


# ------------------------------------------------------------------------------ model files
def _header(path):
    """The JSON header of a safetensors file and the byte offset of its data."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _write(path, header: dict, body: bytes) -> None:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.01, 0.5, 0.99])
def test_truncated_model_file_is_a_model_file_error(tmp_path, saved, fraction):
    raw = saved.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:int(len(raw) * fraction)])
    with pytest.raises(ModelFileError, match="cut.safetensors"):
        NeuralForecaster.load(cut)


def test_tampered_header_is_a_model_file_error(tmp_path, saved):
    header, body = _header(saved)
    meta = json.loads(header["__metadata__"]["spikecast"])
    cases = {
        "huge length": struct.pack("<Q", 2**60) + saved.read_bytes()[8:],
        "not json": struct.pack("<Q", 16) + b"{not json}      " + body,
    }
    for _name, raw in cases.items():
        (tmp_path / "bad.safetensors").write_bytes(raw)
        with pytest.raises(ModelFileError, match="bad.safetensors"):
            NeuralForecaster.load(tmp_path / "bad.safetensors")
    variants = {
        "no spikecast metadata": {},
        "metadata not json": {"spikecast": "{oops"},
        "other format": {"spikecast": json.dumps({**meta, "format": "something.else"})},
        "newer format": {"spikecast": json.dumps({**meta, "format_version": 99})},
    }
    for _name, metadata in variants.items():
        _write(tmp_path / "bad.safetensors", {**header, "__metadata__": metadata}, body)
        with pytest.raises(ModelFileError, match="metadata|newer|not a NeuralForecaster"):
            NeuralForecaster.load(tmp_path / "bad.safetensors")


def test_tampered_weights_are_a_model_file_error(tmp_path, saved):
    header, body = _header(saved)
    name = next(k for k in header if k.startswith("model.") and len(header[k]["shape"]) == 2)
    entry = header[name]
    start, end = entry["data_offsets"]
    rows, cols = entry["shape"]
    # same bytes, other shape: the tensors no longer fit the architecture
    wrong = {**header, name: {**entry, "shape": [rows * cols, 1] if cols > 1 else [1, rows]}}
    _write(tmp_path / "shape.safetensors", wrong, body)
    with pytest.raises(ModelFileError, match="do not match the architecture"):
        NeuralForecaster.load(tmp_path / "shape.safetensors")
    # offsets beyond the data: rejected by the safetensors parser
    beyond = {**header, name: {**entry, "data_offsets": [start, len(body) + 64]}}
    _write(tmp_path / "offsets.safetensors", beyond, body)
    with pytest.raises(ModelFileError):
        NeuralForecaster.load(tmp_path / "offsets.safetensors")


def test_missing_tensor_is_a_model_file_error(tmp_path, saved):
    from safetensors.torch import load_file, save_file

    tensors = load_file(saved)
    header, _ = _header(saved)
    del tensors["history.0"]
    save_file(tensors, tmp_path / "gone.safetensors", metadata=header["__metadata__"])
    with pytest.raises(ModelFileError):
        NeuralForecaster.load(tmp_path / "gone.safetensors")


def test_tampered_params_are_a_model_file_error(tmp_path, saved):
    header, body = _header(saved)
    meta = json.loads(header["__metadata__"]["spikecast"])
    meta["params"]["not_a_parameter"] = 1
    _write(tmp_path / "params.safetensors",
           {**header, "__metadata__": {"spikecast": json.dumps(meta)}}, body)
    with pytest.raises(ModelFileError):
        NeuralForecaster.load(tmp_path / "params.safetensors")


class _Payload:
    """Unpickling this creates the file ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payloads_are_refused_without_running(tmp_path):
    import torch

    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Payload(marker)))  # the payload works when unpickled...
    assert marker.exists()
    marker.unlink()
    raw_pickle = tmp_path / "raw.safetensors"
    raw_pickle.write_bytes(pickle.dumps(_Payload(marker)))
    torch_zip = tmp_path / "torch.safetensors"
    torch.save({"state_dict": _Payload(marker)}, torch_zip)
    for path in (raw_pickle, torch_zip):
        with pytest.raises(ModelFileError):
            NeuralForecaster.load(path)
    assert not marker.exists()  # ...but loading a model file never unpickles


def test_loading_never_unpickles(saved, fitted, monkeypatch):
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a model file")
    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"),
                         (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    loaded = NeuralForecaster.load(saved)
    pd.testing.assert_frame_equal(loaded.predict(), fitted.predict())
    header, _ = _header(saved)
    assert set(header["__metadata__"]) == {"spikecast"}  # weights + JSON, nothing else
    json.loads(header["__metadata__"]["spikecast"])

"""Model files: one safetensors file of weights and history plus JSON metadata.

:func:`write_model_file` and :func:`read_model_file` own the file format of
:meth:`spikecast.NeuralForecaster.save` / ``load``; the estimator owns what the metadata
means. Reading never unpickles, refuses anything but a regular file of a bounded size, and
copies every tensor out of the file, so that a loaded model is not a view of a file that
can later be truncated (SIGBUS) or replaced (silently different forecasts).

Labels (series names, unique ids, column names) are stored with their type, so that an
integer column stays an integer and a ``Timestamp`` id stays a ``Timestamp``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from spikecast.atomic import atomic_path
from spikecast.exceptions import ModelFileError

__all__ = ["write_model_file", "read_model_file", "encode_label", "decode_label",
           "index_to_json", "index_from_json", "MAX_MODEL_FILE_BYTES"]

#: The largest model file :func:`read_model_file` reads (forecasting networks are MBs).
MAX_MODEL_FILE_BYTES = 2 * 1024**3


def write_model_file(path: str | os.PathLike, meta: dict, tensors: dict) -> None:
    """Write ``tensors`` and the JSON-serialisable ``meta`` (under the key ``spikecast``)
    to ``path`` atomically, keeping an existing file's mode and a symlink's link.

    Raises:
        OSError: the disk is full or the folder is not writable (``errno`` set; the
            message names the path, also when safetensors reports it).
    """
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"spikecast": json.dumps(meta)})
    except SafetensorError as err:  # safetensors' own wrapper of the OS error
        code = errno.ENOSPC if "No space left" in str(err) else errno.EIO
        raise OSError(code, f"cannot write the model file {path}: "
                      f"{os.strerror(code) if code == errno.ENOSPC else err}") from err


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata (``spikecast`` key, parsed) and tensors of a model file.

    Tensors are copies (the file is closed and unmapped afterwards).

    Raises:
        ModelFileError: a missing path, a directory or other non-regular file, a file over
            :data:`MAX_MODEL_FILE_BYTES`, a truncated or corrupt file, or missing or
            malformed metadata; the message names the path.
    """
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    path = Path(path)
    _check_regular_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("spikecast")
            # clone: safetensors memory-maps the file, and a view would outlive it
            tensors = {k: f.get_tensor(k).clone() for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(
            f"{path} is not a readable spikecast model file (truncated or corrupt?): {err}"
        ) from err
    if raw is None:
        raise ModelFileError(f"{path} has no spikecast metadata (not a model file "
                             "written by NeuralForecaster.save)")
    try:
        meta = json.loads(raw)
    except ValueError as err:
        raise ModelFileError(f"{path} has no valid spikecast metadata: {err}") from err
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path} has no valid spikecast metadata: not a JSON object")
    return meta, tensors


def _check_regular_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except OSError as err:
        raise ModelFileError(f"cannot read the model file {path}: {err}") from err
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ModelFileError(f"model file {path} is {kind}")
    if info.st_size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"model file {path} has {info.st_size} bytes, more than the "
                             f"{MAX_MODEL_FILE_BYTES} a spikecast model file can have")


# ---------------------------------------------------------------------- labels
def encode_label(label):
    """A JSON value for a series name, unique id or column name that
    :func:`decode_label` turns back into the same value and type.

    Strings, ``None``, booleans, integers and floats (NumPy's included) are stored as
    themselves; ``Timestamp``, ``Timedelta`` and tuples as small tagged objects.

    Raises:
        ModelFileError: a label of another type (it names the value and type).
    """
    if isinstance(label, np.generic):
        label = label.item()
    if label is None or isinstance(label, (str, bool, int, float)):
        return label
    if isinstance(label, pd.Timestamp):
        return {"timestamp": label.isoformat(), "tz": str(label.tz) if label.tz else None}
    if isinstance(label, pd.Timedelta):
        return {"timedelta": label.isoformat()}
    if isinstance(label, tuple):
        return {"tuple": [encode_label(v) for v in label]}
    raise ModelFileError(f"cannot save the label {label!r} of type {type(label).__name__} "
                         "(names and ids can be str, int, float, bool, None, Timestamp, "
                         "Timedelta or tuples of them)")


def decode_label(value):
    """The label :func:`encode_label` stored as ``value``."""
    if isinstance(value, dict):
        if "timestamp" in value:
            stamp = pd.Timestamp(value["timestamp"])
            return stamp.tz_convert(value["tz"]) if value.get("tz") else stamp
        if "timedelta" in value:
            return pd.Timedelta(value["timedelta"])
        if "tuple" in value:
            return tuple(decode_label(v) for v in value["tuple"])
        raise ValueError(f"unknown label encoding {sorted(value)}")
    return value


# ---------------------------------------------------------------------- time indexes
def index_to_json(index: pd.Index, freq) -> dict:
    """A JSON object for a series' time index (values, time zone, unit, frequency, name)."""
    if isinstance(index, pd.DatetimeIndex):
        # UTC instants, converted back to ``tz``: offsets that change across DST survive
        utc = index.tz_convert("UTC") if index.tz is not None else index
        return {"type": "datetime", "values": [t.isoformat() for t in utc],
                "tz": str(index.tz) if index.tz is not None else None,
                "unit": index.unit,
                "freq": freq.freqstr if freq is not None else None,
                "name": encode_label(index.name)}
    return {"type": "int", "values": [int(v) for v in index],
            "freq": int(freq) if freq is not None else None, "name": encode_label(index.name)}


def index_from_json(d: dict):
    """The ``(index, freq)`` that :func:`index_to_json` stored."""
    name = decode_label(d.get("name"))
    if d["type"] == "datetime":
        tz = d.get("tz")
        values = pd.to_datetime(d["values"], utc=tz is not None)
        index = pd.DatetimeIndex(values, name=name)
        if tz is not None:
            index = index.tz_convert(tz)
        if d.get("unit"):
            index = index.as_unit(d["unit"])
        freq = pd.tseries.frequencies.to_offset(d["freq"]) if d["freq"] else None
        return index, freq
    if d["type"] != "int":
        raise ValueError(f"unknown index type {d['type']!r}")
    return pd.Index(d["values"], dtype="int64", name=name), d["freq"]

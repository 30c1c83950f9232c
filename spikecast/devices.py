"""How many devices and cores this machine has, and how many a setting asks for.

One place for the rule "never more parallel workers than the machine has": 64 Lightning
``devices`` or joblib ``n_jobs`` on 2 cores start 64 processes and hold the machine. The
estimator (``NeuralForecaster(devices=...)``), the backtest (``n_jobs``) and the configs
(:mod:`spikecast.experiment.config`, the Lightning CLI) refuse such values through
:func:`excess_devices` and :func:`excess_jobs`, each with its own error type.
"""

from __future__ import annotations

import os

__all__ = ["available_devices", "requested_devices", "excess_devices", "excess_jobs"]


def available_devices(accelerator: object = "auto") -> int:
    """How many devices ``accelerator`` has on this machine: CPU cores
    (``os.cpu_count()``) for ``"cpu"``, visible CUDA GPUs for ``"gpu"`` / ``"cuda"``, the
    larger of the two for ``"auto"`` or anything else."""
    cores = os.cpu_count() or 1
    name = str(accelerator).lower()
    if name == "cpu":
        return cores
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus if name in ("gpu", "cuda") else max(cores, gpus)


def requested_devices(devices) -> int | None:
    """The number of devices Lightning's ``devices`` asks for (a count, a list of ids, a
    digit string); ``None`` for "all" / ``"auto"`` / ``-1`` or anything not a count."""
    if isinstance(devices, bool):
        return None
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if isinstance(devices, int):
        return devices if devices > 0 else None
    if isinstance(devices, (list, tuple)):
        return len(devices)
    return None


def excess_devices(devices, accelerator: object = "auto") -> str | None:
    """Why ``devices`` is more than ``accelerator`` has here, or ``None`` when it fits."""
    wanted = requested_devices(devices)
    if wanted is None:
        return None
    limit = available_devices(accelerator)
    if wanted <= limit:
        return None
    return (f"asks for {wanted} devices, but accelerator={str(accelerator)[:50]!r} has "
            f"{limit} on this machine; use at most {limit} (or \"auto\")")


def excess_jobs(n_jobs) -> str | None:
    """Why ``n_jobs`` parallel workers are more than this machine's cores, or ``None``."""
    cores = os.cpu_count() or 1
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs > cores:
        return (f"{n_jobs} parallel workers, but this machine has {cores} CPU cores; use at "
                f"most {cores} (or -1 for all cores)")
    return None

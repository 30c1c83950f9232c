"""The forecaster's training epoch: spiking models against GRU, and where the time goes.

For each model it fits :class:`spikecast.NeuralForecaster` on ETTh1 under protocol P1 (the
training rows 0..8639, lookback 96, horizon 96, hidden 128, batch 32, no validation split)
over every ``--stride``-th training window (default 4), with ``torch.set_num_threads(1)``,
and reports the median wall time of the epochs after the first (the first compiles kernels
and warms caches), from Lightning's ``on_train_epoch_start`` to ``on_train_epoch_end``.

Models (``--models``):

- ``default``: ``NeuralForecaster()``'s spiking configuration (``spikecast.models.module``
  ``DEFAULT_*``: SpikeTCN of TS-LIF neurons, the flatten readout);
- ``ts_lif_direct`` / ``ts_lif_conv``: the ``stack`` architecture of TS-LIF neurons
  (configs/p1/etth1_ts_lif.yaml: head on the last step) with the direct and the conv encoding;
- ``gru``: the analog GRU (configs/p1/etth1_gru.yaml).

Then it profiles one epoch of each model (a plain loop over the same training batches:
``training_step``, ``backward``, Adam's ``step``) with ``torch.profiler`` and splits the
self CPU time of every operator into: data loading, synapse GEMMs and convolutions (the head's
Linear layers included), neuron kernels (the fused autograd Functions, forward and
backward), normalisation (instance norm, BatchNorm), the optimizer, and everything else
(elementwise ops, the loss, autograd bookkeeping).

ETTh1.csv is read from ``$SPIKECAST_DATA_DIR`` (else ``../shared/data`` next to the
repository); without it, or with ``--synthetic``, a synthetic 7-column hourly series of the
same length is used.

Examples::

    python benchmarks/epoch.py                       # the full comparison, a few minutes
    python benchmarks/epoch.py --quick               # a smoke test: tiny sizes, seconds
    python benchmarks/epoch.py --models default gru --epochs 4 --markdown out.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
P1_TRAIN_ROWS = 8640  # ETTh1 P1: train rows 0..8639 (docs/protocols.md)

#: ``NeuralForecaster`` arguments of each model (on top of the shared ones).
MODELS: dict[str, dict] = {
    "default": {},
    "ts_lif_direct": {"encoder": "stack", "neuron": "ts_lif", "readout": "last",
                      "encoding": "direct", "encoder_params": {"init_rate": None}},
    "ts_lif_conv": {"encoder": "stack", "neuron": "ts_lif", "readout": "last",
                    "encoding": "conv", "encoder_params": {"init_rate": None}},
    "gru": {"encoder": "gru", "readout": "last"},
}

#: Profile categories, in report order.
CATEGORIES = ("data loading", "synapse GEMMs / convolutions", "neuron kernels",
              "normalisation", "optimizer", "other")

_GEMM = ("addmm", "aten::mm", "bmm", "matmul", "linear", "convolution", "conv1d",
         "mkldnn", "AddmmBackward", "MmBackward", "ConvolutionBackward", "BmmBackward",
         "gru", "GruBackward", "rnn", "RnnBackward", "_thnn_fused")
_NEURON = ("LeakyFunction", "LIAFFunction", "TSLIFFunction", "TCLIFFunction",
           "SubStepMeanFunction")
_NORM = ("batch_norm", "BatchNorm", "native_batch_norm", "instance_norm", "layer_norm",
         "var_mean", "std", "NativeBatchNormBackward")


def _data_frame(args):
    """ETTh1's P1 training rows (or a synthetic series of that shape)."""
    import pandas as pd

    if not args.synthetic:
        from spikecast import load_dataset

        env = os.environ.get("SPIKECAST_DATA_DIR")
        data_dir = Path(env) if env else REPO.parent / "shared" / "data"
        try:
            return load_dataset("etth1", data_dir=data_dir, download=False).iloc[:args.rows], \
                "ETTh1"
        except Exception as err:  # noqa: BLE001  missing file: fall back, and say so
            print(f"ETTh1 not loaded ({err}); using a synthetic series", file=sys.stderr)
    rng = np.random.default_rng(0)
    t = np.arange(args.rows)[:, None]
    values = np.sin(2 * np.pi * t / 24 + np.arange(7)) + 0.1 * rng.standard_normal((args.rows, 7))
    index = pd.date_range("2016-07-01", periods=args.rows, freq="h")
    return pd.DataFrame(values, index=index, columns=[f"x{i}" for i in range(7)]), "synthetic"


def _epoch_timer():
    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        """Wall time of each training epoch in ``.seconds``."""

        def __init__(self):
            self.seconds: list[float] = []
            self._start = 0.0

        def on_train_epoch_start(self, trainer, pl_module):
            self._start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _forecaster(name: str, args, epochs: int, callbacks: list):
    from spikecast import NeuralForecaster

    params = dict(lookback=args.lookback, horizon=args.horizon, hidden_size=args.hidden,
                  max_epochs=epochs, batch_size=args.batch_size, stride=args.stride,
                  val_size=0, early_stopping_patience=None, accelerator="cpu", devices=1,
                  random_state=0, verbose=False, trainer_kwargs={"callbacks": callbacks})
    params.update(MODELS[name])
    return NeuralForecaster(**params)


def time_epochs(name: str, frame, args) -> dict:
    """Fit ``args.epochs`` epochs; the median of all but the first, and the first."""
    timer = _epoch_timer()
    model = _forecaster(name, args, args.epochs, [timer]).fit(frame)
    later = timer.seconds[1:] or timer.seconds
    return {"model": name, "epoch_s": statistics.median(later), "first_s": timer.seconds[0],
            "epochs_s": timer.seconds, "fitted": model}


def _category(op: str) -> str | None:
    if any(k in op for k in _NEURON):
        return "neuron kernels"
    if any(k in op for k in _NORM):
        return "normalisation"
    if any(k in op for k in _GEMM):
        return "synapse GEMMs / convolutions"
    return None


def profile_epoch(fitted, frame, args) -> dict[str, float]:
    """Seconds per category of one epoch over the training batches (see the module doc)."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from spikecast.data.windows import WindowDataModule

    module = fitted.module_
    module.train()
    dm = WindowDataModule(frame, lookback=args.lookback, horizon=args.horizon, val_size=0,
                          stride=args.stride, batch_size=args.batch_size)
    dm.setup("fit")
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)
    loader = dm.train_dataloader()

    def one_epoch():
        it = iter(loader)
        while True:
            with record_function("## data loading"):
                batch = next(it, None)
            if batch is None:
                break
            x, x_future, y = module.unpack(batch)
            loss = module.loss_fn(module(x, x_future), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            with record_function("## optimizer"):
                optimizer.step()

    one_epoch()  # warm-up
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        one_epoch()
    wall = time.perf_counter() - start
    totals = dict.fromkeys(CATEGORIES, 0.0)
    scopes = {"## data loading": "data loading", "## optimizer": "optimizer"}
    for evt in prof.key_averages():
        if evt.key in scopes:  # a scope's total (its operators are skipped below)
            totals[scopes[evt.key]] += evt.cpu_time_total / 1e6
    inside = _ops_inside_scopes(prof, set(scopes))
    for evt in prof.key_averages():
        if evt.key in scopes:
            continue
        self_s = evt.self_cpu_time_total / 1e6 - inside.get(evt.key, 0.0)
        totals[_category(evt.key) or "other"] += max(0.0, self_s)
    measured = sum(totals.values())
    # the profiler's own overhead inflates every figure alike: scale them to the wall time
    return {k: v * wall / measured for k, v in totals.items()} | {"wall_s": wall}


def _ops_inside_scopes(prof, scopes: set[str]) -> dict[str, float]:
    """Self seconds of each operator that ran inside one of the ``scopes``."""
    out: dict[str, float] = {}

    def walk(evt, inside: bool):
        inside = inside or evt.name in scopes
        if inside and evt.name not in scopes:
            out[evt.name] = out.get(evt.name, 0.0) + evt.self_cpu_time_total / 1e6
        for child in evt.cpu_children:
            walk(child, inside)

    for evt in prof.events():
        if evt.cpu_parent is None:
            walk(evt, False)
    return out


def markdown(rows: list[dict], profiles: dict[str, dict], note: str) -> list[str]:
    """The two markdown tables: epoch times, then the profile breakdown."""
    gru = next((r["epoch_s"] for r in rows if r["model"] == "gru"), None)
    lines = ["| model | epoch s (median) | first epoch s | GRU / model |",
             "|---|---:|---:|---:|"]
    for r in rows:
        ratio = f"{gru / r['epoch_s']:.2f}×" if gru else "–"
        lines.append(f"| {r['model']} | {r['epoch_s']:.2f} | {r['first_s']:.2f} | {ratio} |")
    lines += ["", note, ""]
    if profiles:
        names = list(profiles)
        lines += ["| profiled epoch, s | " + " | ".join(names) + " |",
                  "|---|" + "---:|" * len(names)]
        for cat in CATEGORIES:
            cells = [f"{p[cat]:.2f} ({100 * p[cat] / p['wall_s']:.0f} %)"
                     for p in (profiles[n] for n in names)]
            lines.append(f"| {cat} | " + " | ".join(cells) + " |")
        lines.append("| **total (wall)** | " + " | ".join(
            f"{profiles[n]['wall_s']:.2f}" for n in names) + " |")
    return lines


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--epochs", type=int, default=4,
                   help="epochs per fit; the median of all but the first is reported")
    p.add_argument("--stride", type=int, default=4, help="every stride-th training window")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lookback", type=int, default=96)
    p.add_argument("--horizon", type=int, default=96)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rows", type=int, default=P1_TRAIN_ROWS, help="training rows used")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--no-profile", action="store_true", help="skip the profile breakdown")
    p.add_argument("--synthetic", action="store_true", help="a synthetic series, not ETTh1")
    p.add_argument("--markdown", type=Path, help="also write the tables here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 300 rows, lookback 24, horizon 8, hidden 8, 2 epochs")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.lookback, args.horizon, args.hidden = 300, 24, 8, 8
        args.epochs, args.stride = 2, 8
    return args


def main(argv=None) -> int:
    """Time the epochs, profile them, print markdown."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    frame, source = _data_frame(args)
    rows, profiles = [], {}
    for name in args.models:
        r = time_epochs(name, frame, args)
        rows.append(r)
        print(f"{name}: epochs {', '.join(f'{s:.2f}' for s in r['epochs_s'])} s", flush=True)
        if not args.no_profile:
            profiles[name] = profile_epoch(r.pop("fitted"), frame, args)
        r.pop("fitted", None)
    windows = (len(frame) - args.lookback - args.horizon) // args.stride + 1
    note = (f"{source} rows 0..{len(frame) - 1} ({frame.shape[1]} columns), lookback "
            f"{args.lookback}, horizon {args.horizon}, hidden {args.hidden}, batch "
            f"{args.batch_size}, every {args.stride}th window ({windows} windows), "
            f"{args.threads} thread(s); median of epochs 2..{args.epochs}.")
    lines = markdown(rows, profiles, note)
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

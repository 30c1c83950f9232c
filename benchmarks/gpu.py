"""One-command GPU benchmark of the fused neurons: throughput, bandwidth, SpikingJelly, an epoch.

``python benchmarks/gpu.py`` runs, on the CUDA device, in float32:

1. For each neuron (lif, plif, da_lif, liaf, ts_lif, tc_lif; default parameters, learnable
   ones trained): one forward + backward pass of the fused implementation (the Triton
   kernels) over an input ``[T, B, 256]`` at T = 256 and B×N = 16k (the issue's point), and
   at a larger B×N = 1M that fills the device. Median of the timed runs after a warm-up run
   (which compiles the kernels). Reported as neuron-steps per second.
2. The fraction of the memory bandwidth: neuron-steps/s × :data:`VALUES_PER_STEP` × 4 bytes,
   divided by the bandwidth of a device-to-device copy of 1 GiB measured in the same run
   (``dst.copy_(src)``, median of 10; the bytes read plus the bytes written). A value counts
   each ``[T, N]`` tensor that the pass reads or writes once (the input ``x`` and the output
   gradient are made before the pass and are counted only where the pass reads them): e.g.
   LIF = 6 values (forward reads ``x``, writes ``s`` and ``h``; backward reads ``grad_s`` and
   ``h`` and writes ``grad_x``), docs/neurons.md, "What a fast implementation keeps".
3. The ratio to SpikingJelly's fastest implementation on the same device, when spikingjelly
   is importable (otherwise the column says so): LIF against ``LIFNode``, PLIF against
   ``ParametricLIFNode`` (the same equations, atan surrogate, multi-step), and the neurons
   SpikingJelly lacks against ``LIFNode`` (marked). On CUDA each SpikingJelly implementation
   (2.x: ``SJ_LIF_CUDA_IMPLEMENTATION`` = cuda, triton, torch; 0.0.0.0.14: the node's
   ``supported_backends``) runs in a child process and the fastest counts. The ratio is
   SpikingJelly's time over spikecast's (above 1: spikecast is faster).
4. One training epoch of :class:`spikecast.NeuralForecaster` on ETTh1 under protocol P1
   (train rows 0..8639, lookback 96, horizon 96, all 7 columns, batch 32, hidden 128): the
   default spiking configuration against ``encoder="gru"``. Two epochs run; the second is
   timed (the first compiles kernels), from ``on_train_epoch_start`` to
   ``on_train_epoch_end``. ETTh1.csv is read from ``$SPIKECAST_DATA_DIR`` (else
   ``../shared/data``); the part is skipped, saying so, when the file is not there.

It prints markdown tables (``--markdown FILE`` also writes them). Without a CUDA device it
exits with status 2 and a message. ``--dry-run`` runs every part on the CPU at tiny sizes (a
smoke test of the script, seconds; its figures mean nothing); ``--device cpu`` runs the real
sizes on the CPU (the numba kernels).

Examples::

    python benchmarks/gpu.py
    python benchmarks/gpu.py --markdown gpu.md --repeats 20
    python benchmarks/gpu.py --dry-run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import torch

from spikecast import neurons
from spikecast.neurons import fused

REPO = Path(__file__).resolve().parents[1]
FEATURES = 256
NEURON_NAMES = ["lif", "plif", "da_lif", "liaf", "ts_lif", "tc_lif"]
#: ``[T, N]`` tensors read or written per pass by the fused implementation, per neuron
#: (forward + backward; see the module doc).
VALUES_PER_STEP = {
    "lif": 6,     # fwd: x, s, h; bwd: grad_s, h, grad_x
    "plif": 7,    # + x read again in the backward (the gradient of 1/τ)
    "da_lif": 7,  # + x read again in the backward (the gradient of α)
    # kernels 5 (fwd: x, u; bwd: grad_u, u, grad_x) + relu(u - θ) as torch ops
    # (fwd: u, tmp, tmp, y; bwd: grad_y, y, grad_u)
    "liaf": 12,
    "ts_lif": 9,  # fwd: x, y, u_d, u_s; bwd: grad_y, u_d, u_s, x, grad_x
    "tc_lif": 8,  # fwd: x, s, u_d, u_s; bwd: grad_s, u_s, u_d, grad_x
}
#: SpikingJelly's model for each neuron (``*``: no counterpart; compared with LIFNode).
SJ_MODEL = {"lif": "LIFNode", "plif": "ParametricLIFNode"}
SJ_IMPLEMENTATIONS = ("cuda", "triton", "torch")  # SpikingJelly 2.x, on CUDA
P1_TRAIN_ROWS = 8640  # ETTh1 P1: train rows 0..8639 (docs/protocols.md)


# ----------------------------------------------------------------------------- timing
def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def median_seconds(run, device: str, repeats: int) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls after one warm-up call."""
    run()
    _sync(device)
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        run()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def copy_bandwidth(device: str, mib: int) -> float:
    """Bytes per second of ``dst.copy_(src)`` over ``mib`` MiB (read + write counted)."""
    n = mib * 2**20 // 4
    src = torch.rand(n, device=device)
    dst = torch.empty_like(src)
    seconds = median_seconds(lambda: dst.copy_(src), device, 10)
    return 2 * n * 4 / seconds


def _pass(module, x: torch.Tensor, gy: torch.Tensor, forward=None):
    """One forward + backward pass of ``module`` over ``x`` (gradients cleared after)."""
    def run():
        y = module(x) if forward is None else forward()
        y.backward(gy)
        x.grad = None
        for p in module.parameters():
            p.grad = None
    return run


def _inputs(T: int, n: int, device: str):
    torch.manual_seed(0)
    batch = max(1, n // FEATURES)
    x = (torch.randn(T, batch, FEATURES, device=device) + 0.5).requires_grad_()
    return x, torch.randn(T, batch, FEATURES, device=device)


# ----------------------------------------------------------------------------- neurons
def time_neuron(name: str, T: int, n: int, device: str, repeats: int) -> dict:
    """One row: the fused neuron's fwd + bwd time and throughput at ``[T, n]``."""
    x, gy = _inputs(T, n, device)
    neuron = neurons.build(name, num_features=FEATURES, backend="fused").to(device)
    seconds = median_seconds(_pass(neuron, x, gy), device, repeats)
    steps = T * x[0].numel()
    return {"name": name, "T": T, "n": x[0].numel(), "kernel": fused.kernel_for(x),
            "ms": 1e3 * seconds, "steps_per_s": steps / seconds,
            "bytes_per_step": VALUES_PER_STEP[name] * x.element_size()}


def _sj_node(model: str, device: str, backend: str | None):
    """A multi-step SpikingJelly node equal to spikecast's default LIF / PLIF."""
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    cls = getattr(sj_neuron, model)
    tau = {"tau": 2.0} if model == "LIFNode" else {"init_tau": 2.0}
    node = cls(**tau, surrogate_function=sj_surrogate.ATan(), step_mode="m").to(device)
    if backend is not None:
        node.backend = backend  # SpikingJelly 0.0.0.0.14's API
    return node


def sj_times(points, device: str, repeats: int, backend: str | None = None) -> list[dict]:
    """SpikingJelly's fwd + bwd time of each model at each ``(T, n)``, in this process."""
    rows = []
    for model in sorted(set(SJ_MODEL.values())):
        for T, n in points:
            x, gy = _inputs(T, n, device)
            node = _sj_node(model, device, backend)

            def forward(node=node, x=x):
                node.reset()
                return node(x)
            seconds = median_seconds(_pass(node, x, gy, forward), device, repeats)
            rows.append({"model": model, "T": T, "n": x[0].numel(), "seconds": seconds})
    return rows


def _sj_legacy_backends() -> list[str] | None:
    """The ``supported_backends`` of SpikingJelly 0.0.0.0.14's LIFNode (None for 2.x)."""
    from spikingjelly.activation_based import neuron as sj_neuron

    backends = getattr(sj_neuron.LIFNode(step_mode="m"), "supported_backends", None)
    return list(backends) if backends else None


def spikingjelly_best(args, points) -> tuple[dict, str]:
    """``{(model, T, n): (seconds, implementation)}``, the fastest one each, and a note."""
    try:
        import spikingjelly  # noqa: F401
    except ImportError:
        return {}, "spikingjelly is not importable: no SpikingJelly comparison"
    if torch.device(args.device).type != "cuda":
        runs = {"torch": sj_times(points, args.device, args.repeats)}
    elif (legacy := _sj_legacy_backends()) is not None:
        runs = {b: sj_times(points, args.device, args.repeats, backend=b) for b in legacy}
    else:
        runs = {impl: _sj_child(args, impl, points) for impl in SJ_IMPLEMENTATIONS}
    best: dict = {}
    for impl, rows in runs.items():
        for r in rows:
            key = (r["model"], r["T"], r["n"])
            if key not in best or r["seconds"] < best[key][0]:
                best[key] = (r["seconds"], impl)
    failed = [impl for impl, rows in runs.items() if not rows]
    note = f"SpikingJelly implementations timed: {sorted(set(runs) - set(failed))}"
    if failed:
        note += f"; unavailable here: {failed}"
    return best, note


def _sj_child(args, impl: str, points) -> list[dict]:
    """SpikingJelly 2.x with the CUDA implementation ``impl`` forced, in a child process
    (the choice is read from the environment when spikingjelly is imported)."""
    env = dict(os.environ, SJ_LIF_CUDA_IMPLEMENTATION=impl, SJ_PLIF_CUDA_IMPLEMENTATION=impl)
    cmd = [sys.executable, __file__, "--sj-worker", json.dumps(points), "--device",
           args.device, "--repeats", str(args.repeats)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        print(f"SpikingJelly implementation {impl!r} failed: "
              f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}", file=sys.stderr)
        return []
    return rows


# ----------------------------------------------------------------------------- forecaster
def _data_dir() -> Path | None:
    env = os.environ.get("SPIKECAST_DATA_DIR")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else None


def _epoch_timer(device: str):
    """A Lightning callback recording each training epoch's wall time in ``.seconds``."""
    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        def __init__(self):
            self.seconds: list[float] = []
            self._start = 0.0

        def on_train_epoch_start(self, trainer, pl_module):
            _sync(device)
            self._start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            _sync(device)
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def forecaster_epochs(args) -> tuple[list[dict], str]:
    """One timed training epoch of the default spiking forecaster and of GRU on ETTh1 P1."""
    from spikecast import NeuralForecaster, load_dataset

    try:
        frame = load_dataset("etth1", data_dir=_data_dir(), download=False)
    except Exception as err:  # missing or bad file: report, do not fail the benchmark
        return [], f"forecaster epoch skipped: ETTh1 not loaded ({err})"
    rows = args.epoch_rows
    frame = frame.iloc[:rows]
    accelerator = "gpu" if torch.device(args.device).type == "cuda" else "cpu"
    out = []
    for label, encoder in (("spiking (default)", None), ("gru", "gru")):
        timer = _epoch_timer(args.device)
        params = dict(lookback=args.lookback, horizon=args.horizon,
                      hidden_size=args.hidden, max_epochs=2, batch_size=32,
                      stride=args.epoch_stride, val_size=0, early_stopping_patience=None,
                      accelerator=accelerator, devices=1, random_state=0, verbose=False,
                      trainer_kwargs={"callbacks": [timer]})
        if encoder is not None:
            params["encoder"] = encoder
        model = NeuralForecaster(**params).fit(frame)
        windows = (rows - args.lookback - args.horizon) // args.epoch_stride + 1
        net = model.module_
        kinds = sorted({type(m).__name__ for m in net.modules()
                        if isinstance(m, neurons.BaseNeuron)})
        out.append({"label": label, "encoder": net.hparams["encoder"],
                    "neuron": ", ".join(kinds), "epoch_s": timer.seconds[-1],
                    "first_epoch_s": timer.seconds[0], "windows": windows})
    note = (f"ETTh1 rows 0..{rows - 1}, {frame.shape[1]} columns, lookback {args.lookback}, "
            f"horizon {args.horizon}, hidden {args.hidden}, stride {args.epoch_stride}, "
            "batch 32; the second of two epochs")
    return out, note


# ----------------------------------------------------------------------------- report
def neuron_table(rows: list[dict], bandwidth: float, sj: dict, sj_note: str) -> list[str]:
    """Markdown lines of the neuron table."""
    lines = ["| neuron | kernel | T | B×N | fwd+bwd ms | M neuron-steps/s | bytes/step | "
             "GB/s | % of copy bandwidth | × SpikingJelly (model, impl) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        moved = r["steps_per_s"] * r["bytes_per_step"]
        model = SJ_MODEL.get(r["name"], "LIFNode")
        best = sj.get((model, r["T"], r["n"]))
        if best is None:
            ratio = "–"
        else:
            mark = "" if r["name"] in SJ_MODEL else "*"
            ratio = f"{best[0] / (r['ms'] / 1e3):.2f}× ({model}{mark}, {best[1]})"
        lines.append(f"| {r['name']} | {r['kernel']} | {r['T']} | {r['n']} | {r['ms']:.3f} | "
                     f"{r['steps_per_s'] / 1e6:.1f} | {r['bytes_per_step']} | "
                     f"{moved / 1e9:.1f} | {100 * moved / bandwidth:.1f} % | {ratio} |")
    lines += ["", f"Copy bandwidth: {bandwidth / 1e9:.1f} GB/s (device-to-device copy, read + "
              "write). * no SpikingJelly counterpart: compared with LIFNode. " + sj_note]
    return lines


def forecaster_table(rows: list[dict], note: str) -> list[str]:
    """Markdown lines of the forecaster table."""
    if not rows:
        return [note]
    gru = next((r["epoch_s"] for r in rows if r["encoder"] == "gru"), None)
    lines = ["| model | encoder | neuron | windows | epoch s | first epoch s | × GRU |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ratio = f"{gru / r['epoch_s']:.2f}" if gru else "–"
        lines.append(f"| {r['label']} | {r['encoder']} | {r['neuron'] or '–'} | "
                     f"{r['windows']} | {r['epoch_s']:.2f} | {r['first_epoch_s']:.2f} | "
                     f"{ratio} |")
    return lines + ["", f"{note}; × GRU: GRU's epoch time over the row's (above 1: faster)."]


def environment(device: str) -> str:
    """One line: versions and hardware."""
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"
    where = (torch.cuda.get_device_name() if torch.device(device).type == "cuda"
             else platform.processor() or platform.machine())
    return (f"device {device} ({where}); python {platform.python_version()}, torch "
            f"{torch.__version__}, triton {version('triton')}, numba {version('numba')}, "
            f"spikingjelly {version('spikingjelly')}")


# ----------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module doc)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", help="cuda (default) or cpu (the real sizes, slowly)")
    p.add_argument("--dry-run", action="store_true",
                   help="tiny sizes on the CPU (unless --device): a smoke test of the script")
    p.add_argument("--T", type=int, help="time steps (default 256)")
    p.add_argument("--sizes", type=int, nargs="+", help="B×N (default 16384 1048576)")
    p.add_argument("--neurons", nargs="+", default=NEURON_NAMES, choices=NEURON_NAMES)
    p.add_argument("--repeats", type=int, help="timed runs per case (default 10)")
    p.add_argument("--no-spikingjelly", action="store_true")
    p.add_argument("--no-forecaster", action="store_true")
    p.add_argument("--epoch-stride", type=int, help="stride between training windows "
                   "(default 1: every window)")
    p.add_argument("--markdown", type=Path, help="also write the tables here")
    p.add_argument("--sj-worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    dry = args.dry_run
    args.device = args.device or ("cpu" if dry else "cuda")
    args.T = args.T or (8 if dry else 256)
    args.sizes = args.sizes or ([256, 512] if dry else [16384, 1048576])
    args.repeats = args.repeats or (1 if dry else 10)
    args.copy_mib = 16 if dry else 1024
    args.epoch_stride = args.epoch_stride or (16 if dry else 1)
    args.epoch_rows = 300 if dry else P1_TRAIN_ROWS
    args.lookback, args.horizon, args.hidden = (24, 8, 16) if dry else (96, 96, 128)
    return args


def main(argv=None) -> int:
    """Run the benchmark and print the tables; 2 when the device is missing."""
    args = parse_args(argv)
    if args.sj_worker:
        for row in sj_times(json.loads(args.sj_worker), args.device, args.repeats):
            print(json.dumps(row), flush=True)
        return 0
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print(f"benchmarks/gpu.py: no CUDA device here (torch {torch.__version__}, "
              "torch.cuda.is_available() is False). Run it on a machine with an NVIDIA GPU, "
              "or use --dry-run (tiny sizes) or --device cpu for a CPU run.", file=sys.stderr)
        return 2
    title = "# spikecast GPU benchmark"
    if args.dry_run:
        title += " (dry run: tiny sizes, the figures mean nothing)"
    header = [title, "", environment(args.device), ""]
    print("\n".join(header), flush=True)
    bandwidth = copy_bandwidth(args.device, args.copy_mib)
    points = [(args.T, n) for n in args.sizes]
    rows = [time_neuron(name, T, n, args.device, args.repeats)
            for T, n in points for name in args.neurons]
    sj, sj_note = ({}, "SpikingJelly skipped (--no-spikingjelly)") if args.no_spikingjelly \
        else spikingjelly_best(args, points)
    lines = [f"## Fused neurons, forward + backward, float32, median of {args.repeats}", ""]
    lines += neuron_table(rows, bandwidth, sj, sj_note)
    if not args.no_forecaster:
        lines += ["", "## One training epoch, ETTh1 P1", ""]
        lines += forecaster_table(*forecaster_epochs(args))
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(header + lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

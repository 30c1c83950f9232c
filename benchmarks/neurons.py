"""Speed and memory of the spiking neurons: fused kernels against the reference loop.

For every neuron and every implementation it times one forward + backward pass over an input
``[T, B, 256]`` (``B×256 = B×N`` neurons), reports the throughput in neuron-steps per second
and the peak memory of that pass, and compares with ``torch.nn.GRU`` / ``nn.LSTM`` layers of
the same width and, when installed, SpikingJelly's multi-step ``LIFNode`` and snnTorch's
``Leaky``. It also measures the memory bandwidth (a large tensor copy) and reports the fused
LIF throughput as a fraction of the bandwidth bound (24 bytes per neuron-step, docs/neurons.md).

Implementations: ``reference`` (autograd loop over ``step``), ``fused`` (the default
kernel for the device: numba on CPU when installed, Triton on CUDA), ``fused-torch`` (the
portable fused torch loop).

Timing: best of ``--repeats`` runs after one warm-up run (the machine may be shared; the
minimum is the least disturbed), with ``torch.set_num_threads(--threads)``. A case stops
repeating once it has used ``--budget`` seconds.

Peak memory (CPU): measured in a child process started with ``MALLOC_MMAP_THRESHOLD_=65536``
(so freed tensors go back to the OS at once): the kernel's peak resident set (``VmHWM``) is
reset through ``/proc/self/clear_refs`` before the measured pass, and the figure is that peak
minus the resident set just before, i.e. everything the pass allocates beyond its input and
output gradient (saved tensors, outputs, gradients, temporaries). On CUDA:
``torch.cuda.max_memory_allocated`` minus the allocation before the pass.

Examples::

    python benchmarks/neurons.py                       # the default grid
    python benchmarks/neurons.py --quick               # a smoke test, a few seconds
    python benchmarks/neurons.py --markdown out.md     # also write markdown tables
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from spikecast import neurons
from spikecast.neurons import fused

FEATURES = 256
NEURON_NAMES = ["lif", "plif", "liaf", "da_lif", "ts_lif", "tc_lif"]
BASELINES = ["gru", "lstm", "spikingjelly_lif", "snntorch_leaky"]
# The brief's target point: T = 256, B×N = 16k.
TARGET_T, TARGET_N = 256, 16384


# ----------------------------------------------------------------------------- cases
def _optional(module: str):
    try:
        return __import__(module)
    except ImportError:
        return None


def available_baselines() -> list[str]:
    """Baselines whose packages are importable."""
    out = ["gru", "lstm"]
    if _optional("spikingjelly") is not None:
        out.append("spikingjelly_lif")
    if _optional("snntorch") is not None:
        out.append("snntorch_leaky")
    return out


def implementations(device: str) -> list[str]:
    """The implementations of the spikecast neurons benchmarked on ``device``."""
    impls = ["reference", "fused"]
    probe = torch.zeros(1, device=device)
    if fused.kernel_for(probe) != "torch":
        impls.append("fused-torch")
    return impls


def build_case(name: str, impl: str, T: int, n: int, dtype, device):
    """``run()``: one forward + backward pass of ``name`` (neuron or baseline)."""
    batch = max(1, n // FEATURES)
    torch.manual_seed(0)
    x = (torch.randn(T, batch, FEATURES, dtype=dtype, device=device) + 0.5).requires_grad_()
    gy = torch.randn(T, batch, FEATURES, dtype=dtype, device=device)
    module, forward = _case_forward(name, impl, x, dtype, device)

    def run():
        y = forward()
        y.backward(gy)
        x.grad = None
        for p in module.parameters():
            p.grad = None

    return run


Forward = Callable[[], torch.Tensor]


def _case_forward(name: str, impl: str, x: torch.Tensor, dtype,
                  device) -> tuple[nn.Module, Forward]:
    """The module of case ``name`` (built on ``device`` in ``dtype``) and its pass over ``x``."""
    if name in NEURON_NAMES:
        backend = "reference" if impl == "reference" else "fused"
        neuron = neurons.build(name, num_features=FEATURES, backend=backend).to(device, dtype)
        kernel = "torch" if impl == "fused-torch" else None

        def forward_neuron():
            with fused.use_kernel(kernel):
                return neuron(x)
        return neuron, forward_neuron
    if name in ("gru", "lstm"):
        cls = nn.GRU if name == "gru" else nn.LSTM
        rnn = cls(FEATURES, FEATURES).to(device, dtype)

        def forward_rnn():
            return rnn(x)[0]
        return rnn, forward_rnn
    return _external_case_forward(name, x, dtype, device)


def _external_case_forward(name: str, x: torch.Tensor, dtype,
                           device) -> tuple[nn.Module, Forward]:
    """:func:`_case_forward` for the other libraries' neurons (imported only when asked)."""
    if name == "spikingjelly_lif":
        from spikingjelly.activation_based import neuron as sj_neuron
        from spikingjelly.activation_based import surrogate as sj_surrogate
        node = sj_neuron.LIFNode(tau=2.0, surrogate_function=sj_surrogate.ATan(),
                                 step_mode="m").to(device, dtype)

        def forward_node():
            node.reset()
            return node(x)
        return node, forward_node
    if name == "snntorch_leaky":
        import snntorch
        leaky = snntorch.Leaky(beta=0.5).to(device, dtype)

        def forward_leaky():
            mem = torch.zeros_like(x[0])
            spikes = []
            for x_t in x.unbind(0):  # unbind, not x[t]: see docs/benchmarks.md
                spk, mem = leaky(x_t, mem)
                spikes.append(spk)
            return torch.stack(spikes)
        return leaky, forward_leaky
    raise ValueError(f"unknown case {name!r}")


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_case(run, device, repeats: int, budget: float) -> tuple[float, int]:
    """``(best seconds, runs timed)`` after one warm-up run."""
    run()
    _sync(device)
    best, count, start = float("inf"), 0, time.perf_counter()
    while count < repeats:
        t0 = time.perf_counter()
        run()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
        count += 1
        if time.perf_counter() - start > budget:
            break
    return best, count


# ----------------------------------------------------------------------------- memory
def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"{field}:\s+(\d+)", text)
    if found is None:
        raise RuntimeError(f"/proc/self/status has no {field} line")
    return int(found.group(1))


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def peak_memory_mb(run, device) -> float | None:
    """Peak memory of one pass beyond what exists before it, in MiB (None: cannot measure)."""
    run()  # warm-up: compilation, caches
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    if not Path("/proc/self/clear_refs").exists():
        return None
    _trim()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status_kib("VmRSS")
    run()
    return (_status_kib("VmHWM") - base) / 1024


def memory_worker(cases: list[dict], dtype, device, threads: int) -> None:
    """Child process: print one JSON line per case with its peak memory."""
    torch.set_num_threads(threads)
    for case in cases:
        run = build_case(case["name"], case["impl"], case["T"], case["n"], dtype, device)
        mb = peak_memory_mb(run, device)
        print(json.dumps({**case, "peak_mb": mb}), flush=True)
        del run
        _trim()


def measure_memory(cases: list[dict], args) -> dict[tuple, float | None]:
    """Peak memory of every case, measured in one child process (CPU) or here (CUDA)."""
    if not cases:
        return {}
    if torch.device(args.device).type == "cuda":
        out = {}
        for c in cases:
            run = build_case(c["name"], c["impl"], c["T"], c["n"], args.torch_dtype,
                             args.device)
            out[(c["name"], c["impl"], c["T"], c["n"])] = peak_memory_mb(run, args.device)
        return out
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-worker", json.dumps(cases), "--dtype", args.dtype,
         "--device", args.device, "--threads", str(args.threads)],
        env=env, capture_output=True, text=True, check=True)
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            out[(r["name"], r["impl"], r["T"], r["n"])] = r["peak_mb"]
    return out


# ----------------------------------------------------------------------------- bandwidth
def memory_bandwidth(device, threads: int, mib: int = 256) -> float:
    """Copy bandwidth in bytes/s: ``dst.copy_(src)`` of ``mib`` MiB (reads + writes)."""
    torch.set_num_threads(threads)
    n = mib * 2**20 // 4
    src = torch.rand(n, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(5):
        _sync(device)
        t0 = time.perf_counter()
        dst.copy_(src)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n * 4 / best


# ----------------------------------------------------------------------------- report
def environment(device) -> dict:
    """Versions and hardware, for the report."""
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "numba": getattr(_optional("numba"), "__version__", "not installed"),
            "triton": getattr(_optional("triton"), "__version__", "not installed"),
            "spikingjelly": getattr(_optional("spikingjelly"), "__version__",
                                    "not installed" if _optional("spikingjelly") is None
                                    else "installed"),
            "snntorch": getattr(_optional("snntorch"), "__version__", "not installed"),
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count()}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in
                           Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    # glibc's thresholds decide whether large buffers are page-faulted in on every call
    info["malloc_env"] = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    return info


def _fmt_n(n: int) -> str:
    return f"{n // 1024}k" if n % 1024 == 0 else str(n)


def format_rows(rows: list[dict]) -> list[str]:
    """Plain-text table lines."""
    head = (f"{'model':<17} {'impl':<12} {'T':>5} {'BxN':>5} {'fwd+bwd ms':>11} "
            f"{'Mstep/s':>9} {'peak MiB':>9} {'vs ref':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        mem = "-" if r.get("peak_mb") is None else f"{r['peak_mb']:.1f}"
        speed = "" if r.get("speedup") is None else f"{r['speedup']:.1f}x"
        lines.append(f"{r['name']:<17} {r['impl']:<12} {r['T']:>5} {_fmt_n(r['n']):>5} "
                     f"{r['ms']:>11.2f} {r['msteps']:>9.1f} {mem:>9} {speed:>7}")
    return lines


def markdown_rows(rows: list[dict]) -> list[str]:
    """Markdown table lines."""
    lines = ["| model | impl | T | B×N | fwd+bwd ms | M neuron-steps/s | peak MiB | vs reference |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        mem = "–" if r.get("peak_mb") is None else f"{r['peak_mb']:.1f}"
        speed = "" if r.get("speedup") is None else f"{r['speedup']:.1f}×"
        lines.append(f"| {r['name']} | {r['impl']} | {r['T']} | {_fmt_n(r['n'])} | "
                     f"{r['ms']:.2f} | {r['msteps']:.1f} | {mem} | {speed} |")
    return lines


def targets(rows: list[dict], bandwidth: float) -> list[tuple[str, str, bool | None]]:
    """``(target, measured, met)`` at the target point (T = 256, B×N = 16k)."""
    at = {(r["name"], r["impl"]): r for r in rows
          if r["T"] == TARGET_T and r["n"] == TARGET_N}
    out = []
    lif, ref = at.get(("lif", "fused")), at.get(("lif", "reference"))
    if lif and ref:
        f = ref["ms"] / lif["ms"]
        out.append(("LIF fused fwd+bwd >= 5x faster than reference", f"{f:.1f}x", f >= 5))
        if lif.get("peak_mb") is not None and ref.get("peak_mb"):
            m = lif["peak_mb"] / ref["peak_mb"]
            out.append(("LIF fused peak memory <= 40% of reference", f"{100 * m:.0f}%",
                        m <= 0.4))
    sj = at.get(("spikingjelly_lif", "torch"))
    if lif and sj:
        f = sj["ms"] / lif["ms"]
        out.append(("LIF fused >= 2x faster than SpikingJelly LIFNode (multi-step, torch)",
                    f"{f:.1f}x", f >= 2))
    ts = at.get(("ts_lif", "fused"))
    if lif and ts:
        f = ts["ms"] / lif["ms"]
        out.append(("TS-LIF fused time <= 2x LIF fused time", f"{f:.2f}x", f <= 2))
    for name in NEURON_NAMES:
        a, b = at.get((name, "fused")), at.get((name, "reference"))
        if name != "lif" and a and b and a.get("peak_mb") is not None and b.get("peak_mb"):
            m = a["peak_mb"] / b["peak_mb"]
            out.append((f"{name} fused peak memory <= 40% of reference", f"{100 * m:.0f}%",
                        m <= 0.4))
    if lif:
        steps = lif["msteps"] * 1e6
        bound = bandwidth / 24
        out.append(("LIF fused throughput / (copy bandwidth / 24 B per neuron-step)",
                    f"{steps / 1e6:.0f} M/s of {bound / 1e6:.0f} M/s = "
                    f"{100 * steps / bound:.0f}%", None))
    return out


# ----------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--T", type=int, nargs="+",
                   help="sequence lengths (default 64 256 1024; --quick: 16)")
    p.add_argument("--sizes", type=int, nargs="+",
                   help="B×N, neurons per step (multiples of 256; default 4096 65536; "
                        "--quick: 512)")
    p.add_argument("--no-target", action="store_true",
                   help="do not add the target point T=256, B×N=16k")
    p.add_argument("--neurons", nargs="+", default=NEURON_NAMES, choices=NEURON_NAMES)
    p.add_argument("--baselines", nargs="*", default=None,
                   help=f"baselines to run (default: the installed ones of {BASELINES})")
    p.add_argument("--impls", nargs="+", choices=["reference", "fused", "fused-torch"],
                   help="implementations of the spikecast neurons to run (default: all that "
                        "apply to the device)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case (best is kept)")
    p.add_argument("--budget", type=float, default=3.0,
                   help="seconds after which a case stops repeating (default 3)")
    p.add_argument("--rnn-max-steps", type=int, default=TARGET_T * TARGET_N,
                   help="run GRU/LSTM only where T×B×N is at most this (they are slow on "
                        "CPU; default: the target point's 256×16k)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    p.add_argument("--markdown", type=Path, help="also write the results as markdown here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: small T and B×N, one repeat, no target point")
    p.add_argument("--memory-worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.no_target = 1, True
    args.T = args.T or ([16] if args.quick else [64, 256, 1024])
    args.sizes = args.sizes or ([512] if args.quick else [4096, 65536])
    args.torch_dtype = getattr(torch, args.dtype)
    return args


def main(argv=None) -> int:
    """Run the benchmark; print the table (and write markdown with ``--markdown``)."""
    args = parse_args(argv)
    if args.memory_worker:
        memory_worker(json.loads(args.memory_worker), args.torch_dtype, args.device,
                      args.threads)
        return 0
    torch.set_num_threads(args.threads)
    cases = build_cases(args)
    rows = []
    for c in cases:
        run = build_case(c["name"], c["impl"], c["T"], c["n"], args.torch_dtype, args.device)
        seconds, count = time_case(run, args.device, args.repeats, args.budget)
        del run
        rows.append({**c, "ms": 1e3 * seconds, "runs": count,
                     "msteps": c["T"] * c["n"] / seconds / 1e6})
        print(format_rows(rows[-1:])[-1], flush=True)
    ref = {(r["name"], r["T"], r["n"]): r["ms"] for r in rows if r["impl"] == "reference"}
    for r in rows:
        base = ref.get((r["name"], r["T"], r["n"]))
        r["speedup"] = base / r["ms"] if base and r["impl"] != "reference" else None

    if not args.no_memory:
        mem = measure_memory(cases, args)
        for r in rows:
            r["peak_mb"] = mem.get((r["name"], r["impl"], r["T"], r["n"]))
    bandwidth = memory_bandwidth(args.device, args.threads)
    rows.sort(key=lambda r: (r["T"], r["n"], r["name"] not in NEURON_NAMES, r["name"],
                             r["impl"]))
    env = environment(args.device)

    print()
    print("\n".join(format_rows(rows)))
    print(f"\ncopy bandwidth: {bandwidth / 1e9:.1f} GB/s ({args.threads} threads)")
    goals = targets(rows, bandwidth)
    for goal, value, met in goals:
        flag = "" if met is None else ("  MET" if met else "  MISSED")
        print(f"{goal}: {value}{flag}")
    if args.markdown:
        write_markdown(args, rows, env, bandwidth, goals)
    return 0


def build_cases(args) -> list[dict]:
    """Every case to time: each grid point (plus the target point unless ``--no-target``)
    for each neuron and implementation, then the baselines (the RNNs only up to
    ``--rnn-max-steps``)."""
    baselines = available_baselines() if args.baselines is None else args.baselines
    points = [(T, n) for T in args.T for n in args.sizes]
    if not args.no_target and (TARGET_T, TARGET_N) not in points:
        points.append((TARGET_T, TARGET_N))
    cases = []
    for T, n in points:
        for name in args.neurons:
            cases += [{"name": name, "impl": impl, "T": T, "n": n}
                      for impl in implementations(args.device)
                      if args.impls is None or impl in args.impls]
        cases += [{"name": b, "impl": "torch", "T": T, "n": n} for b in baselines
                  if b not in ("gru", "lstm") or T * n <= args.rnn_max_steps]
    return cases


def write_markdown(args, rows: list[dict], env: dict, bandwidth: float, goals) -> None:
    """The ``--markdown`` report: environment, command, settings, the table, the targets."""
    lines = [f"Environment: {json.dumps(env)}",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"dtype {args.dtype}, device {args.device}, {args.threads} threads, best of "
             f"up to {args.repeats} runs; copy bandwidth {bandwidth / 1e9:.1f} GB/s.", ""]
    lines += markdown_rows(rows) + ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {g} | {v} | {'' if m is None else ('yes' if m else 'no')} |"
              for g, v, m in goals]
    args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())

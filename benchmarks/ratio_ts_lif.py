"""TS-LIF fused against LIF fused: forward + backward medians side by side, and their ratio.

The target of issue 18 is "TS-LIF fused at most 1.5x LIF fused" (forward + backward at
T = 256, B x N = 16k, float32, on CPU). Both neurons are built as ``benchmarks/neurons.py``
builds them (``neurons.build(name, num_features=256, backend="fused")``, default options:
TS-LIF with per-layer coefficients and per-feature output weights, all learnable; LIF with
τ = 2, hard reset) and timed in one process, the runs interleaved (LIF, TS-LIF, LIF, ...)
so that both see the same machine load. A run is one forward, one ``backward`` with a fixed
random output gradient and the gradients cleared. Reported: the median (and the minimum)
of ``--repeats`` runs of each, after ``--warmup`` untimed runs, in ms and M neuron-steps/s,
and the ratio of the medians (and of the minima). These machines are noisy: quote ratios.

Command (the figure in docs/benchmarks.md)::

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/ratio_ts_lif.py --threads 1
    python benchmarks/ratio_ts_lif.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from spikecast import neurons

FEATURES = 256


def build(name: str, T: int, n: int, dtype):
    """``run()``: one fused forward + backward pass of neuron ``name`` over ``[T, n/256, 256]``."""
    torch.manual_seed(0)
    batch = max(1, n // FEATURES)
    x = (torch.randn(T, batch, FEATURES, dtype=dtype) + 0.5).requires_grad_()
    gy = torch.randn(T, batch, FEATURES, dtype=dtype)
    neuron = neurons.build(name, num_features=FEATURES, backend="fused").to(dtype=dtype)

    def run():
        y = neuron(x)
        y.backward(gy)
        x.grad = None
        for p in neuron.parameters():
            p.grad = None

    return run


def measure(T: int, n: int, dtype, repeats: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of every timed run of each neuron (interleaved)."""
    runs = {"lif": build("lif", T, n, dtype), "ts_lif": build("ts_lif", T, n, dtype)}
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, default=256)
    p.add_argument("--n", type=int, default=16384, help="neurons per step (B x N)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--repeats", type=int, default=21, help="timed runs of each (default 21)")
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    times = measure(args.T, args.n, dtype, args.repeats, args.warmup)
    steps = args.T * (args.n // FEATURES) * FEATURES
    print(f"T={args.T}, B x N={args.n}, {args.dtype}, threads={args.threads}, "
          f"{args.repeats} runs each (interleaved)")
    print(f"{'fused fwd+bwd':<14}{'median ms':>10}{'min ms':>9}{'M steps/s':>11}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<14}{med * 1e3:>10.2f}{min(ts) * 1e3:>9.2f}{steps / med / 1e6:>11.0f}")
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    ratio = med["ts_lif"] / med["lif"]
    print(f"TS-LIF / LIF: {ratio:.2f}x (medians), {best['ts_lif'] / best['lif']:.2f}x (minima); "
          f"target <= 1.5x: {'met' if ratio <= 1.5 else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The conv spike encoding against the layer it feeds (issue 5/6: "make the conv encoding
cost no more than the layer it feeds").

Builds the ``stack`` architecture with the ``conv`` encoding (ETTh1 P1's shapes: batch 32
windows of 7 channel-independent series, lookback 96, hidden 128) and times, forward and
backward, median of ``--repeats`` runs after a warm-up, one thread:

- the encoding: causal conv (kernel 3) -> BatchNorm -> its LIF unit, ``[L, N, 1] -> [L, N, E]``;
- the first layer it feeds: ``Linear(E, hidden)`` -> the neuron unit, on the encoding's output.

Examples::

    python benchmarks/encoding_cost.py                 # TS-LIF, the P1 shapes
    python benchmarks/encoding_cost.py --neuron liaf --repeats 30
    python benchmarks/encoding_cost.py --quick         # tiny sizes (the smoke test)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from spikecast.models import architectures


def _median_ms(step, repeats: int) -> float:
    for _ in range(3):  # compiles kernels, warms the buffer cache
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(neuron: str = "ts_lif", items: int = 224, lookback: int = 96,
            hidden: int = 128, repeats: int = 15) -> dict:
    """Forward + backward milliseconds of the conv encoding and of the layer it feeds."""
    torch.manual_seed(0)
    encoder = architectures.build("stack", 1, hidden_size=hidden, neuron=neuron,
                                  encoding="conv", num_layers=1)
    x = torch.randn(items, lookback, 1)
    encoder(x)  # the units calibrate on their first batch
    encoding, synapse, unit = encoder.encoding, encoder.synapse_layers[0], encoder.units[0]
    seq = encoding(x.transpose(0, 1)).detach().requires_grad_()

    def encode():
        encoding(x.transpose(0, 1)).sum().backward()

    def layer():
        unit(synapse(seq)).sum().backward()

    enc, lay = _median_ms(encode, repeats), _median_ms(layer, repeats)
    return {"neuron": neuron, "encoding_ms": enc, "layer_ms": lay, "ratio": enc / lay}


def main(argv=None) -> int:
    """Print the two times and their ratio as a markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neuron", default="ts_lif")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = dict(items=8, lookback=16, hidden=8, repeats=2) if args.quick else {}
    r = measure(args.neuron, **{"repeats": args.repeats, **sizes})
    print("| neuron | conv encoding (ms) | first layer (ms) | encoding / layer |")
    print("|---|---:|---:|---:|")
    print(f"| {r['neuron']} | {r['encoding_ms']:.2f} | {r['layer_ms']:.2f} | "
          f"{r['ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The search behind the defaults of ``NeuralForecaster()``: every configuration tried, recorded.

ETTh1 under protocol P1 at H = 96, on a reduced budget that is the same for every model
(every 4th training window, at most 10 epochs with early stopping, hidden 128, one thread),
so that many configurations fit on a CPU. Each configuration is one Lightning CLI run of a
``configs/p1`` model config, composed with ``configs/p1/base.yaml``, with overrides
(``benchmarks/results.config_files``); its validation loss picks the winner, its test MSE
is recorded next to it but never used to choose.

    python benchmarks/search_defaults.py run --stage architectures --shard 0 --shards 2
    python benchmarks/search_defaults.py report        # writes docs/defaults.md

Stages (each a list of (config, overrides)); a later stage starts from what the earlier one
selected, so run them in order:
    neurons        the stack architecture with every neuron and the flatten readout
    init           the calibrated initialisation's target rate (and PyTorch's init)
    readouts       every readout for the stack and for the GRU
    skip           a linear forecast from the window added to the head's (DLinear's path)
    architectures  every architecture with TS-LIF and LIAF neurons
    twins          every architecture as an ANN (relu), the reference for the energy claim
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402  (benchmarks/results.py)

REPO = Path(__file__).resolve().parents[1]
BUDGET = ["--data.stride", "4", "--trainer.max_epochs", "10",
          "--trainer.enable_progress_bar", "false"]


def _flatten(size: int = 8) -> list[str]:
    return ["--model.readout", "flatten", "--model.readout_size", str(size)]


STAGES: dict[str, list[tuple[str, list[str]]]] = {
    "neurons": [("stack", ["--model.neuron", n, *_flatten()])
                for n in ("ts_lif", "liaf", "lif", "plif", "da_lif", "tc_lif", "relu")],
    "init": [("stack", ["--model.neuron", "ts_lif", *_flatten(),
                        "--model.encoder_params", f"{{init_rate: {rate}}}"])
             for rate in ("0.02", "0.05", "0.3", "null")],
    "readouts": [
        *[("stack", ["--model.neuron", "ts_lif", "--model.readout", r])
          for r in ("last", "mean", "membrane")],
        ("stack", ["--model.neuron", "ts_lif", *_flatten(16)]),
        *[("gru", ["--model.readout", r]) for r in ("last", "membrane")],
        ("gru", _flatten()),
        ("lstm", _flatten()),
    ],
    "skip": [
        ("stack", ["--model.neuron", "ts_lif", *_flatten(), "--model.linear_skip", "true"]),
        ("stack", ["--model.neuron", "liaf", *_flatten(), "--model.linear_skip", "true"]),
        ("stack", ["--model.neuron", "relu", *_flatten(), "--model.linear_skip", "true"]),
        # the GRU with it ran before the calibration changed (it has no units), see below
    ],
    "architectures": [
        (arch, ["--model.neuron", n, *_flatten()])
        for arch in ("spike_gru", "ispikformer", "spike_rnn", "spike_tcn")
        for n in ("ts_lif", "liaf")
    ],
    "twins": [(arch, ["--model.neuron", "relu", *_flatten()])
              for arch in ("spike_gru", "ispikformer", "spike_rnn", "spike_tcn")],
}


def run(stage: str, shard: int, shards: int) -> None:
    """Run this shard's share of a stage's configurations (rows land in its own CSV)."""
    todo = STAGES[stage][shard::shards]
    csv = REPO / "docs" / "search" / f"p1_{stage}_{shard}.csv"
    for model, overrides in todo:
        results.run("p1", [model], [96], [0], [*BUDGET, *overrides], csv,
                    (REPO / "outputs" / "search").resolve())


def load(folder: str = "search") -> pd.DataFrame:
    """Every configuration tried so far (all shards) under ``docs/<folder>``."""
    frames = [pd.read_csv(p) for p in sorted((REPO / "docs" / folder).glob("p1_*.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


HEADER = """# How the defaults were chosen

`NeuralForecaster()` with no arguments is the spiking configuration with the lowest
validation loss in the search below (ETTh1, protocol P1, H = 96; selection on validation
loss only, the test MSE is shown but never used to choose). Every configuration ran on the
same reduced budget: every 4th training window (`--data.stride 4`), at most 10 epochs with
early stopping (patience 3), hidden size 128, one layer, batch 32, lr 1e-3, one thread, seed
0. Rows are `benchmarks/results.py` runs of a `configs/p1` config with the listed overrides;
the CSVs are in `docs/search/`. Regenerate this page with
`python benchmarks/search_defaults.py report`.

"""

SUPERSEDED = """

## Superseded: the first calibration (a gain per layer)

The first version of the calibrated initialisation scaled each layer's current by one gain
(chosen by bisection) instead of adding a per-feature bias. It was replaced because the gain
also multiplies the learning rate of the synapses that feed the layer (a DDP test, and the
TS-LIF rows below against PyTorch's init, trained worse with it). These runs used it
(`docs/search/gain_calibration/`):

"""


def report() -> str:
    """Markdown: every configuration, ordered by validation loss; then the superseded runs."""
    text = HEADER + _table(load()) + "\n"
    old = load("search/gain_calibration")
    return text + (SUPERSEDED + _table(old) + "\n" if len(old) else "")


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no runs yet)"
    frame = frame.assign(config=frame["model"] + " " + frame["overrides"].str.replace(
        " ".join(BUDGET), "", regex=False).str.strip()).sort_values("val_loss")
    cols = ["config", "val_loss", "mse", "mae", "epochs", "train_s", "params", "energy_nj",
            "firing_rate"]
    table = frame[cols].copy()
    for c in ("val_loss", "mse", "mae", "firing_rate"):
        table[c] = table[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    table["energy_nj"] = table["energy_nj"].map(lambda v: f"{v:.0f}")
    table["config"] = table["config"].map(lambda c: f"`{c}`")
    return results.pipe_table(table, left=("config",))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``run`` a stage's shard, or print the ``report``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--stage", choices=list(STAGES))
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "report":
        with results.atomic_path(REPO / "docs" / "defaults.md") as tmp:
            tmp.write_text(report(), encoding="utf-8")
        return
    import torch

    torch.set_num_threads(1)
    run(args.stage, args.shard, args.shards)


if __name__ == "__main__":
    main()

"""``spikecast backtest --config FILE``: run a backtest configuration and write its results."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_parser(subparsers) -> None:
    """Register the ``backtest`` command and its options."""
    backtest = subparsers.add_parser(
        "backtest", help="run a backtest configuration (YAML)",
        description="Backtest the models of a YAML configuration on the same cutoffs; write "
        "metrics and predictions (CSV), a markdown table and plots.")
    backtest.add_argument("--config", required=True, metavar="FILE",
                          help="e.g. configs/backtest/co2.yaml")
    backtest.add_argument("--output-dir", metavar="DIR",
                          help="where the results go (default: the config's output_dir, "
                          "else outputs/backtest/<config name>)")
    backtest.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                          help="a progress bar per model (default: on a terminal, none when "
                          "stderr is a pipe or a file)")
    backtest.add_argument("--verbose", action="store_true",
                          help="on an error, print the full traceback before the error line")
    backtest.add_argument("--threads", type=_positive_int, metavar="N", default=1,
                          help="torch threads per fit (default: %(default)s; small networks "
                          "train fastest on one, and backtest.n_jobs runs fits in parallel)")


def run(args) -> int:
    """Check the configuration (before torch is imported), backtest, print and write."""
    from spikecast.experiment.config import check_output_dir, load_spec

    spec = load_spec(args.config)  # a bad config fails at once
    output_dir = args.output_dir or spec.output_dir \
        or str(Path("outputs") / "backtest" / Path(args.config).stem)
    check_output_dir(output_dir, "--output-dir" if args.output_dir else "output_dir")
    from spikecast.experiment.report import format_table
    from spikecast.experiment.runner import run_spec

    print(f"spikecast backtest: {len(spec.models)} models on {spec.dataset!r} "
          f"({', '.join(spec.models)})", flush=True)
    result = run_spec(spec, output_dir, progress=args.progress, threads=args.threads)
    print(format_table(result.table))
    print(f"\nwrote {', '.join(str(p) for p in result.paths.values())} "
          f"({result.elapsed_s:.0f} s)")
    return 0

"""The ``spikecast`` console script: parses the command line and dispatches.

- ``spikecast fit | validate | test | predict --config FILE``: the Lightning CLI
  (:mod:`spikecast.lightning_cli`).
- ``spikecast demo``: the demo backtest (:mod:`spikecast.demo`).
- ``spikecast backtest --config FILE``: a backtest configuration
  (:mod:`spikecast.backtest_config`, run by :mod:`spikecast.runner`).
- ``spikecast datasets list | download NAME``: the dataset cards (:mod:`spikecast.catalog`).

Mistakes in the input (a missing or invalid config file, an unknown dataset, model or
encoder) end with one line ``spikecast: error: ...`` and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from spikecast import __version__

__all__ = ["main"]

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
EXIT_USAGE = 2  # bad input, as argparse uses it
EXIT_FAILURE = 1  # the input was fine but the work failed (e.g. a download)


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikecast",
        description="Time-series forecasting with spiking neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"spikecast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIGHTNING_COMMANDS:
        sub.add_parser(name, help=f"Lightning CLI: {name} a ForecastModule (--config FILE, "
                       "--print_config, any Trainer flag)", add_help=False)

    demo = sub.add_parser("demo", help="backtest spiking, recurrent and classical models on "
                          "an embedded dataset (weekly CO2) and rank them",
                          description="Backtest TS-LIF, LIAF, DA-LIF, GRU, LSTM and classical "
                          "baselines on weekly CO2 (ships with statsmodels), print a ranked "
                          "table and write it (CSV, markdown) with plots.")
    demo.add_argument("--output-dir", default="demo_output", metavar="DIR",
                      help="where the results go (default: %(default)s)")
    demo.add_argument("--quick", action="store_true",
                      help="a much smaller run (seconds; for tests)")
    demo.add_argument("--seed", type=int, default=0, help="seed of every model (default: 0)")

    backtest = sub.add_parser("backtest", help="run a backtest configuration (YAML)",
                              description="Backtest the models of a YAML configuration on "
                              "the same cutoffs; write metrics and predictions (CSV), a "
                              "markdown table and plots.")
    backtest.add_argument("--config", required=True, metavar="FILE",
                          help="e.g. configs/backtest/co2.yaml")
    backtest.add_argument("--output-dir", metavar="DIR",
                          help="where the results go (default: the config's output_dir, "
                          "else outputs/backtest/<config name>)")
    backtest.add_argument("--progress", action="store_true", help="progress bars per model")
    backtest.add_argument("--threads", type=_positive_int, metavar="N", default=1,
                          help="torch threads per fit (default: %(default)s; small networks "
                          "train fastest on one, and backtest.n_jobs runs fits in parallel)")

    datasets = sub.add_parser("datasets", help="list or download benchmark datasets")
    dsub = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = dsub.add_parser("list", help="names, frequency, size, source, availability")
    listing.add_argument("--data-dir", help="data directory (default: $SPIKECAST_DATA_DIR, "
                         "else the user cache)")
    fetch = dsub.add_parser("download", help="download a dataset into the data directory")
    fetch.add_argument("name", help="a name from `spikecast datasets list`")
    fetch.add_argument("--data-dir", help="data directory (default: $SPIKECAST_DATA_DIR, "
                       "else the user cache)")
    return parser


def _demo(args) -> int:
    from spikecast.demo import run_demo

    run_demo(args.output_dir, quick=args.quick, seed=args.seed)
    return 0


def _backtest(args) -> int:
    from pathlib import Path

    from spikecast.backtest_config import load_spec

    spec = load_spec(args.config)  # before importing torch: a bad config fails at once
    from spikecast.reporting import format_table
    from spikecast.runner import run_spec

    output_dir = args.output_dir or spec.output_dir \
        or str(Path("outputs") / "backtest" / Path(args.config).stem)
    print(f"spikecast backtest: {len(spec.models)} models on {spec.dataset!r} "
          f"({', '.join(spec.models)})", flush=True)
    run = run_spec(spec, output_dir, progress=args.progress, threads=args.threads)
    print(format_table(run.table))
    print(f"\nwrote {', '.join(str(p) for p in run.paths.values())} "
          f"({run.elapsed_s:.0f} s)")
    return 0


def _datasets(args) -> int:
    from spikecast.catalog import datasets_table, download
    from spikecast.exceptions import SpikecastError
    from spikecast.registry import ConfigError

    if args.action == "list":
        print(datasets_table(args.data_dir).to_string(index=False))
        return 0
    try:
        _, message = download(args.name, args.data_dir)
    except SpikecastError as err:
        # the name is fine but the file could not be fetched (no URL, network, checksum)
        print(f"spikecast: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except ValueError as err:  # an unknown name; the message lists the valid ones
        raise ConfigError(str(err)) from err
    print(message)
    return 0


def _check_config_file(argv: list[str]) -> None:
    """Fail with one line on a missing or invalid ``--config`` file of a Lightning command
    (jsonargparse would print its whole usage first)."""
    from spikecast.backtest_config import read_yaml

    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            read_yaml(argv[i + 1])
        elif arg.startswith("--config="):
            read_yaml(arg.split("=", 1)[1])


def _lightning(argv: list[str], from_command_line: bool) -> int:
    _check_config_file(argv)
    from spikecast.lightning_cli import run_lightning_cli

    # LightningCLI reads sys.argv itself; passing args too would be flagged as a mistake
    run_lightning_cli(None if from_command_line else argv)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spikecast`` command; returns the exit status."""
    from spikecast.exceptions import SpikecastError

    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            return _lightning(argv, from_command_line)
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        handlers = {"demo": _demo, "backtest": _backtest, "datasets": _datasets}
        return handlers[args.command](args)
    except SpikecastError as err:  # bad input: the message says what to change
        print(f"spikecast: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``spikecast`` console script: parses the command line and dispatches to a command.

Every command is one module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``, registered by one line in :data:`COMMANDS`:

- ``spikecast fit | validate | test | predict --config FILE``: the Lightning CLI
  (:mod:`spikecast.cli.lightning`; it parses its own arguments).
- ``spikecast demo``: the demo backtest (:mod:`spikecast.cli.demo`).
- ``spikecast backtest --config FILE``: a backtest configuration
  (:mod:`spikecast.cli.backtest`).
- ``spikecast datasets list | download NAME``: the dataset cards (:mod:`spikecast.cli.datasets`).

Mistakes in the input (a missing or invalid config file, an unknown dataset, model or
encoder) end with one line ``spikecast: error: ...`` and exit status 2, never a traceback.
Command modules import torch, Lightning, sklearn and pandas only when they run (their top-level
imports are the standard library), so ``spikecast --help`` stays fast;
``tests/test_import_time.py`` checks it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from spikecast import __version__

__all__ = ["main", "COMMANDS", "LIGHTNING_COMMANDS", "EXIT_USAGE", "EXIT_FAILURE"]

#: command name -> module with ``add_parser(subparsers)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "demo": "spikecast.cli.demo",
    "backtest": "spikecast.cli.backtest",
    "datasets": "spikecast.cli.datasets",
}
#: the Lightning CLI's subcommands (:mod:`spikecast.cli.lightning` parses their arguments)
LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
EXIT_USAGE = 2  # bad input, as argparse uses it
EXIT_FAILURE = 1  # the input was fine but the work failed (e.g. a download)


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
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spikecast`` command; returns the exit status."""
    from spikecast.exceptions import SpikecastError

    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            from spikecast.cli.lightning import run_command

            # LightningCLI reads sys.argv itself; passing args too would be flagged
            return run_command(None if from_command_line else argv, argv)
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return importlib.import_module(COMMANDS[args.command]).run(args)
    except SpikecastError as err:  # bad input: the message says what to change
        print(f"spikecast: error: {err}", file=sys.stderr)
        return EXIT_USAGE

"""The ``spikecast`` console script.

Subcommands are added by later parts of the package; this module only dispatches.
"""

from __future__ import annotations

import argparse
import sys

from spikecast import __version__

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


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
    sub.add_parser("demo", help="run the demo backtest on an embedded dataset")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spikecast`` command."""
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in LIGHTNING_COMMANDS:
        from spikecast.lightning_cli import run_lightning_cli

        # LightningCLI reads sys.argv itself; passing args too would be flagged as a mistake
        run_lightning_cli(None if from_command_line else argv)
        return 0
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        print("spikecast demo: placeholder until the demo backtest lands")
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

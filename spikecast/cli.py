"""The ``spikecast`` console script.

Subcommands are added by later parts of the package; this module only dispatches.
"""

from __future__ import annotations

import argparse
import sys

from spikecast import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikecast",
        description="Time-series forecasting with spiking neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"spikecast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="run the demo backtest on an embedded dataset")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spikecast`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
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

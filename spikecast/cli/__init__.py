"""The ``spikecast`` console script: parses the command line and dispatches to a command.

Every command is one module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``, registered by one line in :data:`COMMANDS`:

- ``spikecast fit | validate | test | predict --config FILE``: the Lightning CLI
  (:mod:`spikecast.cli.lightning`; it parses its own arguments).
- ``spikecast demo``: the demo backtest (:mod:`spikecast.cli.demo`).
- ``spikecast backtest --config FILE``: a backtest configuration
  (:mod:`spikecast.cli.backtest`).
- ``spikecast datasets list | download NAME``: the dataset cards (:mod:`spikecast.cli.datasets`).

Every failure (a missing or invalid config file, an unknown dataset, model or encoder, a bad
value, a file that cannot be written, an unexpected exception) ends with one line
``spikecast: error: ...`` (at most :data:`MAX_ERROR_CHARS` characters) and exit status 2;
the full traceback is printed only with ``--verbose``. Command-line mistakes that argparse
finds (an unknown command or option) are one such line too (``SystemExit(2)``).
Command modules import torch, Lightning, sklearn and pandas only when they run (their top-level
imports are the standard library), so ``spikecast --help`` stays fast;
``tests/test_import_time.py`` checks it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import NoReturn

from spikecast import __version__

__all__ = ["main", "COMMANDS", "LIGHTNING_COMMANDS", "EXIT_USAGE", "EXIT_FAILURE",
           "MAX_ERROR_CHARS", "error_line"]

#: command name -> module with ``add_parser(subparsers)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "demo": "spikecast.cli.demo",
    "backtest": "spikecast.cli.backtest",
    "datasets": "spikecast.cli.datasets",
    "tune": "spikecast.cli.tune",
}
#: the Lightning CLI's subcommands (:mod:`spikecast.cli.lightning` parses their arguments)
LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
EXIT_USAGE = 2  # bad input, as argparse uses it
EXIT_FAILURE = 1  # the input was fine but the work failed (e.g. a download)
#: the longest error line ``spikecast`` prints (a message quoting a huge value is cut)
MAX_ERROR_CHARS = 1000


def error_line(err: BaseException | str) -> str:
    """The one line ``spikecast: error: ...`` for ``err``: its message on one line (the
    exception type in front unless it is a spikecast error), cut to
    :data:`MAX_ERROR_CHARS` characters."""
    from spikecast.exceptions import SpikecastError

    if isinstance(err, str):
        message = err
    elif isinstance(err, SpikecastError):
        message = str(err)
    else:
        message = f"{type(err).__name__}: {err}".rstrip(": ")
    message = " ".join(message.split())
    if len(message) > MAX_ERROR_CHARS:
        message = f"{message[:MAX_ERROR_CHARS]}... ({len(message):,} characters)"
    return f"spikecast: error: {message}"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, printing a usage mistake as one ``spikecast: error:`` line."""

    def error(self, message: str) -> NoReturn:
        """Print ``spikecast: error: <prog>: <message>`` and exit with status 2."""
        print(error_line(f"{self.prog}: {message} (see {self.prog} --help)"), file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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


def _dispatch(argv: list[str], from_command_line: bool) -> int:
    """Run the command ``argv`` names; returns its exit status."""
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spikecast`` command; returns the exit status.

    Any exception (``SystemExit`` and ``KeyboardInterrupt`` aside) is printed as one line
    ``spikecast: error: ...`` with exit status 2; with ``--verbose`` anywhere on the
    command line, its traceback comes first.
    """
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(argv, from_command_line)
    except Exception as err:  # noqa: BLE001 - the contract: one line, never a traceback
        if "--verbose" in argv:
            traceback.print_exc()
        sys.stdout.flush()
        print(error_line(err), file=sys.stderr)
        return EXIT_USAGE

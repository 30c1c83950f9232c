"""Every exception and warning class spikecast raises or issues.

Errors a user can trigger with bad input subclass :class:`SpikecastError` and a built-in
(``ValueError``, ``FileNotFoundError``, ``OSError``, ``RuntimeError``), so callers can catch
the built-in as usual or the specific spikecast type. Warnings subclass
:class:`SpikecastWarning` (a ``UserWarning``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError

__all__ = [
    "SpikecastError", "InvalidParameterError", "DataValidationError", "ConfigError",
    "ModelFileError", "ModelError", "NotFittedError", "DatasetNotFoundError", "CardError",
    "DownloadError", "ChecksumMismatchError", "OptionalDependencyError",
    "SpikecastWarning", "ModelWarning", "BacktestWarning", "DataWarning",
]



def __getattr__(name: str):
    # ``NotFittedError`` is scikit-learn's own class (what ``check_is_fitted`` raises), so
    # ``except NotFittedError`` catches both; it is imported on first use, because importing
    # sklearn takes a second or more and every spikecast module imports this one.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "NotFittedError"])


# --------------------------------------------------------------------------- errors
class SpikecastError(Exception):
    """Base class of every spikecast-specific error."""


class InvalidParameterError(SpikecastError, ValueError):
    """A constructor or function parameter has an invalid type or value; the message names
    the parameter, what it must be, and what it got."""


class DataValidationError(SpikecastError, ValueError):
    """Input data cannot be used as given; the message says what is wrong and how to fix it."""


class ConfigError(SpikecastError, ValueError):
    """A configuration (YAML file or command-line settings) cannot be used as given; the
    message names the offending key or value and what is valid."""


class ModelFileError(SpikecastError, ValueError):
    """A saved model file is missing, truncated, tampered with or of an unknown format."""


class ModelError(SpikecastError, RuntimeError):
    """A statistical model failed on one series / column; the message names which."""


class DatasetNotFoundError(SpikecastError, FileNotFoundError):
    """A dataset's file is not in the data directory and could not be downloaded.

    The message names the file, the directory it was looked for in and where to get it
    (the URL, or the card's manual-download note). When a download was tried and failed, the
    :class:`DownloadError` is the ``__cause__``.
    """


class CardError(SpikecastError, ValueError):
    """A dataset card is malformed; the message names the card file and the key."""


class DownloadError(SpikecastError, OSError):
    """A download failed (HTTP error, network error, truncated transfer).

    The message names the URL. ``status`` is the HTTP status code when the server answered
    with an error, else ``None``.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class ChecksumMismatchError(SpikecastError, ValueError):
    """A file's SHA-256 differs from the one its dataset card (or the caller) expects.

    Attributes ``path`` (the file checked, or the download's destination), ``expected``
    and ``actual`` (hex digests).
    """

    def __init__(self, message: str, *, path: str | os.PathLike, expected: str, actual: str):
        super().__init__(message)
        self.path = Path(path)
        self.expected = expected
        self.actual = actual


class OptionalDependencyError(SpikecastError, ImportError):
    """A feature needs an optional package that is not installed (Darts for
    :mod:`spikecast.data.darts`); the message names the package and the ``pip install`` line
    that adds it. ``package`` is the package's name (also ImportError's ``name``)."""

    def __init__(self, message: str, *, package: str):
        super().__init__(message, name=package)
        self.package = package


# --------------------------------------------------------------------------- warnings
class SpikecastWarning(UserWarning):
    """Base class of every warning spikecast issues."""


class ModelWarning(SpikecastWarning):
    """The one summary of the warnings statsmodels issued during a ``fit`` or ``predict``,
    or a fallback model standing in for one that failed."""


class BacktestWarning(SpikecastWarning):
    """Summary of the warnings raised while fitting and forecasting over all cutoffs."""


class DataWarning(SpikecastWarning):
    """A data file differs from what its card says, or was downloaded unverified."""

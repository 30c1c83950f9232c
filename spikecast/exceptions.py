"""Exception types raised by spikecast.

Every error a user can trigger with bad input is one of these (or a built-in it subclasses),
so callers can catch ``ValueError`` as usual or the specific spikecast type.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError

__all__ = ["SpikecastError", "DataValidationError", "NotFittedError", "ModelFileError"]


class SpikecastError(Exception):
    """Base class of every spikecast-specific error."""


class DataValidationError(SpikecastError, ValueError):
    """Input data cannot be used as given; the message says what is wrong and how to fix it."""


class ModelFileError(SpikecastError, ValueError):
    """A saved model file is missing, truncated, tampered with or of an unknown format."""

"""The declared constraints of the backtest's own arguments (``start``'s type, ``stride``,
``window``, ``train_length``, ``refit``, ``n_jobs``), checked by :func:`backtest
<spikecast.backtest.backtest>` and by backtest configuration files alike.

Whether ``start`` lies inside the data is a question about the data, answered when the
cutoffs are placed; here only its type is checked.
"""

from __future__ import annotations

import datetime

import numpy as np

from spikecast.devices import excess_jobs
from spikecast.exceptions import InvalidParameterError
from spikecast.validation import Check, Integral, Interval, Options, Real, validate_params

__all__ = ["BACKTEST_CONSTRAINTS", "check_backtest_params"]

_POSITIVE = Interval(Integral, 1, None, closed="left")
_START_TYPES = (Integral, Real, str, datetime.date, np.datetime64)  # Timestamp is a date

#: what each argument of :func:`~spikecast.backtest.backtest` may be
#: (:mod:`spikecast.validation`); ``train_length`` also depends on ``window``
BACKTEST_CONSTRAINTS: dict[str, list] = {
    "start": [Check(lambda v: isinstance(v, _START_TYPES) and not isinstance(v, (bool, np.bool_)),
                    "an int position, a float fraction or an index label")],
    "stride": [_POSITIVE],
    "window": [Options("expanding", "sliding", desc="'expanding' or 'sliding'")],
    "train_length": [_POSITIVE, None],
    "refit": ["boolean", Interval(Integral, 1, None, closed="left",
                                  desc="a positive integer (refit every k cutoffs)")],
    "n_jobs": [None,
               Interval(Integral, 1, None, closed="left", desc="a positive number of workers"),
               Interval(Integral, None, -1, closed="right", desc="-1 (all cores)")],
}


def check_backtest_params(**params) -> None:
    """Check the backtest arguments given (any of :data:`BACKTEST_CONSTRAINTS`' names).

    ``train_length`` is checked with ``window`` (default ``"expanding"``): a sliding window
    needs it, an expanding one takes none.

    Raises:
        InvalidParameterError: the first invalid argument; the message starts with its name
            and says what is valid and what it got.
        TypeError: an argument that is not one of the backtest's.
    """
    unknown = sorted(set(params) - set(BACKTEST_CONSTRAINTS))
    if unknown:
        raise TypeError(f"check_backtest_params() got unknown argument(s) {unknown}; valid: "
                        f"{list(BACKTEST_CONSTRAINTS)}")
    validate_params({k: v for k, v in params.items() if k != "train_length"},
                    BACKTEST_CONSTRAINTS)
    too_many = excess_jobs(params.get("n_jobs"))
    if too_many:  # more joblib workers than cores would hold the machine
        raise InvalidParameterError(f"n_jobs: {too_many}")
    if "window" not in params and "train_length" not in params:
        return
    window, train_length = params.get("window", "expanding"), params.get("train_length")
    if window == "sliding" and not _POSITIVE.is_satisfied_by(train_length):
        raise InvalidParameterError(
            f"window='sliding' needs train_length, a positive integer (rows per training "
            f"window); got {train_length!r}"
        )
    if window == "expanding" and train_length is not None:
        raise InvalidParameterError(
            "train_length applies to window='sliding' only; an expanding window trains on "
            "all rows up to each cutoff"
        )

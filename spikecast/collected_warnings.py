"""Warnings recorded during a fit and reported once, as a summary.

Fits over many series, columns or cutoffs record their warnings (with the ``"always"``
action, so that they can be counted) and report one summary warning instead of hundreds.
:func:`ignored_by_filters` keeps those summaries from repeating what the user chose to
ignore.
"""

from __future__ import annotations

import warnings

__all__ = ["ignored_by_filters"]


def ignored_by_filters(category: type[Warning], message: str) -> bool:
    """Whether the active warning filters (``warnings.filterwarnings``, pytest's
    ``filterwarnings``) would ignore a warning of ``category`` with ``message``.

    Filters tied to a module or line number are not evaluated (they never match here).
    """
    for action, msg, cat, module, lineno in warnings.filters:
        if msg is not None and not msg.match(message):
            continue
        if not issubclass(category, cat) or module is not None or lineno:
            continue
        return action == "ignore"
    return False

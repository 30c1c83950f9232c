"""Equal-budget hyper-parameter search on Optuna: :func:`tune` and :func:`tune_many`.

Every model gets the same number of trials, each scored on the last rows of the tuning data
only (:mod:`spikecast.tuning.objective`); neural trials are pruned through Optuna's
Lightning integration (:mod:`spikecast.tuning.pruning`); studies live in a database (SQLite
by default) that several workers can share and that a stopped search resumes from
(:mod:`spikecast.tuning.storage`); every model has a default search space
(:mod:`spikecast.tuning.spaces`); the best configuration is written as a config that
reproduces it (:mod:`spikecast.tuning.export`). ``spikecast tune --config FILE`` runs it
from the command line. Optuna loads on first use.
"""

from __future__ import annotations

from spikecast.lazy import lazy_exports

_LAZY = {
    "tune": "spikecast.tuning.study",
    "tune_many": "spikecast.tuning.study",
    "TuneResult": "spikecast.tuning.study",
    "default_space": "spikecast.tuning.spaces",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = list(_LAZY)

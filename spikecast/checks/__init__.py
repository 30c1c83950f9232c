"""Contract suites: what every registered forecaster and every neuron must do.

In the spirit of scikit-learn's ``check_estimator`` / ``parametrize_with_checks``: each
suite is a list of named checks that a pytest module parametrises over a registry, and that
the author of a new forecaster or neuron runs on their own class.

- :func:`check_forecaster` / :func:`forecaster_checks`: the estimator contract
  (:mod:`spikecast.checks.forecaster`).
- :func:`check_neuron` / :func:`neuron_checks`: the neuron contract
  (:mod:`spikecast.checks.neuron`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikecast.lazy import lazy_exports

if TYPE_CHECKING:
    from spikecast.checks.forecaster import check_forecaster, forecaster_checks
    from spikecast.checks.neuron import check_neuron, neuron_checks

# Each suite loads on first use: the neuron checks import torch, the forecaster checks sklearn.
_LAZY = {
    "check_forecaster": "spikecast.checks.forecaster",
    "forecaster_checks": "spikecast.checks.forecaster",
    "check_neuron": "spikecast.checks.neuron",
    "neuron_checks": "spikecast.checks.neuron",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = ["check_forecaster", "forecaster_checks", "check_neuron", "neuron_checks"]

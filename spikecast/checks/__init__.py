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

from spikecast.checks.forecaster import check_forecaster, forecaster_checks
from spikecast.checks.neuron import check_neuron, neuron_checks

__all__ = ["check_forecaster", "forecaster_checks", "check_neuron", "neuron_checks"]

"""spikecast: time-series forecasting with spiking neural networks.

Spiking forecasting architectures (a layer stack, SpikeRNN, SpikeTCN, a spiking-gated GRU,
iSpikformer) built from any neuron (LIF, PLIF, LIAF, DA-LIF, TS-LIF, TC-LIF, or an analog
twin), wrapped as Lightning modules, an sklearn-style :class:`NeuralForecaster` in front of
them, classical baselines, metrics and rolling-origin backtesting to compare them fairly.
"""

from __future__ import annotations

from spikecast.lazy import lazy_exports

__version__ = "0.2.0.dev0"

# Heavy submodules (torch, lightning, statsmodels) load on first use, so that
# `spikecast --version` and `import spikecast` stay fast. (Backtesting stays in
# `spikecast.backtest`: a function of that name here would be shadowed by the submodule.)
_LAZY = {
    "NeuralForecaster": "spikecast.forecaster",
    "load_dataset": "spikecast.data.datasets",
    "list_datasets": "spikecast.data.datasets",
    "to_darts": "spikecast.data.darts",  # Darts itself loads inside the functions
    "from_darts": "spikecast.data.darts",
    "tune": "spikecast.tuning.study",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = ["__version__", *_LAZY]

"""The experiment layer: backtest configurations, models by name, the runner and reports.

Data flows one way: a configuration (:mod:`~spikecast.experiment.config`) names a dataset
and models (:mod:`~spikecast.experiment.registry`); the runner
(:mod:`~spikecast.experiment.runner`) backtests them with :func:`spikecast.backtest.compare`
and the report (:mod:`~spikecast.experiment.report`) ranks and writes the results. It uses
only the public API of the library below it.
"""

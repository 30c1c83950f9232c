"""Run a :class:`~spikecast.experiment.config.BacktestSpec`: compare its models on the same
cutoffs, measure what the neural ones cost, rank them and write the results.

The cost of a model that reports one (tag ``reports_costs``: parameters, estimated energy
per forecast) is measured with its ``efficiency()`` on the model fitted at the first
cutoff, the very one the backtest forecasts with, so the comparison trains every model
exactly as often as the backtest needs.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from spikecast.backtest import compare
from spikecast.base import get_tags
from spikecast.experiment.config import BacktestSpec
from spikecast.experiment.report import ranked_table, write_outputs

__all__ = ["BacktestRun", "run_spec"]


def _costs(models: list) -> dict | None:
    """``params``, ``energy_nj`` per forecast and ``energy_ratio`` (vs the same network as
    an ANN) of the first fitted model, for forecasters that report costs (else ``None``)."""
    if not models or not get_tags(models[0]).reports_costs:
        return None
    costs = models[0].efficiency()
    return {"params": costs["params"], "energy_nj": costs["energy_pj"] / 1e3,
            "energy_ratio": costs["energy_ratio"]}


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run torch with ``n`` intra-op threads (``None``: unchanged), restoring them after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class BacktestRun:
    """What :func:`run_spec` returns.

    Attributes:
        table: the ranked table (see :func:`spikecast.experiment.report.ranked_table`).
        predictions: every forecast against its actual value (a ``model`` column first).
        data: the data the models were backtested on.
        paths: ``{kind: path}`` of the files written (empty without an output directory).
        elapsed_s: wall time of the whole run.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    paths: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0


def run_spec(spec: BacktestSpec, output_dir=None, *, progress: bool | None = None,
             title: str | None = None, threads: int | None = None) -> BacktestRun:
    """Backtest the spec's models on its dataset and write the results.

    Args:
        spec: a checked configuration (:func:`~spikecast.experiment.config.load_spec`).
        output_dir: where to write (default: the spec's ``output_dir``; ``None`` there too
            writes nothing).
        progress: show a progress bar per model, labelled with its name (``None``, the
            default: only when stderr is a terminal).
        title: heading of the markdown table and the plots (default: the dataset name).
        threads: torch intra-op threads while the models train and forecast (default:
            torch's setting); small networks often train fastest with 1.

    Returns:
        A :class:`BacktestRun`.
    """
    start = time.perf_counter()
    y = spec.load_data()
    models = spec.build_models(y)
    with _torch_threads(threads):
        result = compare(models, y, metrics=spec.metrics, season_length=spec.season_length,
                         progress=progress, return_models=True, **spec.backtest_kwargs())
        costs = {label: _costs(fitted) for label, fitted in result.models.items()}
    result.models.clear()  # the fitted models are no longer needed
    table = ranked_table(result, metrics=spec.metrics,
                         costs={k: v for k, v in costs.items() if v is not None})
    directory = output_dir if output_dir is not None else spec.output_dir
    paths = {}
    if directory is not None:
        paths = write_outputs(directory, table, result.predictions, y,
                              title=title or spec.dataset)
    return BacktestRun(table=table, predictions=result.predictions, data=y, paths=paths,
                       elapsed_s=time.perf_counter() - start)

"""Run a :class:`~spikecast.experiment.config.BacktestSpec`: compare its models on the same
cutoffs, measure what the neural ones cost, rank them and write the results.

The cost of a neural model (parameters, estimated energy per forecast) is measured on the
network trained at the first cutoff, the very one the backtest forecasts with, so the
comparison trains every model exactly as often as the backtest needs.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

from spikecast.backtest import BacktestWarning, compare
from spikecast.experiment.config import BacktestSpec
from spikecast.experiment.report import ranked_table, write_outputs

__all__ = ["BacktestRun", "CostProbe", "run_spec"]

# Lightning warns at every fit that a torch API it calls is deprecated (torch >= 2.13);
# backtest collects that into one BacktestWarning per model, noise about neither the data nor
# the models. Only summaries holding nothing else are hidden.
_LEAFSPEC_ONLY = (r"backtest\(\w+\): \d+ warning\(s\) over \d+ fit\(s\), collected and "
                  r"reported once:\n  - FutureWarning x\d+, e\.g\.: `isinstance\(treespec, "
                  r"LeafSpec\)`[^\n]*\Z")


class CostProbe(Callback):
    """A Lightning callback that keeps the first network a model trains, to measure it.

    ``compare`` trains clones of the model; cloning deep-copies ``trainer_kwargs``, so the
    probe returns itself from ``__deepcopy__`` and every clone reports to it. It only sees
    fits in this process (``n_jobs=1``): joblib workers get a copy of their own.
    """

    def __init__(self, max_windows: int = 256):
        self.max_windows = max_windows
        self.fitted = None  # (ForecastModule, WindowDataModule) of the first fit

    def __deepcopy__(self, memo):
        return self

    def on_fit_end(self, trainer, pl_module) -> None:
        """Keep the module (its best weights are loaded into it after ``fit``)."""
        if self.fitted is None:
            self.fitted = (pl_module, trainer.datamodule)

    def report(self) -> dict | None:
        """``params``, ``energy_nj`` per forecast and ``energy_ratio`` (vs the same network
        as an ANN) on up to ``max_windows`` training windows; ``None`` before any fit."""
        from spikecast.models.efficiency import measure_costs

        if self.fitted is None:
            return None
        module, datamodule = self.fitted
        dataset = datamodule.train_dataloader().dataset  # scaled as the model saw them
        picks = np.linspace(0, len(dataset) - 1, min(self.max_windows, len(dataset)))
        windows = torch.stack([dataset[int(i)][0] for i in picks.round()])
        costs = measure_costs(module.network.cpu(), windows)
        return {"params": costs["params"], "energy_nj": costs["energy_pj"] / 1e3,
                "energy_ratio": costs["energy_pj"] / costs["energy_ann_pj"]}


def _attach_probe(model) -> CostProbe | None:
    """Add a :class:`CostProbe` to a neural model's trainer callbacks (others: ``None``)."""
    from spikecast.forecaster import NeuralForecaster

    if not isinstance(model, NeuralForecaster):
        return None
    probe = CostProbe()
    kwargs = dict(model.trainer_kwargs or {})
    kwargs["callbacks"] = [*kwargs.get("callbacks", []), probe]
    model.set_params(trainer_kwargs=kwargs)
    return probe


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


def run_spec(spec: BacktestSpec, output_dir=None, *, progress: bool = False,
             title: str | None = None, threads: int | None = None) -> BacktestRun:
    """Backtest the spec's models on its dataset and write the results.

    Args:
        spec: a checked configuration (:func:`~spikecast.experiment.config.load_spec`).
        output_dir: where to write (default: the spec's ``output_dir``; ``None`` there too
            writes nothing).
        progress: show a progress bar per model.
        title: heading of the markdown table and the plots (default: the dataset name).
        threads: torch intra-op threads while the models train and forecast (default:
            torch's setting); small networks often train fastest with 1.

    Returns:
        A :class:`BacktestRun`.
    """
    start = time.perf_counter()
    y = spec.load_data()
    models = spec.build_models()
    probes = {label: _attach_probe(model) for label, model in models.items()}
    metrics = [m for m in spec.metrics if m != "mase"] or ["mae"]  # MASE: ranked_table
    with warnings.catch_warnings(), _torch_threads(threads):
        warnings.filterwarnings("ignore", message=_LEAFSPEC_ONLY, category=BacktestWarning)
        result = compare(models, y, metrics=metrics, progress=progress,
                         **spec.backtest_kwargs())
    costs = {label: probe.report() for label, probe in probes.items() if probe is not None}
    table = ranked_table(result, y, metrics=spec.metrics, season_length=spec.season_length,
                         costs=costs)
    directory = output_dir if output_dir is not None else spec.output_dir
    paths = {}
    if directory is not None:
        paths = write_outputs(directory, table, result.predictions, y,
                              title=title or spec.dataset)
    return BacktestRun(table=table, predictions=result.predictions, data=y, paths=paths,
                       elapsed_s=time.perf_counter() - start)

"""Turn a :class:`~spikecast.backtest.ComparisonResult` into a ranked table and files.

Shared by ``spikecast backtest`` and ``spikecast demo``: the comparison's metrics, the
models' cost columns, a ranking, and the outputs (metrics and predictions as
CSV, a markdown table, a forecast plot and an error-by-step plot), each written atomically
so that a reader never sees half a file, and the set written as a whole
(:func:`write_outputs`): a run killed midway leaves either the previous complete set or a
marker file :data:`INCOMPLETE_MARKER` saying the set is mixed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from spikecast.atomic import atomic_path
from spikecast.exceptions import DataValidationError

__all__ = ["ranked_table", "format_table", "markdown_table", "write_text", "write_outputs",
           "INCOMPLETE_MARKER"]

#: the file in an output directory while a new set of results is moved into it; left
#: behind only when the move is interrupted, it marks the set as a mix of two runs
INCOMPLETE_MARKER = ".spikecast-incomplete"

#: columns of the shown table, in order (those present)
_SHOWN = ("mae", "mse", "rmse", "smape", "mape", "mase", "r2", "rse", "fit_time_s",
          "predict_time_s", "params", "energy_nj", "energy_ratio")


def ranked_table(result, *, metrics=("mae", "mse", "smape", "mase"),
                 costs: dict | None = None) -> pd.DataFrame:
    """One row per model, best first.

    Args:
        result: the :class:`~spikecast.backtest.ComparisonResult` of ``compare`` (with the
            ``metrics`` in its table).
        metrics: the metrics to show; the first of ``"mase"`` or ``metrics[0]`` ranks.
        costs: ``{model: {"params": ..., "energy_nj": ..., "energy_ratio": ...}}`` for the
            models whose cost was measured (neural ones); the others show no cost.

    Returns:
        A DataFrame indexed by ``rank`` (1 = best, by MASE when shown, else by the first
        metric) with a ``model`` column, the metrics, ``fit_time_s``, ``predict_time_s``,
        ``n_fits``, ``n_cutoffs`` and the cost columns.
    """
    table = result.table.copy()
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise DataValidationError(f"ranked_table: the comparison has no {missing} column(s); "
                                  f"run compare with metrics={list(metrics)}")
    for column in ("params", "energy_nj", "energy_ratio"):
        table[column] = [((costs or {}).get(m) or {}).get(column, np.nan) for m in table.index]
    key = "mase" if "mase" in metrics else metrics[0]
    ascending = key != "r2"  # every other metric is an error: lower is better
    table = table.sort_values(key, ascending=ascending, kind="stable").reset_index()
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    ordered = [c for c in ("model", *metrics, *_SHOWN) if c in table.columns]
    rest = [c for c in table.columns if c not in ordered]
    return table[list(dict.fromkeys(ordered)) + rest]


def _cell(column: str, value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if column == "params":
        return f"{int(value):,}"
    if column.endswith("_s"):
        return f"{value:.3g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.4g}"


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The displayed columns as strings, ``rank`` first (the fit and cutoff counts only go
    to the CSV)."""
    columns = [c for c in table.columns if c not in ("n_fits", "n_cutoffs")]
    out = pd.DataFrame({c: [_cell(c, v) for v in table[c]] for c in columns},
                       index=table.index)
    return out.reset_index().astype(str)


def format_table(table: pd.DataFrame) -> str:
    """The ranked table as aligned plain text for the terminal."""
    return _shown(table).to_string(index=False)


def pipe_table(frame: pd.DataFrame, left: tuple[str, ...] = ("model",)) -> str:
    """``frame`` as a markdown pipe table (pandas' ``to_markdown`` needs ``tabulate``, which
    is not a dependency); the ``left`` columns are left-aligned, the others right-aligned."""
    cells = frame.astype(str)
    lines = ["| " + " | ".join(map(str, cells.columns)) + " |",
             "|" + "|".join("---" if c in left else "---:" for c in cells.columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy().tolist()]
    return "\n".join(lines) + "\n"


def markdown_table(table: pd.DataFrame) -> str:
    """The ranked table as a markdown pipe table."""
    return pipe_table(_shown(table))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then
    ``os.replace``), creating missing parent folders."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(path)


def _last_forecasts(predictions: pd.DataFrame, models: list[str]
                    ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each model's forecast from the last cutoff, wide (``ds`` x series), and the models
    left out because they have none there (no rows, or only missing values)."""
    last = predictions[predictions["cutoff"] == predictions["cutoff"].max()]
    forecasts, empty = {}, []
    for m in models:
        rows = last[last["model"].astype(str) == m]
        if rows["y_pred"].notna().any():
            forecasts[m] = rows.pivot(index="ds", columns="unique_id", values="y_pred")
        else:
            empty.append(m)
    return forecasts, empty


def _titled(title: str, what: str) -> str | None:
    """``"<title>: <what>"``, with a dash instead when ``title`` already has a colon."""
    if not title:
        return None
    return f"{title} \N{EM DASH} {what}" if ":" in title else f"{title}: {what}"


def _forecast_plot(path: Path, actual: pd.DataFrame, predictions: pd.DataFrame,
                   order: list[str], plot_models: int | None, title: str) -> None:
    """``forecast.png``: the models' forecasts from the last cutoff, saying in the figure
    which models are left out and why."""
    from spikecast.plotting import plot_forecast, save_figure

    shown = order if plot_models is None else order[:max(int(plot_models), 1)]
    forecasts, empty = _last_forecasts(predictions, shown)
    notes = []
    if empty:
        notes.append(f"not shown: {', '.join(empty)} (no forecast from the last cutoff)")
    if len(shown) < len(order):
        notes.append(f"not shown: {', '.join(order[len(shown):])} (only the {len(shown)} "
                     f"best models are plotted: plot_models={plot_models})")
    horizon = int(predictions["step"].max())
    fig = plot_forecast(actual, forecasts, history=5 * horizon, order=order,
                        title=_titled(title, "forecasts from the last cutoff"))
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=8, style="italic", x=0.01, ha="left")
    save_figure(fig, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(stage: Path, out: Path) -> None:
    """Move the files of ``stage`` into ``out``: one rename when ``out`` is new, else file
    by file under :data:`INCOMPLETE_MARKER` (removed once every file is in place)."""
    if not out.exists():
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes the folder private
        os.rename(stage, out)
        return
    marker = out / INCOMPLETE_MARKER
    marker.write_text("spikecast was moving a new set of results into this folder and "
                      "stopped midway: the files here may mix two runs\n", encoding="utf-8")
    for path in sorted(stage.iterdir()):
        os.replace(path, out / path.name)
    marker.unlink()
    stage.rmdir()


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A fresh temporary folder to write a set of results into, published into ``out``
    (:func:`_publish`) when the block succeeds and removed when it fails."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output directory {out} is a file")
    if out.exists():
        stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_files(out: Path, table: pd.DataFrame, predictions: pd.DataFrame,
                 y: pd.DataFrame, title: str, plot_models: int | None) -> dict[str, str]:
    """Write every result file into ``out``; ``{kind: file name}``."""
    from spikecast.plotting import plot_backtest, plot_backtest_errors

    names = {"metrics": "metrics.csv", "predictions": "predictions.csv",
             "markdown": "results.md", "forecast": "forecast.png",
             "backtest": "backtest.png", "errors": "errors_by_step.png"}
    write_text(out / names["metrics"], table.to_csv())
    write_text(out / names["predictions"], predictions.to_csv(index=False))
    write_text(out / names["markdown"], (f"## {title}\n\n" if title else "")
               + markdown_table(table))
    order = [str(m) for m in table["model"]]  # best first: legends and colours follow it
    targets = list(pd.unique(predictions["unique_id"]))
    actual = y.loc[:predictions["ds"].max(), targets]
    _forecast_plot(out / names["forecast"], actual, predictions, order, plot_models, title)
    plot_backtest(predictions, actual, path=out / names["backtest"], order=order,
                  title=_titled(title, "every model's forecasts from every cutoff"))
    plot_backtest_errors(predictions, "mae", path=out / names["errors"], order=order,
                         title=_titled(title, "MAE by horizon step"))
    return names


def write_outputs(output_dir: str | os.PathLike, table: pd.DataFrame,
                  predictions: pd.DataFrame, y: pd.DataFrame, *, title: str = "",
                  plot_models: int | None = None) -> dict[str, Path]:
    """Write the results of a comparison into ``output_dir``.

    Files: ``metrics.csv`` (the ranked table, unrounded), ``predictions.csv`` (every
    forecast against its actual value), ``results.md`` (the table in markdown),
    ``forecast.png`` (every model's forecast from the last cutoff against the actual
    values; only the ``plot_models`` best when given, the figure naming those left out),
    ``backtest.png`` (every model's forecasts from every cutoff) and ``errors_by_step.png``
    (MAE by horizon step). The plots colour each model alike and list the models in rank
    order.

    The files are written into a fresh temporary folder first, then moved into place: a
    new ``output_dir`` appears complete in one rename; into an existing one the files are
    moved while :data:`INCOMPLETE_MARKER` marks the folder, so a run killed midway leaves
    either the previous set untouched or the marker (files of other runs or of the user
    are left alone).

    Returns:
        ``{kind: path}`` of the files written.
    """
    out = Path(output_dir)
    with _staged(out) as stage:
        names = _write_files(stage, table, predictions, y, title, plot_models)
    return {kind: out / name for kind, name in names.items()}

"""Score the configurations ``spikecast tune`` selected on the protocol's test part: the
"Tuned" rows of docs/results.md.

``spikecast tune --config configs/tune/etth1_p2.yaml`` writes one best configuration per
model (selected on validation loss only). This script copies them into the repository
(``configs/tuned/<config stem>/``, so that every row is reproducible without the study
database) and scores each with :mod:`benchmarks.results` on the protocol's test windows,
every horizon and seed asked for:

- a neural model's tuned module arguments (its whole ``model:`` section) and training budget
  (``trainer.max_epochs``, ``data.stride``) become overrides of ``configs/<protocol>/base.yaml``
  plus the encoder's model file, so its data, split, early stopping and checkpointing are
  those of every other row of the protocol;
- a baseline's tuned parameters replace the fixed choices of ``results.py``.

Rows go to their own CSV (default ``docs/results_tuned.csv``) under the tune label
(``stack_ts_lif``, ``gru``, ...), so they never mix with the untuned rows' variant selection.

    python benchmarks/tuned.py p2 --config configs/tune/etth1_p2.yaml --horizons 24 --seeds 0 1 2
    python benchmarks/tuned.py report --config configs/tune/etth1_p2.yaml [--figures]
    python benchmarks/tuned.py collect --config configs/tune/co2.yaml   # copy only
    python benchmarks/tuned.py merge --config ... rows_a.csv rows_b.csv  # workers' own CSVs

Runs side by side (one ``--csv`` each, so that no two processes rewrite one file) are
merged into ``--csv`` afterwards with ``merge``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from spikecast import safe_yaml
from spikecast.cli.tune import load_tune_config, tune_locations

REPO = Path(__file__).resolve().parents[1]
#: data files written beside tuned configs are copied into the repository up to this size
MAX_DATA_BYTES = 1 << 20
_spec = importlib.util.spec_from_file_location("results", REPO / "benchmarks" / "results.py")
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)


#: the subtitle of the tuned Pareto figures
FIGURE_SUBTITLE = ("tuned with equal Optuna budgets, selected on validation loss; "
                   "mean over H = {horizons} and seeds")


def tuned_dir(config: Path) -> Path:
    """Where the tuned configurations of ``config`` are kept in the repository."""
    return REPO / "configs" / "tuned" / config.stem


def collect(config: Path) -> Path:
    """Copy ``spikecast tune``'s best configurations (its ``output_dir``), the data files
    written beside them (up to :data:`MAX_DATA_BYTES` each) and ``summary.csv`` into
    :func:`tuned_dir`; return that folder."""
    settings, spec = load_tune_config(config)
    output_dir, storage = tune_locations(config, settings, spec)
    source = REPO / output_dir  # relative to the repository, where the command runs
    target = tuned_dir(config)
    target.mkdir(parents=True, exist_ok=True)
    copied = [shutil.copy2(path, target / path.name) for path in sorted(source.glob("*.yaml"))]
    small = [data for data in source.glob("*.data.csv")  # rows that existed only in memory
             if data.stat().st_size <= MAX_DATA_BYTES]
    for data in small:
        shutil.copy2(data, target / data.name)
    for path in copied:  # ... named by their new place (a larger file stays where it is:
        text = Path(path).read_text()  # running the tune command again writes it)
        for data in small:
            text = text.replace(str(data.relative_to(REPO)),
                                str((target / data.name).relative_to(REPO)))
        Path(path).write_text(text.replace(f"--config {source.relative_to(REPO)}/",
                                           f"--config {target.relative_to(REPO)}/"))
    if (source / "summary.csv").exists():
        shutil.copy2(source / "summary.csv", target / "summary.csv")
        database = storage if "://" in storage else REPO / storage
        if not isinstance(database, Path) or database.exists():  # (no new empty database)
            write_trials(database, source / "summary.csv", target / "trials.csv")
    if not copied:
        raise FileNotFoundError(f"no tuned configurations in {source}: run spikecast tune "
                                f"--config {config} first")
    return target


def write_trials(database, summary: Path, path: Path) -> None:
    """Every trial of every study in ``summary`` (its parameters, state and validation
    loss) as one CSV: every configuration the search tried, not only the best.
    ``database``: the studies' SQLite file or database URL."""
    import optuna

    from spikecast.tuning.storage import open_storage

    storage = open_storage(database)
    frames = []
    for label, study in pd.read_csv(summary)[["model", "study"]].itertuples(index=False):
        trials = optuna.load_study(study_name=study, storage=storage).trials_dataframe(
            attrs=("number", "value", "state", "params", "duration"))
        frames.append(trials.assign(model=label))
    table = pd.concat(frames, ignore_index=True)
    table["duration"] = table["duration"].dt.total_seconds().round(1)
    table.columns = [c.removeprefix("params_") for c in table.columns]
    table[["model", *[c for c in table.columns if c != "model"]]].to_csv(path, index=False)


def _value(value) -> str:
    """A config value as one command-line token the Lightning CLI parses back (JSON:
    ``null``, ``true``, ``{"threshold": 0.5}``; a string as it is)."""
    return value if isinstance(value, str) else json.dumps(value)


def neural_overrides(tuned: dict) -> tuple[str, list[str]]:
    """``(results.py model, overrides)`` of a tuned Lightning CLI config: its whole module
    section and its training budget over the protocol's base config."""
    model = tuned["model"]
    overrides = [token for key, value in model.items()
                 for token in (f"--model.{key}", _value(value))]
    overrides += ["--trainer.max_epochs", str(tuned["trainer"]["max_epochs"]),
                  "--data.stride", str(tuned["data"]["stride"]),
                  "--trainer.enable_progress_bar", "false"]
    return model["encoder"], overrides


def baseline_params(tuned: dict) -> tuple[str, dict]:
    """``(results.py baseline, parameters)`` of a tuned backtest config."""
    (entry,) = tuned["models"]
    return entry["model"], dict(entry.get("params") or {})


def score(protocol: str, folder: Path, labels: list[str] | None, horizons: list[int],
          seeds: list[int], csv: Path, run_root: Path) -> None:
    """Score every tuned configuration in ``folder`` (or those named ``labels``)."""
    paths = sorted(folder.glob("*.yaml"))
    chosen = [p for p in paths if labels is None or p.stem in labels]
    missing = sorted(set(labels or []) - {p.stem for p in paths})
    if missing:
        raise SystemExit(f"no tuned configuration for {missing} in {folder}")
    for path in chosen:
        tuned = safe_yaml.load_file(path)
        if "trainer" in tuned:
            model, overrides = neural_overrides(tuned)
            results.run(protocol, [model], horizons, seeds, overrides, csv, run_root,
                        label=path.stem)
        else:
            model, params = baseline_params(tuned)
            results.run(protocol, [model], horizons, [0], [], csv, run_root,
                        label=path.stem, params=params)


def budget_table(summary: pd.DataFrame) -> str:
    """The trials each model had and its best validation loss (``summary.csv``)."""
    return results.pipe_table(summary[["model", "n_trials", "best_val_loss"]].round(4),
                              left=("model",))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``p1`` / ``p2`` collect and score, ``collect`` only copies the tuned
    configurations, ``merge`` adds other CSVs' rows, ``report`` prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("protocol", choices=["p1", "p2", "collect", "merge", "report"])
    parser.add_argument("parts", nargs="*", type=Path, help="with merge: the CSVs to merge")
    parser.add_argument("--config", type=Path, required=True, help="the tune config")
    parser.add_argument("--models", nargs="+", default=None, help="tune labels")
    parser.add_argument("--horizons", nargs="+", type=int)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--csv", type=Path, default=REPO / "docs" / "results_tuned.csv")
    parser.add_argument("--run-root", type=Path, default=REPO / "outputs" / "tuned")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--figures", type=Path, nargs="?", const=REPO / "docs", default=None,
                        help="with report: also draw pareto_<protocol>_tuned.png there")
    parser.add_argument("--no-collect", action="store_true",
                        help="score the configurations already in configs/tuned/")
    args = parser.parse_intermixed_args(argv)
    if args.protocol == "report":
        summary = pd.read_csv(tuned_dir(args.config) / "summary.csv")
        print(budget_table(summary) + "\n\n"
              + results.report(args.csv, first=tuple(summary["model"])))
        if args.figures is not None:
            for path in results.write_figures(args.csv, args.figures, FIGURE_SUBTITLE,
                                              name="pareto_{protocol}_tuned.png"):
                print(f"wrote {path}", file=sys.stderr)
        return
    if args.protocol == "merge":
        for part in args.parts:
            for row in pd.read_csv(part).to_dict("records"):
                results.append_row(args.csv, row)
        print(f"merged {len(args.parts)} file(s) into {args.csv}")
        return
    if args.protocol == "collect":
        print(f"copied into {collect(args.config)}")
        return
    folder = tuned_dir(args.config) if args.no_collect else collect(args.config)
    results.torch.set_num_threads(args.threads)
    score(args.protocol, folder, args.models,
          args.horizons or list(results.PROTOCOL[args.protocol]["horizons"]), args.seeds,
          args.csv, args.run_root.resolve())


if __name__ == "__main__":
    sys.exit(main())

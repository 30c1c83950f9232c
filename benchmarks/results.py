"""Accuracy and cost on the benchmark protocols (docs/protocols.md): the rows of docs/results.md.

Every neural row is a Lightning CLI run of a model config in ``configs/p1`` or ``configs/p2``
composed with its protocol's ``base.yaml``, with the overrides the row lists, followed by a
scoring pass over every test window (stride 1, no window dropped). Baseline rows are scored
on exactly the same windows of the same scaled data. Rows accumulate in a CSV (rewritten
atomically after every row), so a run can be split over several invocations; ``report``
turns the CSV into markdown tables; with ``--figures`` it also draws, from the CSV alone (no
run), each protocol's accuracy against estimated energy with its Pareto front
(:func:`write_figures`).

    python benchmarks/results.py p1 --models ts_lif gru naive linear --horizons 96
    python benchmarks/results.py p2 --models ts_lif gru --horizons 24 --seeds 0 1 2
    python benchmarks/results.py report            # prints the markdown tables
    python benchmarks/results.py report --figures  # ... and writes docs/pareto_p1.png, _p2

A neural P1 row is reproduced by hand with (from the row's run directory)::

    spikecast fit  --config configs/p1/base.yaml --config configs/p1/etth1_ts_lif.yaml \\
        --data.horizon 96 ...
    spikecast test --config configs/p1/base.yaml --config configs/p1/etth1_ts_lif.yaml \\
        --data.horizon 96 ... --ckpt_path <run dir>/checkpoints/best.ckpt

which logs ``test_mse`` and ``test_mae`` (means over test batches weighted by batch size,
equal to the per-window means this script reports).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import torch

from spikecast import metrics
from spikecast.atomic import atomic_path
from spikecast.baselines import ARIMAForecaster, ETSForecaster, LinearForecaster
from spikecast.experiment.report import pipe_table
from spikecast.models.efficiency import measure_costs

REPO = Path(__file__).resolve().parents[1]
BASELINES = ("naive", "seasonal_naive", "linear", "ets", "arima")
PROTOCOL = {
    "p1": {"lookback": 96, "horizons": (96, 192, 336, 720), "metrics": ("mse", "mae")},
    "p2": {"lookback": 168, "horizons": (6, 24, 48, 96), "metrics": ("r2", "rse")},
}
# the error each protocol's Pareto figure plots (lower is better) and its axis label
PARETO = {"p1": ("mse", "test MSE (standardised)"),
          "p2": ("rse", "test RSE (root relative squared error)")}
FIGURE_SUBTITLE = ("untuned configurations of docs/results.md: each model's average over "
                   "horizons {horizons}, variant selected on validation loss")
SEASON = 24  # ETTh1 is hourly: the seasonal naive repeats the last day
# ETS(A,Ad,A): additive errors, damped additive trend, additive daily season, chosen up front
# (the most general additive ETS; not selected on any split)
ETS_SPEC = {"trend": "add", "damped_trend": True, "seasonal": "add", "season_length": SEASON}
# ARIMA(2,0,1)(1,0,0,24) with a constant (statsmodels' default without differencing): two
# hourly lags, one moving-average term and one daily seasonal lag, chosen up front (not
# selected on any split)
ARIMA_SPEC = {"order": (2, 0, 1), "seasonal_order": (1, 0, 0, SEASON)}


def neural_models(protocol: str | None = None) -> list[str]:
    """The neural models: one config ``configs/<protocol>/etth1_<model>.yaml`` each (run
    composed with ``configs/<protocol>/base.yaml``, :func:`config_files`), the per-neuron
    stacks first (spikecast 0.1's networks), then the architectures."""
    protocols = [protocol] if protocol else list(PROTOCOL)
    names = {p.stem.removeprefix("etth1_") for proto in protocols
             for p in (REPO / "configs" / proto).glob("etth1_*.yaml")}
    first = ("lif", "plif", "liaf", "da_lif", "ts_lif", "tc_lif", "stack", "spike_rnn",
             "spike_tcn", "spike_gru", "ispikformer", "gru", "lstm")
    return [m for m in first if m in names] + sorted(names - set(first))


# --------------------------------------------------------------------------- test windows
def test_windows(datamodule) -> tuple[torch.Tensor, np.ndarray]:
    """Every test window of a set-up data module: inputs ``[N, L, C]`` and the scaled
    targets ``[N, H, C_target]``."""
    datamodule.setup("test")
    L, H = datamodule.lookback, datamodule.horizon
    ids, starts = datamodule.windows["test"].T
    if len(set(ids.tolist())) != 1:
        raise ValueError("results are computed on a single series")
    series = datamodule.series[int(ids[0])]
    rows = starts[:, None] + torch.arange(L + H)[None, :]
    block = series[rows]  # [N, L+H, C]
    targets = block[:, L:, datamodule.target_positions].double().numpy()
    return block[:, :L], targets


def score(protocol: str, y: np.ndarray, y_pred: np.ndarray) -> dict:
    """The protocol's metrics over all windows, steps and channels (scaled data)."""
    if protocol == "p1":
        return {"mse": metrics.mse(y.ravel(), y_pred.ravel()),
                "mae": metrics.mae(y.ravel(), y_pred.ravel())}
    C = y.shape[-1]  # P2: RSE's column means are per variable, over all test targets
    return {"r2": metrics.r2(y, y_pred),
            "rse": metrics.rse(y.reshape(-1, C), y_pred.reshape(-1, C))}


# --------------------------------------------------------------------------- neural rows
def config_files(protocol: str, model: str) -> list[Path]:
    """The ``--config`` files of a model, in order: the protocol's ``base.yaml`` (data,
    split, trainer, budget), then the model's own file (what differs)."""
    paths = [REPO / "configs" / protocol / "base.yaml",
             REPO / "configs" / protocol / f"etth1_{model}.yaml"]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"no config {path} for model {model!r}")
    return paths


def neural_row(protocol: str, model: str, horizon: int, seed: int, overrides: list[str],
               run_root: Path) -> dict:
    """Train one config through the Lightning CLI, restore its best checkpoint, score it."""
    from spikecast.cli.lightning import run_lightning_cli

    configs = [arg for path in config_files(protocol, model) for arg in ("--config", str(path))]
    # one directory per override variant, so variants run side by side never share one
    variant = hashlib.sha1(" ".join(overrides).encode()).hexdigest()[:8]
    run_dir = run_root / protocol / f"{model}_H{horizon}_seed{seed}_{variant}"
    run_dir.mkdir(parents=True, exist_ok=True)
    args = [*configs, "--data.horizon", str(horizon),
            "--seed_everything", str(seed),
            "--trainer.default_root_dir", str(run_dir), *overrides]
    start = time.perf_counter()
    # the config's relative checkpoint directory lands in the run dir; LightningCLI reads
    # only ``args`` (this script's own argv would otherwise be reported as a conflict)
    with _cwd(run_dir), mock.patch.object(sys, "argv", sys.argv[:1]):
        cli = run_lightning_cli(["fit", *args])
    train_s = time.perf_counter() - start
    best = cli.trainer.checkpoint_callback.best_model_path
    val_loss = cli.trainer.checkpoint_callback.best_model_score
    module, datamodule = cli.model, cli.datamodule
    if best:
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state)
    module.eval()
    inputs, targets = test_windows(datamodule)
    with torch.no_grad():
        preds = torch.cat([module.point_forecast(chunk) for chunk in torch.split(inputs, 512)])
    costs = measure_costs(module.network, inputs[:: max(1, len(inputs) // 256)][:256])
    command = (f"cd {run_dir.relative_to(REPO) if run_dir.is_relative_to(REPO) else run_dir}"
               f" && spikecast fit {' '.join(_relative(a) for a in args)}")
    return {
        **score(protocol, targets, preds.double().numpy()),
        "val_loss": float(val_loss) if val_loss is not None else np.nan,
        "epochs": int(cli.trainer.current_epoch), "train_s": round(train_s, 1),
        "params": int(costs["params"]), "energy_nj": costs["energy_pj"] / 1e3,
        "energy_ann_nj": costs["energy_ann_pj"] / 1e3,
        "firing_rate": (float(np.mean(list(costs["firing_rates"].values())))
                        if costs["firing_rates"] else np.nan),
        "latency_ms": costs["latency_ms"], "command": command,
    }


# --------------------------------------------------------------------------- baseline rows
def baseline_row(protocol: str, name: str, horizon: int, params: dict | None = None) -> dict:
    """Score a classical baseline on the same scaled test windows as the neural rows.

    ``params`` replace the fixed choices (a tuned configuration): ``season_length`` of the
    seasonal naive, ``lookback`` (at most the protocol's) and ``alpha`` of the linear
    model, the ETS and ARIMA parameters over :data:`ETS_SPEC` and :data:`ARIMA_SPEC`."""
    from spikecast.data import WindowDataModule

    params = dict(params or {})
    lookback = PROTOCOL[protocol]["lookback"]
    dm = WindowDataModule("etth1", lookback=lookback, horizon=horizon, split=protocol)
    inputs, targets = test_windows(dm)
    x = inputs.double().numpy()
    start = time.perf_counter()
    n_params = 0
    if name == "naive":
        preds = np.repeat(x[:, -1:, :], horizon, axis=1)
    elif name == "seasonal_naive":
        season = int(params.get("season_length", SEASON))
        reps = -(-horizon // season)
        preds = np.tile(x[:, -season:, :], (1, reps, 1))[:, :horizon]
    elif name == "linear":
        # fitted on the scaled training rows only, one ridge shared by all channels; a
        # shorter look-back reads the end of each test window
        ridge = {k: v for k, v in params.items() if k != "lookback"}
        lags = int(params.get("lookback", lookback))
        if lags > lookback:
            raise ValueError(f"linear lookback {lags} exceeds the {protocol} window {lookback}")
        model = LinearForecaster(horizon=horizon, lookback=lags, **ridge).fit(_train_frame(dm))
        n_params = (lags + 1) * horizon
        n, _, C = x.shape
        flat = model.forecast_windows(x[:, -lags:].transpose(0, 2, 1).reshape(n * C, lags))
        preds = flat.reshape(n, C, horizon).transpose(0, 2, 1)
    elif name in ("ets", "arima"):
        all_x, all_forecasts, n_params, seconds = _all_horizons(
            protocol, name, tuple(sorted((k, _hashable(v)) for k, v in params.items())))
        if not np.array_equal(all_x[: len(x)], x):
            raise RuntimeError(f"{protocol} H={horizon}: test windows are not a prefix of "
                               f"the shortest horizon's; the shared {name} pass does not "
                               "apply")
        preds = all_forecasts[: len(x), :horizon]
        # every horizon's row reports the shared pass's time (computed on the first call)
        start = time.perf_counter() - seconds
    else:
        raise ValueError(f"unknown baseline {name!r}; valid: {list(BASELINES)}")
    given = f" --params '{json.dumps(params)}'" if params else ""
    return {**score(protocol, targets, preds), "train_s": round(time.perf_counter() - start, 1),
            "params": n_params,
            "command": f"python benchmarks/results.py {protocol} --models {name} "
                       f"--horizons {horizon}{given}"}


def _hashable(value):
    """A parameter value as a cache key (lists as tuples)."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _train_frame(dm) -> pd.DataFrame:
    """The scaled training rows of a set-up data module (what the baselines may fit on)."""
    (split,) = dm.row_splits()
    return pd.DataFrame(dm.series[0][: split.train_end].double().numpy())


def ets_forecasts(train: pd.DataFrame, x: np.ndarray, horizon: int,
                  params: dict | None = None) -> tuple[np.ndarray, int]:
    """ETS per channel, fitted once on ``train``; each window ``x[i]`` ``[L, C]`` is smoothed
    with the fitted parameters (no refit, :class:`~spikecast.baselines.ETSForecaster`) and
    forecast ``horizon`` steps. Returns ``[N, horizon, C]`` and the fitted parameter count
    (smoothing parameters and initial states of every channel). ``params`` replace keys of
    :data:`ETS_SPEC`."""
    model = ETSForecaster(horizon=horizon, **{**ETS_SPEC, **(params or {})}).fit(train)
    forecasts = np.stack([np.asarray(model.predict(pd.DataFrame(w, columns=train.columns)))
                          for w in x])
    return forecasts, sum(len(result.params) for _, result in model.models_.values())


def arima_forecasts(train: pd.DataFrame, series: pd.DataFrame, starts: np.ndarray,
                    lookback: int, horizon: int, params: dict | None = None
                    ) -> tuple[np.ndarray, int]:
    """ARIMA (:data:`ARIMA_SPEC`) per channel, fitted once on ``train``; each window
    ``series[s:s + lookback]`` is filtered with the fitted parameters (no refit, the same
    numbers as one ``predict`` per window) and forecast ``horizon`` steps, all windows in
    one batched ``historical_forecasts`` call. Returns ``[N, horizon, C]`` and the fitted
    parameter count. ``params`` replace keys of :data:`ARIMA_SPEC`."""
    model = ARIMAForecaster(horizon=horizon, **{**ARIMA_SPEC, **(params or {})}).fit(train)
    out = model.historical_forecasts(series, starts + lookback, starts=starts)
    forecasts = np.stack([points[0] for points in out.points])
    return forecasts, sum(len(result.params) for _, result in model.models_.values())


@functools.cache
def _all_horizons(protocol: str, name: str, params: tuple = ()
                  ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """ETS or ARIMA (``name``) forecasts of the longest horizon for every test window of
    the shortest one.

    The test windows of a longer horizon are the first ones of a shorter horizon (same
    look-back, same start rows, fewer windows fit before the end), so one pass over the
    windows serves every horizon. Returns inputs, forecasts, the parameter count and the
    seconds it took. ``params``: ``(name, value)`` pairs over the fixed specification."""
    from spikecast.data import WindowDataModule

    horizons = PROTOCOL[protocol]["horizons"]
    dm = WindowDataModule("etth1", lookback=PROTOCOL[protocol]["lookback"],
                          horizon=min(horizons), split=protocol)
    inputs, _ = test_windows(dm)
    x = inputs.double().numpy()
    start = time.perf_counter()
    if name == "ets":
        forecasts, n_params = ets_forecasts(_train_frame(dm), x, max(horizons), dict(params))
    else:
        starts = dm.windows["test"][:, 1].numpy()
        series = pd.DataFrame(dm.series[0].double().numpy())
        forecasts, n_params = arima_forecasts(_train_frame(dm), series, starts,
                                              dm.lookback, max(horizons), dict(params))
    return x, forecasts, n_params, time.perf_counter() - start


# --------------------------------------------------------------------------- bookkeeping
@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _relative(arg: str) -> str:
    return os.path.relpath(arg, REPO) if arg.startswith(str(REPO)) else arg


def append_row(csv: Path, row: dict) -> None:
    """Add ``row`` to ``csv`` (replacing a row with the same key), atomically."""
    frame = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    key = ["protocol", "model", "horizon", "seed", "overrides"]
    if not isinstance(row.get("overrides"), str):  # none: "" (a CSV reads it back as NaN)
        row = {**row, "overrides": ""}
    if len(frame):
        frame["overrides"] = frame["overrides"].fillna("")
        same = (frame[key] == pd.Series({k: row[k] for k in key})).all(axis=1)
        frame = frame[~same]
    frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
    frame = frame.sort_values(key, kind="stable")
    with atomic_path(csv) as tmp:
        frame.to_csv(tmp, index=False)


def run(protocol: str, models: list[str], horizons: list[int], seeds: list[int],
        overrides: list[str], csv: Path, run_root: Path, label: str | None = None,
        params: dict | None = None) -> None:
    """Compute and record every requested row; ``label`` names the rows in the CSV (default:
    the model; a tuned configuration gets its own), ``params`` are a baseline's
    (:func:`baseline_row`)."""
    for model in models:
        name = label or model
        for horizon in horizons:
            neural = model in neural_models(protocol)
            for seed in (seeds if neural else [0]):
                print(f"[{time.strftime('%H:%M:%S')}] {protocol} {name} H={horizon} "
                      f"seed={seed}", flush=True)
                if neural:
                    row = neural_row(protocol, model, horizon, seed, overrides,
                                     run_root / name if label else run_root)
                else:
                    row = baseline_row(protocol, model, horizon, params)
                row = {"protocol": protocol, "model": name, "horizon": horizon,
                       "seed": seed,
                       "overrides": " ".join(overrides) if neural else "", **row,
                       "machine": f"{platform.processor() or platform.machine()}, "
                                  f"{torch.get_num_threads()} threads",
                       "torch": torch.__version__}
                append_row(csv, row)
                shown = {k: row[k] for k in (*PROTOCOL[protocol]["metrics"], "train_s")}
                print(f"    {shown}", flush=True)


# --------------------------------------------------------------------------- report
def select_variants(frame: pd.DataFrame) -> pd.DataFrame:
    """Per protocol, model and horizon, the rows of the override variant with the lowest
    mean validation loss (model selection on validation only; baselines have one variant)."""
    # object first: a column read back all empty is float, which "" may not fill
    frame = frame.assign(overrides=frame["overrides"].astype(object).fillna(""))
    if "val_loss" not in frame:
        frame["val_loss"] = np.nan
    key = ["protocol", "model", "horizon"]
    val = frame.groupby([*key, "overrides"], dropna=False)["val_loss"].mean().reset_index()
    val["rank"] = val.groupby(key)["val_loss"].rank(method="first", na_option="bottom")
    chosen = val[val["rank"] == 1][[*key, "overrides"]]
    return frame.merge(chosen, on=[*key, "overrides"])


def load_selected(csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row of ``csv`` (cost columns added, empty, while only baselines ran), and the
    rows of the variants :func:`select_variants` picks."""
    frame = pd.read_csv(csv)
    for column in ("params", "train_s", "energy_nj", "val_loss", "overrides"):
        if column not in frame:  # absent while only baselines ran
            frame[column] = np.nan
    return frame, select_variants(frame)


def horizon_average(rows: pd.DataFrame, protocol: str, column: str) -> pd.Series:
    """Per model, the tables' ``avg``: the mean over the protocol's horizons of ``column``'s
    mean over seeds at each horizon; NaN for a model not run at every horizon (or with no
    value at one, e.g. no energy estimate)."""
    means = rows.groupby(["model", "horizon"])[column].mean().unstack("horizon")
    means = means.reindex(columns=list(PROTOCOL[protocol]["horizons"]))
    return means.mean(axis=1).where(means.notna().all(axis=1))


def model_order(models, first: tuple[str, ...] = ()) -> list[str]:
    """``models`` in the tables' order: ``first``, the neural models, the baselines, then
    the rest."""
    models = list(models)
    order = list(dict.fromkeys(m for m in (*first, *neural_models(), *BASELINES)
                               if m in models))
    return order + sorted(set(models) - set(order))


def report(csv: Path, first: tuple[str, ...] = ()) -> str:
    """Markdown tables: one per protocol and metric, models as rows, horizons as columns,
    for the variant selected on validation loss; then every variant tried. ``first``: the
    models listed first, in that order."""
    frame, selected = load_selected(csv)
    parts = []
    for protocol, rows in selected.groupby("protocol"):
        for metric in PROTOCOL[protocol]["metrics"]:
            stats = rows.groupby(["model", "horizon"])[metric].agg(["mean", "std", "count"])

            def cell(s):
                if s["count"] > 1:
                    return f"{s['mean']:.3f} ± {s['std']:.3f} (n={int(s['count'])})"
                return f"{s['mean']:.3f}"

            table = stats.apply(cell, axis=1).unstack("horizon").fillna("")
            if stats["mean"].unstack("horizon").shape[1] == len(PROTOCOL[protocol]["horizons"]):
                # an average only over all horizons
                table["avg"] = horizon_average(rows, protocol, metric).map(
                    lambda v: "" if pd.isna(v) else f"{v:.3f}")
            cost = rows.groupby("model").agg(params_max_H=("params", "max"),
                                             train_s=("train_s", "mean"),
                                             energy_nj=("energy_nj", "mean"))
            table = table.join(cost)
            table = table.loc[model_order(table.index, first)]
            table["energy_nj"] = table["energy_nj"].map(
                lambda v: "" if pd.isna(v) else f"{v:.1f}")
            table["train_s"] = table["train_s"].map(lambda v: f"{v:.0f}")
            parts.append(f"### {protocol.upper()} {metric.upper()}\n\n"
                         + pipe_table(table.reset_index(), left=("model",)))
    tried = frame[frame["val_loss"].notna()].copy()
    if len(tried):
        metric_cols = [m for p in tried["protocol"].unique() for m in PROTOCOL[p]["metrics"]]
        cols = ["protocol", "model", "horizon", "seed", "overrides", "val_loss", *metric_cols,
                "epochs", "train_s"]
        tried = tried[cols].sort_values(["protocol", "model", "horizon", "val_loss"])
        for c in ["val_loss", *metric_cols]:
            tried[c] = tried[c].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        tried["overrides"] = tried["overrides"].fillna("").map(lambda o: f"`{o}`" if o else "")
        parts.append("### Every neural run (the lowest val_loss per model and horizon is "
                     "reported above)\n\n"
                     + pipe_table(tried, left=("protocol", "model", "overrides")))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- figures
def pareto_points(selected: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """One row per model of ``protocol``: its error (:data:`PARETO`) and ``energy_nj``,
    each the tables' ``avg`` over horizons (:func:`horizon_average`), in the tables' order.
    Models without an energy estimate keep an empty ``energy_nj`` (the figure names them)."""
    rows = selected[selected["protocol"] == protocol]
    metric = PARETO[protocol][0]
    points = pd.DataFrame({"energy_nj": horizon_average(rows, protocol, "energy_nj"),
                           metric: horizon_average(rows, protocol, metric)})
    return points.loc[model_order(points.index)].rename_axis("model").reset_index()


def write_figures(csv: Path, directory: Path, subtitle: str = FIGURE_SUBTITLE,
                  name: str = "pareto_{protocol}.png") -> list[Path]:
    """Draw ``<directory>/pareto_<protocol>.png`` for every protocol in ``csv``: each
    model's error against its estimated energy per forecast window, the Pareto front marked
    (:func:`spikecast.plotting.plot_pareto`). Reads the CSV only; runs nothing.
    ``subtitle`` may use ``{horizons}``, ``name`` ``{protocol}``. Returns the paths written."""
    from spikecast.plotting import plot_pareto

    _, selected = load_selected(csv)
    order = [*neural_models(), *BASELINES]  # the same colour for a model in every figure
    paths = []
    for protocol in sorted(set(selected["protocol"]) & set(PARETO)):
        metric, ylabel = PARETO[protocol]
        horizons = ", ".join(str(h) for h in PROTOCOL[protocol]["horizons"])
        path = directory / name.format(protocol=protocol)
        plot_pareto(pareto_points(selected, protocol), y=metric, path=path, ylabel=ylabel,
                    title=f"ETTh1 {protocol.upper()}: test {metric.upper()} against "
                          "estimated energy per forecast",
                    subtitle=subtitle.format(horizons=horizons), order=order)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command line: ``p1`` / ``p2`` compute rows, ``report`` prints the tables (and, with
    ``--figures [DIR]``, writes the Pareto figures there, default ``docs/``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("protocol", choices=["p1", "p2", "report"])
    parser.add_argument("--models", nargs="+", default=[*neural_models(), *BASELINES])
    parser.add_argument("--horizons", nargs="+", type=int)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--csv", type=Path, default=REPO / "docs" / "results.csv")
    parser.add_argument("--run-root", type=Path, default=REPO / "outputs" / "results")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--figures", type=Path, nargs="?", const=REPO / "docs", default=None)
    parser.add_argument("--subtitle", default=FIGURE_SUBTITLE)
    parser.add_argument("--label", default=None,
                        help="the name of the rows in the CSV (default: the model's)")
    parser.add_argument("--params", type=json.loads, default=None,
                        help="a baseline's parameters as JSON, over its fixed choices")
    args, overrides = parser.parse_known_args(argv)
    args.run_root = args.run_root.resolve()  # runs chdir into their run directory
    if args.protocol == "report":
        print(report(args.csv))
        if args.figures is not None:
            for path in write_figures(args.csv, args.figures, args.subtitle):
                print(f"wrote {path}", file=sys.stderr)
        return
    valid = [*neural_models(args.protocol), *BASELINES]
    unknown = [m for m in args.models if m not in valid]
    if unknown:
        parser.error(f"unknown models {unknown}; valid: {valid}")
    torch.set_num_threads(args.threads)
    run(args.protocol, args.models, args.horizons or list(PROTOCOL[args.protocol]["horizons"]),
        args.seeds, overrides, args.csv, args.run_root, args.label, args.params)


if __name__ == "__main__":
    main()

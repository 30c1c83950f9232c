"""Scale benchmark: memory and time of NeuralForecaster on a long series and a wide panel.

Two scenarios, each in its own subprocess so that its peak resident memory is its own:

``series``
    One epoch of ``NeuralForecaster`` on a synthetic 1,000,000-row x 8-column hourly series
    (float64, 64 MB), then a forecast. Training windows are built lazily by index
    (:class:`~spikecast.data.windows.WindowDataModule` keeps the scaled series once as float32
    and one ``(series, start)`` pair per window), so memory grows with ``rows x columns``,
    not with ``rows x lookback``. The report compares the peak RSS increase with the size of
    the data and with what materialising every window would take.
``panel``
    One global model fitted on a long-format panel (``unique_id, ds, y``) of 1,000 series,
    then forecasts for all of them in long form.

Peak RSS is sampled from ``/proc/self/statm`` every 20 ms by a thread (per phase) and
cross-checked with ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the whole process).

Usage::

    python benchmarks/scale.py                      # both scenarios, markdown to stdout
    python benchmarks/scale.py --part series --json out.json
    python benchmarks/scale.py --rows 100000 --n-series 100   # a quick smoke run

Settings default to what docs/scale.md reports: ``ts_lif`` with ``channel_independent=False``
(one sequence per window instead of one per column, which is what makes a full epoch over a
million windows affordable on two CPU cores), lookback 96, horizon 24, hidden size 8,
batch size 4096, stride 1, no validation split (``val_size=0``), one epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time

import numpy as np

_PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024  # MiB


def rss_bytes() -> int:
    """Current resident set size of this process, from ``/proc/self/statm``."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakSampler:
    """Samples the RSS in a background thread; ``peak`` is the largest value seen."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def synthetic_wide(rows: int, cols: int, seed: int = 0):
    """An hourly frame: daily and weekly cycles at column-specific phases, plus noise."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)[:, None]
    phase = np.arange(cols)[None, :]
    values = (np.sin(2 * np.pi * t / 24 + phase) + 0.5 * np.sin(2 * np.pi * t / 168 + 2 * phase)
              + 0.1 * rng.standard_normal((rows, cols)))
    index = pd.date_range("2000-01-01", periods=rows, freq="h")
    return pd.DataFrame(values, index=index, columns=[f"x{i}" for i in range(cols)])


def synthetic_long(n_series: int, length: int, seed: int = 0):
    """A long frame ``unique_id, ds, y`` of ``n_series`` daily series of ``length`` rows."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    level = rng.uniform(1, 100, n_series)[:, None]
    amp = rng.uniform(0.1, 10, n_series)[:, None]
    values = level + amp * np.sin(2 * np.pi * t[None, :] / 7 + rng.uniform(0, 6, (n_series, 1)))
    values += 0.1 * amp * rng.standard_normal((n_series, length))
    ds = pd.date_range("2020-01-01", periods=length, freq="D")
    return pd.DataFrame({
        "unique_id": np.repeat([f"s{i:04d}" for i in range(n_series)], length),
        "ds": np.tile(ds.to_numpy(), n_series),
        "y": values.ravel(),
    })


def _forecaster(args, **overrides):
    from spikecast import NeuralForecaster

    params = dict(encoder=args.encoder, neuron=args.neuron, readout=args.readout,
                  lookback=args.lookback, horizon=args.horizon, hidden_size=args.hidden_size,
                  channel_independent=args.channel_independent,
                  max_epochs=1, batch_size=args.batch_size, stride=args.stride, val_size=0,
                  early_stopping_patience=None, accelerator="cpu", devices=1,
                  random_state=0, verbose=False)
    if args.max_steps:
        params["trainer_kwargs"] = {"max_steps": args.max_steps}
    params.update(overrides)
    return NeuralForecaster(**params)


def _stored_bytes(panel, args) -> dict:
    """What the lazy data module holds: the scaled series and the window index."""
    from spikecast.data.windows import WindowDataModule

    dm = WindowDataModule(panel, lookback=args.lookback, horizon=args.horizon, val_size=0,
                          stride=args.stride, batch_size=args.batch_size)
    dm.setup()
    series = sum(s.numel() * s.element_size() for s in dm.series)
    index = sum(w.numel() * w.element_size() for w in dm.windows.values())
    return {"n_windows": dm.num_windows("train"), "series_bytes": series,
            "window_index_bytes": index}


def _fit_and_predict(model, y, out: dict):
    """Fit and forecast, recording the wall time and peak RSS of each into ``out``."""
    with PeakSampler() as fit_peak:
        t0 = time.perf_counter()
        model.fit(y)
        out["fit_seconds"] = time.perf_counter() - t0
    out["rss_peak_fit"] = fit_peak.peak
    with PeakSampler() as predict_peak:
        t0 = time.perf_counter()
        forecast = model.predict()
        out["predict_seconds"] = time.perf_counter() - t0
    out["rss_peak_predict"] = predict_peak.peak
    return forecast


def run_series(args) -> dict:
    """Scenario ``series``: one epoch on ``rows x cols``, then a forecast."""
    import torch

    torch.set_num_threads(args.threads)
    out = {"scenario": "series", "rows": args.rows, "cols": args.cols,
           "rss_after_imports": rss_bytes()}
    t0 = time.perf_counter()
    y = synthetic_wide(args.rows, args.cols)
    out["data_seconds"] = time.perf_counter() - t0
    out["data_bytes"] = int(y.memory_usage(index=False).sum())
    out["rss_after_data"] = rss_bytes()
    model = _forecaster(args)
    forecast = _fit_and_predict(model, y, out)
    assert forecast.shape == (args.horizon, args.cols) and np.isfinite(forecast).all().all()
    out["ru_maxrss"] = max_rss_bytes()
    out["n_epochs"] = model.n_epochs_
    out.update(_stored_bytes(model.train_panel_, args))
    span = args.lookback + args.horizon
    out["materialised_bytes"] = out["n_windows"] * span * args.cols * 4  # float32 x and y
    return out


def run_panel(args) -> dict:
    """Scenario ``panel``: one global model on ``n_series`` long-format series."""
    import torch

    torch.set_num_threads(args.threads)
    out = {"scenario": "panel", "n_series": args.n_series, "series_length": args.series_length,
           "rss_after_imports": rss_bytes()}
    y = synthetic_long(args.n_series, args.series_length)
    out["data_bytes"] = int(y.memory_usage(index=False, deep=True).sum())
    out["rss_after_data"] = rss_bytes()
    model = _forecaster(args, lookback=args.panel_lookback, horizon=args.panel_horizon,
                        channel_independent=True)
    forecast = _fit_and_predict(model, y, out)
    out["ru_maxrss"] = max_rss_bytes()
    ids = forecast["unique_id"].unique()
    assert len(ids) == args.n_series and len(forecast) == args.n_series * args.panel_horizon
    assert np.isfinite(forecast["y"]).all()
    out["forecast_rows"] = len(forecast)
    out["n_windows"] = _stored_bytes(model.train_panel_, argparse.Namespace(
        **{**vars(args), "lookback": args.panel_lookback,
           "horizon": args.panel_horizon}))["n_windows"]
    return out


def machine() -> dict:
    """CPU model and count, memory, Python / torch versions, and the load when measured."""
    import torch

    import spikecast

    info: dict[str, object] = {
        "python": platform.python_version(), "torch": torch.__version__,
        "spikecast": os.path.dirname(spikecast.__file__),
        "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as handle:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in handle
                               if line.startswith("model name"))
        with open("/proc/meminfo") as handle:
            kib = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
        info["memory_gib"] = round(kib / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    return info


def _markdown(results: list[dict], args) -> str:
    lines = ["| scenario | data | windows | fit (s) | predict (s) | RSS after imports | "
             "RSS with data | peak RSS (fit) | peak RSS increase over imports | "
             "lazy store | materialised windows |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["scenario"] == "series":
            data = f"{r['rows']:,} x {r['cols']} ({r['data_bytes'] / MB:.0f} MiB)"
            store = f"{(r['series_bytes'] + r['window_index_bytes']) / MB:.0f} MiB"
            mat = f"{r['materialised_bytes'] / MB:,.0f} MiB"
        else:
            data = (f"{r['n_series']:,} series x {r['series_length']} "
                    f"({r['data_bytes'] / MB:.0f} MiB long frame)")
            store, mat = "-", "-"
        lines.append(
            f"| {r['scenario']} | {data} | {r['n_windows']:,} | {r['fit_seconds']:.1f} | "
            f"{r['predict_seconds']:.2f} | {r['rss_after_imports'] / MB:.0f} MiB | "
            f"{r['rss_after_data'] / MB:.0f} MiB | {r['rss_peak_fit'] / MB:.0f} MiB | "
            f"{(r['rss_peak_fit'] - r['rss_after_imports']) / MB:.0f} MiB | {store} | {mat} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the scenarios (each in a subprocess) and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["series", "panel", "all"], default="all")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--encoder", default="stack")
    parser.add_argument("--neuron", default="ts_lif")
    parser.add_argument("--readout", default="last",
                        help="the readout measured in docs/scale.md (spikecast 0.1's head)")
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--hidden-size", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--channel-independent", action="store_true",
                        help="one sequence per column (8x the work of the default)")
    parser.add_argument("--max-steps", type=int, default=0,
                        help="stop after this many batches (0: the full epoch)")
    parser.add_argument("--n-series", type=int, default=1000)
    parser.add_argument("--series-length", type=int, default=500)
    parser.add_argument("--panel-lookback", type=int, default=48)
    parser.add_argument("--panel-horizon", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--worker", choices=["series", "panel"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        import warnings

        warnings.filterwarnings("ignore", module="lightning")
        result = run_series(args) if args.worker == "series" else run_panel(args)
        print("RESULT " + json.dumps(result))
        return 0

    parts = ["series", "panel"] if args.part == "all" else [args.part]
    forwarded = []
    for key, value in vars(args).items():
        if key in ("part", "json", "worker") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        forwarded += [flag] if value is True else [flag, str(value)]
    results = []
    for part in parts:
        proc = subprocess.run([sys.executable, __file__, "--worker", part, *forwarded],
                              capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            return proc.returncode or 1
        results.append(json.loads(lines[-1][len("RESULT "):]))
        print(f"{part}: done", file=sys.stderr)
    info = machine()
    print(f"machine: {json.dumps(info)}")
    print(_markdown(results, args))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "results": results, "argv": sys.argv[1:]}, handle,
                      indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

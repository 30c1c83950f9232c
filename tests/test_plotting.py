"""Plots: headless figures, valid PNG files written atomically."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from spikecast.backtest import backtest, compare
from spikecast.baselines import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster
from spikecast.exceptions import DataValidationError
from spikecast.experiment.report import ranked_table, write_outputs
from spikecast.plotting import (
    model_colors,
    plot_backtest,
    plot_backtest_errors,
    plot_forecast,
    save_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
H = 12


def assert_png(path, min_width=300):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[1] >= min_width
    assert image.std() > 0  # something was drawn
    leftovers = [p for p in os.listdir(path.parent) if p.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture
def ett(etth1_full) -> pd.DataFrame:
    return etth1_full.iloc[:240][["HUFL", "OT"]].copy()


def test_plot_forecast_several_models_with_intervals(ett, tmp_path):
    train = ett.iloc[:-H]
    naive = NaiveForecaster(horizon=H).fit(train).predict()
    seasonal = SeasonalNaiveForecaster(horizon=H, season_length=24).fit(train).predict()
    intervals = {"naive": (naive - 2.0, naive + 2.0)}
    path = tmp_path / "plots" / "forecast.png"  # the directory is created
    fig = plot_forecast(ett, {"naive": naive, "seasonal naive": seasonal},
                        intervals=intervals, path=path, history=96, title="ETTh1")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 and [ax.get_title(loc="left") for ax in fig.axes] == ["HUFL", "OT"]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["actual", "naive interval", "naive", "seasonal naive"]
    assert_png(path)


def test_plot_forecast_other_forms(ett, tmp_path):
    y = ett["OT"]
    f = DriftForecaster(horizon=H).fit(y.iloc[:-H]).predict()
    fig = plot_forecast(y, f, intervals=(f - 1, f + 1), path=tmp_path / "series.png")
    assert len(fig.axes) == 1
    assert_png(tmp_path / "series.png")
    # arrays: the forecast continues the actuals' positions
    arr = ett.to_numpy()
    fa = NaiveForecaster(horizon=H).fit(arr).predict()
    fig = plot_forecast(arr, fa)
    line = fig.axes[0].get_lines()[1]
    assert line.get_xdata()[0] == len(arr)
    # long data: a panel per series
    long = pd.concat([pd.DataFrame({"unique_id": c, "ds": ett.index, "y": ett[c].to_numpy()})
                      for c in ett.columns], ignore_index=True)
    fl = NaiveForecaster(horizon=H).fit(long).predict()
    fig = plot_forecast(long, {"naive": fl}, path=tmp_path / "long.png")
    assert len(fig.axes) == 2
    assert_png(tmp_path / "long.png")
    with pytest.raises(DataValidationError, match="not in forecasts"):
        plot_forecast(y, {"a": f}, intervals={"b": (f, f)})


def test_plot_backtest_errors(ett, tmp_path):
    result = compare({"naive": NaiveForecaster(horizon=H),
                      "seasonal": SeasonalNaiveForecaster(horizon=H, season_length=24)},
                     ett, start=120, stride=12, progress=False)
    path = tmp_path / "errors.png"
    fig = plot_backtest_errors(result, metric="rmse", path=path)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["naive", "seasonal"]
    assert list(ax.get_lines()[0].get_xdata()) == list(range(1, H + 1))
    assert ax.get_ylabel() == "RMSE"
    assert_png(path)
    single = backtest(NaiveForecaster(horizon=H), ett, start=120, stride=12, progress=False)
    fig = plot_backtest_errors(single, path=tmp_path / "single.png")
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["NaiveForecaster"]
    assert_png(tmp_path / "single.png")
    with pytest.raises(DataValidationError, match="step"):
        plot_backtest_errors(ett)


# ------------------------------------------------- matching forecasts to the actuals
def test_plot_forecast_matches_a_single_series_whatever_its_name(ett, tmp_path):
    """A Series named ``y_pred`` next to actuals named ``load``: drawn, not dropped."""
    y = ett["OT"].rename("load")
    f = NaiveForecaster(horizon=H).fit(y.iloc[:-H]).predict().rename("y_pred")
    for forecasts in (f, {"naive": f}):
        fig = plot_forecast(y, forecasts, intervals=(f - 1, f + 1), path=tmp_path / "m.png")
        ax = fig.axes[0]
        drawn = ax.get_lines()[1]
        assert drawn.get_label() in ("forecast", "naive")
        assert list(drawn.get_xdata()) == list(f.index) and len(ax.collections) == 1
        assert ax.get_ylabel() == "load" and ax.get_xlabel() == "date"
        assert_png(tmp_path / "m.png")


def test_plot_forecast_names_the_unmatched_forecast(ett, tmp_path):
    f = NaiveForecaster(horizon=H).fit(ett["OT"].iloc[:-H]).predict().rename("y_pred")
    path = tmp_path / "none.png"
    with pytest.raises(DataValidationError, match=r"\['y_pred'\].*\['HUFL', 'OT'\]"):
        plot_forecast(ett, {"naive": f}, path=path)
    with pytest.raises(DataValidationError, match="forecasts\\['naive'\\]"):
        plot_forecast(ett, {"naive": f}, path=path)
    long = pd.DataFrame({"unique_id": "other", "ds": f.index, "y": f.to_numpy()})
    with pytest.raises(DataValidationError, match="'other'"):
        plot_forecast(ett, long, path=path)
    assert not path.exists() and os.listdir(tmp_path) == []  # nothing half-written


# -------------------------------------------------------------------- plot_backtest
@pytest.fixture
def comparison(ett):
    models = {"naive": NaiveForecaster(horizon=H), "drift": DriftForecaster(horizon=H),
              "seasonal": SeasonalNaiveForecaster(horizon=H, season_length=24)}
    return compare(models, ett, metrics=("mae", "mase"), season_length=24, start=120,
                   stride=24, progress=False)


def segments(ax) -> dict[str, list]:
    """``{model: [first forecast time of each segment]}`` from an Axes' lines."""
    out: dict[str, list] = {}
    for line in ax.get_lines():
        if line.get_label() not in ("actual", "_cutoff"):
            out.setdefault(line.get_label(), []).append(pd.Timestamp(line.get_xdata()[0]))
    return out


def legend_labels(fig) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()]


def test_plot_backtest_every_model_every_cutoff(comparison, ett, tmp_path):
    preds = comparison.predictions
    cutoffs = sorted(pd.unique(preds["cutoff"]))
    assert len(cutoffs) > 2
    path = tmp_path / "backtest.png"
    fig = plot_backtest(comparison, ett, path=path, title="ETTh1")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["HUFL", "OT"]
    first_ds = sorted(preds.groupby("cutoff")["ds"].min())
    for ax in fig.axes:
        drawn = segments(ax)
        assert set(drawn) == {"naive", "drift", "seasonal"}
        assert all(sorted(starts) == first_ds for starts in drawn.values())
        assert len([ln for ln in ax.get_lines() if ln.get_label() == "_cutoff"]) == len(cutoffs)
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert fig.axes[-1].get_xlabel() == "date" and fig.axes[0].get_ylabel() == "HUFL"
    assert legend_labels(fig) == ["actual", "naive", "drift", "seasonal"]  # first appearance
    assert "3 models" in " ".join(t.get_text() for t in fig.texts)
    assert fig.get_suptitle() == "ETTh1"
    assert_png(path)
    # the actuals from the table itself, one model without a 'model' column
    single = backtest(NaiveForecaster(horizon=H), ett, start=120, stride=24, progress=False)
    fig = plot_backtest(single)
    assert set(segments(fig.axes[0])) == {"NaiveForecaster"}


def test_plot_backtest_intervals_and_series_cap(comparison, ett):
    preds = comparison.predictions.copy()
    for q, shift in ((0.1, -2.0), (0.25, -1.0), (0.5, 0.0), (0.75, 1.0), (0.9, 2.0)):
        preds[f"y_pred_q{q:g}"] = preds["y_pred"] + shift
    fig = plot_backtest(preds, ett, max_series=1)
    assert len(fig.axes) == 1  # the cap, said in the figure
    assert "showing the first 1 of 2 series" in " ".join(t.get_text() for t in fig.texts)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    n_cutoffs = preds["cutoff"].nunique()
    assert len(bands) == 3 * n_cutoffs
    lows = [path.vertices[:, 1].min() for path in (b.get_paths()[0] for b in bands)]
    rows = preds[preds["unique_id"] == "HUFL"]
    assert min(lows) == pytest.approx(rows["y_pred_q0.1"].min())  # the outermost pair
    assert "shaded: 80% interval (q0.1-q0.9)" in legend_labels(fig)


def test_plot_backtest_rejects_bad_input(ett, comparison, tmp_path):
    path = tmp_path / "x.png"
    with pytest.raises(DataValidationError, match="backtest table"):
        plot_backtest(ett, path=path)
    with pytest.raises(DataValidationError, match=r"\['HUFL'\].*\['OT'\]"):
        plot_backtest(comparison, ett[["OT"]], path=path)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- colours and order
def test_model_colors_are_tab10_then_tab20():
    colors = model_colors([f"m{k}" for k in range(12)])
    assert list(colors.values())[:10] == [to_hex(f"C{k}") for k in range(10)]
    assert len(set(colors.values())) == 12
    assert model_colors(["b", "a", "b"]) == {"b": to_hex("C0"), "a": to_hex("C1")}
    assert model_colors(["a", "b"]) == model_colors(["a", "b"])  # stable


def line_colors(fig) -> dict[str, str]:
    return {ln.get_label(): to_hex(ln.get_color()) for ax in fig.axes for ln in ax.get_lines()
            if ln.get_label() not in ("actual", "_cutoff")}


def test_same_colour_and_rank_order_in_every_figure(comparison, ett, tmp_path, monkeypatch):
    """write_outputs: every model in forecast.png and backtest.png, one colour per model
    in all three figures, legends in rank order."""
    import spikecast.plotting as plotting

    figures = {}
    save = plotting.save_figure

    def keep(fig, path, dpi=100):
        figures[path.name] = fig
        return save(fig, path, dpi)

    monkeypatch.setattr(plotting, "save_figure", keep)
    table = ranked_table(comparison, metrics=("mae", "mase"))
    order = list(table["model"])
    assert order != ["naive", "drift", "seasonal"]  # the rank order is not the input order
    paths = write_outputs(tmp_path / "out", table, comparison.predictions, ett, title="ETTh1")
    assert {p.name for p in paths.values()} >= {"forecast.png", "backtest.png",
                                                 "errors_by_step.png"}
    assert sorted(figures) == ["backtest.png", "errors_by_step.png", "forecast.png"]
    expected = {m: c for m, c in model_colors(order).items()}
    for name, fig in figures.items():
        assert line_colors(fig) == expected, name
        assert [t for t in legend_labels(fig) if t != "actual"] == order, name
        assert "::" not in fig.get_suptitle() + fig.axes[0].get_title()
        assert_png(paths[{"backtest.png": "backtest", "forecast.png": "forecast",
                          "errors_by_step.png": "errors"}[name]])
    assert figures["forecast.png"].get_suptitle() == "ETTh1: forecasts from the last cutoff"
    # the same colours from the plot functions given the order
    for fig in (plot_forecast(ett, {m: ett.iloc[-H:] for m in reversed(order)}, order=order),
                plot_backtest(comparison, ett, order=order),
                plot_backtest_errors(comparison, order=order)):
        assert line_colors(fig) == expected
        assert legend_labels(fig)[-len(order):] == order


def test_write_outputs_says_which_models_are_left_out(comparison, ett, tmp_path, monkeypatch):
    import spikecast.plotting as plotting

    figures = {}
    save = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure",
                        lambda fig, path, dpi=100: figures.setdefault(path.name, fig)
                        and save(fig, path, dpi))
    table = ranked_table(comparison, metrics=("mae", "mase"))
    order = list(table["model"])
    preds = comparison.predictions.copy()
    last = preds["cutoff"] == preds["cutoff"].max()
    preds = preds[~(last & (preds["model"] == order[0]))]  # no forecast there
    write_outputs(tmp_path, table, preds, ett, plot_models=2)
    fig = figures["forecast.png"]
    note = " ".join(t.get_text() for t in fig.texts)
    assert f"{order[0]} (no forecast from the last cutoff)" in note
    assert f"{order[2]} (only the 2 best models are plotted" in note
    assert set(line_colors(fig)) == {order[1]}


def test_write_outputs_leaves_nothing_half_written(comparison, ett, tmp_path, monkeypatch):
    """A figure that fails mid-write leaves no temporary file, no partial PNG and, since the
    outputs are prepared in a temporary folder and moved into place together, none of the
    files written before it."""
    table = ranked_table(comparison, metrics=("mae", "mase"))

    def broken(self, fname, **kwargs):
        with open(fname, "wb") as fh:
            fh.write(PNG_SIGNATURE)  # half a file
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(tmp_path, table, comparison.predictions, ett)
    assert os.listdir(tmp_path) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    fig = Figure()
    fig.subplots().plot([1, 2, 3])
    path = save_figure(fig, tmp_path / "a.png")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.png"]


def test_headless_without_pyplot_or_display(tmp_path):
    """Plotting works with no display and never imports pyplot (no global figure state)."""
    code = (
        "import sys, pandas as pd\n"
        "from spikecast.plotting import plot_forecast\n"
        "y = pd.Series([1.0, 2.0, 3.0])\n"
        "plot_forecast(y, pd.Series([4.0], index=[3]), path=sys.argv[1])\n"
        "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'no pyplot')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.png")], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "no pyplot"
    assert_png(tmp_path / "x.png", min_width=100)


def test_docstrings():
    import spikecast.plotting as P

    assert all(getattr(P, n).__doc__ for n in P.__all__)


# ----------------------------------------------------------------------------- Pareto
def pareto_frame() -> pd.DataFrame:
    """Hand-made: a and c are on the front, e cheapest; b and g are dominated (by a), d ties
    c exactly (both on it), f has no energy estimate and h no error."""
    return pd.DataFrame({
        "model": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "energy_nj": [10.0, 20.0, 300.0, 300.0, 5.0, float("nan"), 20.0, 40.0],
        "mse": [0.50, 0.60, 0.40, 0.40, 0.90, 0.10, 0.50, float("nan")],
    })


def test_pareto_front_on_a_hand_made_frame():
    from spikecast.plotting import pareto_front

    front = pareto_front(pareto_frame())
    assert front.dtype == bool and list(front.index) == list(range(8))
    assert list(pareto_frame()["model"][front]) == ["a", "c", "d", "e"]
    # f's error (0.10) would dominate everything: without an energy it dominates nothing
    assert not front[5] and not front[7]
    # the other columns and a higher-is-worse axis other than energy
    other = pd.DataFrame({"cost": [1, 2, 3], "mae": [3.0, 1.0, 2.0]})
    assert pareto_front(other, x="cost", y="mae").tolist() == [True, True, False]


def point_gids(fig) -> list[str]:
    return [c.get_gid() for c in fig.axes[0].collections if c.get_gid()]


def test_plot_pareto_points_front_labels_and_png(tmp_path):
    from spikecast.plotting import ENERGY_LABEL, plot_pareto

    frame = pareto_frame()
    path = tmp_path / "docs" / "pareto.png"
    fig = plot_pareto(frame, path=path, title="P1", subtitle="untuned", order=list("hgfedcba"))
    ax = fig.axes[0]
    assert point_gids(fig) == ["a", "b", "c", "d", "e", "g"]  # one point per model shown
    assert ax.get_xscale() == "log" and ax.get_xlabel() == ENERGY_LABEL
    assert ax.get_ylabel() == "test MSE (standardised)"
    assert fig.get_suptitle() == "P1" and ax.get_title() == "untuned"
    # the front: a step line from the cheapest front point to the most accurate one
    (step,) = [line for line in ax.get_lines() if line.get_label().startswith("Pareto")]
    assert list(step.get_xdata()) == [5.0, 10.0, 300.0, 300.0]
    assert list(step.get_ydata()) == [0.90, 0.50, 0.40, 0.40]
    # every point named, the front's names in bold
    names = {t.get_text(): t.get_fontweight() for t in ax.texts}
    assert set(names) == {"a", "b", "c", "d", "e", "g"}
    assert {n for n, w in names.items() if w == "bold"} == {"a", "c", "d", "e"}
    # the models left out are named, with why; nothing is made up for them
    note = fig._supxlabel.get_text()
    assert "f 0.100" in note and "no energy estimate" in note
    assert "not shown, no mse: h" in note
    # colours: model_colors of the order given, over every model (shown or not)
    palette = model_colors(list("hgfedcba"))
    for collection in ax.collections:
        if collection.get_gid():
            assert to_hex(collection.get_facecolor()[0]) == palette[collection.get_gid()]
    assert_png(path)


def test_plot_pareto_names_do_not_overlap():
    """A tight cluster (two models at the same energy, errors 0.002 apart) and a far one:
    no two names overlap each other or a point."""
    from spikecast.plotting import plot_pareto

    frame = pd.DataFrame({"model": ["lif", "plif", "da_lif", "tc_lif", "liaf", "gru", "lstm"],
                          "energy_nj": [694.7, 694.66, 698.5, 701.0, 1930.0, 2.7e5, 3.6e5],
                          "rse": [0.873, 0.871, 0.838, 0.819, 0.801, 0.618, 0.605]})
    fig = plot_pareto(frame, y="rse")
    fig.draw_without_rendering()
    boxes = [t.get_window_extent() for t in fig.axes[0].texts]
    assert len(boxes) == 7
    for i, a in enumerate(boxes):
        assert all(not a.overlaps(b) for b in boxes[i + 1:])
        assert fig.axes[0].get_window_extent().contains(a.x0, a.y0)


def test_plot_pareto_rejects_bad_frames():
    from spikecast.plotting import plot_pareto

    frame = pareto_frame()
    with pytest.raises(DataValidationError, match="several rows"):
        plot_pareto(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(DataValidationError, match="no column"):
        plot_pareto(frame, y="rse")


def test_results_script_writes_the_figures_from_the_csv_alone(tmp_path):
    """benchmarks/results.py: each model's point is the tables' avg over horizons; models
    with a missing horizon or no energy are left out; one PNG per protocol, nothing run."""
    from conftest import benchmark_script

    results = benchmark_script("results")
    rows = [{"protocol": "p1", "model": m, "horizon": h, "seed": s, "mse": base + h / 1000 + s,
             "energy_nj": energy, "val_loss": 1.0 if energy else float("nan")}
            for m, base, energy in (("gru", 0.4, 100.0), ("lif", 0.5, 10.0),
                                    ("naive", 1.3, None))
            for h in (96, 192, 336, 720) for s in ((0, 1) if energy else (0,))]
    rows += [{"protocol": "p2", "model": "lif", "horizon": h, "seed": 0, "rse": 0.8,
              "energy_nj": 5.0, "val_loss": 1.0} for h in (6, 24, 48)]  # H=96 missing
    csv = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    _, selected = results.load_selected(csv)
    points = results.pareto_points(selected, "p1").set_index("model")
    assert points.loc["gru", "mse"] == pytest.approx(0.4 + 0.336 + 0.5)  # seeds, then H
    assert points.loc["gru", "energy_nj"] == 100.0 and pd.isna(points.loc["naive", "energy_nj"])
    paths = results.write_figures(csv, tmp_path / "docs")
    assert [p.name for p in paths] == ["pareto_p1.png", "pareto_p2.png"]
    for path in paths:
        assert_png(path)

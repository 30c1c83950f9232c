"""Plots: headless figures, valid PNG files written atomically."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.figure import Figure

from spikecast.backtest import backtest, compare
from spikecast.baselines import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster
from spikecast.exceptions import DataValidationError
from spikecast.plotting import plot_backtest_errors, plot_forecast, save_figure

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

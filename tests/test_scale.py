"""Fast checks of the mechanisms that make spikecast scale (the measured figures are in
docs/scale.md, from benchmarks/scale.py): one global model over many long-format series,
and training windows that are indexed, never materialised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from spikecast import NeuralForecaster
from spikecast.baselines import LinearForecaster
from spikecast.data.frames import to_panel
from spikecast.data.windows import WindowDataModule, count_windows

N_SERIES, LENGTH, H = 200, 30, 3


@pytest.fixture(scope="module")
def panel_frame() -> pd.DataFrame:
    """200 short daily series of different levels, scales, phases and start dates."""
    rng = np.random.default_rng(0)
    parts = []
    for i in range(N_SERIES):
        n = LENGTH + i % 7  # unequal lengths
        t = np.arange(n)
        y = rng.uniform(1, 50) + rng.uniform(0.5, 5) * np.sin(t / 2.0 + i)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=i % 11)
        parts.append(pd.DataFrame({"unique_id": f"id{i:03d}",
                                   "ds": pd.date_range(start, periods=n, freq="D"), "y": y}))
    return pd.concat(parts, ignore_index=True)


def _check_long_forecast(forecast: pd.DataFrame, data: pd.DataFrame) -> None:
    assert list(forecast.columns) == ["unique_id", "ds", "y"]
    assert len(forecast) == N_SERIES * H
    assert forecast["unique_id"].nunique() == N_SERIES
    assert np.isfinite(forecast["y"]).all()
    last = data.groupby("unique_id")["ds"].max()
    for uid, group in forecast.groupby("unique_id"):
        expected = pd.date_range(last[uid] + pd.Timedelta(days=1), periods=H, freq="D")
        assert list(group["ds"]) == list(expected), uid


def test_one_global_neural_model_forecasts_every_series(panel_frame):
    model = NeuralForecaster(encoder="gru", lookback=8, horizon=H, hidden_size=4,
                             max_epochs=1, batch_size=256, val_size=0, verbose=False)
    model.fit(panel_frame)
    assert model.n_series_ == N_SERIES and model.input_kind_ == "long"
    # one network for all series: its parameters do not grow with the number of series
    n_params = sum(p.numel() for p in model.module_.parameters())
    assert n_params < 1000
    _check_long_forecast(model.predict(), panel_frame)
    # new histories for a subset of the series: forecasts for exactly those ids
    subset = panel_frame[panel_frame["unique_id"].isin(["id007", "id150"])]
    assert sorted(model.predict(subset)["unique_id"].unique()) == ["id007", "id150"]


def test_one_global_linear_model_forecasts_every_series(panel_frame):
    model = LinearForecaster(horizon=H, lookback=8).fit(panel_frame)
    expected_windows = sum(count_windows(len(g), 8, H) for _, g in
                           panel_frame.groupby("unique_id"))
    assert model.n_windows_ == expected_windows  # windows of all series in one regression
    assert model.coef_.shape == (H, 8)
    _check_long_forecast(model.predict(), panel_frame)


def test_long_frame_becomes_one_array_per_series(panel_frame):
    panel = to_panel(panel_frame)
    assert panel.n_series == N_SERIES and panel.kind == "long"
    assert sum(panel.lengths()) == len(panel_frame)
    assert all(v.shape[1] == 1 and v.dtype == np.float64 for v in panel.values)


def test_windows_are_indexed_not_materialised():
    rows, cols, lookback, horizon = 200_000, 4, 512, 24
    t = np.arange(rows, dtype=np.float64)
    frame = pd.DataFrame({f"c{j}": np.sin(t / (50.0 + j)) for j in range(cols)})
    dm = WindowDataModule(frame, lookback=lookback, horizon=horizon, val_size=0.1,
                          test_size=0.1, batch_size=64)
    dm.setup()
    n_windows = sum(dm.num_windows(p) for p in ("train", "val", "test"))
    assert n_windows > 0.99 * (rows - lookback - horizon)
    # the scaled series is held once, as float32: rows x cols x 4 bytes
    series_bytes = sum(s.numel() * s.element_size() for s in dm.series)
    assert series_bytes == rows * cols * 4
    # plus one (series, start) pair of int64 per window
    index_bytes = sum(w.numel() * w.element_size() for w in dm.windows.values())
    assert index_bytes == n_windows * 2 * 8
    materialised = n_windows * (lookback + horizon) * cols * 4
    assert series_bytes + index_bytes < materialised / 100
    # a window is a view into the stored series, not a copy
    dataset = dm._dataset("train")
    x, y = dataset[1234]
    assert x.shape == (lookback, cols) and y.shape == (horizon, cols)
    assert x.untyped_storage().data_ptr() == dm.series[0].untyped_storage().data_ptr()
    assert isinstance(dataset.series[0], torch.Tensor) and dataset.series is dm.series


def test_neural_fit_uses_the_lazy_module_for_its_training_windows():
    """The forecaster's data module is the lazy one: its stored bytes are rows x cols."""
    rows = 20_000
    frame = pd.DataFrame({"a": np.sin(np.arange(rows) / 9.0), "b": np.cos(np.arange(rows) / 4.0)})
    model = NeuralForecaster(encoder="gru", lookback=96, horizon=8, val_size=0,
                             verbose=False)
    model.columns_, model.target_columns_ = ["a", "b"], ["a", "b"]
    model.future_columns_ = []
    dm = model._data_module(to_panel(frame))
    dm.setup()
    assert isinstance(dm, WindowDataModule)
    assert sum(s.numel() * s.element_size() for s in dm.series) == rows * 2 * 4
    assert dm.num_windows("train") == count_windows(rows, 96, 8)

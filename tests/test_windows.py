"""WindowDataModule: window counts, lazy indexing, chronological splits, train-only scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikecast.data.windows import WindowDataModule, count_windows
from spikecast.exceptions import DataValidationError, InvalidParameterError


@pytest.mark.parametrize("length,lookback,horizon,stride", [(100, 10, 5, 1), (57, 8, 3, 2),
                                                            (20, 10, 10, 1), (19, 10, 10, 1)])
def test_count_windows_formula(length, lookback, horizon, stride):
    brute = sum(1 for s in range(0, length, stride) if s + lookback + horizon <= length)
    assert count_windows(length, lookback, horizon, stride) == brute


def test_window_counts_match_formula_per_part(etth1_small):
    n, L, H = len(etth1_small), 24, 6
    dm = WindowDataModule(etth1_small, lookback=L, horizon=H, val_size=0.2, test_size=0.1)
    dm.setup()
    n_val, n_test = round(n * 0.2), round(n * 0.1)
    train_end = n - n_val - n_test
    assert dm.num_windows("train") == count_windows(train_end, L, H)
    # validation / test windows start `lookback` rows early: one window per target start
    assert dm.num_windows("val") == n_val - H + 1
    assert dm.num_windows("test") == n_test - H + 1


def test_windows_are_the_right_rows_and_targets(etth1_small):
    L, H = 12, 4
    dm = WindowDataModule(etth1_small, lookback=L, horizon=H, target="OT", val_size=0.25,
                          scale=False, shuffle=False)
    dm.setup()
    ds = dm._dataset("val")
    x, y = ds[0]
    values = etth1_small.to_numpy()
    first_target = len(values) - round(len(values) * 0.25)
    np.testing.assert_allclose(x.numpy(), values[first_target - L:first_target], rtol=1e-6)
    np.testing.assert_allclose(y.numpy()[:, 0], values[first_target:first_target + H, 2],
                               rtol=1e-6)
    assert x.shape == (L, 3) and y.shape == (H, 1)


def test_scaler_uses_training_rows_only(etth1_small):
    dm = WindowDataModule(etth1_small, lookback=12, horizon=4, val_size=0.3)
    dm.setup()
    train_rows = len(etth1_small) - round(len(etth1_small) * 0.3)
    expected = etth1_small.to_numpy()[:train_rows]
    np.testing.assert_allclose(dm.scaler.mean_, expected.mean(axis=0))
    np.testing.assert_allclose(dm.scaler.scale_, expected.std(axis=0))


def test_memory_grows_with_length_not_length_times_lookback():
    frame = pd.DataFrame({"a": np.arange(50_000.0)})
    dm = WindowDataModule(frame, lookback=512, horizon=8, val_size=0.1)
    dm.setup()
    stored = sum(s.numel() * s.element_size() for s in dm.series)
    stored += sum(w.numel() * w.element_size() for w in dm.windows.values())
    # a materialised window tensor would need ~50k * 512 * 4 bytes = 100 MB
    assert stored < 50_000 * 4 * 8
    x, _ = dm._dataset("train")[123]
    expected = (np.arange(123, 123 + 512) - dm.scaler.mean_[0]) / dm.scaler.scale_[0]
    np.testing.assert_allclose(x[:, 0].numpy(), expected, rtol=1e-6)


def test_long_panel_windows_per_series():
    long = pd.DataFrame({
        "unique_id": ["a"] * 60 + ["b"] * 40,
        "ds": list(range(60)) + list(range(40)),
        "y": np.r_[np.sin(np.arange(60.0)), np.cos(np.arange(40.0))],
    })
    dm = WindowDataModule(long, lookback=8, horizon=2, val_size=0.2)
    dm.setup()
    expected = count_windows(60 - 12, 8, 2) + count_windows(40 - 8, 8, 2)
    assert dm.num_windows("train") == expected


def test_too_short_series_names_the_needed_length():
    frame = pd.DataFrame({"a": np.arange(20.0)})
    with pytest.raises(DataValidationError, match="at least"):
        WindowDataModule(frame, lookback=16, horizon=8, val_size=0.0).setup()


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_lookback_is_rejected(bad):
    with pytest.raises(InvalidParameterError, match="lookback"):
        WindowDataModule(pd.DataFrame({"a": np.arange(10.0)}), lookback=bad)


@pytest.mark.parametrize("protocol", ["p1", "p2"])
def test_protocol_splits_follow_the_split_helpers(protocol, etth1_full):
    """The data module's P1/P2 borders are those of spikecast.data.splits, so a model
    trained through the CLI is scored on exactly the protocol's test windows."""
    from spikecast.data import splits

    L, H = 96, 24
    dm = WindowDataModule(etth1_full, lookback=L, horizon=H, split=protocol)
    (split,) = dm.row_splits()
    borders = getattr(splits, f"{protocol}_borders")(len(etth1_full), L, horizon=H)
    if protocol == "p1":  # a frame carries no dataset name: the 0.7/0.1/0.2 ratios
        assert borders.train.stop == int(len(etth1_full) * 0.7)
    assert (split.train_end, split.val_end, split.test_end) == (
        borders.train.stop, borders.val.stop, borders.test.stop)
    # the first test target is the test border row
    dm.setup()
    first_test_start = int(dm.windows["test"][0, 1])
    assert first_test_start + L == borders.targets("test").start

"""Property-based tests (hypothesis) of the invariants of windowing, scaling, splitting,
backtest cutoffs and metrics that tests/test_windows.py, tests/test_splits.py and
tests/test_metrics.py do not already state for arbitrary inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spikecast import metrics as M
from spikecast.backtest import backtest
from spikecast.baselines import NaiveForecaster
from spikecast.data.splits import p2_borders, scale_by_train
from spikecast.data.windows import WindowDataModule, count_windows

SETTINGS = settings(max_examples=50, deadline=None)


# ------------------------------------------------------------------------------ windows
@SETTINGS
@given(st.integers(0, 500), st.integers(1, 50), st.integers(1, 20), st.integers(1, 10))
def test_count_windows_matches_enumeration(length, lookback, horizon, stride):
    brute = len(range(0, length - lookback - horizon + 1, stride))
    assert count_windows(length, lookback, horizon, stride) == brute


@st.composite
def window_setups(draw):
    lookback = draw(st.integers(1, 12))
    horizon = draw(st.integers(1, 6))
    n_val = draw(st.integers(0, 25))
    n_test = draw(st.integers(0, 25))
    n_train = draw(st.integers(lookback + horizon, lookback + horizon + 60))
    stride = draw(st.integers(1, 5))
    n_columns = draw(st.integers(1, 3))
    return lookback, horizon, n_train, n_val, n_test, stride, n_columns


def _module(setup, scale=False):
    lookback, horizon, n_train, n_val, n_test, stride, n_columns = setup
    n = n_train + n_val + n_test
    # column c holds row * 10 + c, so every value says which row and column it came from
    values = np.arange(n)[:, None] * 10.0 + np.arange(n_columns)[None, :]
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(n_columns)])
    dm = WindowDataModule(frame, lookback=lookback, horizon=horizon, val_size=n_val,
                          test_size=n_test, stride=stride, scale=scale, shuffle=False)
    dm.setup()
    return dm, values


@SETTINGS
@given(window_setups())
def test_window_counts_per_part(setup):
    lookback, horizon, n_train, n_val, n_test, stride, _ = setup
    dm, _ = _module(setup)
    assert dm.num_windows("train") == count_windows(n_train, lookback, horizon, stride)
    # validation / test windows start `lookback` rows early: one per full target span
    assert dm.num_windows("val") == max(0, n_val - horizon + 1)
    assert dm.num_windows("test") == max(0, n_test - horizon + 1)


@SETTINGS
@given(window_setups())
def test_every_target_follows_its_input_inside_its_part(setup):
    lookback, horizon, n_train, n_val, n_test, stride, n_columns = setup
    dm, values = _module(setup)
    borders = {"train": (0, n_train), "val": (n_train, n_train + n_val),
               "test": (n_train + n_val, n_train + n_val + n_test)}
    for part, (first, end) in borders.items():
        ds = dm._dataset(part)
        starts = []
        for i in range(len(ds)):
            x, y = ds[i]
            rows_x = x[:, 0].numpy() / 10.0
            rows_y = y[:, 0].numpy() / 10.0
            start = int(rows_x[0])
            starts.append(start)
            # contiguous input, target right after it: no gap, no overlap
            np.testing.assert_array_equal(rows_x, np.arange(start, start + lookback))
            np.testing.assert_array_equal(rows_y, np.arange(start + lookback,
                                                            start + lookback + horizon))
            # every column comes from the same rows
            np.testing.assert_array_equal(x.numpy(), values[start:start + lookback])
            # targets never cross the part's borders (inputs may reach back before them)
            assert first <= rows_y[0] and rows_y[-1] < end
        if part == "train":
            assert np.all(np.diff(starts) == stride)
        elif starts:
            assert starts[0] + lookback == first and np.all(np.diff(starts) == 1)


@SETTINGS
@given(window_setups())
def test_scaler_sees_training_rows_only(setup):
    _, _, n_train, _, _, _, _ = setup
    dm, values = _module(setup, scale=True)
    np.testing.assert_allclose(dm.scaler.mean_, values[:n_train].mean(axis=0))
    np.testing.assert_allclose(dm.scaler.scale_, values[:n_train].std(axis=0))
    # changing the validation / test rows leaves the statistics as they are
    changed = values.copy()
    changed[n_train:] *= 1000.0
    frame = pd.DataFrame(changed, columns=[f"c{i}" for i in range(values.shape[1])])
    lookback, horizon, _, n_val, n_test, stride, _ = setup
    other = WindowDataModule(frame, lookback=lookback, horizon=horizon, val_size=n_val,
                             test_size=n_test, stride=stride, shuffle=False)
    other.setup()
    np.testing.assert_array_equal(other.scaler.mean_, dm.scaler.mean_)
    np.testing.assert_array_equal(other.scaler.scale_, dm.scaler.scale_)


@SETTINGS
@given(st.lists(st.integers(12, 60), min_size=1, max_size=4), st.integers(1, 5),
       st.integers(1, 4))
def test_long_panel_windows_stay_inside_their_series(lengths, lookback, horizon):
    parts = [pd.DataFrame({"unique_id": f"s{k}", "ds": np.arange(n),
                           "y": k * 1000.0 + np.arange(n)}) for k, n in enumerate(lengths)]
    dm = WindowDataModule(pd.concat(parts, ignore_index=True), lookback=lookback,
                          horizon=horizon, val_size=0, scale=False, shuffle=False)
    dm.setup()
    assert dm.num_windows("train") == sum(count_windows(n, lookback, horizon)
                                          for n in lengths)
    ds = dm._dataset("train")
    for i in range(len(ds)):
        x, y = ds[i]
        sid = int(ds.starts[i, 0])
        both = np.concatenate([x[:, 0].numpy(), y[:, 0].numpy()])
        assert np.all(both // 1000 == sid)  # one series only
        np.testing.assert_array_equal(np.diff(both), 1.0)


# ------------------------------------------------------------------------------ splits
@SETTINGS
@given(st.integers(100, 2000), st.integers(1, 30), st.floats(-1e3, 1e3))
def test_scale_by_train_ignores_rows_after_the_training_part(n, lookback, shift):
    data = np.sin(np.arange(n, dtype=float) / 7.0)[:, None] + np.arange(n)[:, None] / n
    borders = p2_borders(n, lookback)
    _, scaler = scale_by_train(data, borders)
    changed = data.copy()
    changed[borders.train.stop:] += shift
    _, other = scale_by_train(changed, borders)
    np.testing.assert_array_equal(scaler.mean_, other.mean_)
    np.testing.assert_array_equal(scaler.scale_, other.scale_)


# ------------------------------------------------------------------------------ backtest
@SETTINGS
@given(st.integers(20, 80), st.integers(1, 5), st.integers(1, 6), st.floats(0.2, 0.8))
def test_backtest_cutoffs_and_actuals(n, horizon, stride, start):
    values = np.arange(n, dtype=float)
    y = pd.Series(values, index=pd.date_range("2024-01-01", periods=n, freq="D"), name="v")
    first = max(int(round(start * n)), 1) - 1
    assume(first + horizon <= n - 1)
    rows = backtest(NaiveForecaster(horizon=horizon), y, start=start, stride=stride,
                    progress=False)
    n_cutoffs = len(range(first, n - 1 - horizon + 1, stride))
    assert rows.attrs["n_cutoffs"] == n_cutoffs and len(rows) == n_cutoffs * horizon
    positions = y.index.get_indexer(rows["ds"])
    cut_positions = y.index.get_indexer(rows["cutoff"])
    # every forecast lies strictly after its cutoff, step h is h rows later
    np.testing.assert_array_equal(positions - cut_positions, rows["step"].to_numpy())
    np.testing.assert_array_equal(rows["y"].to_numpy(), values[positions])
    # the naive forecast is the value at the cutoff: no look-ahead
    np.testing.assert_array_equal(rows["y_pred"].to_numpy(), values[cut_positions])


# ------------------------------------------------------------------------------ metrics
# no subnormals: scaling one by c < 1 underflows to 0, which changes smape by design
values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
pairs = st.integers(2, 40).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=values), arrays(np.float64, n, elements=values)))


@SETTINGS
@given(pairs)
def test_error_metric_relations(pair):
    y, p = pair
    mae, mse, rmse = M.mae(y, p), M.mse(y, p), M.rmse(y, p)
    assert 0.0 <= mae <= rmse * (1 + 1e-12) + 1e-300
    assert rmse <= np.max(np.abs(y - p)) * (1 + 1e-12) + 1e-300
    assert mse == pytest.approx(rmse**2, rel=1e-9, abs=1e-300)
    assert 0.0 <= M.smape(y, p) <= 2.0


@SETTINGS
@given(pairs)
def test_symmetric_metrics_are_symmetric(pair):
    y, p = pair
    for name in ("mae", "mse", "rmse", "smape"):
        fn = M.METRICS[name]
        assert fn(y, p) == pytest.approx(fn(p, y), rel=1e-12, abs=1e-300), name


@SETTINGS
@given(arrays(np.float64, st.integers(1, 40), elements=values))
def test_perfect_forecast_scores_zero(y):
    for name in ("mae", "mse", "rmse", "smape"):
        assert M.METRICS[name](y, y) == 0.0, name
    assert M.r2(y, y) == 1.0
    if np.all(np.abs(y) >= np.finfo(float).eps):  # else mape warns (documented)
        assert M.mape(y, y) == 0.0
    if np.ptp(y) > 0:
        assert M.rse(y, y) == 0.0


@SETTINGS
@given(pairs, st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3))
def test_scale_invariance_and_homogeneity(pair, c):
    y, p = pair
    assume(np.ptp(y) > 1e-3 * (1 + np.max(np.abs(y))))  # rse / r2 need spread in y
    ys, ps = c * y, c * p
    for name in ("rse", "r2", "smape"):
        fn = M.METRICS[name]
        assert fn(ys, ps) == pytest.approx(fn(y, p), rel=1e-7, abs=1e-9), name
    assert M.mae(ys, ps) == pytest.approx(abs(c) * M.mae(y, p), rel=1e-9)
    assert M.rmse(ys, ps) == pytest.approx(abs(c) * M.rmse(y, p), rel=1e-9)


@SETTINGS
@given(pairs, st.floats(-1e3, 1e3))
def test_translation_invariance(pair, shift):
    y, p = pair
    assume(np.ptp(y) > 1e-3 * (1 + np.max(np.abs(y))))
    for name in ("mae", "rmse", "rse", "r2"):
        fn = M.METRICS[name]
        assert fn(y + shift, p + shift) == pytest.approx(fn(y, p), rel=1e-6, abs=1e-6), name


@SETTINGS
@given(pairs)
def test_rse_and_r2_agree_for_one_column(pair):
    y, p = pair
    assume(np.ptp(y) > 1e-3 * (1 + np.max(np.abs(y))))
    assert M.rse(y, p) ** 2 == pytest.approx(1.0 - M.r2(y, p), rel=1e-9, abs=1e-9)


@SETTINGS
@given(st.integers(2, 20).flatmap(lambda n: arrays(np.float64, (n, 3), elements=values)),
       st.permutations([0, 1, 2]))
def test_frames_are_matched_by_column_name(y, order):
    truth = pd.DataFrame(y, columns=["a", "b", "c"])
    pred = truth + 1.0
    shuffled = pred.iloc[:, list(order)]
    for name in ("mae", "rmse", "smape", "r2"):
        fn = M.METRICS[name]
        assert fn(truth, shuffled) == fn(truth, pred), name


@SETTINGS
@given(arrays(np.float64, st.integers(1, 30), elements=values), st.floats(0, 10),
       st.floats(0, 10))
def test_coverage_grows_with_the_interval(y, w1, extra):
    center = y + 0.5
    narrow = M.coverage(y, center - w1, center + w1)
    wide = M.coverage(y, center - w1 - extra, center + w1 + extra)
    assert 0.0 <= narrow <= wide <= 1.0

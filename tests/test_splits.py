"""P1 / P2 splits of docs/protocols.md: borders, target rows, train-only scaling, properties."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikecast.data.datasets import load_dataset
from spikecast.data.splits import (
    PARTS,
    SplitBorders,
    fixed_borders,
    p1_borders,
    p2_borders,
    ratio_borders,
    scale_by_train,
    split_frame,
)
from spikecast.exceptions import DataValidationError, InvalidParameterError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def etth1() -> pd.DataFrame:
    env = os.environ.get("SPIKECAST_DATA_DIR")
    directory = Path(env) if env else REPO.parent / "shared" / "data"
    if not (directory / "ETTh1.csv").exists():
        pytest.skip(f"ETTh1.csv not found in {directory}; set SPIKECAST_DATA_DIR")
    return load_dataset("ETTh1", data_dir=directory, download=False)


# ------------------------------------------------------------------------------ P1
@pytest.mark.parametrize("lookback", [1, 96, 336, 512])
def test_etth1_p1_borders_are_the_protocol_numbers(lookback):
    b = p1_borders(17420, lookback, dataset="ETTh1")
    assert b.train == range(0, 8640)
    assert b.val == range(8640 - lookback, 11520)
    assert b.test == range(11520 - lookback, 14400)
    assert b.targets("train") == range(lookback, 8640)
    assert b.targets("val") == range(8640, 11520)
    assert b.targets("test") == range(11520, 14400)
    assert b.protocol == "p1" and b.n_rows_needed == 14400


def test_ettm_borders_are_four_times_etth():
    b = p1_borders(69680, 96, dataset="ettm1")
    assert (b.train.stop, b.val.stop, b.test.stop) == (34560, 46080, 57600)
    assert b.val.start == 34560 - 96 and b.test.start == 46080 - 96


def test_dataset_is_matched_by_file_path_too():
    assert p1_borders(17420, 96, dataset="/anywhere/ETTh2.csv").val == range(8544, 11520)
    # unknown names fall back to the 0.7 / 0.1 / 0.2 ratios
    assert p1_borders(1000, 96, dataset="my_series.csv") == p1_borders(1000, 96)


def test_first_val_and_test_targets_are_the_border_rows(etth1):
    lookback, horizon = 96, 96
    b = p1_borders(len(etth1), lookback, dataset="ETTh1", horizon=horizon)
    parts = split_frame(etth1, b)
    for name, border in (("val", 8640), ("test", 11520)):
        part = parts[name]
        # the first window: rows [0, L) of the part are inputs, row L is the first target
        first_target = part.iloc[lookback]
        assert first_target.name == etth1.index[border]
        pd.testing.assert_series_equal(first_target, etth1.iloc[border])
        assert part.index[-1] == etth1.index[b.part(name).stop - 1]
    assert parts["test"].index[-1] == pd.Timestamp("2018-02-20 23:00:00")  # row 14399
    assert len(parts["train"]) == 8640 and len(parts["val"]) == 2880 + lookback


def test_window_counts_match_the_reference(etth1, tmp_path):
    # the P1 reference code yields len = rows - L - H + 1 windows per part; for ETTh1 at
    # L = 96, H = 96: 8449 train, 2785 validation and 2785 test windows
    b = p1_borders(len(etth1), 96, dataset="ETTh1", horizon=96)
    counts = {name: len(b.part(name)) - 96 - 96 + 1 for name in PARTS}
    assert counts == {"train": 8449, "val": 2785, "test": 2785}


def test_ratio_split_follows_the_reference_formula():
    n, lookback = 26304, 96  # Electricity
    b = p1_borders(n, lookback, dataset="electricity")
    num_train, num_test = int(n * 0.7), int(n * 0.2)
    num_val = n - num_train - num_test
    assert b.train == range(0, num_train)
    assert b.val == range(num_train - lookback, num_train + num_val)
    assert b.test == range(n - num_test - lookback, n)
    assert b.targets("val").start == num_train and b.targets("test").start == n - num_test


def test_p2_ratios_default_card_and_explicit():
    b = p2_borders(1000, 168)
    assert (b.train.stop, b.val.stop, b.test.stop) == (600, 800, 1000)
    assert b.val.start == 600 - 168 and b.protocol == "p2"
    traffic = p2_borders(34272, 168, dataset="METR-LA")
    assert traffic.train.stop == int(34272 * 0.7)
    assert len(traffic.targets("test")) == int(34272 * 0.1)
    own = p2_borders(1000, 10, dataset="METR-LA", ratios=(0.5, 0.25, 0.25))
    assert (own.train.stop, own.val.stop) == (500, 750)
    assert p2_borders(17420, 96, dataset="ETTh1").train.stop == int(17420 * 0.6)


# ------------------------------------------------------------------------------ scaling
def test_scaler_is_fitted_on_train_rows_only(etth1):
    b = p1_borders(len(etth1), 96, dataset="ETTh1")
    scaled, scaler = scale_by_train(etth1, b)
    train = etth1.iloc[:8640]
    np.testing.assert_allclose(scaler.mean_, train.mean().to_numpy(), rtol=1e-12)
    # population std (ddof=0), as sklearn and the P1 reference code
    np.testing.assert_allclose(scaler.scale_, train.std(ddof=0).to_numpy(), rtol=1e-12)
    assert not np.allclose(scaler.scale_, train.std(ddof=1).to_numpy(), rtol=1e-9)
    assert scaled.index.equals(etth1.index) and list(scaled.columns) == list(etth1.columns)
    np.testing.assert_allclose(scaled.iloc[:8640].mean().to_numpy(), 0, atol=1e-9)
    np.testing.assert_allclose(scaled.iloc[:8640].std(ddof=0).to_numpy(), 1, atol=1e-9)
    expected = (etth1.iloc[12000] - train.mean()) / train.std(ddof=0)
    np.testing.assert_allclose(scaled.iloc[12000].to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_scaler_on_series_and_arrays():
    y = load_dataset("co2")["co2"]
    b = p2_borders(len(y), 52)
    scaled, scaler = scale_by_train(y, b)
    assert isinstance(scaled, pd.Series) and scaled.name == "co2"
    assert scaler.mean_[0] == pytest.approx(y.iloc[: b.train.stop].mean())
    arr, _ = scale_by_train(y.to_numpy(), b)
    np.testing.assert_allclose(arr, scaled.to_numpy())
    with pytest.raises(DataValidationError, match="has 100 rows but the split needs"):
        scale_by_train(y.iloc[:100], b)


# ------------------------------------------------------------------------------ errors
def test_too_short_data_says_what_length_is_needed():
    with pytest.raises(ValueError, match=r"100 rows are too few .* at least (\d+) rows") as e:
        ratio_borders(100, 96)
    need = int(re.search(r"at least (\d+) rows", str(e.value)).group(1))
    ratio_borders(need, 96)
    with pytest.raises(DataValidationError, match="at least 14400 rows are needed"):
        p1_borders(14000, 96, dataset="ETTh1")
    with pytest.raises(DataValidationError, match="training part has 8640 rows"):
        p1_borders(17420, 8600, dataset="ETTh1", horizon=96)
    with pytest.raises(DataValidationError, match="validation part has 10 target rows"):
        fixed_borders(100, 5, (50, 60, 100), horizon=20)


def test_rounding_dip_is_explained():
    # int() rounding: 19 rows fit a 0.7/0.1/0.2 split with H = 3 but 20 do not (val = 2)
    ratio_borders(19, 1, horizon=3)
    with pytest.raises(DataValidationError, match="at least 21 rows.*19 rows would fit too"):
        ratio_borders(20, 1, horizon=3)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_rows": 1000, "lookback": 0}, "lookback must be an integer >= 1"),
    ({"n_rows": 1000, "lookback": True}, "lookback must be an integer"),
    ({"n_rows": -1, "lookback": 5}, "n_rows must be an integer >= 0"),
    ({"n_rows": 1000, "lookback": 5, "horizon": 0}, "horizon must be"),
    ({"n_rows": 1000, "lookback": 5, "ratios": (0.5, 0.2, 0.2)}, "summing to 1"),
    ({"n_rows": 1000, "lookback": 5, "ratios": (1.0, 0.0, 0.0)}, "positive"),
    ({"n_rows": 1000, "lookback": 5, "ratios": "abc"}, "ratios must be three numbers"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        ratio_borders(**kwargs)


def test_helpers():
    b = ratio_borders(100, 5)
    with pytest.raises(ValueError, match="unknown part 'dev'"):
        b.part("dev")
    arr = np.arange(100)
    assert b.take(arr, "val").tolist() == list(b.val)
    assert b.slice("test") == slice(b.test.start, b.test.stop)
    assert b.as_dict() == {"train": b.train, "val": b.val, "test": b.test}
    assert [len(v) for v in split_frame(arr, b).values()] == [70, 15, 25]


# ------------------------------------------------------------------------------ properties
@st.composite
def split_args(draw):
    r_train = draw(st.floats(0.3, 0.9))
    r_val = draw(st.floats(0.02, 0.98 - r_train))
    ratios = (r_train, r_val, 1.0 - r_train - r_val)
    return (draw(st.integers(0, 20_000)), draw(st.integers(1, 700)),
            draw(st.integers(1, 200)), ratios)


def _check_partition(b: SplitBorders, n: int, lookback: int, horizon: int) -> None:
    t_train, t_val, t_test = (b.targets(p) for p in PARTS)
    # chronological, contiguous, non-overlapping targets starting after the first lookback
    assert t_train.start == lookback
    assert t_train.stop == t_val.start and t_val.stop == t_test.start
    assert t_test.stop == b.test.stop <= n
    # each part reads exactly lookback rows before its first target
    for name in PARTS:
        rows = b.part(name)
        assert rows.start >= 0 and rows.start + lookback == b.targets(name).start
        assert len(b.targets(name)) >= horizon  # at least one full window
    assert b.train.start == 0


@settings(max_examples=300, deadline=None)
@given(split_args())
def test_ratio_split_properties(args):
    n, lookback, horizon, ratios = args
    try:
        b = ratio_borders(n, lookback, ratios, horizon=horizon)
    except DataValidationError as err:
        need = int(re.search(r"at least (\d+) rows", str(err)).group(1))
        assert need > n
        b = ratio_borders(need, lookback, ratios, horizon=horizon)  # the claim holds
        _check_partition(b, need, lookback, horizon)
        with pytest.raises(DataValidationError):
            ratio_borders(need - 1, lookback, ratios, horizon=horizon)
        return
    _check_partition(b, n, lookback, horizon)
    assert b.test.stop == n  # ratio splits use every row
    assert len(b.train) == int(n * ratios[0])
    assert len(b.targets("test")) == int(n * ratios[2])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(1, 3000),
       st.integers(0, 500), st.integers(1, 1000), st.integers(1, 100))
def test_fixed_split_properties(a, b_, c, extra, lookback, horizon):
    borders = (a, a + b_, a + b_ + c)
    n = borders[2] + extra
    try:
        b = fixed_borders(n, lookback, borders, horizon=horizon)
    except DataValidationError as err:
        assert a < lookback + horizon or b_ < horizon or c < horizon
        assert "needs" in str(err)
        return
    _check_partition(b, n, lookback, horizon)
    assert (b.train.stop, b.val.stop, b.test.stop) == borders


@settings(max_examples=50, deadline=None)
@given(st.integers(200, 3000), st.integers(1, 50))
def test_split_frame_parts_are_chronological_slices(n, lookback):
    frame = pd.DataFrame({"x": np.arange(n, dtype=float)},
                         index=pd.date_range("2020-01-01", periods=n, freq="h"))
    b = p2_borders(n, lookback)
    parts = split_frame(frame, b)
    for name in PARTS:
        assert parts[name]["x"].tolist() == list(map(float, b.part(name)))
        assert parts[name].index.is_monotonic_increasing
    assert parts["train"].index[-1] < parts["val"].index[lookback]
    assert parts["val"].index[-1] < parts["test"].index[lookback]

"""Metrics: hand-computed values, agreement with scikit-learn, input handling, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

from spikecast import metrics as M

Y = np.array([1.0, 2.0, 3.0, 4.0])
P = np.array([1.0, 3.0, 2.0, 6.0])  # errors y - ŷ: 0, -1, 1, -2


@pytest.fixture(scope="module")
def co2_pair():
    """Weekly CO2 (positive values) and its naive one-step forecast, as Series."""
    y = statsmodels.datasets.co2.load_pandas().data["co2"].interpolate().iloc[-300:]
    return y.iloc[1:], y.shift(1).iloc[1:]


@pytest.fixture(scope="module")
def etth1_pair(etth1_full):
    """Two ETTh1 columns and their 24-hour seasonal naive forecast, as DataFrames."""
    frame = etth1_full.iloc[:500][["HUFL", "OT"]]
    return frame.iloc[24:], frame.shift(24).iloc[24:]


# ------------------------------------------------------------------ hand-computed values
def test_hand_computed_values():
    assert M.mae(Y, P) == pytest.approx(1.0)
    assert M.mse(Y, P) == pytest.approx(1.5)
    assert M.rmse(Y, P) == pytest.approx(np.sqrt(1.5))
    assert M.mape(Y, P) == pytest.approx((0 + 1 / 2 + 1 / 3 + 2 / 4) / 4)
    assert M.smape(Y, P) == pytest.approx((0 + 2 / 5 + 2 / 5 + 4 / 10) / 4)
    # SS_res = 6, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5
    assert M.r2(Y, P) == pytest.approx(1 - 6 / 5)
    assert M.rse(Y, P) == pytest.approx(np.sqrt(6) / np.sqrt(5))
    # naive in-sample error of [1, 3, 2, 5]: mean(2, 1, 3) = 2
    assert M.mase(Y, P, y_train=[1.0, 3.0, 2.0, 5.0]) == pytest.approx(0.5)
    # lag 2: mean(|2-1|, |5-3|) = 1.5
    assert M.mase(Y, P, y_train=[1.0, 3.0, 2.0, 5.0], season_length=2) == pytest.approx(1 / 1.5)


def test_rse_uses_per_column_means():
    y = np.array([[1.0, 10.0], [3.0, 14.0]])
    p = np.array([[2.0, 10.0], [3.0, 12.0]])
    # column means 2 and 12: denominator 1 + 1 + 4 + 4 = 10; numerator 1 + 0 + 0 + 4 = 5
    assert M.rse(y, p) == pytest.approx(np.sqrt(5 / 10))
    # the flattened mean (6.5) would give a different value
    assert M.rse(y, p) != pytest.approx(np.sqrt(5) / np.sqrt(np.sum((y - y.mean()) ** 2)))


def test_mase_per_column_average():
    y = np.array([[1.0, 10.0], [2.0, 20.0]])
    p = np.array([[2.0, 10.0], [2.0, 10.0]])
    train = np.array([[0.0, 0.0], [1.0, 5.0], [3.0, 10.0]])
    # column 0: mae 0.5 / scale 1.5; column 1: mae 5 / scale 5
    assert M.mase(y, p, train) == pytest.approx((0.5 / 1.5 + 1.0) / 2)


def test_smape_zero_over_zero_is_zero():
    assert M.smape([0.0, 2.0], [0.0, 2.0]) == 0.0
    assert M.smape([0.0], [1.0]) == pytest.approx(2.0)


def test_pinball_and_coverage_by_hand():
    # q = 0.9: under-forecast by 1 costs 0.9, over-forecast by 1 costs 0.1
    assert M.pinball_loss([1.0, 2.0], [[0.0], [3.0]], [0.9]) == pytest.approx(0.5)
    y = np.array([1.0, 2.0, 3.0])
    qs = np.stack([y - 1, y + 0.5], axis=-1)  # levels 0.1 and 0.9
    expected = np.mean([0.1 * 1.0, 0.1 * 0.5])  # 0.1: diff +1 -> 0.1; 0.9: diff -0.5 -> 0.05
    assert M.pinball_loss(y, qs, [0.1, 0.9]) == pytest.approx(expected)
    as_dict = {0.1: y - 1, 0.9: y + 0.5}
    assert M.pinball_loss(y, as_dict) == pytest.approx(expected)
    assert M.coverage([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 3.5, 0.0], [1.0, 3.0, 4.0, 3.0]) == 0.5


def test_r2_constant_truth_follows_sklearn():
    assert M.r2([2.0, 2.0], [2.0, 2.0]) == skm.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert M.r2([2.0, 2.0], [1.0, 2.0]) == skm.r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0


# ------------------------------------------------------------------ against scikit-learn
def test_against_sklearn_on_real_univariate(co2_pair):
    y, p = co2_pair
    assert M.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert M.mse(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
    assert M.rmse(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-12)
    assert M.mape(y, p) == pytest.approx(skm.mean_absolute_percentage_error(y, p), rel=1e-12)
    assert M.r2(y, p) == pytest.approx(skm.r2_score(y, p), rel=1e-12)
    for q in (0.1, 0.5, 0.9):
        assert M.pinball_loss(y, p.to_numpy()[:, None], [q]) == pytest.approx(
            skm.mean_pinball_loss(y, p, alpha=q), rel=1e-12)


def test_against_sklearn_on_real_multivariate(etth1_pair):
    y, p = etth1_pair
    assert M.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert M.mse(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
    # R² on the flattened values (P2 protocol), not sklearn's per-column average
    flat = skm.r2_score(y.to_numpy().ravel(), p.to_numpy().ravel())
    assert M.r2(y, p) == pytest.approx(flat, rel=1e-12)
    assert M.r2(y, p) != pytest.approx(skm.r2_score(y, p), rel=1e-6)
    # RSE from its definition with per-column means
    a, b = y.to_numpy(), p.to_numpy()
    rse = np.sqrt(((a - b) ** 2).sum()) / np.sqrt(((a - a.mean(0)) ** 2).sum())
    assert M.rse(y, p) == pytest.approx(rse, rel=1e-12)


# ------------------------------------------------------------------ input handling
def test_frames_are_aligned_by_column_name(etth1_pair):
    y, p = etth1_pair
    swapped = p[["OT", "HUFL"]]
    assert M.mae(y, swapped) == M.mae(y, p)
    assert M.mae(y, p.to_numpy()) == M.mae(y, p)
    with pytest.raises(ValueError, match="columns"):
        M.mae(y, p.rename(columns={"OT": "other"}))


def test_column_vector_and_flat_vector_match():
    assert M.mse(Y, P[:, None]) == M.mse(Y[:, None], P) == M.mse(Y, P)
    assert M.mse(pd.Series(Y), pd.DataFrame({"a": P})) == M.mse(Y, P)


@pytest.mark.parametrize("name", sorted(M.METRICS))
def test_bad_inputs_raise_clear_errors(name):
    fn = M.get_metric(name)
    with pytest.raises(ValueError, match="shape"):
        fn(Y, P[:3])
    with pytest.raises(ValueError, match="NaN"):
        fn(Y, np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="NaN"):
        fn(pd.Series([1.0, None, 2.0, 3.0]), P)
    with pytest.raises(ValueError, match="infinite"):
        fn(Y, np.array([1.0, np.inf, 2.0, 3.0]))
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="numeric"):
        fn(["a", "b"], [1.0, 2.0])


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="season_length"):
        M.mase(Y, P, Y, season_length=0)
    with pytest.raises(ValueError, match="at least 5"):
        M.mase(Y, P, Y, season_length=4)
    with pytest.raises(ValueError, match="undefined"):
        M.mase(Y, P, np.ones(5))
    with pytest.raises(ValueError, match="constant"):
        M.rse(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="expected"):
        M.pinball_loss(Y, np.ones((4, 3)), [0.1, 0.9])
    with pytest.raises(ValueError, match="between 0 and 1"):
        M.pinball_loss(Y, P[:, None], [1.5])
    with pytest.raises(ValueError, match="quantiles"):
        M.pinball_loss(Y, P[:, None])
    with pytest.raises(ValueError, match="lower > upper"):
        M.coverage(Y, Y + 1, Y)
    with pytest.warns(RuntimeWarning, match="zero"):
        M.mape([0.0, 1.0], [1.0, 1.0])


def test_registry():
    assert set(M.METRICS) == {"mae", "mse", "rmse", "mape", "smape", "r2", "rse"}
    assert M.get_metric("MAE") is M.mae
    assert M.get_metric(M.rse) is M.rse
    with pytest.raises(ValueError, match=r"unknown metric 'mea'.*valid metrics"):
        M.get_metric("mea")
    with pytest.raises(ValueError, match="call spikecast.metrics.mase directly"):
        M.get_metric("mase")


def test_every_public_name_has_a_docstring():
    for name in M.__all__:
        obj = getattr(M, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 20, name


# ------------------------------------------------------------------ properties
finite = arrays(np.float64, st.integers(1, 30),
                elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@settings(max_examples=50, deadline=None)
@given(finite, st.floats(-10, 10))
def test_properties(y, shift):
    p = y + shift
    assert M.mae(y, p) <= M.rmse(y, p) + 1e-9 * (1 + abs(shift))
    assert 0.0 <= M.smape(y, p) <= 2.0
    assert M.r2(y, y) == 1.0
    assert M.coverage(y, y - abs(shift), y + abs(shift)) == 1.0
    assert M.pinball_loss(y, p[:, None], [0.5]) == pytest.approx(M.mae(y, p) / 2)

"""ARIMAForecaster.historical_forecasts in batched passes: the same numbers as one
``predict`` per cutoff (expanding windows from one filter pass, many sliding windows from
their affine map, the rest one ``apply`` each)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from spikecast.base import get_tags
from spikecast.baselines import ARIMAForecaster
from spikecast.baselines.statistical import _batches

H = 6
LEVELS = [0.1, 0.5, 0.9]
TOL = 1e-8


def _frame(n=240, columns=("a", "b"), seed=0):
    """Hourly-like data: a random walk, a 12-step season and noise, per column."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    data = {c: 0.05 * np.cumsum(rng.normal(size=n)) + np.sin(2 * np.pi * t / 12 + k)
            + 0.3 * rng.normal(size=n) for k, c in enumerate(columns)}
    return pd.DataFrame(data, index=pd.date_range("2020-01-01", periods=n, freq="h"))


def _fit(y, **spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ARIMAForecaster(horizon=H, quantiles=LEVELS, **spec).fit(y)


def _per_window(model, y, ranges):
    """Points ``[C, H, n_columns]`` and quantiles ``[C, H, n_columns, n_levels]`` of one
    ``predict`` / ``predict_quantiles`` per (start, end) row range (the unbatched path)."""
    points, quantiles = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lo, hi in ranges:
            window = y.iloc[lo:hi]
            points.append(np.asarray(model.predict(window)))
            q = model.predict_quantiles(window)
            quantiles.append(np.stack([np.asarray(q[lv]) for lv in LEVELS], axis=-1))
    return np.array(points), np.array(quantiles)


def _batched(model, y, ends, starts=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.historical_forecasts(y, ends, starts=starts)
    return (np.array([p[0] for p in out.points]), np.array([q[0] for q in out.quantiles]))


def _count_applies(monkeypatch):
    calls = []
    original = ARIMAForecaster._apply_one

    def counted(self, result, x):
        calls.append(len(x))
        return original(self, result, x)

    monkeypatch.setattr(ARIMAForecaster, "_apply_one", counted)
    return calls


SPECS = {
    "d0": dict(order=(1, 0, 1)),  # statsmodels adds a constant (trend "c")
    "d1": dict(order=(1, 1, 1)),
    "d1_trend": dict(order=(1, 1, 0), trend="t"),
    "seasonal_d0": dict(order=(1, 0, 0), seasonal_order=(1, 0, 0, 12)),
    "seasonal_d1": dict(order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)),
}


@pytest.mark.parametrize("name", SPECS)
def test_expanding_windows_equal_per_window_predict(name, monkeypatch):
    y = _frame()
    model = _fit(y.iloc[:160], **SPECS[name])
    ends = np.arange(170, 241, 7)
    calls = _count_applies(monkeypatch)
    points, quantiles = _batched(model, y, ends)
    assert calls == []  # one filter pass per column, no apply per cutoff
    ref_points, ref_quantiles = _per_window(model, y, [(0, e) for e in ends])
    assert points.shape == ref_points.shape == (len(ends), H, 2)
    np.testing.assert_allclose(points, ref_points, rtol=0, atol=TOL)
    np.testing.assert_allclose(quantiles, ref_quantiles, rtol=0, atol=TOL)
    assert get_tags(model).batched_history


@pytest.mark.parametrize("name", ["d0", "d1", "seasonal_d1"])
def test_many_sliding_windows_equal_per_window_predict(name, monkeypatch):
    y = _frame()
    model = _fit(y.iloc[:160], **SPECS[name])
    n = 30
    starts = np.arange(100, 100 + 40)  # 40 windows of 30 rows: more than n + 1
    calls = _count_applies(monkeypatch)
    points, quantiles = _batched(model, y, starts + n, starts)
    assert calls == [n] * 2 * (n + 1)  # the probes: n + 1 per column
    ref_points, ref_quantiles = _per_window(model, y, [(s, s + n) for s in starts])
    np.testing.assert_allclose(points, ref_points, rtol=0, atol=TOL)
    np.testing.assert_allclose(quantiles, ref_quantiles, rtol=0, atol=TOL)


def test_few_sliding_windows_fall_back_to_one_apply_each(monkeypatch):
    y = _frame()
    model = _fit(y.iloc[:160], order=(1, 1, 1))
    starts = np.array([50, 60, 75, 90, 120])
    ends = starts + 80
    calls = _count_applies(monkeypatch)
    points, quantiles = _batched(model, y, ends, starts)
    assert sorted(calls) == sorted(list(ends - starts) * 2)
    ref_points, ref_quantiles = _per_window(model, y, list(zip(starts, ends)))
    np.testing.assert_allclose(points, ref_points, rtol=0, atol=TOL)
    np.testing.assert_allclose(quantiles, ref_quantiles, rtol=0, atol=TOL)


def test_long_data_with_two_series_of_different_lengths():
    a, b = _frame(220, ("y",), seed=1), _frame(180, ("y",), seed=2)
    long = pd.concat([a.assign(unique_id="a"), b.assign(unique_id="b")])
    long = long.rename_axis("ds").reset_index()[["unique_id", "ds", "y"]]
    train = pd.concat([long[long.unique_id == "a"].iloc[:150],
                       long[long.unique_id == "b"].iloc[:120]])
    model = _fit(train, order=(2, 1, 1))
    ends = np.stack([np.arange(160, 221, 10), np.arange(120, 181, 10)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.historical_forecasts(long, ends)
    for i, (uid, frame) in enumerate([("a", a), ("b", b)]):
        series = frame["y"]
        for c, end in enumerate(ends[:, i]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = model.predict(pd.DataFrame({"unique_id": uid, "ds": series.index[:end],
                                                  "y": series.to_numpy()[:end]}))
                q = model.predict_quantiles(pd.DataFrame({"unique_id": uid,
                                                          "ds": series.index[:end],
                                                          "y": series.to_numpy()[:end]}))
            np.testing.assert_allclose(out.points[c][i][:, 0], ref["y"].to_numpy(),
                                       rtol=0, atol=TOL)
            ref_q = np.stack([q[lv]["y"].to_numpy() for lv in LEVELS], axis=-1)
            np.testing.assert_allclose(out.quantiles[c][i][:, 0], ref_q, rtol=0, atol=TOL)


def test_points_only_and_a_mixed_plan():
    y = _frame()
    model = ARIMAForecaster(horizon=H, order=(1, 0, 0)).fit(y.iloc[:160])
    ends = np.array([170, 200, 230])
    out = model.historical_forecasts(y, ends, starts=np.array([0, 0, 100]))
    assert out.quantiles is None
    for c, (lo, hi) in enumerate([(0, 170), (0, 200), (100, 230)]):
        ref = np.asarray(model.predict(y.iloc[lo:hi]))
        np.testing.assert_allclose(out.points[c][0], ref, rtol=0, atol=TOL)


def test_batches_plan():
    x = np.arange(100.0)
    histories = [x[:50], x[:60], x[10:20], x[11:21], None, x[5:9]]
    expanding, sliding, rest = _batches(histories)
    assert expanding == [[0, 1]] and sliding == [] and sorted(rest) == [2, 3, 4, 5]
    windows = [x[s:s + 3] for s in range(10)]  # 10 windows of 3 rows: more than 3 + 1
    assert _batches(windows) == ([], [list(range(10))], [])

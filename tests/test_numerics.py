"""Numerically awkward data: large and small magnitudes, large offsets, constant series and
long flat stretches give finite, sensible forecasts from every model, and the metrics stay
finite (or raise the documented ``ValueError``) where values are extreme or degenerate."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster, metrics
from spikecast.backtest import compare
from spikecast.baselines import (
    ARIMAForecaster,
    DriftForecaster,
    ETSForecaster,
    LinearForecaster,
    ModelWarning,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    VARForecaster,
)
from spikecast.exceptions import DataValidationError

N = 160


def base(n: int = N) -> pd.DataFrame:
    """Two smooth columns around 2 with unit-order variation."""
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(t / 3.0) + 2.0 + 0.002 * t, "b": np.cos(t / 5.0) + 2.0},
                        index=pd.date_range("2024-01-01", periods=n, freq="h"))


def scaled(scale: float, n: int = N) -> pd.DataFrame:
    """``base`` times ``scale`` (so values, spread and level all scale)."""
    return base(n) * scale


def constant(n: int = N) -> pd.DataFrame:
    """A constant column at 5 and a constant column at 0 (zero standard deviation)."""
    return base(n).assign(a=5.0, b=0.0)


def flat_stretches(n: int = N) -> pd.DataFrame:
    """Long flat stretches in the middle of one column and at the end of the other."""
    frame = base(n)
    frame.iloc[30:130, 0] = frame.iloc[30, 0]
    frame.iloc[n // 2:, 1] = 3.0
    return frame


def neural(encoder: str, **kw) -> NeuralForecaster:
    arch, _, neuron = encoder.partition(":")  # "stack:ts_lif" or "gru"
    params = dict(encoder=arch, neuron=neuron or None, lookback=12, horizon=4, hidden_size=8,
                  max_epochs=2, batch_size=32, verbose=False, random_state=0)
    params.update(kw)
    return NeuralForecaster(**params)


ENCODERS = ["gru", "stack:ts_lif", "stack:lif"]


def _assert_in_range(forecast, data: pd.DataFrame, slack: float = 1.0) -> None:
    """Finite, and within the data's range widened by ``slack`` times its span."""
    values = np.asarray(forecast, dtype=float)
    assert np.isfinite(values).all()
    lo, hi = data.to_numpy().min(), data.to_numpy().max()
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    assert (values >= lo - slack * span).all() and (values <= hi + slack * span).all(), (
        values, lo, hi)


# ------------------------------------------------------------------------------ neural
@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_neural_forecasts_scale_with_the_data(encoder, scale):
    """Standardisation makes training scale-free: the forecast of ``s * y`` is ``s`` times
    the forecast of ``y`` (up to float32 rounding), whether ``s`` is 1e6 or 1e-6."""
    unit = neural(encoder).fit(base()).predict()
    big = neural(encoder).fit(scaled(scale)).predict()
    _assert_in_range(big, scaled(scale))
    np.testing.assert_allclose(big.to_numpy() / scale, unit.to_numpy(), rtol=2e-3, atol=2e-3)


def test_neural_forecasts_of_very_small_values():
    data = scaled(1e-12)
    forecast = neural("gru").fit(data).predict()
    _assert_in_range(forecast, data)


def test_neural_large_offset_small_variation():
    """A level of 1e9 with unit variation: the float32 model sees standardised values."""
    data = base() + 1e9
    forecast = neural("gru").fit(data).predict()
    _assert_in_range(forecast, data, slack=0.5)
    unit = neural("gru").fit(base()).predict()
    np.testing.assert_allclose(forecast.to_numpy() - 1e9, unit.to_numpy(), atol=1e-2)


@pytest.mark.parametrize("encoder", ["gru", "stack:ts_lif"])
def test_neural_constant_series(encoder):
    data = constant()
    forecast = neural(encoder).fit(data).predict()
    assert np.isfinite(forecast.to_numpy()).all()
    np.testing.assert_allclose(forecast["a"], 5.0, atol=1e-2)  # eps in instance norm
    np.testing.assert_allclose(forecast["b"], 0.0, atol=1e-2)


@pytest.mark.parametrize("encoder", ["gru", "stack:ts_lif"])
def test_neural_flat_stretches(encoder):
    data = flat_stretches()
    forecast = neural(encoder).fit(data).predict()
    _assert_in_range(forecast, data)
    np.testing.assert_allclose(forecast["b"], 3.0, atol=2e-2)  # the history ends flat at 3
    # a window lying entirely inside the flat stretch is forecast finitely too
    inside = neural(encoder).fit(data).predict(data.iloc[:100])
    assert np.isfinite(inside.to_numpy()).all()


# ------------------------------------------------------------------------------ baselines
BASELINES = {
    "naive": lambda: NaiveForecaster(horizon=4),
    "seasonal_naive": lambda: SeasonalNaiveForecaster(horizon=4, season_length=6),
    "drift": lambda: DriftForecaster(horizon=4),
    "arima": lambda: ARIMAForecaster(horizon=4, order=(1, 0, 0)),
    "ets": lambda: ETSForecaster(horizon=4, trend="add"),
    "var": lambda: VARForecaster(horizon=4, maxlags=2),
    "linear": lambda: LinearForecaster(horizon=4, lookback=12),
}
DATA = {
    "1e6": lambda: scaled(1e6),
    "1e-6": lambda: scaled(1e-6),
    "offset 1e9": lambda: base() + 1e9,
    "flat stretches": flat_stretches,
    "constant": constant,
}


def _fit_predict(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)  # statsmodels' convergence chatter
        return model.fit(data).predict()


@pytest.mark.parametrize("kind", DATA.keys())
@pytest.mark.parametrize("name", BASELINES.keys())
def test_baselines_give_finite_forecasts(name, kind):
    data = DATA[kind]()
    if name == "var" and kind == "constant":
        with pytest.raises(DataValidationError, match=r"\['a', 'b'\] are constant.*Naive"):
            BASELINES[name]().fit(data)
        return
    forecast = _fit_predict(BASELINES[name](), data)
    _assert_in_range(forecast, data)
    if kind == "constant":
        np.testing.assert_allclose(forecast.to_numpy(), [[5.0, 0.0]] * 4, atol=1e-3)


def test_var_names_a_single_constant_column():
    data = base().assign(b=7.0)
    with pytest.raises(DataValidationError, match=r"column\(s\) \['b'\] are constant"):
        VARForecaster(horizon=4).fit(data)


@pytest.mark.parametrize("name", ["naive", "seasonal_naive", "drift", "linear", "var"])
@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_deterministic_baselines_are_scale_equivariant(name, scale):
    unit = _fit_predict(BASELINES[name](), base()).to_numpy()
    big = _fit_predict(BASELINES[name](), scaled(scale)).to_numpy()
    np.testing.assert_allclose(big / scale, unit, rtol=1e-6)


def test_backtest_metrics_on_a_constant_series_stay_defined():
    """smape of a perfect forecast of zeros is 0 (0/0 counts as 0), mae is 0, and rse,
    undefined for constant actual values, raises a ValueError that says so."""
    data = constant()
    result = compare({"naive": NaiveForecaster(horizon=4)}, data, start=0.5, stride=10,
                     progress=False, metrics=("mae", "rmse", "smape", "r2"))
    assert result.table.loc["naive", ["mae", "rmse", "smape"]].tolist() == [0.0, 0.0, 0.0]
    assert result.table.loc["naive", "r2"] == 1.0
    with pytest.raises(ValueError, match=r"rse.*constant.*undefined"):
        compare({"naive": NaiveForecaster(horizon=4)}, data, start=0.5, stride=10,
                progress=False, metrics=("rse",))


# ------------------------------------------------------------------------------ metrics
@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    y = rng.normal(2.0, 1.0, size=(50, 3))
    return y, y + rng.normal(0.0, 0.3, size=y.shape)


@pytest.mark.parametrize("scale", [1e6, 1e-6, 1e150, 1e-150])
def test_metrics_at_extreme_magnitudes(pair, scale):
    y, p = pair
    ys, ps = y * scale, p * scale
    assert metrics.mae(ys, ps) == pytest.approx(scale * metrics.mae(y, p), rel=1e-9)
    assert metrics.rmse(ys, ps) == pytest.approx(scale * metrics.rmse(y, p), rel=1e-9)
    for name in ("smape", "r2", "rse"):
        fn = metrics.METRICS[name]
        assert fn(ys, ps) == pytest.approx(fn(y, p), rel=1e-9), name
    if scale > 1e-16:  # mape divides by max(|y|, machine epsilon)
        assert metrics.mape(ys, ps) == pytest.approx(metrics.mape(y, p), rel=1e-9)
    else:
        with pytest.warns(RuntimeWarning, match=r"150 value\(s\) smaller than machine eps"):
            metrics.mape(ys, ps)
    if scale < 1e150:
        assert metrics.mse(ys, ps) == pytest.approx(scale**2 * metrics.mse(y, p), rel=1e-9)


def test_mse_overflow_raises_and_rmse_stays_finite(pair):
    y, p = pair
    with pytest.raises(ValueError, match=r"mse overflows float64.*rescale"):
        metrics.mse(y * 1e200, p * 1e200)
    assert metrics.rmse(y * 1e200, p * 1e200) == pytest.approx(1e200 * metrics.rmse(y, p),
                                                              rel=1e-9)
    assert np.isfinite(metrics.rse(y * 1e200, p * 1e200))
    assert np.isfinite(metrics.r2(y * 1e200, p * 1e200))


def test_mape_with_zeros_warns_as_documented():
    y = np.array([0.0, 1.0, 2.0])
    with pytest.warns(RuntimeWarning, match=r"1 zero value.*smape or mae"):
        value = metrics.mape(y, y + 0.5)
    assert np.isfinite(value) and value > 1e10  # 0.5 / eps dominates: documented


def test_smape_with_zeros():
    assert metrics.smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert metrics.smape([0.0, 0.0], [1e-300, -5.0]) == 2.0  # the maximum
    assert metrics.smape([1e-300], [2e-300]) == pytest.approx(2.0 / 3.0)


def test_degenerate_denominators_raise_or_follow_the_documentation():
    flat = np.full(10, 3.0)
    assert metrics.r2(flat, flat) == 1.0 and metrics.r2(flat, flat + 1.0) == 0.0
    with pytest.raises(ValueError, match=r"rse: y_true is constant"):
        metrics.rse(flat, flat + 1.0)
    with pytest.raises(ValueError, match=r"mase.*0 in column 0.*undefined"):
        metrics.mase(flat, flat + 1.0, y_train=flat)
    assert metrics.mase(flat, flat + 1.0, y_train=np.arange(10.0)) == pytest.approx(1.0)

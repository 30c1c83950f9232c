"""Static covariates of long data (``X_static``, neuralforecast's ``static_df``): learned
through the head, kept for predict, saved with the model, and checked like other input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spikecast import NeuralForecaster
from spikecast.backtest import backtest
from spikecast.baselines import NaiveForecaster
from spikecast.exceptions import DataValidationError

T = 100
FAST = dict(encoder="gru", lookback=4, horizon=2, hidden_size=4, max_epochs=12, val_size=0,
            instance_norm=False, lr=1e-2, early_stopping_patience=None, verbose=False)


def _panel(levels, seed=0, prefix="s"):
    """Series ``level + N(0, 1)``: the window's mean guesses the level, the static knows it."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i}" for i in range(len(levels))]
    frame = pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(
        "2024-01-01", periods=T, freq="h"), "y": level + rng.normal(0, 1, T)})
        for uid, level in zip(ids, levels)], ignore_index=True)
    return frame, pd.DataFrame({"unique_id": ids, "level": levels})


@pytest.fixture(scope="module")
def data():
    return _panel(np.random.default_rng(1).uniform(-3, 3, 12))


@pytest.fixture(scope="module")
def fitted(data):
    frame, static = data
    return NeuralForecaster(**FAST).fit(frame, X_static=static)


def _error_to_levels(forecasts, static):
    expected = static.set_index("unique_id")["level"].reindex(forecasts["unique_id"])
    return float(np.mean((forecasts["y"].to_numpy() - expected.to_numpy()) ** 2))


def test_a_static_covariate_that_sets_the_level_is_learned(data, fitted):
    frame, static = data
    without = NeuralForecaster(**FAST).fit(frame)
    with_static = _error_to_levels(fitted.predict(), static)
    assert with_static < 0.3 * _error_to_levels(without.predict(), static)
    assert fitted.static_columns_ == ["level"]
    assert list(fitted.static_.index) == list(static["unique_id"])


def test_new_series_take_their_static_covariates_at_predict(fitted):
    levels = np.array([-2.5, 0.0, 2.5])
    new, static = _panel(levels, seed=5, prefix="new")
    with pytest.raises(DataValidationError, match=r"X_static has no row for unique_id\(s\) "
                                                  r"\['new0', 'new1', 'new2'\]"):
        fitted.predict(new)
    forecasts = fitted.predict(new, X_static=static)
    assert _error_to_levels(forecasts, static) < 0.5


def test_static_covariates_are_saved_with_the_model(tmp_path, data, fitted):
    fitted.save(tmp_path / "m.safetensors")
    loaded = NeuralForecaster.load(tmp_path / "m.safetensors")
    pd.testing.assert_frame_equal(loaded.predict(), fitted.predict())
    pd.testing.assert_frame_equal(loaded.static_, fitted.static_)
    new, static = _panel(np.array([1.0]), seed=6, prefix="new")
    pd.testing.assert_frame_equal(loaded.predict(new, X_static=static),
                                  fitted.predict(new, X_static=static))


def test_backtest_passes_static_covariates_to_every_fit(data):
    frame, static = data
    result = backtest(NeuralForecaster(**{**FAST, "max_epochs": 2}), frame, start=-6,
                      stride=2, X_static=static)
    assert result["unique_id"].nunique() == len(static)
    assert np.isfinite(result["y_pred"]).all()


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.assign(level=s["level"].astype(str)), "column 'level' is not numeric"),
    (lambda s: s.assign(level=[np.nan] + list(s["level"][1:])),
     "column 'level' has a missing or infinite value for unique_id 's0'"),
    (lambda s: s.iloc[1:], r"no row for unique_id\(s\) \['s0'\]"),
    (lambda s: pd.concat([s, s.iloc[:1]]), r"unique_id\(s\) \['s0'\] appear more than once"),
    (lambda s: s[["unique_id"]], "no static variable column"),
    (lambda s: s.rename(columns={"level": "y"}), r"share column name\(s\) \['y'\]"),
    (lambda s: s["level"], "must be a DataFrame"),
])
def test_bad_static_covariates_are_named(data, edit, message):
    frame, static = data
    with pytest.raises(DataValidationError, match=message):
        NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(frame, X_static=edit(static))


def test_static_covariates_need_long_data_and_a_model_that_uses_them(data):
    frame, static = data
    wide = frame[frame["unique_id"] == "s0"].set_index("ds")[["y"]]
    with pytest.raises(DataValidationError, match="apply to long data"):
        NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(wide, X_static=static)
    with pytest.raises(DataValidationError, match="NaiveForecaster does not use static"):
        NaiveForecaster(horizon=2).fit(frame, X_static=static)


def test_a_model_fitted_without_them_refuses_static_covariates(data):
    frame, static = data
    model = NeuralForecaster(**{**FAST, "max_epochs": 1}).fit(frame)
    with pytest.raises(DataValidationError, match="fitted without static covariates"):
        model.predict(frame, X_static=static)

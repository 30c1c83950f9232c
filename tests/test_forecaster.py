"""NeuralForecaster end to end: every encoder, covariates, persistence, determinism, early
stopping. The estimator contract (input forms, sklearn conventions, new history, pickling)
is checked for every registered model in tests/test_forecaster_contract.py."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from spikecast import NeuralForecaster
from spikecast.exceptions import DataValidationError, ModelFileError
from spikecast.models import architectures

FAST = dict(lookback=24, horizon=6, hidden_size=8, max_epochs=1, batch_size=64, verbose=False)


@pytest.mark.parametrize("encoder", architectures.available())
def test_every_encoder_fits_and_forecasts_real_data(encoder, etth1_small):
    model = NeuralForecaster(encoder=encoder, **FAST).fit(etth1_small)
    forecast = model.predict()
    expected_index = pd.date_range(etth1_small.index[-1] + pd.Timedelta(hours=1), periods=6,
                                   freq="h")
    assert isinstance(forecast, pd.DataFrame)
    assert forecast.index.equals(expected_index)
    assert list(forecast.columns) == list(etth1_small.columns)
    assert np.isfinite(forecast.to_numpy()).all()
    # forecasts live on the data's scale, not the standardised one
    last = etth1_small.iloc[-24:]
    assert (forecast.mean() - last.mean()).abs().lt(5 * etth1_small.std()).all()


def test_target_with_covariates(etth1_small):
    model = NeuralForecaster(encoder="stack", neuron="liaf", target="OT",
                             **FAST).fit(etth1_small)
    assert model.covariate_columns_ == ["HUFL", "MUFL"]
    forecast = model.predict()
    assert list(forecast.columns) == ["OT"]
    # covariates really feed the model: changing them changes the forecast
    changed = etth1_small.copy()
    changed.iloc[-5:, 0] += 50.0
    assert not np.allclose(model.predict(changed).to_numpy(), forecast.to_numpy())


def test_X_covariates_equal_target_selection(etth1_small):
    y, X = etth1_small[["OT"]], etth1_small[["HUFL", "MUFL"]]
    a = NeuralForecaster(encoder="gru", **FAST).fit(y, X).predict(y, X)
    b = NeuralForecaster(encoder="gru", target="OT", **FAST).fit(
        pd.concat([y, X], axis=1)).predict()
    assert list(a.columns) == ["OT"]
    assert a.shape == b.shape


def test_channel_mixing_and_encoder_options(etth1_small):
    for kwargs in ({"channel_independent": False}, {"encoding": "conv"},
                   {"encoding": "delta", "spike_steps": 2, "readout": "mean"},
                   {"num_layers": 2, "dropout": 0.1}):
        forecast = NeuralForecaster(encoder="stack", neuron="ts_lif", **FAST,
                                    **kwargs).fit(etth1_small).predict()
        assert forecast.shape == (6, 3) and np.isfinite(forecast.to_numpy()).all()


def test_predict_with_too_short_history_says_what_is_needed(etth1_small):
    model = NeuralForecaster(encoder="gru", **FAST).fit(etth1_small)
    with pytest.raises(DataValidationError, match="at least 24"):
        model.predict(etth1_small.iloc[:10])
    with pytest.raises(DataValidationError, match="differ from those seen in fit"):
        model.predict(etth1_small[["HUFL"]])


def test_unknown_encoder_lists_valid_names(etth1_small):
    with pytest.raises(ValueError, match="unknown encoder 'transformer'.*spike_tcn"):
        NeuralForecaster(encoder="transformer", **FAST).fit(etth1_small)


def test_old_spelling_gives_the_new_one(etth1_small):
    with pytest.raises(ValueError, match="encoder='stack', neuron='ts_lif'"):
        NeuralForecaster(encoder="ts_lif", **FAST).fit(etth1_small)


def test_same_seed_same_predictions(etth1_small):
    def forecast(seed):
        return NeuralForecaster(encoder="stack", neuron="ts_lif", random_state=seed,
                                **FAST).fit(etth1_small).predict()

    a, b, c = forecast(3), forecast(3), forecast(4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_save_load_round_trip(tmp_path, etth1_small):
    model = NeuralForecaster(encoder="stack", neuron="tc_lif", **FAST).fit(etth1_small)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = NeuralForecaster.load(path)
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    pd.testing.assert_frame_equal(loaded.predict(etth1_small.iloc[:200]),
                                  model.predict(etth1_small.iloc[:200]))
    assert loaded.get_params() == model.get_params()
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp files left


def test_truncated_or_tampered_file_is_rejected(tmp_path, etth1_small):
    model = NeuralForecaster(encoder="gru", **FAST).fit(etth1_small)
    path = tmp_path / "model.safetensors"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        NeuralForecaster.load(tmp_path / "truncated.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError):
        NeuralForecaster.load(tmp_path / "garbage.safetensors")
    with pytest.raises(ModelFileError, match="does not exist"):
        NeuralForecaster.load(tmp_path / "missing.safetensors")


def test_early_stopping_restores_best_weights(etth1_small):
    from spikecast.data.windows import WindowDataModule

    model = NeuralForecaster(encoder="gru", lookback=24, horizon=6, hidden_size=8,
                             max_epochs=6, early_stopping_patience=1, lr=0.05,
                             val_size=0.25, verbose=False).fit(etth1_small)
    dm = WindowDataModule(etth1_small, lookback=24, horizon=6, val_size=0.25)
    dm.setup()
    x, y = next(iter(torch.utils.data.DataLoader(dm._dataset("val"), batch_size=10_000)))
    with torch.no_grad():
        val_loss = torch.mean((model.module_(x) - y) ** 2).item()
    assert val_loss == pytest.approx(model.best_val_loss_, rel=1e-4)


def test_quantile_forecasts(etth1_small):
    model = NeuralForecaster(encoder="lstm", loss="quantile", quantiles=[0.1, 0.5, 0.9],
                             target="OT", **FAST).fit(etth1_small)
    quantiles = model.predict_quantiles()
    assert sorted(quantiles) == [0.1, 0.5, 0.9]
    assert all(q.shape == (6, 1) for q in quantiles.values())
    pd.testing.assert_frame_equal(quantiles[0.5], model.predict())
    with pytest.raises(DataValidationError, match="quantile"):
        NeuralForecaster(encoder="gru", **FAST).fit(etth1_small).predict_quantiles()


def test_training_without_validation(etth1_small):
    """val_size=0 trains on every row: no early stopping, the last epoch's weights, and a
    checkpoint directory that still supports resuming."""
    model = NeuralForecaster(encoder="stack", neuron="lif", val_size=0, **{**FAST, "max_epochs": 2})
    model.fit(etth1_small)
    assert model.best_val_loss_ is None and model.n_epochs_ == 2
    assert np.isfinite(model.predict().to_numpy()).all()


def test_bare_forecaster_is_the_searched_default(etth1_small):
    """``NeuralForecaster()`` is the spiking configuration with the lowest validation loss in
    the search recorded in docs/search (docs/defaults.md), and every architecture's default
    neuron is its best there."""
    from spikecast.models import architectures
    from spikecast.models.units import is_analog

    folder = Path(__file__).resolve().parents[1] / "docs" / "search"
    runs = pd.concat([pd.read_csv(p) for p in folder.glob("p1_*.csv")], ignore_index=True)
    runs["neuron"] = runs["overrides"].str.extract(r"--model\.neuron (\w+)", expand=False)
    spiking = runs[runs["neuron"].notna() & ~runs["neuron"].map(is_analog)]
    for arch, rows in spiking.groupby("model"):
        best = rows.loc[rows["val_loss"].idxmin(), "neuron"]
        assert architectures.resolve(arch).default_neuron == best, arch
    best = spiking.loc[spiking["val_loss"].idxmin()]
    model = NeuralForecaster(**{**FAST, "hidden_size": 16}).fit(etth1_small)
    network = model.module_.network
    assert model.encoder == best["model"]
    assert network.encoder.neuron == best["neuron"]
    size = re.search(r"--model\.readout_size (\d+)", best["overrides"])
    assert network.readout.kind == re.search(r"--model\.readout (\w+)", best["overrides"])[1]
    assert network.readout.project.out_features == int(size[1])
    assert (network.skip is not None) == ("--model.linear_skip true" in best["overrides"])
    assert network.encoder.init_rate == 0.15 and "init_rate" not in best["overrides"]

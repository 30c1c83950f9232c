"""The demo runs on its tuned defaults: the parameters ``spikecast tune --config
configs/tune/co2.yaml`` selected (kept in configs/tuned/co2/), on weeks before its cutoffs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spikecast.cli.demo import TUNED, demo_config
from spikecast.cli.tune import load_tune_config
from spikecast.experiment.config import load_spec, spec_from_dict

REPO = Path(__file__).resolve().parents[1]
TUNED_DIR = REPO / "configs" / "tuned" / "co2"


def selected(label: str) -> dict:
    """The parameters of the configuration the study selected for ``label``."""
    path = TUNED_DIR / f"{label}.yaml"
    config = yaml.safe_load(path.read_text())
    if "trainer" in config:  # a Lightning CLI config: the module's arguments
        return config["model"]
    # a backtest config holds the parameters that differ from the defaults: build it
    return load_spec(path).build_models()[label].get_params()


def trials() -> dict[str, int]:
    """The trials each model of the study had (``summary.csv``)."""
    rows = (TUNED_DIR / "summary.csv").read_text().splitlines()[1:]
    return {row.split(",")[0]: int(row.split(",")[1]) for row in rows}


@pytest.mark.parametrize("label", sorted(TUNED))
def test_demo_defaults_are_what_the_study_selected(label):
    chosen = selected(label)
    for name, value in TUNED[label].items():
        assert chosen[name] == value, (label, name)


def test_every_demo_model_was_tuned_with_the_same_budget():
    settings, spec = load_tune_config(REPO / "configs" / "tune" / "co2.yaml")
    demo = spec_from_dict(demo_config())
    assert set(spec.models) == set(demo.models) == set(trials())
    # one trial for a model with nothing to tune (naive, drift, the seasonal naive's one
    # season), the config's n_trials for every other, whose selection the demo uses
    tuned = {label for label, n in trials().items() if n > 1}
    assert tuned == set(TUNED)
    assert {trials()[label] for label in tuned} == {settings["n_trials"]}


def test_the_search_never_saw_the_demo_cutoffs():
    settings, spec = load_tune_config(REPO / "configs" / "tune" / "co2.yaml")
    demo = spec_from_dict(demo_config())
    assert (spec.dataset, spec.tail) == (demo.dataset, demo.tail)
    first_cutoff = int(round(demo.start * demo.tail)) - 1
    tuning_rows = demo.tail - int(demo.tail * settings["test_size"])
    assert tuning_rows <= first_cutoff + 1  # tuned on rows up to the first cutoff only


def test_demo_models_take_the_tuned_values():
    models = spec_from_dict(demo_config()).build_models()
    for label, params in TUNED.items():
        got = models[label].get_params()
        for name, value in params.items():
            assert got[name] == value, (label, name)

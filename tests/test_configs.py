"""The Lightning CLI configs: one ``base.yaml`` per folder plus small per-model files.

``configs/fast``, ``configs/p1`` and ``configs/p2`` each hold a ``base.yaml`` (data, split,
trainer, training budget) and one file per model holding only what differs: the model and
its output directories. A run composes the two, ``--config base.yaml --config MODEL.yaml``
(later files win; a list such as ``trainer.callbacks`` of the same length merges item by
item, so a model file names the base's callbacks by ``class_path`` and sets only the
checkpoint ``dirpath``). These tests keep it so: every model file composes with its base
and parses (``--print_config``, no training), writes to its own ``outputs/<folder>/<stem>``,
holds only model keys and repeats no value its base already sets; every command shown in
the README, the docs, the benchmark scripts and the configs passes the base first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from conftest import benchmark_script

import spikecast.cli.lightning  # noqa: F401  (Lightning's log handler binds to the real stderr)
from spikecast.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
FOLDERS = ("fast", "p1", "p2")
MODEL_FILES = [path for folder in FOLDERS for path in sorted((CONFIGS / folder).glob("*.yaml"))
               if path.name != "base.yaml"]
#: what a model file may set besides ``model.*`` (list items by index)
TRAINER_KEYS = ("default_root_dir", "callbacks")
CALLBACK_KEYS = {("class_path",), ("init_args", "dirpath")}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def flatten(tree, prefix: tuple = ()) -> dict[tuple, object]:
    """``{key path: leaf value}`` of a YAML tree; list items are keyed by their index."""
    if isinstance(tree, dict) and tree:
        items = tree.items()
    elif isinstance(tree, list) and tree:
        items = enumerate(tree)
    else:
        return {prefix: tree}
    return {k: v for key, sub in items for k, v in flatten(sub, (*prefix, key)).items()}


def lookup(tree, key: tuple):
    for part in key:
        tree = tree[part]
    return tree


@pytest.fixture
def resolved(capsys, monkeypatch):
    """The configuration ``spikecast fit --config A --config B ... --print_config`` prints."""
    monkeypatch.setattr(sys, "argv", ["spikecast"])  # LightningCLI reads only the args

    def run(*paths: Path) -> dict:
        argv = ["fit", *(arg for path in paths for arg in ("--config", str(path)))]
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--print_config"])
        assert exit_.value.code == 0, argv
        return yaml.safe_load(capsys.readouterr().out)

    return run


def test_each_folder_has_a_base_and_model_files():
    for folder in FOLDERS:
        assert (CONFIGS / folder / "base.yaml").is_file(), folder
        assert any(path.parent.name == folder for path in MODEL_FILES), folder
    stems = {folder: {p.stem for p in MODEL_FILES if p.parent.name == folder}
             for folder in ("p1", "p2")}
    assert stems["p1"] == stems["p2"]  # configs/p2 is "the same for P2"
    assert all(stem.startswith("etth1_") for stem in stems["p1"])


@pytest.mark.parametrize("folder", FOLDERS)
def test_base_leaves_the_model_and_its_directories_to_the_model_files(folder):
    base = load(CONFIGS / folder / "base.yaml")
    assert "default_root_dir" not in base["trainer"]
    assert all("dirpath" not in item.get("init_args", {}) for item in base["trainer"]["callbacks"])
    assert not {"encoder", "neuron", "readout", "readout_size"} & set(base["model"])


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_model_file_holds_only_what_differs_from_its_base(path):
    base, model = load(path.parent / "base.yaml"), load(path)
    assert set(model) <= {"trainer", "model"}, f"{path.name}: only trainer and model keys"
    assert set(model["trainer"]) <= set(TRAINER_KEYS), path.name
    assert model["model"].get("encoder"), f"{path.name} names its encoder"
    callbacks, base_callbacks = model["trainer"]["callbacks"], base["trainer"]["callbacks"]
    # the same length as the base's list, or the base's callbacks would be replaced
    assert len(callbacks) == len(base_callbacks), path.name
    for item, base_item in zip(callbacks, base_callbacks, strict=True):
        assert item["class_path"] == base_item["class_path"], path.name
        assert set(flatten(item)) <= CALLBACK_KEYS, f"{path.name}: only a dirpath per callback"
    base_values = flatten(base)
    for key, value in flatten(model).items():
        if key[-1] == "class_path":
            continue  # names the base's item it merges into (checked above)
        assert key not in base_values or base_values[key] != value, (
            f"{path.name} repeats {'.'.join(map(str, key))} = {value!r} of base.yaml")


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_model_file_composes_with_its_base(path, resolved):
    base = path.parent / "base.yaml"
    printed = resolved(base, path)
    # every value of the base survives unless the model file sets it, and the model file's
    # values win: a composition that dropped the base's callbacks would fail here
    model_values = flatten(load(path))
    for key, value in {**flatten(load(base)), **model_values}.items():
        assert lookup(printed, key) == value, (path.name, key)
    run = f"outputs/{path.parent.name}/{path.stem}"
    assert printed["trainer"]["default_root_dir"] == run
    (checkpoint,) = [c for c in printed["trainer"]["callbacks"]
                     if c["class_path"].endswith(".ModelCheckpoint")]
    assert checkpoint["init_args"]["dirpath"] == f"{run}/checkpoints"
    assert checkpoint["init_args"]["filename"] == "best"


def test_benchmark_scripts_run_every_model_with_its_base(monkeypatch):
    results = benchmark_script("results")
    monkeypatch.setattr(sys, "path", list(sys.path))  # search_defaults prepends benchmarks/
    monkeypatch.setitem(sys.modules, "results", results)  # ... and imports results from there
    for protocol in ("p1", "p2"):
        models = results.neural_models(protocol)
        assert len(models) == len([p for p in MODEL_FILES if p.parent.name == protocol])
        for model in models:
            base, own = results.config_files(protocol, model)
            assert base == CONFIGS / protocol / "base.yaml"
            assert own == CONFIGS / protocol / f"etth1_{model}.yaml"
    # its runs go through results.config_files
    stages = benchmark_script("search_defaults").STAGES
    for model, _ in (run for runs in stages.values() for run in runs):
        assert model in results.neural_models("p1"), model
    with pytest.raises(FileNotFoundError, match="no config"):
        results.config_files("p1", "nosuch")


SHOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         *sorted((REPO / "benchmarks").glob("*.py")), *sorted(CONFIGS.glob("*/*.yaml"))]


@pytest.mark.parametrize("path", SHOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_commands_shown_pass_the_base_first(path):
    """A command a user copies names the base before the model file (docs/results.csv
    keeps the commands that ran, before the split, and is not checked)."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"--config\s+configs/(\w+)/([\w<>]+)\.yaml", text):
        folder, name = match.groups()
        if folder not in FOLDERS or name == "base":
            continue
        before = text[: match.start()]
        assert re.search(rf"--config\s+configs/{folder}/base\.yaml\s+(\\\s+)?$", before), (
            f"{path.name}: {match.group()} without --config configs/{folder}/base.yaml first")

"""Smoke test of benchmarks/epoch.py: tiny sizes, synthetic data, every model and the profile."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("lightning")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "epoch.py"


def _load():
    spec = importlib.util.spec_from_file_location("benchmark_epoch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_both_tables(tmp_path, capsys):
    bench = _load()
    out = tmp_path / "epoch.md"
    assert bench.main(["--quick", "--synthetic", "--models", "ts_lif_conv",
                       "gru", "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "| ts_lif_conv |" in text and "| gru |" in text
    for category in bench.CATEGORIES:
        assert f"| {category} |" in text
    assert "synthetic rows 0..299" in text
    assert text in capsys.readouterr().out + "\n"


def test_categories():
    bench = _load()
    assert bench._category("TSLIFFunctionBackward") == "neuron kernels"
    assert bench._category("aten::addmm") == "synapse GEMMs / convolutions"
    assert bench._category("aten::native_batch_norm") == "normalisation"
    assert bench._category("aten::add_") is None


def test_encoding_cost_benchmark_runs_quickly(capsys):
    """benchmarks/encoding_cost.py --quick prints its one-row table."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "encoding_cost.py"
    spec = importlib.util.spec_from_file_location("encoding_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.startswith("| ts_lif |") and float(row.split("|")[-2]) > 0

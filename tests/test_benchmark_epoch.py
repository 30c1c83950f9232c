"""Smoke test of benchmarks/epoch.py: tiny sizes, synthetic data, every model and the profile."""

from __future__ import annotations

import pytest
from conftest import benchmark_script

pytest.importorskip("lightning")


def _load():
    return benchmark_script("epoch")


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
    module = benchmark_script("encoding_cost")
    assert module.main(["--quick"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.startswith("| ts_lif |") and float(row.split("|")[-2]) > 0

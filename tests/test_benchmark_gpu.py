"""Smoke test of benchmarks/gpu.py on the CPU: the dry run prints every table, and a machine
without a CUDA device gets a clear message and status 2."""

from __future__ import annotations

import pytest
import torch
from conftest import benchmark_script, data_dir


def _load():
    return benchmark_script("gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_without_cuda_it_says_so(capsys):
    assert _load().main([]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device" in err and "--dry-run" in err


def test_dry_run_prints_every_neuron_and_the_epochs(capsys, tmp_path, monkeypatch):
    bench = _load()
    monkeypatch.setenv("SPIKECAST_DATA_DIR", str(data_dir()))
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--dry-run", "--markdown", str(tmp_path / "out.md")]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    for name in bench.NEURON_NAMES:
        for n in (256, 512):
            row = next(line for line in out.splitlines() if line.startswith(f"| {name} |")
                       and f"| 8 | {n} |" in line)
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert float(cells[5]) > 0  # neuron-steps/s
            assert int(cells[6]) == 4 * bench.VALUES_PER_STEP[name]  # float32 bytes
            assert cells[8].endswith("%")
    assert "Copy bandwidth:" in out
    assert "SpikingJelly" in out  # a ratio, or why there is none
    if (data_dir() / "ETTh1.csv").exists():
        assert "| spiking (default) | spike_tcn |" in out and "| gru | gru |" in out
    else:
        assert "forecaster epoch skipped" in out
    assert (tmp_path / "out.md").read_text().startswith("# spikecast GPU benchmark")

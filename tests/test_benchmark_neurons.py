"""Smoke test of benchmarks/neurons.py: a tiny --quick run prints a row for every neuron."""

from __future__ import annotations

import torch
from conftest import benchmark_script


def _load():
    return benchmark_script("neurons")


def test_quick_run_prints_every_neuron(capsys, tmp_path):
    bench = _load()
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--quick", "--T", "4", "--sizes", "256", "--baselines",
                           "--no-memory", "--threads", "1", "--markdown",
                           str(tmp_path / "out.md")]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    table = out.split("\n\n")[1]
    for name in bench.NEURON_NAMES:
        for impl in ("reference", "fused"):
            assert any(line.split()[:4] == [name, impl, "4", "256"]
                       for line in table.splitlines()), (name, impl)
    assert "copy bandwidth" in out
    assert "| lif | fused | 4 | 256 |" in (tmp_path / "out.md").read_text()


def test_peak_memory_counts_what_a_pass_allocates():
    bench = _load()
    block = []

    def run():  # keeps 64 MiB alive during the pass, frees it afterwards
        block.append(torch.ones(16 * 2**20))
        block.clear()

    mb = bench.peak_memory_mb(run, "cpu")
    if mb is not None:  # None where /proc/self/clear_refs is missing
        assert 50 < mb < 200

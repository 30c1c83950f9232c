"""The README's examples run as written: its Python blocks, its shell commands, the demo."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
import pytest

import spikecast.cli.lightning  # noqa: F401  (Lightning's log handler binds to the real stderr)
from spikecast.cli import main
from spikecast.cli.demo import DEMO_ENCODERS
from spikecast.data.datasets import dataset_card, resolve_data_dir

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(language: str, text: str = README) -> list[str]:
    """The fenced code blocks of ``language`` in ``text``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def shell_commands(block: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments dropped, and so is
    the activation of the virtual environment (``source .venv/bin/activate``), which sets up
    the shell rather than running anything."""
    lines = block.replace("\\\n", " ").splitlines()
    commands = [line.split("#", 1)[0].strip() for line in lines]
    return [command for command in commands if command and not command.startswith("source ")]


def section(title: str) -> str:
    """The README text from heading ``## title`` to the next ``## `` heading."""
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory that sees the repository's ``configs/``, as the README's
    commands run from the repository root; and a command-line ``sys.argv``."""
    (tmp_path / "configs").symlink_to(REPO / "configs", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["spikecast"])
    return tmp_path


def test_quick_start_is_make_demo_and_make_test():
    commands = [c for b in blocks("bash", section("Quick start")) for c in shell_commands(b)]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    demo = makefile[makefile.index("\ndemo:"):].split("\n\n")[0]
    assert "/bin/spikecast demo" in demo


PYTHON = blocks("python")


def test_readme_has_the_three_ways():
    for title in ("From Python, like a scikit-learn estimator", "From the Lightning CLI",
                  "Backtesting"):
        assert section(title)
    assert len(PYTHON) >= 2


@pytest.mark.parametrize("number", range(len(PYTHON)))
def test_python_example_runs(number, workdir, capsys):
    code = PYTHON[number]
    exec(compile(code, f"README.md python block {number + 1}", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip()  # every example prints what it shows
    if "model.save(" in code:
        assert (workdir / "co2_ts_lif.safetensors").is_file()


def test_shell_examples_run(workdir, capsys):
    """Every ``spikecast`` command of the README's shell blocks, in order (``test`` uses the
    checkpoint ``fit`` wrote)."""
    commands = [c for b in blocks("bash") for c in shell_commands(b)
                if c.startswith("spikecast ")]
    kinds = {shlex.split(c)[1] for c in commands}
    assert {"fit", "test", "backtest", "datasets"} <= kinds
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[:2] == ["datasets", "download"]:
            card = dataset_card(argv[2])
            if not (resolve_data_dir() / card["file"]).is_file():
                continue  # tests never download; with the file in place it is verified
        if "--print_config" in argv:
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            assert exit_.value.code == 0, command
        else:
            assert main(argv) == 0, command
        out = capsys.readouterr().out
        if argv[0] == "backtest":
            directory = workdir / argv[argv.index("--output-dir") + 1]
            assert {"metrics.csv", "predictions.csv", "results.md", "forecast.png",
                    "errors_by_step.png"} <= {p.name for p in directory.iterdir()}
        if argv[:2] == ["datasets", "list"]:
            assert "co2" in out and "embedded" in out
    assert (workdir / "outputs" / "fast" / "ts_lif" / "checkpoints" / "best.ckpt").is_file()


def test_demo_quick(workdir, capsys):
    """``spikecast demo --quick``: every model in the ranked table, the files written."""
    assert "--quick" in section("Quick start")
    assert main(["demo", "--quick", "--output-dir", "demo_output", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for name in (*DEMO_ENCODERS, "naive", "seasonal_naive", "drift", "ets", "linear"):
        assert re.search(rf"\s{name}\s", out), name
    files = {p.name for p in (workdir / "demo_output").iterdir()}
    assert files == {"metrics.csv", "predictions.csv", "results.md", "forecast.png",
                     "errors_by_step.png", "backtest.png"}
    table = pd.read_csv(workdir / "demo_output" / "metrics.csv", index_col="model")
    assert (table.loc[list(DEMO_ENCODERS), ["params", "energy_nj"]] > 0).all().all()
    assert table["n_cutoffs"].nunique() == 1
    assert os.path.getsize(workdir / "demo_output" / "forecast.png") > 10_000

"""Hostile and careless input to configs and the command line (issue 17): no input runs
code, holds the machine or prints more than one ``spikecast: error:`` line (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import spikecast.cli.lightning  # noqa: F401  (Lightning's log handler binds to the real stderr)
from spikecast import safe_yaml
from spikecast.cli import main
from spikecast.cli.lightning import check_ckpt_path, check_class_path
from spikecast.data.datasets import load_card
from spikecast.exceptions import CardError, ConfigError
from spikecast.experiment import report
from spikecast.experiment.config import read_yaml, spec_from_dict

REPO = Path(__file__).resolve().parents[1]
FAST_BASE = REPO / "configs" / "fast" / "base.yaml"
#: 8 levels of nested aliases: ~600 bytes that yaml.safe_load expands to 9**8 items
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
CORES = os.cpu_count() or 1


@pytest.fixture(autouse=True)
def command_line(monkeypatch):
    """Run as the command would (LightningCLI warns when sys.argv holds pytest's args)."""
    monkeypatch.setattr(sys, "argv", ["spikecast"])


def tiny_backtest(**changes) -> dict:
    config = {"dataset": {"name": "co2", "tail": 150},
              "backtest": {"horizon": 4, "start": 0.8, "stride": 8},
              "models": [{"model": "naive"}]}
    config.update(changes)
    return config


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith("spikecast: error: ")
    assert "Traceback" not in stderr
    return lines[0]


# ------------------------------------------------------------------------------ YAML
def test_alias_bomb_is_refused_at_once(tmp_path):
    assert len(BOMB) < 700
    start = time.perf_counter()
    with pytest.raises(yaml.YAMLError, match="alias"):
        safe_yaml.load(BOMB)
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError, match=r"bomb.yaml is not valid YAML \(line 2.*alias"):
        read_yaml(path)
    card = tmp_path / "card.yaml"
    card.write_text(BOMB)
    with pytest.raises(CardError, match="alias"):
        load_card(card)
    assert time.perf_counter() - start < 5


def test_yaml_limits(tmp_path, monkeypatch):
    assert safe_yaml.load("a: &x 1\nb: [1, 2]\n") == {"a": 1, "b": [1, 2]}  # anchors alone
    with pytest.raises(yaml.YAMLError, match="levels of nesting"):
        safe_yaml.load("[" * 5000 + "]" * 5000)
    with pytest.raises(yaml.YAMLError, match="merge keys"):
        safe_yaml.load("base: &b {x: 1}\nother:\n  <<: *b\n")
    monkeypatch.setattr(safe_yaml, "MAX_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200)
    with pytest.raises(ConfigError, match="over spikecast's limit of 100 bytes"):
        read_yaml(big)
    assert len(safe_yaml.short_repr("y" * 10**6)) < 250


def test_backtest_error_message_is_short(capsys, tmp_path):
    """A huge value is quoted in at most ~200 characters (it was a 28 MB line)."""
    config = tiny_backtest(output_dir=["x" * 100_000])
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["backtest", "--config", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "output_dir must be a path" in line and len(line) < 500


# ------------------------------------------------------------------------------ allow-list
def test_class_path_allow_list(monkeypatch):
    check_class_path("lightning.pytorch.callbacks.ModelCheckpoint", "k")
    check_class_path("ModelCheckpoint", "k")  # a short name resolves among imported classes
    with pytest.raises(ConfigError, match="k: 'os.system' is not under an allowed module"):
        check_class_path("os.system", "k")
    with pytest.raises(ConfigError, match="torchvision"):
        check_class_path("torchvision.Foo", "k")  # a prefix of a name is no module prefix
    monkeypatch.setenv("SPIKECAST_ALLOWED_MODULES", "mypkg.callbacks, other")
    check_class_path("mypkg.callbacks.Mine", "k")
    with pytest.raises(ConfigError):
        check_class_path("mypkg.evil.Thing", "k")


def test_ckpt_path_must_be_a_local_file(tmp_path):
    ckpt = tmp_path / "m.ckpt"
    ckpt.write_bytes(b"x")
    for ok in (None, "last", "best", str(ckpt)):
        check_ckpt_path(ok)
    for url in ("http://127.0.0.1:1/evil.ckpt", "https://x/y.ckpt", "s3://b/k.ckpt"):
        with pytest.raises(ConfigError, match="is a URL"):
            check_ckpt_path(url)
    with pytest.raises(ConfigError, match="not an existing local file"):
        check_ckpt_path(str(tmp_path))
    with pytest.raises(ConfigError, match="registry"):
        check_ckpt_path("registry")


# ------------------------------------------------------------------------------ resources
@pytest.mark.parametrize("change, key", [
    ({"backtest": {"horizon": 4, "start": 0.8, "n_jobs": CORES + 1}}, "backtest.n_jobs"),
    ({"models": [{"model": "neural", "params": {"accelerator": "cpu", "devices": 64}}]},
     "models[0].params.devices"),
    ({"models": [{"model": "neural", "params": {"accelerator": "cpu",
                                                 "devices": list(range(CORES + 1))}}]},
     "models[0].params.devices"),
])
def test_parallelism_beyond_the_machine_is_refused(change, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        spec_from_dict(tiny_backtest(**change))


def test_parallelism_within_the_machine_is_accepted():
    spec_from_dict(tiny_backtest(backtest={"horizon": 4, "start": 0.8, "n_jobs": -1}))
    spec_from_dict(tiny_backtest(models=[{"model": "neural", "params": {
        "accelerator": "cpu", "devices": 1}}]))


# ------------------------------------------------------------------------------ outputs
def _frames():
    table = pd.DataFrame({"model": ["naive"], "mae": [1.0]},
                         index=pd.RangeIndex(1, 2, name="rank"))
    ds = pd.date_range("2020", periods=3, freq="D")
    predictions = pd.DataFrame({"model": "naive", "unique_id": "y", "cutoff": ds[0],
                                "ds": ds, "step": [1, 2, 3], "y": 1.0, "y_pred": 1.5})
    y = pd.DataFrame({"y": [1.0, 2.0, 3.0]}, index=ds)
    return table, predictions, y


def _fail_plot(*args, **kwargs):
    raise KeyboardInterrupt  # the run is killed after the CSV files were written


def test_outputs_appear_complete_or_not_at_all(tmp_path, monkeypatch):
    out = tmp_path / "results"
    monkeypatch.setattr("spikecast.plotting.plot_backtest_errors", _fail_plot)
    with pytest.raises(KeyboardInterrupt):
        report.write_outputs(out, *_frames())
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no half set, no leftovers
    monkeypatch.undo()
    paths = report.write_outputs(out, *_frames())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    before = (out / "metrics.csv").read_text()
    table, predictions, y = _frames()
    table["mae"] = 9.0  # a second run, killed while writing: the first set stays whole
    monkeypatch.setattr("spikecast.plotting.plot_backtest_errors", _fail_plot)
    with pytest.raises(KeyboardInterrupt):
        report.write_outputs(out, table, predictions, y)
    assert (out / "metrics.csv").read_text() == before
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())


def test_interrupted_move_leaves_a_marker(tmp_path, monkeypatch):
    out = tmp_path / "results"
    report.write_outputs(out, *_frames())
    moved = []
    real_replace = os.replace

    def replace_then_die(src, dst):  # killed after the first file moved into `out`
        if Path(dst).parent == out:
            if moved:
                raise KeyboardInterrupt
            moved.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(report.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        report.write_outputs(out, *_frames())
    assert (out / report.INCOMPLETE_MARKER).exists()  # the mixed set is marked
    monkeypatch.undo()
    report.write_outputs(out, *_frames())
    assert not (out / report.INCOMPLETE_MARKER).exists()


# ------------------------------------------------------------------------------ the CLI
def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _fit(*configs: str, command: str = "fit") -> list[str]:
    args = [command, "--config", str(FAST_BASE)]
    for config in configs:
        args += ["--config", config]
    return args


#: (name, config text or None, extra args, what the error line must contain); the
#: command is ``fit`` unless the name starts with another Lightning subcommand
CASES = [
    ("bomb", BOMB, [], "alias"),
    ("lr", "model: {lr: -1}\n", [], "model.lr must be"),
    ("unknown_key", "model: {bogus_key: 1}\n", [], "model.bogus_key"),
    ("wrong_type", "trainer: {max_epochs: abc}\n", [], "trainer.max_epochs"),
    ("neuron_params", "model: {neuron: ts_lif, neuron_params: {bogus: 1}}\n", [],
     "neuron_params ['bogus']"),
    ("num_workers", "data: {num_workers: -3}\n", [], "data.num_workers"),
    ("devices", "trainer: {accelerator: cpu, devices: 64}\n", [], "trainer.devices"),
    ("class_path", "trainer:\n  callbacks:\n    - class_path: hostile_probe.Callback\n", [],
     "'hostile_probe.Callback' is not under an allowed module"),
    ("model_file", f"model: {FAST_BASE}\n", [], "model must be a mapping"),
    ("ckpt_url", "ckpt_path: http://127.0.0.1:9/evil.ckpt\n", [], "ckpt_path: "),
    ("ckpt_arg", None, ["--ckpt_path", "http://127.0.0.1:9/evil.ckpt"], "is a URL"),
    ("root_is_file", None, ["--trainer.default_root_dir", "{tmp}/afile"],
     "trainer.default_root_dir"),
    ("test_lr", "model: {lr: -1}\n", [], "model.lr must be"),
    ("test_ckpt_url", None, ["--ckpt_path", "http://127.0.0.1:9/evil.ckpt"], "is a URL"),
    ("validate_unknown_key", "model: {bogus_key: 1}\n", [], "model.bogus_key"),
    ("validate_bomb", BOMB, [], "alias"),
    ("predict_ckpt_url", None, ["--ckpt_path", "http://127.0.0.1:9/evil.ckpt"], "is a URL"),
    ("predict_class_path",
     "trainer:\n  callbacks:\n    - class_path: hostile_probe.Callback\n", [],
     "'hostile_probe.Callback' is not under an allowed module"),
]
SUBCOMMANDS = ("test", "validate", "predict")
if not __import__("torch").cuda.is_available():
    CASES.append(("gpu", "trainer: {accelerator: gpu}\n", [], "trainer.accelerator"))


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """Run every case of :data:`CASES` as the command, in one subprocess (one start-up of
    torch and Lightning for the whole table): ``{name: (status, stderr)}``."""
    tmp = tmp_path_factory.mktemp("hostile")
    probe = tmp / "probe"  # imported, hostile_probe would write this file
    (tmp / "hostile_probe.py").write_text(
        f"open({str(probe)!r}, 'w').write('imported')\nclass Callback: pass\n")
    (tmp / "afile").write_text("a file")
    runs = {}
    for name, text, extra, _ in CASES:
        command = name.split("_")[0] if name.split("_")[0] in SUBCOMMANDS else "fit"
        configs = [_write(tmp, f"{name}.yaml", text)] if text else []
        args = _fit(*configs, command=command)
        runs[name] = args + [a.replace("{tmp}", str(tmp)) for a in extra]
    code = ("import sys; from spikecast.cli import main\n"
            f"for name, argv in {runs!r}.items():\n"
            "    sys.argv = ['spikecast']\n"
            "    status = main(argv)\n"
            "    print(f'@@ {name} {status}', file=sys.stderr, flush=True)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=600)
    results, lines = {}, []
    for line in done.stderr.splitlines():
        if line.startswith("@@ "):
            _, name, status = line.split()
            results[name] = (int(status), "\n".join(lines))
            lines = []
        else:
            lines.append(line)
    assert not probe.exists(), "a config's class_path imported its module"
    return results, done.stderr


@pytest.mark.parametrize("name, text, extra, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_lightning_config_is_one_line(table_run, name, text, extra, expected):
    """Each bad config: one error line naming the key, exit 2, no module imported, no file
    echoed."""
    results, stderr = table_run
    assert name in results, stderr[-3000:]
    status, err = results[name]
    assert status == 2, err[-3000:]
    line = one_error_line(err)
    assert expected in line, line
    assert len(line) < 1100
    assert "seed_everything" not in line  # the model file's keys are not echoed


def test_lightning_bomb_in_a_fresh_process(tmp_path):
    """The alias bomb as the real command (``python -m spikecast.cli``), in seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "spikecast.cli",
                           *_fit(_write(tmp_path, "bomb.yaml", BOMB))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "alias" in one_error_line(done.stderr)
    assert time.perf_counter() - start < 100  # was 149 s and 3.9 GB


def test_bad_backtest_and_demo_are_one_line(tmp_path):
    bomb = _write(tmp_path, "bomb.yaml", BOMB)
    devices = _write(tmp_path, "dev.yaml", yaml.safe_dump(tiny_backtest(models=[
        {"model": "neural", "params": {"accelerator": "cpu", "devices": 64}}])))
    ok = _write(tmp_path, "ok.yaml", yaml.safe_dump(tiny_backtest()))
    afile = _write(tmp_path, "afile", "x")
    runs = [(["backtest", "--config", bomb], "alias"),
            (["backtest", "--config", devices], "models[0].params.devices"),
            (["backtest", "--config", ok, "--output-dir", afile], "--output-dir"),
            (["demo", "--quick", "--output-dir", f"{afile}/sub"], "--output-dir"),
            (["datasets", "download", "nosuch"], "unknown dataset 'nosuch'")]
    code = ("import sys; from spikecast.cli import main\n"
            f"for argv in {[r[0] for r in runs]!r}:\n"
            "    print(main(argv), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 * len(runs), done.stderr[-3000:]
    for (argv, expected), line, status in zip(runs, lines[::2], lines[1::2]):
        assert line.startswith("spikecast: error: ") and expected in line, (argv, line)
        assert status == "2"


def test_verbose_shows_the_traceback(capsys, tmp_path):
    bomb = _write(tmp_path, "bomb.yaml", BOMB)
    assert main(["backtest", "--config", bomb, "--verbose"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("spikecast: error:")


def test_unexpected_exception_is_one_line(capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("spikecast.cli.demo.run", boom)
    assert main(["demo"]) == 2
    assert one_error_line(capsys.readouterr().err) == \
        "spikecast: error: RuntimeError: disk on fire second line"


def test_argparse_mistake_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["backtest", "--config", "c.yaml", "--threads", "0"])
    assert exit_.value.code == 2
    assert "--threads" in one_error_line(capsys.readouterr().err)

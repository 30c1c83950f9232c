"""What a user installs: the license, the package metadata, the Makefile's torch install and
the README lines that lead a new user through it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the checks skip on 3.10
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end >= 0 else None]


# --- LICENSE ------------------------------------------------------------------------------

def test_license_is_the_apache_2_text():
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    headings = re.findall(r"^   (\d)\. ([A-Z][A-Za-z ]+)\.", text, flags=re.M)
    assert [number for number, _ in headings] == [str(n) for n in range(1, 10)]
    assert "END OF TERMS AND CONDITIONS" in text
    assert "http://www.apache.org/licenses/LICENSE-2.0" in text
    assert "Copyright 2026 The spikecast authors" in text
    assert "[yyyy]" not in text and "[name of copyright owner]" not in text


# --- pyproject.toml -----------------------------------------------------------------------

def test_project_declares_its_license_file():
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    # PEP 639: with a license expression, no "License ::" classifier (setuptools rejects it)
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    requires = pyproject()["build-system"]["requires"]
    assert "setuptools>=77" in requires  # the first release that reads license-files


def test_project_classifiers_keywords_and_urls():
    project = pyproject()["project"]
    classifiers = set(project["classifiers"])
    assert {"Development Status :: 3 - Alpha", "Intended Audience :: Science/Research",
            "Topic :: Scientific/Engineering :: Artificial Intelligence",
            "Operating System :: OS Independent", "Typing :: Typed"} <= classifiers
    minimum = tuple(int(part) for part in project["requires-python"].lstrip(">=").split("."))
    versions = sorted(tuple(int(part) for part in c.rsplit(" ", 1)[1].split("."))
                      for c in classifiers if re.fullmatch(r"Programming Language :: "
                                                           r"Python :: 3\.\d+", c))
    assert versions[:3] == [(3, 10), (3, 11), (3, 12)]
    assert versions[0] == minimum  # the classifiers start at requires-python
    assert (REPO / "spikecast" / "py.typed").is_file()  # "Typing :: Typed" holds
    assert "forecasting" in project["keywords"]
    urls = project["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith("https://github.com/spikecast/spikecast") for url in urls.values())
    assert urls["Changelog"].endswith("/CHANGELOG.md") and (REPO / "CHANGELOG.md").is_file()


# --- Makefile -----------------------------------------------------------------------------

def dry_run(tmp_path: Path, *variables: str) -> list[str]:
    """The commands ``make install`` would run for a fresh virtual environment."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run([make, "-n", "install", f"VENV={tmp_path / 'venv'}",
                             f"PYTHON={sys.executable}", *variables],
                            cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def torch_install(commands: list[str]) -> str:
    (line,) = [c for c in commands if "pip install" in c and "torch==2.13.0" in c]
    return line


def test_make_installs_torch_from_the_default_index_when_unset(tmp_path):
    commands = dry_run(tmp_path)
    line = torch_install(commands)
    assert line.endswith("pip install -q torch==2.13.0")
    assert not [c for c in commands if "--index-url" in c]


def test_make_passes_torch_index_url_to_pip(tmp_path):
    url = "https://download.pytorch.org/whl/cpu"
    commands = dry_run(tmp_path, f"TORCH_INDEX_URL={url}")
    assert torch_install(commands).endswith(f"pip install -q torch==2.13.0 --index-url {url}")
    # only torch comes from that index; the package and its other dependencies do not
    assert [c for c in commands if "--index-url" in c] == [torch_install(commands)]


def test_make_keeps_the_torch_it_installed_first(tmp_path):
    commands = dry_run(tmp_path, "TORCH_INDEX_URL=x")
    torch_at = commands.index(torch_install(commands))
    (package,) = [c for c in commands if 'pip install' in c and '-e ".[dev]"' in c]
    assert commands.index(package) > torch_at
    constraint = re.search(r"-c (\S+)", package)
    assert constraint is not None
    writes = [c for c in commands[:commands.index(package)] if constraint.group(1) in c]
    assert writes == [f'echo "torch==2.13.0" > {constraint.group(1)}']


# --- README -------------------------------------------------------------------------------

def test_readme_activates_the_environment_before_the_cli():
    quick_start = readme_section("Quick start")
    lines = [line.split("#")[0].strip() for line in quick_start.splitlines()]
    assert lines.index("source .venv/bin/activate") > lines.index("make demo")
    assert ".venv/bin/spikecast" in quick_start


def test_readme_says_how_to_get_the_cpu_torch():
    installing = readme_section("Installing")
    assert "nvidia-*" in installing and "CUDA build" in installing
    assert "make demo TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in installing
    assert ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
            in installing)
    assert "pip install -c torch-constraint.txt" in installing
    assert "CPU build" not in (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_project_section_links_license_and_changelog():
    project = readme_section("Project")
    for name in ("LICENSE", "CHANGELOG.md"):
        assert f"]({name})" in project and (REPO / name).is_file()

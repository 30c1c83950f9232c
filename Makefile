# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# torch 2.13.0 is installed first (a local CPU build); the package's own requirement is
# a range that 2.13.0 satisfies, so nothing replaces it afterwards.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spikecast-installed

.PHONY: install demo test lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/spikecast demo

# The quality gates before the tests, so that a failing gate stops early: mypy over the
# package, then ruff (with the complexity cap, C90); both configured in pyproject.toml.
test: typecheck lint
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info

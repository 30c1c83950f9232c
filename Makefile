# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# torch 2.13.0 is installed first; the package's own requirement is a range that 2.13.0
# satisfies, and a constraint pins it, so nothing replaces it afterwards.
#
# Which torch build: a plain `pip install torch==2.13.0` takes whatever the configured index
# offers. On PyPI that is the CUDA build for Linux (with its many nvidia-* packages, several
# GB); for the CPU-only wheel name PyTorch's CPU index:
#   make demo TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# The variable only matters when .venv is created (`make clean` first to switch builds).
PYTHON ?= python3
VENV ?= .venv
TORCH_INDEX_URL ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spikecast-installed
CONSTRAINTS := $(VENV)/torch-constraint.txt

.PHONY: install demo test lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0$(if $(TORCH_INDEX_URL), --index-url $(TORCH_INDEX_URL))
	echo "torch==2.13.0" > $(CONSTRAINTS)
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	# Darts for the interchange tests: only what `from darts import TimeSeries` needs
	# (numpy, pandas, narwhals: here already), not its forecasting models' libraries
	$(PY) -m pip install -q --no-deps "darts==0.48.1; python_version >= '3.11'"
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

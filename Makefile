# govscan developer targets. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: dev test lint demo bench docs golden clean

dev: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: dev
	$(BIN)/python -m pytest -n 2 -q

lint: dev
	$(BIN)/ruff check scanner checks fixtures tests benchmarks
	$(BIN)/mypy

demo: dev
	$(BIN)/govscan demo --out govscan-out/demo

# Scan cost on a large emulated account at 1x, 2x, 4x (local moto server; see docs/performance.md).
bench: dev
	$(BIN)/python -m benchmarks.bench

docs: dev
	$(BIN)/govscan gen-docs

# Regenerate the report goldens (tests/golden) from fixtures/sample_docs.py; review them as a diff.
golden: dev
	$(BIN)/python -m fixtures.sample_docs tests/golden

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache govscan-out

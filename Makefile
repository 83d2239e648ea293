# Two entry points (see README.md): `make demo` runs the main job, `make test` the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INTEROP_VENV := .venv-interop
STAMP := $(VENV)/.installed
INTEROP_STAMP := $(INTEROP_VENV)/.installed

.PHONY: demo test lint unit notebooks notebooks-sync interop docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# recordlinkage pins pandas < 3, so its interop tests run in their own environment
$(INTEROP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INTEROP_VENV)/bin/python -m pip install --quiet -e ".[recordlinkage]" "pytest>=8" "hypothesis>=6.100"
	touch $(INTEROP_STAMP)

# Peer linkers of the linkage benchmark (benchmarks/peers/): Splink in its own environment,
# recordlinkage in the interop one
SPLINK_VENV := .venv-splink
SPLINK_STAMP := $(SPLINK_VENV)/.installed

$(SPLINK_STAMP):
	$(PYTHON) -m venv $(SPLINK_VENV)
	$(SPLINK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SPLINK_VENV)/bin/python -m pip install --quiet "splink==5.0.0" pyarrow psutil
	touch $(SPLINK_STAMP)

.PHONY: peers
peers: $(SPLINK_STAMP) $(INTEROP_STAMP)

demo: $(STAMP)
	$(BIN)/bansos-linkage demo

test: lint unit notebooks interop docs

# the same checks run as pre-commit hooks (.pre-commit-config.yaml); mypy's settings are in
# pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks scripts
	$(BIN)/ruff format --check src tests benchmarks notebooks scripts
	$(BIN)/mypy

# with the docstring examples of the package (--doctest-modules on the command line, not in
# pyproject's addopts: there it would also import, so run, notebooks/src/*.py)
unit: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/interop --doctest-modules src/bansos_linkage tests

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbmake notebooks

# notebooks/src/NN_name.py (jupytext percent format, linted by ruff) are the notebooks'
# sources: this writes their cells into notebooks/NN_name.ipynb and keeps the stored
# outputs (tests/test_notebook_sources.py fails until it is run). Refresh the outputs
# of a changed notebook with `$(BIN)/python scripts/notebooks/execute.py notebooks/NN_name.ipynb`.
notebooks-sync: $(STAMP)
	for src in notebooks/src/*.py; do \
		$(BIN)/jupytext --quiet --to ipynb --update --output notebooks/$$(basename $$src .py).ipynb $$src || exit 1; \
	done

interop: $(INTEROP_STAMP)
	$(INTEROP_VENV)/bin/python -m pytest -q -m interop tests/interop

# The documentation site (mkdocs.yml) into site/; --strict: a broken link or reference fails
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP) peers
	$(BIN)/python benchmarks/bench_standardise.py
	$(BIN)/python benchmarks/bench_synthetic.py
	$(BIN)/python benchmarks/bench_link.py --households 20000 100000 --febrl
	$(BIN)/python benchmarks/bench_score.py --households 1000000

clean:
	rm -rf $(VENV) $(INTEROP_VENV) $(SPLINK_VENV) build src/*.egg-info site

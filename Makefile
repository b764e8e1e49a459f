# Newcomer entry points: `make demo` and `make test`. Each creates .venv and installs what it needs:
# the SDK (krakenkit, with its dev tools) and the sandbox (krakenkit-sandbox, the sandbox/ folder), both
# editable from this checkout.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench dist clean

$(STAMP): pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./sandbox -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/krakenkit rollout

lint: $(STAMP)
	$(BIN)/ruff check src sandbox tests bench examples
	$(BIN)/ruff format --check src sandbox tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q -rs

# Wheels and sdists of both distributions into a temporary folder, `twine check`, and a fresh venv that
# installs the krakenkit wheel alone (its dependencies from the package index): no aiohttp there.
dist: $(STAMP)
	bash .ci/dist.sh $(BIN)/python

bench: $(STAMP)
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/ws.py
	$(BIN)/python bench/books.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache

# dwh-business-logic: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv system-deps demo test lint bench wheel clean

help:
	@echo "make demo   run load_promos on generated sample data (local Spark, local files, offline)"
	@echo "make test   install into .venv, start the services the tests need, run lint + the suite"
	@echo "make bench  run the side-by-side benchmarks in bench/ and print their ratios"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

demo: venv system-deps
	$(BIN)/python -m dwh.demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check dwh tests bench
	$(BIN)/ruff format --check dwh tests bench
	$(BIN)/mypy dwh

test: venv system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

wheel: venv
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf dist build .demo .pytest_cache .mypy_cache .ruff_cache spark-warehouse

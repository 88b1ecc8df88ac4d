# dwh-business-logic: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv airflow-venv spark35-venv system-deps jvm-artifacts demo test lint bench wheel clean

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

# Airflow and its providers live in their own venv (SQLAlchemy 2.1 and ~700 MB stay out of .venv);
# tests/deploy loads deploy/airflow/dags in it through a subprocess. About 75 s on a fresh machine.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_PACKAGES := apache-airflow==3.3.2 apache-airflow-providers-databricks==7.23.0 apache-airflow-providers-amazon==9.39.0

$(AIRFLOW_STAMP): Makefile
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install -q $(AIRFLOW_PACKAGES)
	@touch $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

# The JVM jars (Delta for the installed pyspark, the PostgreSQL JDBC driver, hadoop-aws + AWS SDK bundle),
# fetched once with mvn into ~/.cache/dwh-jars (DWH_JARS_DIR); a re-run finds them there and asks no one.
jvm-artifacts: venv
	$(BIN)/python scripts/fetch_jvm_artifacts.py

# The Spark 3.5 lane's venv (pyspark 3.5.9, numpy<2; ~80 s on a fresh machine) and its jars (Delta 3.3,
# hadoop-aws 3.3.4), fetched into the same cache.
spark35-venv: venv
	@bash scripts/spark35-venv.sh .venv-spark35
	.venv-spark35/bin/python scripts/fetch_jvm_artifacts.py

demo: venv system-deps
	$(BIN)/python -m dwh.demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check dwh tests bench scripts
	$(BIN)/ruff format --check dwh tests bench scripts
	$(BIN)/mypy dwh

# One pytest process per lane (a Python process holds one JVM / one session kind): the suite on local Spark +
# delta-rs, the Spark Delta lane, the Spark 3.5 lane in its own venv and the Spark Connect lane (named subsets).
CONNECT_LANE_PATHS ?= tests/engines/connect tests/strategies/loaders/parquet tests/strategies/loaders/delta \
  tests/strategies/loaders/postgres tests/strategies/quality tests/strategies/extractors/test_parquet.py
DELTA_LANE_PATHS ?= tests/engines/delta tests/strategies/loaders/delta tests/strategies/extractors/test_delta.py
SPARK35_LANE_PATHS ?= tests/engines/spark35 tests/engines/delta tests/strategies/loaders/parquet \
  tests/strategies/loaders/delta tests/strategies/loaders/postgres/test_loader.py \
  tests/strategies/loaders/postgres/test_swap.py tests/strategies/loaders/postgres/test_encoders.py \
  tests/strategies/quality tests/strategies/extractors
test: venv airflow-venv spark35-venv system-deps jvm-artifacts lint
	@start=$$SECONDS; $(BIN)/python -m pytest $(PYTEST_ARGS); code=$$?; \
	  echo "lane 1 (suite: local Spark + delta-rs, services, standalone cluster): $$((SECONDS - start)) s"; exit $$code
	@start=$$SECONDS; DWH_SPARK_DELTA=1 $(BIN)/python -m pytest $(DELTA_LANE_PATHS) $(DELTA_LANE_ARGS); code=$$?; \
	  echo "lane 2 (Spark-native Delta, s3a on moto): $$((SECONDS - start)) s"; exit $$code
	@start=$$SECONDS; DWH_SPARK_DELTA=1 .venv-spark35/bin/python -m pytest -m spark $(SPARK35_LANE_PATHS) $(SPARK35_LANE_ARGS); \
	  code=$$?; echo "lane 3 (Spark 3.5.9 + Delta 3.3: load_promos = golden, the Spark Delta lane, loaders, extractors, quality): $$((SECONDS - start)) s"; exit $$code
	@start=$$SECONDS; DWH_SPARK_CONNECT=1 $(BIN)/python -m pytest -m spark $(CONNECT_LANE_PATHS) $(CONNECT_LANE_ARGS); code=$$?; \
	  echo "lane 4 (Spark Connect: local Connect server, delta-rs, pyarrow.fs commits): $$((SECONDS - start)) s"; exit $$code

bench: venv system-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

wheel: venv
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf dist build .demo .pytest_cache .mypy_cache .ruff_cache spark-warehouse

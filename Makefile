# churnlens: `make demo` trains what is missing and serves the dashboard;
# `make test` runs the whole suite. Both set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
VENV_ED   ?= .venv-ed
ARTIFACTS ?= artifacts
PORT      ?= 8501

# Spark: keep local traffic on loopback, run workers in the venv's interpreter.
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help demo train serve test lint bench bench-train bench-scale bench-ed java chromium clean

help:
	@echo "make demo   set up, train missing built-in bundles, serve http://localhost:$(PORT)"
	@echo "make test   set up, lint (ruff), type-check (mypy) and run the whole test suite (browser test included)"
	@echo "make lint   ruff lint + format check, mypy, import circles (part of make test)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make bench-train  own 10,000-row CSV to a bundle (init-config + run, four models) and make train from nothing"
	@echo "make bench-scale  1M customers: training time and memory per stage, serving store and sessions"
	@echo "make bench-ed     this project's stages vs explainerdashboard (bench-only venv $(VENV_ED)), 10k and 100k customers"

# The project itself is installed editable (pyproject.toml declares its packages), so
# `streamlit run`, `python -m training`, spark-submit and pytest import it without path edits.
$(VENV)/.runtime: requirements.txt requirements-nodeps.txt constraints.txt pyproject.toml scripts/find-python.sh
	@if [ ! -x $(PY) ]; then python=$$(scripts/find-python.sh) && "$$python" -m venv $(VENV); fi
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt -c constraints.txt
	@touch $@

java:
	@scripts/system-deps.sh java

chromium:
	@scripts/system-deps.sh chromium

# Trains every built-in bundle that is missing or unreadable (e.g. older schema).
train: $(VENV)/.runtime java
	$(PY) -m training ensure --artifacts $(ARTIFACTS)

# MALLOC_ARENA_MAX=2: each session runs its script in a thread of its own, and glibc gives busy
# threads their own malloc arenas, which keep what a run freed (1M-customer bundle, 10 sessions:
# server RSS 1,172 MB with glibc's default, 856 MB with two arenas).
serve: $(VENV)/.runtime
	CHURNLENS_ARTIFACTS=$(abspath $(ARTIFACTS)) MALLOC_ARENA_MAX=2 $(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT)

demo: train serve

# Lint, format check and types first (seconds), then the suite.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint java chromium
	$(PY) -m pytest

bench: $(VENV)/.runtime java train
	$(PY) -m bench --artifacts $(ARTIFACTS)
	$(PY) -m bench.history --customers 100000 --snapshots 12
	$(PY) -m bench.history --score-bundle $(ARTIFACTS)/telco --score-customers 100000

# init_config_s_10k, own_csv_to_bundle_s_10k and make_train_s: fresh processes, minutes in all
# (make train alone is ~3 minutes), so not part of `make bench`. Run it on an idle machine.
bench-train: $(VENV)/.runtime java
	$(PY) -m bench.own_table $(TRAIN_BENCH_ARGS)

# The 1M set: trains a million synthetic customers (20M events) in local[2] into $(ARTIFACTS)/scale-1m,
# then measures the dashboard's store, pages and sessions on that bundle, and a 12-snapshot history of 1M
# customers (bench/history.py; scoring a 1M snapshot too when the Telco bundle exists). SCALE_ARGS overrides the
# training, e.g. SCALE_ARGS="--customers 100000 --driver-memory 4g" (the bundle is then scale-100k).
SCALE_BUNDLE ?= scale-1m
bench-scale: $(VENV)/.runtime java
	$(PY) -m bench.scale_training --artifacts $(ARTIFACTS) $(SCALE_ARGS)
	$(PY) -m bench.scale_store --bundle $(ARTIFACTS)/$(SCALE_BUNDLE)
	$(PY) -m bench.history --customers 1000000 --snapshots 12
	if [ -e $(ARTIFACTS)/telco ]; then $(PY) -m bench.history --score-bundle $(ARTIFACTS)/telco --score-customers 1000000; fi

# explainerdashboard lives in its own venv, never in the product's requirements.
$(VENV_ED)/.installed: bench/requirements-ed.txt scripts/find-python.sh
	@if [ ! -x $(VENV_ED)/bin/python ]; then python=$$(scripts/find-python.sh) && "$$python" -m venv $(VENV_ED); fi
	$(VENV_ED)/bin/python -m pip install -q -r bench/requirements-ed.txt
	@touch $@

# ED_ARGS overrides, e.g. ED_ARGS="--quick" or ED_ARGS="--sizes 10000".
bench-ed: $(VENV)/.runtime $(VENV_ED)/.installed java train
	$(PY) -m bench.vs_explainerdashboard --bundle $(ARTIFACTS)/telco $(ED_ARGS)

clean:
	rm -rf $(VENV) $(VENV_ED) test-output .pytest_cache

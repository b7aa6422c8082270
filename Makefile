# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# `make run` serves the product's own 404 and 500 pages; `DJANGO_DEBUG=true make run` shows Django's debug pages.
DJANGO_DEBUG ?= false
export DJANGO_DEBUG

.PHONY: setup run test lint bench clean

# requirements.txt installs every host's file (requirements/web.txt, worker.txt, dev.txt) into one
# .venv; reinstall only when one of them changes. pip prints each package as it downloads it.
REQUIREMENTS := requirements.txt $(wildcard requirements/*.txt)
$(VENV)/.requirements-installed: $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "Installing requirements.txt (web host, workers with TensorFlow and torch, test tools):"
	@echo "a first install downloads about 1.2 GB and takes about 4.2 GB of disk in $(VENV) (minutes)."
	$(PY) -m pip install -r requirements.txt
	touch $@

setup: $(VENV)/.requirements-installed

run: setup
	$(PY) manage.py preflight
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_demo_user
	@echo "Layerloom on http://127.0.0.1:$(PORT)/ (Ctrl-C stops everything)"
	$(VENV)/bin/honcho start --port $(PORT)

# PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS='-m "not one_backend"' (what CI's second backend runs).
PYTEST_ARGS ?=
test: setup
	scripts/ensure_chromium.sh
	scripts/ensure_espeak.sh
	$(PY) -m pytest $(PYTEST_ARGS)

# Every benchmark in bench/, then docs/benchmarks.md from what they measured (about 30 minutes on
# 2 cores; needs PostgreSQL and Redis for serving). BENCH=ingest,serving runs only those areas.
BENCH ?=
bench: setup
	scripts/ensure_espeak.sh
	$(PY) bench/run_all.py $(if $(BENCH),--only $(BENCH),)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf var

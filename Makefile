# Two commands for a newcomer: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv

.PHONY: demo test lint bench install clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

demo: install
	$(VENV)/bin/cintel demo

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: install lint
	$(VENV)/bin/pytest -q

bench: install
	$(VENV)/bin/python bench/bench_ingest.py
	$(VENV)/bin/python bench/bench_simulate.py
	$(VENV)/bin/cintel bench kcs --json
	$(VENV)/bin/cintel bench world --json
	$(VENV)/bin/cintel bench loop --json
	$(VENV)/bin/python bench/bench_scoring.py
	$(VENV)/bin/cintel bench febrl --json
	$(VENV)/bin/cintel bench entities --json
	$(VENV)/bin/cintel bench graph --json
	$(VENV)/bin/cintel bench screening --json

clean:
	rm -rf .tools $(VENV) var

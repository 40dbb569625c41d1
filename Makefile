# Two commands for a newcomer: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv

.PHONY: demo serve test lint bench install assets browser clean
VENDOR := src/cintel/web/static/vendor
# Root in CI; elsewhere apt-get goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced $(VENDOR)/.copied

# Front-end packages pinned in package-lock.json, copied into the static folder (never committed, never a CDN).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.copied: node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/images
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/cytoscape/dist/cytoscape.min.js \
	   node_modules/echarts/dist/echarts.min.js node_modules/leaflet/dist/leaflet.js \
	   node_modules/leaflet/dist/leaflet.css node_modules/topojson-client/dist/topojson-client.min.js \
	   node_modules/world-atlas/countries-110m.json node_modules/world-atlas/land-110m.json $(VENDOR)/
	cp node_modules/leaflet/dist/images/*.png $(VENDOR)/images/
	touch $@

assets: $(VENDOR)/.copied

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

# Builds the demo world and serves the workspace on it (in a terminal; elsewhere it checks every page and ends).
demo: install
	$(VENV)/bin/cintel demo --serve

# The workspace on the store as it is, on http://127.0.0.1:8000 (plain HTTP on loopback: cookies not Secure).
serve: install
	CINTEL_WEB_SECURE_COOKIES=false $(VENV)/bin/cintel serve

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

# Bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE (an empty value unsets it): the
# suite starts Pythons (benchmark smoke runs, command line checks) that would otherwise compile every module
# they import, every time. One pytest-xdist worker per core, stealing work so no core idles at the end; the
# session's worlds are built once for all workers (tests/conftest.py).
test: install lint browser
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -q -n auto --dist worksteal

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
	rm -rf .tools $(VENV) var node_modules $(VENDOR)

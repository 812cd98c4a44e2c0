# qiosk_scraper: every target installs what it needs from the repo's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pywb for the backfill/WACZ tests, in a venv of its own inside .venv (see requirements-pywb.in).
PYWB_VENV := $(VENV)/pywb
PYWB_STAMP := $(PYWB_VENV)/.installed
PORT ?= 8765
SERVE_PORT ?= 8001

.PHONY: install test check lint typecheck demo docs bench bench-scale bench-extract serve snapshot clean browser-deps

install: $(STAMP) $(PYWB_STAMP)

# .ci/install-venv: the venv's own pip (whatever the system Python brought) installs only the locked
# uv, by hash and without resolving anything; uv then makes the venv exactly requirements.lock (sync:
# nothing more, no resolution), so no upstream release and no installer version can change what gets
# installed (tests/test_install.py runs the script against a local index holding newer releases).
$(STAMP): requirements.lock requirements-uv.lock pyproject.toml .ci/install-venv
	.ci/install-venv $(PYTHON) $(VENV) .
	touch $(STAMP)

$(PYWB_STAMP): requirements-pywb.lock $(STAMP)
	test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(BIN)/uv pip sync --quiet --python $(PYWB_VENV)/bin/python --require-hashes requirements-pywb.lock
	touch $(PYWB_STAMP)

lint: install
	$(BIN)/ruff check qiosk_scraper tests
	$(BIN)/ruff format --check qiosk_scraper tests

typecheck: install
	$(BIN)/mypy

# `make test` is what CI runs (through .ci/run) and what the README names: lint, types, the suite.
test: check

check: lint typecheck browser-deps
	$(BIN)/python -m cogapp --check -r README.md
	$(BIN)/pytest -W error -n 2 -q

demo: $(STAMP)
	$(BIN)/qiosk demo --port $(PORT) --serve-port $(SERVE_PORT)

# `make serve`: browse the demo archive (made by `make demo`) in Datasette, read-only, on 127.0.0.1.
DEMO_DB ?= archive/demo.db
serve: $(STAMP)
	@test -f $(DEMO_DB) || { echo "no $(DEMO_DB): run make demo first (or make serve DEMO_DB=path/to/archive.db)"; exit 1; }
	$(BIN)/qiosk serve --db $(DEMO_DB) --port $(SERVE_PORT)

# `make snapshot`: a citable, byte-reproducible snapshot of the demo archive, then its check.
snapshot: $(STAMP)
	@test -f $(DEMO_DB) || { echo "no $(DEMO_DB): run make demo first (or make snapshot DEMO_DB=path/to/archive.db)"; exit 1; }
	$(BIN)/qiosk snapshot export archive/snapshots/demo --db $(DEMO_DB) --with-warc --force
	$(BIN)/qiosk snapshot verify archive/snapshots/demo

# Debian's Chromium for the browser tests (tests/test_datasette.py); installed only when missing.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

docs: install
	$(BIN)/python -m cogapp -r README.md

# `make bench`: throughput, cost and memory on a 5,000-article mirror against the extraction
# limit and trafilatura's command line (issue 9); a table, and JSON under archive/bench/.
# BENCH_ARGS="--articles 1000 --small 200" for a shorter run.
bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# `make bench-scale`: archives of 5,000 and 50,000 articles built by `qiosk import` (issue 16,
# "Scale"): search p95 through the articles page, export time and sizes per article, peak RSS.
# BENCH_SCALE_ARGS="--sizes 500,2000 --work /tmp/scale" for a shorter run (--work keeps them).
bench-scale: install
	$(BIN)/python benchmarks/bench_scale.py $(BENCH_SCALE_ARGS)

# Body F1 vs plain trafilatura on ../shared/bench, structured-data fill rates, cost vs bare_extraction.
bench-extract: install
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf $(VENV) archive/*.db archive/warc archive/snapshots archive/bench

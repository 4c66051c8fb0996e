# rss-ingest: `make crawl` and `make test` are all a new machine needs (Python >= 3.11, make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install crawl run demo test faults lint format bench eval clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "rss-ingest needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

crawl: $(STAMP)  ## one-off crawl of config/feeds.toml into data/rss-ingest.db
	$(BIN)/rss-ingest crawl

run: $(STAMP)  ## the daemon: poll feeds when due until SIGTERM/Ctrl-C
	$(BIN)/rss-ingest run

demo: $(STAMP)  ## serve the bundled sample sites on 127.0.0.1, crawl them, show rows
	$(BIN)/python -m bench.demo

test: $(STAMP)
	$(BIN)/python -m pytest

faults: $(STAMP)  ## the fault-injection suite, as a table: fault, outcome, rows lost (docs/reliability.md)
	$(BIN)/python -m pytest -m fault -q -p no:warnings

bench: $(STAMP)  ## crawl throughput vs the extraction ceiling; export; near duplicates (docs/performance.md)
	$(BIN)/python -m bench.throughput_bench
	$(BIN)/python -m bench.export_bench
	$(BIN)/python -m bench.neardup_bench

eval: $(STAMP)  ## body quality vs ground truth: trafilatura alone and rss-ingest (CORPUS=DIR)
	$(BIN)/python -m bench.evaluate $(if $(CORPUS),--corpus $(CORPUS))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

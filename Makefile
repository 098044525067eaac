# Hemvård Offline — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := server

.PHONY: run test install chromium-check clean bench soak lock audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The versions pinned in requirements.lock (`make lock`), so a fresh clone tests what CI tested.
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

install: $(VENV)/.installed

## make run: set everything up and serve http://127.0.0.1:$(PORT) (SQLite in instance/ unless DATABASE_URL)
run: install
	$(BIN)/flask init
	$(BIN)/flask demo
	@echo "Serving on http://127.0.0.1:$(PORT) — logins worker1 / admin1 / manager1, password demo"
# The background worker (outage heartbeat and clock, Web Push, trend snapshots, retention) runs beside the web
# server and is stopped with it (Ctrl-C stops both).
	$(BIN)/flask worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## make test: set up and run the whole suite (browser tests need Debian's chromium; see README)
test: install chromium-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: every benchmark side by side (our ingest vs pouchdb-server vs a plain INSERT, reconnect storm,
## bytes on the wire, app shell on slow 4G, rule engine, dashboard, access log over five years) → figures,
## tests/bench/results/*.json and the table in BENCHMARKS.md. QUICK=1: smaller sizes; BENCH_ARGS="--only ingest"
BENCH_NODE := tests/bench/node
bench: install chromium-check $(BENCH_NODE)/node_modules/.installed
	BENCH_QUICK=$(QUICK) $(BIN)/python -m tests.bench.run $(BENCH_ARGS)

$(BENCH_NODE)/node_modules/.installed: $(BENCH_NODE)/package.json $(BENCH_NODE)/package-lock.json
	@if command -v npm >/dev/null; then \
	  echo "Installing the peer (pouchdb-server) and Lighthouse from npm into $(BENCH_NODE)/node_modules …"; \
	  (cd $(BENCH_NODE) && npm ci --no-audit --no-fund --loglevel=error) && touch $@ \
	    || echo "*** npm install failed: the peer and Lighthouse figures are skipped."; \
	else \
	  echo "*** npm not found: the peer and Lighthouse figures are skipped."; \
	fi

chromium-check:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium from Debian's packages for the browser tests…"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install chromium."; \
	  else \
	    echo "*** Browser tests need Chromium at /usr/bin/chromium and this user cannot install it."; \
	    echo "*** Run: sudo apt-get install chromium   — until then the browser tests are skipped (in CI they fail)."; \
	  fi; \
	fi

## make soak: 200 simulated devices × 50 events through dropped answers, kill -9 of a gunicorn worker and a
## PostgreSQL restart (it restarts the local cluster!); SOAK_ARGS="--no-pg-restart" or "--database-url sqlite"
soak: install
	$(BIN)/python -m tests.soak.harness $(SOAK_ARGS)

## make lock: pin every dependency, test tools included, from a clean venv into requirements.lock
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^hemvard-offline' > requirements.lock
	rm -rf .lock-venv build

## make audit: known vulnerabilities in requirements.lock (pip-audit); fails on a finding, warns when offline
audit: install
	.ci/audit

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

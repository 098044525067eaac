# Hemvård Offline — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := server

.PHONY: run test install chromium-check clean bench soak lock audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## make run: set everything up and serve http://127.0.0.1:$(PORT) (SQLite in instance/ unless DATABASE_URL)
run: install
	$(BIN)/flask init
	$(BIN)/flask demo
	@echo "Serving on http://127.0.0.1:$(PORT) — logins worker1 / admin1 / manager1, password demo"
# The Web Push worker runs beside the web server and is stopped with it (Ctrl-C stops both).
	$(BIN)/flask push-worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## make test: set up and run the whole suite (browser tests need Debian's chromium; see README)
test: install chromium-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: the benchmarks on PostgreSQL (BENCH_PG_URL, default the local server); each prints its figures
## and writes tests/bench/results/<name>.json. BENCH_QUICK=1 for smaller sizes.
bench: install
	$(BIN)/python tests/bench/bench_dashboard.py

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

# Two entry points (README's Quick start): `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# The test suite runs on PostgreSQL and its own Redis database, never the demo's.
# httpx reads a whole CA bundle (SSL_CERT_FILE's, else certifi's) into every client it
# makes, 25-30 ms of CPU each; the tests make hundreds, all for plain HTTP on localhost (a
# sixth of the test processes' CPU). A hashed CA directory is read only in a TLS handshake.
# The suite starts about eighty Python processes (web servers, workers, simulators); where the
# machine sets PYTHONDONTWRITEBYTECODE (these do), each compiled the project and half of its
# libraries from source again, 0.3-0.5 s of CPU apiece: the first writes the bytecode here.
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/campaigns} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	SECRET_KEY=test-only-secret HTTPS=0 DEBUG=0 DEMO_MODE=0 \
	SSL_CERT_FILE= SSL_CERT_DIR=/etc/ssl/certs PYTHONDONTWRITEBYTECODE=

# Test workers: most tests wait on real services (a poll interval, a retry, a heartbeat), so
# four processes keep two cores busy; how tests are dealt to them is tests/conftest.py's
# `pytest_xdist_make_scheduler`. `make test PYTEST_ARGS="-n 0 tests/x.py"` runs in one.
TEST_WORKERS ?= 4

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.9.7
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

## Run the whole product on embedded defaults: SQLite, local Redis, the Atoms simulator.
# DEBUG stays off: the demo looks like production (friendly error pages, never Django's
# debug pages); HTTPS=0 because it serves plain HTTP on localhost.
run: $(STAMP)
	DEMO_MODE=1 HTTPS=0 $(PY) manage.py rundemo

## Set up and run the whole test suite (PostgreSQL, Redis, Celery, Chromium).
test: $(STAMP) tests/browser/node_modules/.installed

# axe-core (accessibility checks in the browser tests), exactly as locked; --prefer-offline
# reuses npm's cache when the registry is out of reach.
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	npm ci --prefix tests/browser --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

test:
	bash .ci/services.sh
	$(TEST_ENV) $(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	bash .ci/services.sh
	$(TEST_ENV) $(PY) -m bench

clean:
	rm -rf $(VENV) .demo db.sqlite3* .pytest_cache .ruff_cache

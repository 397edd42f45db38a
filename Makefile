# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test test-pgbouncer e2e install lint format services-up services-down services-status migrate seed clean-data

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "python -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Start PostgreSQL + Redis (embedded unless DATABASE_URL/REDIS_URL), migrate, seed, serve :$${PORT:-8000}
run: install
	$(PY) manage.py runstack

## The whole suite, against the same services (or DATABASE_URL / REDIS_URL when set), with
## line and branch coverage of the app code (the pytest processes only: subprocesses such as
## workers are not traced), in TEST_WORKERS pytest-xdist processes (docs/testing.md;
## PYTEST_ARGS="-n 0": one). JUnit XML, coverage XML and the server logs of failed tests go to
## .data/artifacts/ (CI keeps them).
TEST_WORKERS ?= 4
ARTIFACTS := .data/artifacts
PYTEST_RUN = rm -rf $(ARTIFACTS) && mkdir -p $(ARTIFACTS) && $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup \
	--junitxml=$(ARTIFACTS)/junit.xml
test: install
	@# pytest exits 5 when it collected nothing: a broken suite, never a pass.
	@$(PYTEST_RUN) --cov --cov-report=term:skip-covered --cov-report=xml:$(ARTIFACTS)/coverage.xml $(PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

## The parts that must hold behind PgBouncer in transaction mode (the sequencer, sync, the
## activity intake, realtime), their whole session through a real one (docs/testing.md); after
## `make test` in CI, so its JUnit XML goes beside that run's.
## Left out: the two tests that kill the lean paths' PostgreSQL backends to fake a restart (behind
## PgBouncer they are its server connections, shared with this process's own, which it then kills).
PGBOUNCER_TESTS := tests/test_pgbouncer.py changelog sync activity/tests/test_intake.py activity/tests/test_heartbeats.py realtime \
	--deselect activity/tests/test_intake.py::test_a_lost_database_connection_answers_503_and_the_next_request_recovers \
	--deselect sync/tests/test_lean_pull.py::test_a_lost_database_connection_never_fails_a_pull
test-pgbouncer: install
	@mkdir -p $(ARTIFACTS) && STINT_TEST_PGBOUNCER=1 DATABASE_POOLER=pgbouncer $(PY) -m pytest -n $(TEST_WORKERS) \
	  --dist loadgroup --junitxml=$(ARTIFACTS)/junit-pgbouncer.xml $(PGBOUNCER_TESTS) $(PYTEST_ARGS)

## Only the tests that drive real servers: the browser (Chromium) and real-socket tests
e2e: install
	@$(PYTEST_RUN) -m e2e $(PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

services-up: install
	$(PY) -m config.embedded start
services-down: install
	$(PY) -m config.embedded stop
services-status: install
	$(PY) -m config.embedded status
migrate: install
	$(PY) manage.py migrate
seed: install
	$(PY) manage.py seed_demo
## Stop the embedded servers and delete their data (the next `make run` starts afresh)
clean-data: services-down
	rm -rf .data

# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test install lint format services-up services-down services-status migrate seed clean-data

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
## line coverage of the app code (this process only: subprocesses such as workers are not traced)
test: install
	@# pytest exits 5 when it collected nothing: a broken suite, never a pass.
	@$(PY) -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

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

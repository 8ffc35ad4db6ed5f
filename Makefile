# Two commands do everything on a fresh machine:
#   make run    set up, train if the data changed, start the assistant with demo data
#   make scale  the same on PostgreSQL and Redis (127.0.0.1), several processes of each kind
#   make test   set up, then run the whole test suite (trains the model once per run)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run scale test setup browser lint bench clean

run: $(STAMP)
	$(PY) -m scripts.stack

scale: $(STAMP)
	$(PY) -m scripts.stack --profile scale

test: $(STAMP) browser
	$(PY) -m scripts.test

setup: $(STAMP)

# Rasa 3.6 declares Python <3.11 but runs on 3.11: install the pinned dependency set
# first, then rasa and rasa-sdk without their (3.10-only) dependency markers.
$(STAMP): requirements/rasa-py311.txt requirements/constraints.txt requirements/app.txt requirements/dev.txt \
          pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24.1"
	$(PY) -m pip install --quiet -r requirements/rasa-py311.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	$(PY) -m pip install --quiet -r requirements/app.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# Browser tests drive Debian's chromium; install it when missing and we are root.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check bot actions scripts bench tests
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench.nlu
	$(PY) -m bench.load

clean:
	rm -rf var models results .pytest_cache

# Two commands: `make studio` runs the app, `make test` runs the tests; both set up first.
PYTHON ?= python3

.PHONY: setup studio test

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

studio: setup
	$(PYTHON) app.py

test: setup
	$(PYTHON) -m pytest -q

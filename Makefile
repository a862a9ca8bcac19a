# Gridledger: the commands users rely on. Only Python 3.11 and make are needed beforehand.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --frozen
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home
METERS ?= 1000

.PHONY: install demo test ui bench lint clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

install: $(UV)  ## create .venv with the locked dependencies
	$(UV) sync --frozen --python $(PYTHON)

demo: install  ## generate a sample month, run the whole graph, print a summary
	$(RUN) python -m orchestration.demo

test: install  ## the full test suite (what CI runs)
	$(RUN) pytest

ui: install  ## Dagster UI on the demo warehouse: http://127.0.0.1:3000
	mkdir -p $(DAGSTER_HOME)
	$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install  ## N meters × one month through every stage: make bench METERS=10000
	$(RUN) python -m orchestration.bench --meters $(METERS)

lint: install
	$(RUN) ruff check .

clean:
	rm -rf var transforms/target transforms/logs

# Gridledger: the commands users rely on. Only Python 3.11 and make are needed beforehand.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --frozen
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home
METERS ?= 1000
PORT ?= 3000

SYSTEM_PACKAGES := fonts-wqy-microhei libharfbuzz-subset0 poppler-utils

.PHONY: install system-deps demo test test-fast ui console serve-sms bench vee-score money-preview lint clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

# --compile-bytecode: every Python start (each dbt run is one) reads compiled modules instead of
# compiling them again (machines here set PYTHONDONTWRITEBYTECODE, so nothing is cached otherwise)
install: $(UV) system-deps  ## create .venv with the locked dependencies
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)

# Best effort: a CJK font for Chinese PDF bills, faster PDF font subsetting, pdftotext for tests,
# and Debian's chromium for the browser tests (Playwright drives it; no browser download).
# Without them everything still runs (PDF glyphs fall back, those tests are skipped).
system-deps:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	   ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null) \
	  || echo "note: could not install $(SYSTEM_PACKAGES); PDFs will lack CJK glyphs"; \
	fi
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && ! command -v chromium >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     --no-install-recommends chromium >/dev/null) \
	  || echo "note: could not install chromium; the browser tests will be skipped"; \
	fi

# The instance settings (one run at a time, run retries): dagster.yaml copied into DAGSTER_HOME
# (again whenever dagster.yaml changes).
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml  ## generate a sample month, run the whole graph, print a summary
	$(RUN) python -m tools.demo

test: install  ## the full test suite (what CI runs), on every core (pytest-xdist; scenarios kept per worker)
	$(RUN) pytest -n auto --dist loadgroup --durations=30

test-fast: install  ## unit tests only (tests/unit: no Dagster run, no dbt build), under 2 minutes
	$(RUN) pytest -n auto --dist loadgroup tests/unit

ui: install $(DAGSTER_HOME)/dagster.yaml  ## Dagster UI on the demo warehouse: http://127.0.0.1:$(PORT) (make ui PORT=3001)
	$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

# PORT is 3000 for `make ui`; the console's is Streamlit's own 8501 and the SMS service's 8025,
# unless given on the command line (make console PORT=8502).
console: PORT = 8501
console: install  ## finance console on the BI snapshot: http://127.0.0.1:8501 (make console PORT=8502)
	$(RUN) python -m streamlit run tools/console/app.py --server.address 127.0.0.1 \
	  --server.port $(PORT) \
	  --server.headless true --browser.gatherUsageStats false

serve-sms: PORT = 8025
serve-sms: install  ## the SMS query service on http://127.0.0.1:8025 (notifications/sms_query)
	$(RUN) uvicorn notifications.sms_query.app:create_app --factory --host 127.0.0.1 \
	  --port $(PORT)

# BENCH_ARGS: the bench's other options, e.g. BENCH_ARGS="--months 12" or
# BENCH_ARGS="--stages analytics --customers 10000" (python -m tools.bench --help)
bench: install  ## N meters × one month through every stage, analytics_job, then the forecast stage (N customers × 400 days): make bench METERS=10000
	$(RUN) python -m tools.bench --meters $(METERS) $(BENCH_ARGS)
	$(RUN) python -m tools.bench_forecast --customers $(METERS)

vee-score: install  ## after make demo: VEE precision/recall per fault type, estimation error
	$(RUN) python -m tools.vee_score --warehouse $${GRIDLEDGER_WAREHOUSE:-var/warehouse.duckdb} \
	  --data-dir $${GRIDLEDGER_DATA_DIR:-var/data}

money-preview: install  ## SQLMesh dev vs prod on a scratch copy: which bills a change moves
	$(RUN) python -m tools.money_preview \
	  --warehouse $${GRIDLEDGER_WAREHOUSE:-var/warehouse.duckdb}

lint: install
	$(RUN) ruff check .

clean:
	rm -rf var transforms/target transforms/logs

# Everything a newcomer needs: `make demo` and `make test` build .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml $(wildcard scripts/system-packages/*.txt)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@bash scripts/ensure-system.sh
	@touch $@

demo: $(STAMP)  ## the smoke suite against the reference stack; reports in reports/
	$(BIN)/releasegate demo

# the TypeScript-SDK MCP server of tests/independent/mcp (issue 17), from its committed lock file
NODE_DEPS := tests/independent/mcp/node_modules/.package-lock.json
$(NODE_DEPS): tests/independent/mcp/package-lock.json
	cd tests/independent/mcp && npm ci --no-audit --no-fund

test: $(STAMP) $(NODE_DEPS)  ## the project's own tests: unit tests, fault matrix, hostile targets, redaction
	$(BIN)/pytest -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## smoke run vs the bare-script floor; results in benches/results/
	$(BIN)/python benches/bench_smoke.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.xml reports/*.json tests/independent/mcp/node_modules

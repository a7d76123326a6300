# esp-at-sim: `make run` starts a module, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

RUN_STAMP := $(VENV)/.installed-run

# What running needs (the runtime dependencies only), then the test extra on top.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/esp-at-sim run --at stdio --script examples/web-provisioning.at

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture

# Coverage of the package, the code run by child processes included; below 90 % fails.
# Four worker processes (pytest-xdist) on two cores: most of a test is waiting (for a child
# process, a socket, real time), and the tests are independent of each other and of load.
test: $(STAMP) lint
	$(BIN)/pytest -n 4 --cov --cov-report=term --cov-fail-under=90

# The benchmarks need wrk and dnsmasq (Debian packages): installed here when missing and
# we are root, otherwise we say how to get them. Everything runs on loopback.
BENCH_TOOLS := wrk dnsmasq
# Every script appends its figures here; bench/summary.py prints them as one table.
BENCH_RESULTS := bench/.results.jsonl

bench: $(STAMP)
	@missing=""; for tool in $(BENCH_TOOLS); do \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "== installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing \
				|| exit 1; \
		else \
			echo "make bench needs$$missing: run 'sudo apt-get install$$missing' (or make bench as root)"; \
			exit 1; \
		fi; \
	fi
	@rm -f $(BENCH_RESULTS)
	@for script in bench/bench_*.py; do echo "== $$script"; \
		BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python $$script || exit 1; done
	@echo "== summary"; $(BIN)/python bench/summary.py $(BENCH_RESULTS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

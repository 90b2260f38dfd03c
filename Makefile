# pkgline: the two commands a new user needs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-headless test lint typecheck contracts pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian tools the tests use when present (a third-party Modbus client).
deb-tools:
	@command -v mbpoll >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -qq mbpoll >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq mbpoll >/dev/null 2>&1)) ; } || true

demo: $(STAMP)
	$(BIN)/pkgline demo

demo-headless: $(STAMP)
	$(BIN)/pkgline demo --headless --lots 3 --speed 1500

lint: $(STAMP)
	$(BIN)/ruff check mes drivers recipes simulators tests bench
	$(BIN)/ruff format --check mes drivers recipes simulators tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) deb-tools
	$(BIN)/pytest

test: lint typecheck contracts pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

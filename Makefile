# Two commands on a fresh machine: `make run` (the sidecar, embedded state) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HASH   := $(shell $(PYTHON) -c 'import hashlib;print(hashlib.sha1(open("pyproject.toml","rb").read()).hexdigest()[:10])')
RUNTIME := $(VENV)/.runtime-$(HASH)
STAMP   := $(VENV)/.dev-$(HASH)

.PHONY: install run test test-fast lint bench tools lambda-zip clean

# `make run` installs only what serving needs; `make test` adds the test toolchain on top.
$(RUNTIME): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.runtime-* && touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.dev-* && touch $(STAMP)

install: $(STAMP)  ## create .venv with the gateway and its test dependencies

run: $(RUNTIME)  ## serve the sidecar on 127.0.0.1:8787 (memory sessions, local-file originals)
	$(VENV)/bin/headroom-gateway serve

tools: $(STAMP)  ## real servers and tools the integration and packaging tests drive
	bash tests/tools/install.sh

test: $(STAMP) tools lint  ## lint and type-check, then every test with the core coverage gate
	$(PY) -m pytest --cov --cov-report=term; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

test-fast: $(STAMP)  ## unit tests only
	$(PY) -m pytest tests/unit

lint: $(STAMP)  ## ruff (incl. dead noqa), formatting, mypy strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

LAMBDA_ARCH ?= x86_64
lambda-zip: $(STAMP)  ## dist/headroom-gateway-lambda-$(LAMBDA_ARCH).zip for python3.12 (x86_64|arm64)
	$(PY) lambda/build_zip.py --arch $(LAMBDA_ARCH)

bench: $(STAMP)  ## measure savings, latency, overhead and memory; writes bench-results/
	$(PY) -m tests.bench.run

clean:
	rm -rf $(VENV) .tools dist build bench-results

# gridledger: `make demo` runs the main job, `make test` the whole suite, both from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := contracts/node_modules/.installed
WEB_NPM_STAMP := web/node_modules/.installed
# Slither needs web3 < 8 (the project web3 8), so it has its own venv inside .venv.
SLITHER_VERSION := 0.11.6
SLITHER_STAMP := $(VENV)/slither/.installed

.PHONY: demo test lint typecheck pytest contracts dashboard chromium slither bench-gas clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NPM_STAMP): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(WEB_NPM_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_NPM_STAMP)

# The dashboard's browser tests drive Debian's chromium (no browser download; root in CI).
chromium:
	command -v chromium || (apt-get update && apt-get install -y chromium)

# Rebuild the dashboard's committed bundle (node/dashboard/static) from web/src.
dashboard: $(WEB_NPM_STAMP)
	cd web && npm run build

$(SLITHER_STAMP): $(STAMP)
	test -x $(VENV)/slither/bin/python || $(PYTHON) -m venv $(VENV)/slither
	$(VENV)/slither/bin/python -m pip install --quiet slither-analyzer==$(SLITHER_VERSION)
	touch $(SLITHER_STAMP)

slither: $(SLITHER_STAMP) $(NPM_STAMP)

demo: $(STAMP)
	GRIDLEDGER_PASSPHRASE="$${GRIDLEDGER_PASSPHRASE:-gridledger-demo}" \
	GRIDLEDGER_LIGHT_KDF="$${GRIDLEDGER_LIGHT_KDF:-1}" $(VENV)/bin/gridledger demo

test: $(STAMP) $(NPM_STAMP) lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) $(NPM_STAMP) $(WEB_NPM_STAMP) $(SLITHER_STAMP) chromium
	$(VENV)/bin/pytest -n 2 --dist loadscope -q

contracts: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/gridledger contracts build

bench-gas: $(STAMP)
	$(VENV)/bin/gridledger bench gas --json

clean:
	rm -rf $(VENV) contracts/node_modules web/node_modules

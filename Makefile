# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What the demo needs (the package and its runtime dependencies), then the test extras on top.
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
# --no-compile: Python compiles what it imports on first use; byte-compiling every module of
# every dependency up front (pygments' hundreds of lexers) only slows the first `make demo`.
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile
# pip notes every configured index folder that lacks a package ("WARNING: Location '...' is
# ignored"): noise about this machine's pip setup, not a problem. Only those lines are dropped;
# pip's exit status and every other line (errors included) come through.
PIP_NOISE := 2>&1 | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory" || true; }

.PHONY: demo test install clean bench browser

$(DEMO_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing billing-connector into $(VENV) ..."
	@$(PIP) -e . $(PIP_NOISE)
	@touch $@

# The test extras include everything the demo needs: one install, both stamps.
$(TEST_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]' $(PIP_NOISE)
	@# The suite starts hundreds of interpreters (CLI runs, kill tests, the fault campaign's
	@# workers). Where PYTHONDONTWRITEBYTECODE is set none of them keeps what it compiles, and each
	@# would compile the stripe SDK (and more) again: compile the venv's packages once, here.
	@# (-qq: a package's odd file that does not compile is left to compile on use, as before.)
	$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	touch $@ $(DEMO_STAMP)

install: $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	@$(BIN)/billing-connector demo --db demo.db
	@echo ""
	@echo "Next: the command is $(BIN)/billing-connector; put it on your PATH with"
	@echo "  source $(VENV)/bin/activate"
	@echo "then, against the store the demo wrote:"
	@echo "  billing-connector status --db demo.db"
	@echo "  billing-connector mrr current --db demo.db"
	@echo "  billing-connector mrr history --grain month --db demo.db"
	@echo "  export BILLING_CONNECTOR_DB=demo.db   # or: every command reads this store"

# The HTML report is tested in a real browser: Debian's chromium, installed where missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for the browser test (Debian package)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; the browser test will be skipped"; }

# One worker per core (pytest-xdist); --dist loadscope keeps a module on one worker, so a
# module-scoped fixture (a demo store, a localstripe server) is built once, not once per worker.
# The project's own modules are compiled here, for the same reason as the venv's (PYTHONDONTWRITEBYTECODE):
# every CLI the suite starts imports them, ~0.07 s of CPU each when not compiled; up to date, this is quick.
test: $(TEST_STAMP) browser
	@$(BIN)/python -m compileall -qq -j 0 connector tests benchmarks || true
	$(BIN)/python -m pytest -q -n auto --dist loadscope

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/sync_throughput.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm demo-report.html

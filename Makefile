# qrpay: `make demo` and `make test` work from a clean clone; they install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What qrpay needs to run (zbar for QR decoding, Noto fonts for Hindi/Bengali bills), and
# what only the tests need (Chromium for browser tests, poppler's pdftotext).
RUN_PACKAGES := libzbar0 fonts-noto-core
TEST_PACKAGES := chromium poppler-utils
# the benchmarks' HTTP load generator (bench/serve.py falls back to a Python one without it)
BENCH_PACKAGES := wrk
DEMO_SECRETS ?= $(HOME)/.config/qrpay/demo.env
DEMO_OUT ?= out
DEMO_PERIOD ?= 2026-11
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install system-deps test-deps bench-deps demo demo-data serve test test-pg chaos bench lint clean

install: system-deps $(STAMP)

# System packages, installed with apt-get where missing (failing at once, not waiting, when
# another install holds the package lock); a clear message where we can't install.
define ensure_packages
	@missing=""; for p in $(1); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    $(PYTHON) tools/apt_lock_free.py || exit 1; \
	    echo "installing system packages:$$missing"; \
	    apt-get -o DPkg::Lock::Timeout=0 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=0 install -y -qq $$missing >/dev/null \
	      || { echo "apt-get could not install$$missing" >&2; exit 1; }; \
	  elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
	    echo "installing system packages with sudo:$$missing"; \
	    sudo $(PYTHON) tools/apt_lock_free.py || exit 1; \
	    sudo apt-get -o DPkg::Lock::Timeout=0 update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=0 install -y -qq $$missing >/dev/null \
	      || { echo "sudo apt-get could not install$$missing" >&2; exit 1; }; \
	  else \
	    echo "qrpay needs the system packages:$$missing (Debian/Ubuntu names)." >&2; \
	    echo "Install them with your package manager and run make again." >&2; \
	    exit 1; \
	  fi; \
	fi
endef

system-deps:
	$(call ensure_packages,$(RUN_PACKAGES))

# only the tests need these: make demo never installs Chromium
test-deps:
	$(call ensure_packages,$(TEST_PACKAGES))

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

bench-deps:
	$(call ensure_packages,$(BENCH_PACKAGES))

# Secrets for the demo live outside the repository, made once with random values.
$(DEMO_SECRETS):
	@mkdir -p $(dir $(DEMO_SECRETS)) && umask 077 && { \
	  echo "# qrpay demo secrets (random, made by make demo)"; \
	  echo "QRPAY_TOKEN_KEY_K1=$$(openssl rand -hex 32 2>/dev/null || $(PYTHON) -c 'import secrets;print(secrets.token_hex(32))')"; \
	  for ch in UPI RAZORPAY PHONEPE BKASH ROCKET NAGAD; do \
	    echo "QRPAY_SECRET_$$ch=$$($(PYTHON) -c 'import secrets;print(secrets.token_hex(24))')"; done; \
	  echo "QRPAY_SESSION_KEY=$$($(PYTHON) -c 'import secrets;print(secrets.token_hex(32))')"; \
	} > $(DEMO_SECRETS) && echo "wrote demo secrets to $(DEMO_SECRETS)"

# The main job on the embedded default: import the sample bills, render the cycle's
# e-bills (PDF, print books, PNG previews), then serve the scan-to-pay site.
# Secrets added since a demo.env was first written (the biller API's bKash password, the
# WhatsApp app secret, verify token and Graph token, the bdapps USSD password): appended,
# random, where missing, so that `qrpay serve` finds every secret its routes need.
DEMO_LATER_SECRETS := QRPAY_CHANNEL_PASSWORD_BKASH QRPAY_WHATSAPP_APP_SECRET \
  QRPAY_WHATSAPP_VERIFY_TOKEN QRPAY_WHATSAPP_TOKEN QRPAY_BDAPPS_PASSWORD
define demo_later_secrets
	@for v in $(DEMO_LATER_SECRETS); do grep -q "^$$v=" $(DEMO_SECRETS) || \
	  echo "$$v=$$($(PYTHON) -c 'import secrets;print(secrets.token_hex(16))')" >> $(DEMO_SECRETS); done
endef

demo-data: install $(DEMO_SECRETS)
	$(call demo_later_secrets)
	@export QRPAY_SECRETS_FILE=$(DEMO_SECRETS); set -e; \
	for p in best breb; do \
	  $(VENV)/bin/qrpay --config samples/$$p.toml bills import samples/bills-$$p.csv; \
	  $(VENV)/bin/qrpay --config samples/$$p.toml render --period $(DEMO_PERIOD) --out $(DEMO_OUT)/$$p --books --verify sample --resume; \
	done; \
	$(VENV)/bin/qrpay --config samples/best.toml render --bill B2611100000000 -o $(DEMO_OUT)/preview-hi.pdf --png; \
	$(VENV)/bin/qrpay --config samples/breb.toml render --bill 2611104231245 -o $(DEMO_OUT)/preview-bn.pdf --png; \
	echo; echo "e-bills: $(DEMO_OUT)/best/bills, $(DEMO_OUT)/breb/bills; previews: $(DEMO_OUT)/preview-hi.png, $(DEMO_OUT)/preview-bn.png"

demo: demo-data
	@export QRPAY_SECRETS_FILE=$(DEMO_SECRETS); \
	echo "the WhatsApp/USSD bot in a terminal (second terminal): QRPAY_SECRETS_FILE=$(DEMO_SECRETS) $(VENV)/bin/qrpay --config samples/best.toml chat --channel whatsapp --from 919177777868  (or --channel ussd; breb.toml --from 8801717784483)"; \
	echo "a bill page, as the link printed under its QR (and sent by SMS and chat) opens it:"; \
	$(VENV)/bin/qrpay --config samples/best.toml bills link B2611100000000 --base http://$(HOST):$(PORT); \
	echo "a wallet paying a Palli Bidyut bill through the biller API (bKash Pay Bill), in a second terminal:"; \
	echo "  export QRPAY_SECRETS_FILE=$(DEMO_SECRETS)"; \
	echo "  $(VENV)/bin/qrpay --config samples/breb.toml serve --port $$(($(PORT)+1)) &"; \
	echo "  $(VENV)/bin/qrpay --config samples/breb.toml channel simulate bkash --account 104231245 --url http://$(HOST):$$(($(PORT)+1))"; \
	echo "serving BEST's scan-to-pay site on http://$(HOST):$(PORT)  (Ctrl-C to stop)"; \
	exec $(VENV)/bin/qrpay --config samples/best.toml serve --host $(HOST) --port $(PORT)

serve: install $(DEMO_SECRETS)
	$(call demo_later_secrets)
	QRPAY_SECRETS_FILE=$(DEMO_SECRETS) $(VENV)/bin/qrpay --config samples/best.toml serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite, and on PostgreSQL too when QRPAY_TEST_DATABASE_URL is set
# (then the server must be reachable: the run fails rather than skip it).
# Tests run in TEST_WORKERS processes (pytest-xdist): most of the suite's time is waiting on
# the servers, browsers and databases it starts, so 4 on 2 cores halves the wall time
# (17 -> 9 minutes with PostgreSQL). `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 4
test: install test-deps
	@if [ -n "$$QRPAY_TEST_DATABASE_URL" ]; then \
	  $(PY) -c "import os, psycopg; psycopg.connect(os.environ['QRPAY_TEST_DATABASE_URL'].replace('+psycopg', '')).close()" \
	  || { echo "PostgreSQL is not reachable at $$QRPAY_TEST_DATABASE_URL" >&2; exit 1; }; fi
	@mkdir -p test-artifacts
	$(PY) -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-pg:
	QRPAY_TEST_DATABASE_URL=$(PG_TEST_URL) $(MAKE) test

# The fault scripts of tests/chaos at full length (docs/operations.md#chaos-runs): the SMS
# provider and the Graph API down for CHAOS_OUTAGE seconds (the issue's ten minutes), a
# bigger burst, PostgreSQL restarted both ways.  Bounded: every wait has a limit; about
# 20-40 minutes in all.  `make test` runs the same scripts short (a 6 s outage).
CHAOS_OUTAGE ?= 600
CHAOS_SCALE ?= 4
CHAOS_PG_MODES ?= immediate,fast
chaos: install
	CHAOS_OUTAGE=$(CHAOS_OUTAGE) CHAOS_SCALE=$(CHAOS_SCALE) CHAOS_PG_MODES=$(CHAOS_PG_MODES) \
	  $(PY) -m pytest -q -s tests/chaos $(PYTEST_ARGS)

bench: install bench-deps
	@for b in bench/import.py bench/qr.py bench/qr_camera.py bench/render.py bench/serve.py bench/reports.py bench/recon.py bench/biller.py bench/chat.py bench/monthend.py; do \
	  [ -f $$b ] || continue; echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check qrpay tests bench
	$(VENV)/bin/mypy qrpay
	$(VENV)/bin/lint-imports --no-logo --no-cache

clean:
	rm -rf $(DEMO_OUT) var test-artifacts .pytest_cache

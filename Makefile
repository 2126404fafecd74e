# The two commands in README.md are `make demo` and `make test`; .ci/run calls `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install lint messages

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

tests/interop/node_modules/.installed: tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund
	touch $@

# Browser tests drive Debian's chromium with Playwright (no browser download). CI runs as root;
# elsewhere apt-get goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

install: $(STAMP) tests/interop/node_modules/.installed /usr/bin/chromium

demo: $(STAMP)
	$(VENV)/bin/fieldsync demo --serve

# pytest exits 5 when it collected nothing: that is a failure, not a pass.
test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The web pages' texts: extract them and update the Mongolian catalog (then translate what is new
# in server/web/translations/mn/LC_MESSAGES/messages.po; the app compiles it when it starts).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F server/web/babel.cfg -k _ -k lazy_gettext --no-location --sort-output \
	  -o server/web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i server/web/translations/messages.pot -d server/web/translations \
	  --no-fuzzy-matching --ignore-obsolete --no-wrap

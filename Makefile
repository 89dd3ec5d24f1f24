# Two commands do everything on a fresh clone: `make run` and `make test`.
# Both create the virtual environment .venv on first use, installing the exact
# versions in constraints.txt (torch 2.13.0, CPU build).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test gradcheck bench tour setup clean

# No --impl here: its default is all, and ARGS (--impl, --preset, --resume) choose otherwise.
run: $(STAMP)
	$(BIN)/compare run $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

gradcheck: $(STAMP)
	$(BIN)/compare gradcheck $(ARGS)

bench: $(STAMP)
	$(BIN)/compare bench $(ARGS)

# docs/tour.ipynb from docs/tour.py (its jupytext twin, the one to edit), run with fresh outputs.
tour: $(STAMP)
	$(BIN)/python tests/test_tour.py

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis

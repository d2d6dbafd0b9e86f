# Two commands do all set-up on a fresh machine:
#   make demo   - create .venv if missing, install, grade the sample submissions, print results
#   make test   - create .venv if missing, install, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-all lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch==2.13.0 is pinned in pyproject.toml only; pip takes the local CPU wheel.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,dev,browser,cluster]'
	touch $(STAMP)

# bubblewrap is the sandbox's outer layer. Without it grading still works and says
# loudly which protections are missing. Headless chromium (and its driver) only serves the
# test that opens the batch report in a real browser; without it that test is skipped.
system-deps:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -q && apt-get install -y -q bubblewrap) >/dev/null 2>&1 \
		|| echo "WARNING: could not install bubblewrap; grading runs with weaker isolation"; \
	else echo "WARNING: bubblewrap is not installed (run as root or install it); grading runs with weaker isolation"; fi
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver) >/dev/null 2>&1 \
		|| echo "WARNING: could not install chromium; the report's browser test will be skipped"; \
	else echo "WARNING: chromium is not installed; the report's browser test will be skipped"; fi

demo: system-deps $(STAMP)
	$(BIN)/autograder list
	$(BIN)/python examples/demo.py

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" --durations=25 tests

test-all: system-deps $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check autograder tests

clean:
	rm -rf $(VENV) build dist *.egg-info

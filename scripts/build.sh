#!/usr/bin/env bash
# Builds the worker (Rust -> wasm -> build/index.js) with the tools setup.sh installed, using
# local binaries so worker-build never tries to download anything.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
"$CARGO_BIN/worker-build" --release "$@"
wasm=$(ls build/*.wasm build/**/*.wasm 2>/dev/null | head -n1 || true)
if [ -n "$wasm" ]; then
  echo "build: $wasm $(wc -c <"$wasm") bytes, $(gzip -9c "$wasm" | wc -c) bytes gzipped"
fi

#!/usr/bin/env bash
# Builds the three wasm artefacts with the tools setup.sh installed, using local binaries so
# worker-build never tries to download anything:
#   build/                      the proxy worker (feature `proxy`), served by wrangler.toml
#   js/dist/                    the JavaScript package's module (feature `js`)
#   examples/rust-worker/build/ the workers-rs example using the crate as a library
# An artefact newer than every source it is built from is kept as it is (so scripts/dev.sh
# restarts in seconds when nothing changed); FORCE=1 rebuilds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"

size() { echo "build: $1 $(wc -c <"$1") bytes, $(gzip -9c "$1" | wc -c) bytes gzipped"; }

# fresh OUTPUT SOURCE...: OUTPUT exists and no file under the SOURCEs is newer
fresh() {
  local out=$1
  shift
  [ "${FORCE:-0}" != 1 ] && [ -f "$out" ] && [ -z "$(find "$@" -newer "$out" -type f -print -quit)" ]
}
CRATE=(src Cargo.toml Cargo.lock)

if fresh build/index_bg.wasm "${CRATE[@]}"; then
  echo "build: build/ is up to date"
else
  "$CARGO_BIN/worker-build" --release --features proxy
fi
size build/index_bg.wasm
if fresh js/dist/worker/index.wasm "${CRATE[@]}"; then
  echo "build: js/dist/ is up to date"
else
  "$CARGO_BIN/worker-build" --release --no-panic-recovery --out-dir js/dist --features js
  # worker-build leaves a package.json and a "*" .gitignore in its output; either would make
  # npm leave dist/ out of the package's tarball
  rm -f js/dist/.gitignore js/dist/package.json
fi
size js/dist/worker/index.wasm
if fresh examples/rust-worker/build/index_bg.wasm "${CRATE[@]}" examples/rust-worker/src examples/rust-worker/Cargo.toml; then
  echo "build: examples/rust-worker/build/ is up to date"
else
  (cd examples/rust-worker && "$CARGO_BIN/worker-build" --release)
fi
size examples/rust-worker/build/index_bg.wasm

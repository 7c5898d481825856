#!/usr/bin/env bash
# Builds both wasm artefacts with the tools setup.sh installed, using local binaries so
# worker-build never tries to download anything:
#   build/    the proxy worker (feature `proxy`), served by wrangler.toml
#   js/dist/  the JavaScript package's module (feature `js`, plain named ES exports)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"

size() { echo "build: $1 $(wc -c <"$1") bytes, $(gzip -9c "$1" | wc -c) bytes gzipped"; }

"$CARGO_BIN/worker-build" --release --features proxy
size build/index_bg.wasm
"$CARGO_BIN/worker-build" --release --no-panic-recovery --out-dir js/dist --features js
# worker-build leaves a package.json and a "*" .gitignore in its output; either would make npm
# leave dist/ out of the package's tarball
rm -f js/dist/.gitignore js/dist/package.json
size js/dist/worker/index.wasm
(cd examples/rust-worker && "$CARGO_BIN/worker-build" --release)
size examples/rust-worker/build/index_bg.wasm

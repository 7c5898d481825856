#!/usr/bin/env bash
# Takes a machine with only the Rust toolchain (rustup) and Node.js to everything the build
# needs. Skips whatever is already installed at the right version, so a second run is fast.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
# wasm-bindgen's CLI must match the library version in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! "$CARGO_BIN/worker-build" --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  echo "setup: installing worker-build $WORKER_BUILD_VERSION (a few minutes)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

if ! "$CARGO_BIN/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  # not --locked: its lock file pins a crate version the registry no longer serves
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/wasm-opt ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm devDependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# Headless Chromium for the browser test of the demo (tests/e2e/browser.test.mjs), from Debian.
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing chromium (apt-get, a minute or two)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
fi

if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
  echo "setup: created .dev.vars from .dev.vars.example (a development secret; never deploy it)"
fi

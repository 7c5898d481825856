#!/usr/bin/env bash
# Every test: formatting, lints (native and wasm), native unit and integration tests, the
# wasm build, the end-to-end suite on real workerd with real KV and Durable Objects in front
# of a real origin, and an offline deploy dry run that validates the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
scripts/setup.sh
echo "== cargo fmt --check"; cargo fmt --all --check
echo "== cargo clippy (native)"; cargo clippy --all-targets -- -D warnings
echo "== cargo clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features js -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p edge-sessions-rust-example -- -D warnings
node scripts/check-snippets.mjs # the examples of README.md and docs/, for tsc and for this wasm build:
cargo clippy --target wasm32-unknown-unknown -p edge-sessions-readme -- -D warnings
echo "== cargo test (unit, integration, property, doctests incl. the docs' native Rust examples)"; cargo test
echo "== build (the engine for js/: proxy and package; the Rust example)"; scripts/build.sh
echo "== tsc --noEmit (example JS worker, type tests and the README's and docs' snippets against js/*.d.ts)"
npx tsc -p examples/js-worker/tsconfig.json
node scripts/check-snippets.mjs
npx tsc -p tests/types/tsconfig.json
echo "== JS test helper (edge-sessions/testing, plain Node, no workerd)"; node --test tests/js-testing.test.mjs
echo "== end-to-end (workerd: proxy, JS package, Rust library)"; node --test --test-concurrency=1 tests/e2e/
echo "== wrangler deploy --dry-run"
out=$(mktemp -d)
npx wrangler deploy --dry-run --outdir "$out" | grep -E 'Total Upload|dry-run'
wasm=$(ls "$out"/*.wasm)
echo "gzipped wasm: $(gzip -9c "$wasm" | wc -c) bytes"
rm -rf "$out"

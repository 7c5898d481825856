#!/usr/bin/env bash
# The main job, locally: install what is missing, build the engine, start the demo origin, and
# serve the session proxy on http://127.0.0.1:8787 with local KV and Durable Object state
# (under .wrangler/state). Set ORIGIN in .dev.vars to front your own app instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
export WRANGLER_SEND_METRICS=false
origin_pid=""
if grep -q '^ORIGIN="http://127.0.0.1:8788"' .dev.vars; then
  # the demo verifies the proxy's signed hand-off with the same secrets
  (set -a; . ./.dev.vars; exec node demo/origin.mjs) &
  origin_pid=$!
fi
trap '[ -n "$origin_pid" ] && kill "$origin_pid" 2>/dev/null || true' EXIT
echo "session proxy: http://127.0.0.1:8787  (try: curl -si -c jar -b jar http://127.0.0.1:8787/)"
npx wrangler dev --ip 127.0.0.1 --port 8787 --test-scheduled "$@"

#!/usr/bin/env bash
# Runs the given fuzz targets one after another for SECONDS each (default 60), seeded from
# seeds/<target> and, when present, corpus-e2e/<target> (made by seed-from-e2e.mjs), writing
# new inputs to corpus/<target>. Logs go to $LOG_DIR (default logs/). $FUZZ_DIR, when set, is
# passed to cargo fuzz as --fuzz-dir (the fuzz project, and so the engine source, to build).
# Usage: ./smoke.sh [SECONDS] target...
set -u
cd "$(dirname "$0")"
secs=${1:-60}; shift
log_dir=${LOG_DIR:-logs}
mkdir -p "$log_dir"
fuzz_dir=()
[ -n "${FUZZ_DIR:-}" ] && fuzz_dir=(--fuzz-dir "$FUZZ_DIR")
for t in "$@"; do
  mkdir -p "corpus/$t" "seeds/$t"
  dirs=("$PWD/corpus/$t" "$PWD/seeds/$t")
  [ -d "corpus-e2e/$t" ] && dirs+=("$PWD/corpus-e2e/$t")
  RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run "${fuzz_dir[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log_dir/$t-$secs.log" 2>&1
  echo "$t exit=$?"
done

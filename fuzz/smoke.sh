#!/usr/bin/env bash
# Runs the given fuzz targets one after another for SECONDS each (default 60), seeded from
# seeds/<target>, writing new inputs to corpus/<target>. Logs go to $LOG_DIR (default logs/).
# Usage: ./smoke.sh [SECONDS] target...
set -u
cd "$(dirname "$0")"
secs=${1:-60}; shift
log_dir=${LOG_DIR:-logs}
mkdir -p "$log_dir"
for t in "$@"; do
  mkdir -p "corpus/$t" "seeds/$t"
  RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log_dir/$t-$secs.log" 2>&1
  echo "$t exit=$?"
done

#!/usr/bin/env bash
# Run the cargo-fuzz targets (fuzz/fuzz_targets/) one after another, each for SECONDS (default 20: the CI smoke
# run), starting from the committed corpus. New inputs go to a temporary folder, not into the committed corpus;
# a crash leaves its input in fuzz/artifacts/<target>/ and fails the run (make it a regression test).
#
#   scripts/fuzz.sh                    # every target, 20 s each
#   scripts/fuzz.sh 600 encode forward # those targets, 10 minutes each
#
# Needs the nightly toolchain and cargo-fuzz (scripts/setup.sh --fuzz installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors shards config tokenizer_json encode forward pattern sentencepiece)

command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz is missing. Run: scripts/setup.sh --fuzz" >&2; exit 1; }
cargo +nightly fuzz build -O >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  # -rss_limit_mb: a run that needs more than 2 GB is a bug (every input is bounded before allocating).
  if ! cargo +nightly fuzz run -O "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz.sh: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz.sh: $t: ${seconds} s, $runs runs, $rate exec/s, no crash"
done

#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzzer.cc) with clang (in FUZZ_BUILD,
# default build-fuzz) and runs each for FUZZ_SECONDS seconds (default 300),
# seeded with files lorashare itself wrote. FUZZ_TARGETS (space-separated
# names, e.g. "ptd_fuzzer pte_fuzzer") limits the run to those targets.
# Exits non-zero if any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
tree=${FUZZ_BUILD:-build-fuzz}
CC=clang CXX=clang++ scripts/build.sh "$tree" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLORASHARE_FUZZ=ON -DLORASHARE_BENCH=OFF

seeds=$tree/seeds
if [ -x build/lorashare ] && [ ! -d "$seeds" ]; then
  scripts/make-fuzz-seeds.sh build/lorashare "$seeds"
fi

status=0
for target in "$tree"/fuzz/*_fuzzer; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  corpus=$tree/corpus/$name
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "$seeds/$name" ] && dirs+=("$seeds/$name")
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$tree/$name-" -print_final_stats=0 "${dirs[@]}" \
      >"$tree/$name.log" 2>&1; then
    echo "fuzz: $name FAILED (log: $tree/$name.log)"
    tail -40 "$tree/$name.log"
    status=1
  fi
done
exit $status

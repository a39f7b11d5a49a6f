#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzzer.cc) with clang and runs each for
# FUZZ_SECONDS seconds (default 300), seeded with files lorashare itself wrote.
# Exits non-zero if any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
CC=clang CXX=clang++ scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLORASHARE_FUZZ=ON -DLORASHARE_TESTS=OFF -DLORASHARE_BENCH=OFF

seeds=build-fuzz/seeds
if [ -x build/lorashare ] && [ ! -d "$seeds" ]; then
  scripts/make-fuzz-seeds.sh build/lorashare "$seeds"
fi

status=0
for target in build-fuzz/fuzz/*_fuzzer; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "$seeds/$name" ] && dirs+=("$seeds/$name")
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build-fuzz/$name-" -print_final_stats=0 "${dirs[@]}" \
      >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED (log: build-fuzz/$name.log)"
    tail -40 "build-fuzz/$name.log"
    status=1
  fi
done
exit $status

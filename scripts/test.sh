#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, runs the suite, then builds
# and runs it again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# runs each fuzz target for a short bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh build
ctest --test-dir build --output-on-failure -j"$(nproc)"

scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DLORASHARE_SANITIZE=ON -DLORASHARE_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -LE slow

FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh

#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, runs the suite, cross-compiles
# the kernels for ARM (scripts/check-arm.sh); then builds
# it again with clang under AddressSanitizer + UndefinedBehaviorSanitizer (the
# same tree holds the libFuzzer targets), runs the suite there, and runs each
# fuzz target for FUZZ_SECONDS seconds (default 12, which keeps the whole run
# within CI's 30 minutes on 2 cores; scripts/fuzz.sh alone fuzzes longer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh build
ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/check-arm.sh build  # the NEON/SVE kernels compile (cross-compiled, not run)

CC=clang CXX=clang++ scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLORASHARE_SANITIZE=ON -DLORASHARE_FUZZ=ON -DLORASHARE_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)"

FUZZ_SECONDS=${FUZZ_SECONDS:-12} FUZZ_BUILD=build-asan scripts/fuzz.sh

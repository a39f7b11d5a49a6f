#!/usr/bin/env bash
# Cross-compiles the kernels (and the base and format layers) for 64-bit ARM
# with Debian's aarch64-linux-gnu-g++, so that Highway's NEON and SVE targets
# of every SIMD kernel are compiled even though this machine cannot run them.
# Objects are discarded: this checks that the code compiles, nothing more.
#
# Usage: scripts/check-arm.sh [BUILD_DIR]   (default: build; it must hold the
#        generated flatbuffer headers, i.e. have been built once)
# Exits non-zero if any file fails to compile, and names the files that did.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cxx=${CROSS_CXX:-aarch64-linux-gnu-g++}

command -v "$cxx" >/dev/null || { echo "check-arm: $cxx not found (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
[ -f "$build/generated/format/program_generated.h" ] ||
  { echo "check-arm: $build/generated/format/program_generated.h missing: build $build first" >&2; exit 1; }

# The cross compiler searches only the aarch64 sysroot. The header-only and
# arch-independent headers we need from the host's /usr/include are offered
# through a directory of links to them, so host glibc headers never mix in.
# OpenSSL's configuration header is per-architecture, so src/base/sha256.cc
# (the one OpenSSL user) is left out.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/include"
for dir in hwy fmt flatbuffers nlohmann; do
  [ -d "/usr/include/$dir" ] || { echo "check-arm: /usr/include/$dir missing: run scripts/setup.sh" >&2; exit 1; }
  ln -s "/usr/include/$dir" "$work/include/$dir"
done

sources=(src/kernels/*.cc src/format/*.cc)
for file in src/base/*.cc; do
  [ "$file" = src/base/sha256.cc ] || sources+=("$file")
done

failed=()
mkdir -p "$work/obj"
for file in "${sources[@]}"; do
  object="$work/obj/$(echo "$file" | tr / _).o"
  if ! "$cxx" -std=c++20 -O2 -c "$file" -o "$object" -Isrc -I"$build/generated" \
      -isystem "$work/include" 2>"$work/errors"; then
    failed+=("$file")
    sed -n 1,40p "$work/errors" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-arm: ${#failed[@]} of ${#sources[@]} files do not compile for aarch64: ${failed[*]}" >&2
  exit 1
fi
# Highway names each target's code N_<TARGET>: make sure the ARM ones were
# compiled rather than, say, a scalar-only build.
nm=${cxx%g++}nm
targets=$("$nm" -C "$work"/obj/src_kernels_*.o | grep -o 'N_[A-Z0-9_]*::' | sort -u | tr -d : | tr '\n' ' ' || true)
for wanted in N_NEON N_SVE; do
  case " $targets " in
    *" $wanted "*) ;;
    *) echo "check-arm: no $wanted code in the kernels (Highway targets built: $targets)" >&2; exit 1 ;;
  esac
done
echo "check-arm: ${#sources[@]} files compile for aarch64 with g++ $("$cxx" -dumpversion); Highway targets: $targets"

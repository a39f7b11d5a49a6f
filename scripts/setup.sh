#!/usr/bin/env bash
# Installs everything lorashare needs to build, test and run its demo on Debian 12
# (as root): Debian packages, and the npm packages the tests compare against.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev libcli11-dev libfmt-dev
  libhwy-dev libssl-dev libpcre2-dev libsentencepiece-dev libicu-dev
  clang libclang-rt-14-dev g++-aarch64-linux-gnu
  nodejs npm python3-numpy python3-sentencepiece
)
missing=()
for p in "${packages[@]}"; do
  [ "$p" = npm ] && command -v npm >/dev/null && continue  # nodesource's nodejs ships npm
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm packages (versions pinned in third_party/npm/package.json). Only the CPU
# build of llama.cpp is wanted: optional GPU variants are left out.
if [ ! -d third_party/npm/node_modules/@node-llama-cpp/linux-x64 ] ||
   [ third_party/npm/package.json -nt third_party/npm/node_modules/.installed ]; then
  echo "setup: installing npm packages into third_party/npm"
  (cd third_party/npm && npm install --no-audit --no-fund --omit=optional --ignore-scripts \
      --loglevel=error && touch node_modules/.installed)
fi

# llama.cpp's source (tokenizer test vectors, gguf-py) ships as a git bundle
# inside node-llama-cpp.
if [ ! -d third_party/llama.cpp-src/.git ]; then
  git clone -q third_party/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle \
    third_party/llama.cpp-src 2>/dev/null
fi

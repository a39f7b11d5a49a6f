#!/usr/bin/env bash
# Writes seed inputs for the fuzz targets: small files of every format,
# written by lorashare itself (usage: make-fuzz-seeds.sh LORASHARE_BINARY OUT_DIR).
set -euo pipefail
bin=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" make-test-model --quiet --preset tiny --out "$tmp/base" --lora-out "$tmp/adapter" \
  --lora-preset small --meta-out "$tmp/meta"
"$bin" make-test-model --quiet --preset tiny-qwen3 --out "$tmp/qwen"
"$bin" export --quiet --checkpoint "$tmp/base" --adapter "$tmp/adapter" --output "$tmp/lora.pte" \
  --foundation-weights "$tmp/foundation.ptd" --adapter-weights "$tmp/lora.ptd"
# A program with packed tensors (q4g32 linears, q4g32 embedding, separate q8row output layer).
"$bin" export --quiet --checkpoint "$tmp/base" --output "$tmp/quantized.pte" \
  --foundation-weights "$tmp/quantized.ptd" --quantize 8da4w --embedding-quantize 4,32

seed() {  # seed TARGET FILE...
  local target=$1
  shift
  mkdir -p "$out/$target"
  cp "$@" "$out/$target/"
}
seed ptd_fuzzer "$tmp/lora.ptd"
seed pte_fuzzer "$tmp/lora.pte" "$tmp/quantized.pte"
seed plan_fuzzer "$tmp/lora.pte" "$tmp/quantized.pte"
seed safetensors_fuzzer "$tmp/adapter/adapter_model.safetensors"
seed pth_fuzzer "$tmp/meta/adapter_model.pt"
seed tokenizer_tiktoken_fuzzer "$tmp/base/tokenizer.model"
seed tokenizer_json_fuzzer "$tmp/qwen/tokenizer.json"

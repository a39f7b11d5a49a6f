#!/usr/bin/env bash
# The whole story on a generated model: make a base model and a LoRA adapter,
# export both as programs over one shared foundation .ptd, and run the demo,
# which loads the LoRA model beside the base and prints what it costs.
#
#   scripts/demo.sh                         # stories15m shape: well under 2 minutes
#   scripts/demo.sh --preset llama-3.2-1b   # Llama 3.2 1B shape (f32: ~5 GB per file)
#   scripts/demo.sh --preset qwen3-0.6b --quantize 8da4w   # the reference demo's quantized run
#   scripts/demo.sh --no-weight-sharing     # extra flags go to `lorashare demo`
# --quantize and --embedding-quantize go to `lorashare export` (default f32).
# LORASHARE_BUILD_DIR picks the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=stories15m
export_flags=()
mode=f32
demo_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --preset=*) preset=${1#--preset=}; shift ;;
    --quantize) mode=$2; export_flags+=(--quantize "$2"); shift 2 ;;
    --embedding-quantize) export_flags+=(--embedding-quantize "$2"); shift 2 ;;
    *) demo_flags+=("$1"); shift ;;
  esac
done

scripts/setup.sh
build_dir=${LORASHARE_BUILD_DIR:-build}
scripts/build.sh "$build_dir" >/dev/null
bin=$build_dir/lorashare
models=models/$preset
exports=exports/$preset-$mode
mkdir -p "$models" "$exports"

if [ ! -f "$models/base/config.json" ] || [ ! -f "$models/adapter/adapter_config.json" ]; then
  "$bin" make-test-model --preset "$preset" --out "$models/base" --lora-out "$models/adapter"
fi
"$bin" export --checkpoint "$models/base" --output "$exports/base.pte" \
  --foundation-weights "$exports/foundation.ptd" "${export_flags[@]}"
"$bin" export --checkpoint "$models/base" --adapter "$models/adapter" \
  --output "$exports/lora.pte" --foundation-weights "$exports/foundation.ptd" "${export_flags[@]}"

tokenizer=$models/base/tokenizer.model
[ -f "$tokenizer" ] || tokenizer=$models/base

"$bin" demo --llama_model_path "$exports/base.pte" --lora_model_path "$exports/lora.pte" \
  --foundation_weights_path "$exports/foundation.ptd" --tokenizer_path "$tokenizer" \
  --seq_len 128 "${demo_flags[@]}"

#!/usr/bin/python3
"""Prints a GGUF file as JSON, read with llama.cpp's own gguf-py reader.

Output: {"fields": {key: value}, "value_types": {key: gguf type name},
         "tensors": [{"name", "ne" (ggml order), "type", "offset", "data" (flat f32)}]}

Quantized tensors (Q8_0, Q4_0) are dequantized by gguf-py (gguf.quants). With
--requantize REF.gguf, each quantized tensor also gets "requantized_equal":
whether gguf-py's own quantizer (a numpy port of ggml's reference quantizers),
run on the same tensor of REF.gguf (an F32 file of the same weights), gives
exactly the blocks stored in FILE.

For architecture "llama", the rows of attn_q / attn_k weights and of their
LoRA B matrices are put back into Hugging Face rotate-half order with numpy
(the inverse of convert_hf_to_gguf.py's LlamaModel.permute), so a test can
compare them with the tensors it wrote. An adapter file has no head counts:
pass --heads N_HEAD N_HEAD_KV.

Usage: /usr/bin/python3 gguf_dump.py FILE.gguf [--heads 32 8] [--requantize REF.gguf]
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "third_party", "llama.cpp-src", "gguf-py"))
import gguf  # noqa: E402


def unpermute(rows, n_head):
    """Inverse of reshape(n_head, 2, d/2, cols).swapaxes(1, 2): pairs back to halves."""
    cols = rows.shape[1:]
    return (rows.reshape(n_head, rows.shape[0] // n_head // 2, 2, *cols)
            .swapaxes(1, 2).reshape(rows.shape))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--heads", type=int, nargs=2, metavar=("N_HEAD", "N_HEAD_KV"))
    parser.add_argument("--requantize", metavar="REF.gguf")
    args = parser.parse_args()
    reference = {}
    if args.requantize:
        reference = {t.name: t for t in gguf.GGUFReader(args.requantize).tensors}

    reader = gguf.GGUFReader(args.file)
    fields, value_types = {}, {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, np.generic):
            value = value.item()
        fields[name] = value
        value_types[name] = "/".join(t.name for t in field.types)

    arch = fields.get("general.architecture")
    heads = {}
    if args.heads:
        heads = {"attn_q": args.heads[0], "attn_k": args.heads[1]}
    elif arch and f"{arch}.attention.head_count" in fields:
        heads = {"attn_q": fields[f"{arch}.attention.head_count"],
                 "attn_k": fields[f"{arch}.attention.head_count_kv"]}

    tensors = []
    for tensor in reader.tensors:
        shape = tuple(reversed(tensor.shape.tolist()))
        quantized = tensor.tensor_type in (gguf.GGMLQuantizationType.Q8_0,
                                           gguf.GGMLQuantizationType.Q4_0)
        data = gguf.quants.dequantize(np.array(tensor.data), tensor.tensor_type)
        data = np.asarray(data, dtype=np.float32).reshape(shape)
        parts = tensor.name.split(".")
        permuted = (arch == "llama" and len(parts) >= 4 and parts[2] in heads and
                    (tensor.name.endswith(".weight") or tensor.name.endswith(".lora_b")))
        if permuted:
            data = unpermute(data, heads[parts[2]])
        entry = {
            "name": tensor.name,
            "ne": [int(n) for n in tensor.shape],
            "type": tensor.tensor_type.name,
            "offset": int(tensor.data_offset),
            "data": [float(x) for x in data.reshape(-1)],
        }
        if quantized and tensor.name in reference:
            source = np.array(reference[tensor.name].data, dtype=np.float32).reshape(shape)
            expected = gguf.quants.quantize(source, tensor.tensor_type)
            stored = np.array(tensor.data).reshape(expected.shape)
            entry["requantized_equal"] = bool(np.array_equal(expected, stored))
        tensors.append(entry)
    json.dump({"fields": fields, "value_types": value_types, "tensors": tensors}, sys.stdout)


if __name__ == "__main__":
    main()

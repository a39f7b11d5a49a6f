#!/usr/bin/python3
"""Prints a GGUF file as JSON, read with llama.cpp's own gguf-py reader.

Output: {"fields": {key: value}, "value_types": {key: gguf type name},
         "tensors": [{"name", "ne" (ggml order), "type", "offset", "data" (flat f32)}]}

For architecture "llama", the rows of attn_q / attn_k weights and of their
LoRA B matrices are put back into Hugging Face rotate-half order with numpy
(the inverse of convert_hf_to_gguf.py's LlamaModel.permute), so a test can
compare them with the tensors it wrote. An adapter file has no head counts:
pass --heads N_HEAD N_HEAD_KV.

Usage: /usr/bin/python3 gguf_dump.py FILE.gguf [--heads 32 8]
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
    args = parser.parse_args()

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
        data = np.array(tensor.data, dtype=np.float32).reshape(tuple(reversed(tensor.shape.tolist())))
        parts = tensor.name.split(".")
        permuted = (arch == "llama" and len(parts) >= 4 and parts[2] in heads and
                    (tensor.name.endswith(".weight") or tensor.name.endswith(".lora_b")))
        if permuted:
            data = unpermute(data, heads[parts[2]])
        tensors.append({
            "name": tensor.name,
            "ne": [int(n) for n in tensor.shape],
            "type": tensor.tensor_type.name,
            "offset": int(tensor.data_offset),
            "data": [float(x) for x in data.reshape(-1)],
        })
    json.dump({"fields": fields, "value_types": value_types, "tensors": tensors}, sys.stdout)


if __name__ == "__main__":
    main()

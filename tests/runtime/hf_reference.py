#!/usr/bin/python3
"""Logits of a Hugging Face checkpoint (plus an optional PEFT LoRA adapter)
through tests/reference_forward.py's Model.

Usage: hf_reference.py CHECKPOINT_DIR ADAPTER_DIR|- TOKENS OUT
Reads config.json and *.safetensors with its own safetensors parser; OUT gets
float32 logits [len(TOKENS), vocab].
"""
import glob
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference_forward  # noqa: E402

DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": "<u2"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    header_len = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data[base + begin:base + end], dtype=DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = raw.astype(np.float64).reshape(info["shape"])
    return tensors


HF_NAMES = {
    "input_layernorm": "attention_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk",
    "self_attn.v_proj": "attention.wv", "self_attn.o_proj": "attention.wo",
    "self_attn.q_norm": "attention.q_norm", "self_attn.k_norm": "attention.k_norm",
    "mlp.gate_proj": "feed_forward.w1", "mlp.up_proj": "feed_forward.w3",
    "mlp.down_proj": "feed_forward.w2",
}


def checkpoint_name(hf_module):
    """The checkpoint name of a module: model.layers.0.self_attn.q_proj is
    layers.0.attention.wq."""
    if hf_module == "model.embed_tokens":
        return "tok_embeddings"
    if hf_module == "model.norm":
        return "norm"
    if hf_module == "lm_head":
        return "output"
    parts = hf_module.split(".")
    return f"layers.{parts[2]}.{HF_NAMES['.'.join(parts[3:])]}"


def read_adapter(adapter_dir):
    """{target: (A, B)} and the scale of a PEFT adapter."""
    with open(adapter_dir + "/adapter_config.json") as f:
        peft = json.load(f)
    rank = peft["r"]
    scale = peft["lora_alpha"] / (math.sqrt(rank) if peft.get("use_rslora") else rank)
    tensors = read_safetensors(adapter_dir + "/adapter_model.safetensors")
    lora = {}
    for name, a in tensors.items():
        if ".lora_A." in name:
            module = name.replace("base_model.model.", "", 1).replace(".lora_A.weight", "")
            lora[checkpoint_name(module)] = (a, tensors[name.replace(".lora_A.", ".lora_B.")])
    return lora, scale


def main():
    checkpoint, adapter, tokens, out = sys.argv[1:5]
    with open(checkpoint + "/config.json") as f:
        config = json.load(f)
    weights = {}
    for path in sorted(glob.glob(checkpoint + "/*.safetensors")):
        for name, tensor in read_safetensors(path).items():
            weights[checkpoint_name(name[:-len(".weight")]) + ".weight"] = tensor
    lora = {}
    if adapter != "-":
        lora, config["lora_scale"] = read_adapter(adapter)
    model = reference_forward.Model(config, weights, lora)
    model.logits([int(t) for t in tokens.split(",")]).astype("<f4").tofile(out)


if __name__ == "__main__":
    main()

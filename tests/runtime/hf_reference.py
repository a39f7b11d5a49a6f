#!/usr/bin/python3
"""Logits of a Hugging Face checkpoint (plus an optional PEFT LoRA adapter,
merged as W + scale * B A) through reference_forward.forward.

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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
    "self_attn.q_proj": "wq", "self_attn.k_proj": "wk", "self_attn.v_proj": "wv",
    "self_attn.o_proj": "wo", "self_attn.q_norm": "q_norm", "self_attn.k_norm": "k_norm",
    "mlp.gate_proj": "w1", "mlp.up_proj": "w3", "mlp.down_proj": "w2",
}


def our_name(hf_name):
    name = hf_name[:-len(".weight")]
    if name == "model.embed_tokens":
        return "tok_embeddings"
    if name == "model.norm":
        return "norm"
    if name == "lm_head":
        return "output"
    parts = name.split(".")
    return f"layers.{parts[2]}.{HF_NAMES['.'.join(parts[3:])]}"


def config_of(hf):
    n_heads = hf["num_attention_heads"]
    config = {
        "dim": hf["hidden_size"], "n_layers": hf["num_hidden_layers"], "n_heads": n_heads,
        "n_kv_heads": hf.get("num_key_value_heads", n_heads),
        "head_dim": hf.get("head_dim") or hf["hidden_size"] // n_heads,
        "vocab_size": hf["vocab_size"], "norm_eps": hf["rms_norm_eps"],
        "rope_theta": hf.get("rope_theta", 10000.0),
        "tied_embeddings": hf.get("tie_word_embeddings", False),
        "qk_norm": hf.get("model_type") == "qwen3",
    }
    scaling = hf.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        config["rope_scaling"] = scaling
    return config


def merge_adapter(weights, adapter_dir):
    with open(adapter_dir + "/adapter_config.json") as f:
        peft = json.load(f)
    rank = peft["r"]
    scale = peft["lora_alpha"] / (math.sqrt(rank) if peft.get("use_rslora") else rank)
    lora = read_safetensors(adapter_dir + "/adapter_model.safetensors")
    for name, a in lora.items():
        if ".lora_A." not in name:
            continue
        b = lora[name.replace(".lora_A.", ".lora_B.")]
        target = name.replace("base_model.model.", "", 1).replace(".lora_A", "")
        weights[our_name(target)] = weights[our_name(target)] + scale * (b @ a)


def main():
    checkpoint, adapter, tokens, out = sys.argv[1:5]
    with open(checkpoint + "/config.json") as f:
        config = config_of(json.load(f))
    weights = {}
    for path in sorted(glob.glob(checkpoint + "/*.safetensors")):
        for name, tensor in read_safetensors(path).items():
            weights[our_name(name)] = tensor
    if adapter != "-":
        merge_adapter(weights, adapter)
    ids = [int(t) for t in tokens.split(",")]
    reference_forward.forward(config, weights, ids).astype("<f4").tofile(out)


if __name__ == "__main__":
    main()

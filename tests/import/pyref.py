#!/usr/bin/python3
"""Independent reference for lorashare's importer tests (numpy + stdlib only).

Writes safetensors files, Hugging Face and PEFT directories, torch.save zips and
Meta checkpoints with known values, and reads lorashare's writers' output back.
Every command prints a JSON manifest on stdout: tensor name -> dtype, shape and
the SHA-256 of the stored little-endian bytes.
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np

ST_DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16", "i8": "I8", "u8": "U8",
             "i16": "I16", "i32": "I32", "i64": "I64", "f64": "F64", "bool": "BOOL"}
NP_DTYPES = {"f32": "<f4", "f16": "<f2", "i8": "i1", "u8": "u1", "i16": "<i2",
             "i32": "<i4", "i64": "<i8", "f64": "<f8", "bool": "?"}


def values(name, shape, seed=0):
    """Deterministic float32 values for a tensor, seeded by its name."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return rng.standard_normal(shape).astype(np.float32)


def to_bytes(array, dtype):
    """Stored bytes of a float32 array in `dtype` (bf16: round to nearest even)."""
    if dtype == "bf16":
        bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return rounded.astype("<u2").tobytes()
    return np.ascontiguousarray(array).astype(NP_DTYPES[dtype]).tobytes()


def entry(dtype, shape, data):
    return {"dtype": dtype, "shape": list(shape), "sha256": hashlib.sha256(data).hexdigest()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes), written in the given order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": ST_DTYPES[dtype], "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    metadata = header.pop("__metadata__", {})
    inverse = {v: k for k, v in ST_DTYPES.items()}
    tensors, order = {}, sorted(header, key=lambda n: header[n]["data_offsets"][0])
    for name in order:
        info = header[name]
        begin, end = info["data_offsets"]
        tensors[name] = entry(inverse[info["dtype"]], info["shape"], data[begin:end])
    return {"tensors": tensors, "metadata": metadata, "order": order,
            "header_size": size, "file_size": len(blob)}


def cmd_safetensors(out):
    """A file with one tensor of every dtype, in shuffled name order."""
    tensors, manifest = [], {}
    specs = [("z.f32", "f32", (3, 5)), ("a.f16", "f16", (4, 2)), ("m.bf16", "bf16", (7,)),
             ("b.i8", "i8", (6,)), ("c.u8", "u8", (2, 3)), ("d.i16", "i16", (5,)),
             ("e.i32", "i32", (2, 2)), ("f.i64", "i64", (3,)), ("g.f64", "f64", (2,)),
             ("h.bool", "bool", (4,)), ("empty.f32", "f32", (0, 4)), ("scalar.f32", "f32", ())]
    for name, dtype, shape in specs:
        data = to_bytes(values(name, shape) * 50, dtype)
        tensors.append((name, dtype, shape, data))
        manifest[name] = entry(dtype, shape, data)
    write_safetensors(out, tensors, {"format": "pt", "note": "pyref"})
    return {"tensors": manifest, "metadata": {"format": "pt", "note": "pyref"}}


# Hugging Face layout, written independently of lorashare's name tables.
HF_LAYER = {
    "self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk",
    "self_attn.v_proj": "attention.wv", "self_attn.o_proj": "attention.wo",
    "mlp.gate_proj": "feed_forward.w1", "mlp.down_proj": "feed_forward.w2",
    "mlp.up_proj": "feed_forward.w3", "input_layernorm": "attention_norm",
    "post_attention_layernorm": "ffn_norm",
}
QWEN_LAYER = {"self_attn.q_norm": "attention.q_norm", "self_attn.k_norm": "attention.k_norm"}


def model_dims(arch):
    if arch == "qwen3":
        return dict(dim=64, layers=2, heads=4, kv=2, head_dim=32, hidden=96, vocab=128)
    return dict(dim=64, layers=2, heads=4, kv=2, head_dim=16, hidden=96, vocab=128)


def hf_shapes(arch, tied):
    d = model_dims(arch)
    q, kv = d["heads"] * d["head_dim"], d["kv"] * d["head_dim"]
    layer = {"self_attn.q_proj": (q, d["dim"]), "self_attn.k_proj": (kv, d["dim"]),
             "self_attn.v_proj": (kv, d["dim"]), "self_attn.o_proj": (d["dim"], q),
             "mlp.gate_proj": (d["hidden"], d["dim"]), "mlp.down_proj": (d["dim"], d["hidden"]),
             "mlp.up_proj": (d["hidden"], d["dim"]), "input_layernorm": (d["dim"],),
             "post_attention_layernorm": (d["dim"],)}
    if arch == "qwen3":
        layer.update({"self_attn.q_norm": (d["head_dim"],), "self_attn.k_norm": (d["head_dim"],)})
    out = {"model.embed_tokens.weight": ("tok_embeddings.weight", (d["vocab"], d["dim"])),
           "model.norm.weight": ("norm.weight", (d["dim"],))}
    if not tied:
        out["lm_head.weight"] = ("output.weight", (d["vocab"], d["dim"]))
    names = dict(HF_LAYER, **QWEN_LAYER)
    for i in range(d["layers"]):
        for module, shape in layer.items():
            out[f"model.layers.{i}.{module}.weight"] = (f"layers.{i}.{names[module]}.weight", shape)
    return out


def cmd_hf(out_dir, arch, dtype, shards, tied, extra_lm_head):
    d = model_dims(arch)
    os.makedirs(out_dir, exist_ok=True)
    config = {
        "architectures": ["Qwen3ForCausalLM" if arch == "qwen3" else "LlamaForCausalLM"],
        "model_type": arch, "hidden_size": d["dim"], "num_hidden_layers": d["layers"],
        "num_attention_heads": d["heads"], "num_key_value_heads": d["kv"],
        "intermediate_size": d["hidden"], "vocab_size": d["vocab"],
        "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
        "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": [2, 3],
        "torch_dtype": "float32", "hidden_act": "silu",
    }
    if arch == "qwen3":
        config["head_dim"] = d["head_dim"]
    else:
        config["rope_scaling"] = {"factor": 32.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 8192,
                                  "rope_type": "llama3"}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [3, 4]}, f)
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        f.write("{}")
    shapes = hf_shapes(arch, tied and not extra_lm_head)
    tensors, manifest = [], {}
    for hf_name in sorted(shapes):
        canonical, shape = shapes[hf_name]
        data = to_bytes(values(hf_name, shape), dtype)
        tensors.append((hf_name, dtype, shape, data))
        if not (tied and canonical == "output.weight"):
            manifest[canonical] = entry(dtype, shape, data)
    inv_freq = np.ones(d["head_dim"] // 2, dtype=np.float32).tobytes()
    tensors.append(("model.layers.0.self_attn.rotary_emb.inv_freq", "f32",
                    (d["head_dim"] // 2,), inv_freq))
    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, {"format": "pt"})
    else:
        weight_map = {}
        for s in range(shards):
            part = tensors[s::shards]
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(os.path.join(out_dir, file), part, {"format": "pt"})
            weight_map.update({name: file for name, _, _, _ in part})
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    return {"tensors": manifest, "config": config}


def main(argv):
    command = argv[1]
    if command == "safetensors":
        result = cmd_safetensors(argv[2])
    elif command == "read-safetensors":
        result = read_safetensors(argv[2])
    elif command == "hf":
        out_dir, arch, dtype, shards, tied, lm_head = argv[2:8]
        result = cmd_hf(out_dir, arch, dtype, int(shards), tied == "tied", lm_head == "lm_head")
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)

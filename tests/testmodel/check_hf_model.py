#!/usr/bin/python3
"""Independent check of a model written by `lorashare make-test-model`.

Reads the Hugging Face directory with numpy and the standard library only
(no lorashare code) and checks it is what transformers would expect: every
tensor a Llama/Qwen3 config implies, with its shape and dtype, and a tokenizer
whose every merged token is the concatenation of two earlier tokens.
Usage: check_hf_model.py MODEL_DIR [ADAPTER_DIR] -> prints "ok ..." or exits 1.
"""
import base64
import json
import os
import struct
import sys

import numpy as np

SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[base + begin: base + end], SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], array.reshape(info["shape"]))
    return tensors


def expected_shapes(c):
    dim, hd = c["hidden_size"], c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
    q, kv, ff = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd, c["intermediate_size"]
    shapes = {"model.embed_tokens.weight": [c["vocab_size"], dim], "model.norm.weight": [dim]}
    if not c["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [c["vocab_size"], dim]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": [q, dim], p + "self_attn.k_proj.weight": [kv, dim],
            p + "self_attn.v_proj.weight": [kv, dim], p + "self_attn.o_proj.weight": [dim, q],
            p + "mlp.gate_proj.weight": [ff, dim], p + "mlp.up_proj.weight": [ff, dim],
            p + "mlp.down_proj.weight": [dim, ff], p + "input_layernorm.weight": [dim],
            p + "post_attention_layernorm.weight": [dim]})
        if c["model_type"] == "qwen3":
            shapes[p + "self_attn.q_norm.weight"] = [hd]
            shapes[p + "self_attn.k_norm.weight"] = [hd]
    return shapes


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def check_merged(tokens):
    """Every token from id 256 on splits into two tokens with lower ids."""
    index = {t: i for i, t in enumerate(tokens)}
    assert len(index) == len(tokens), "duplicate tokens"
    assert all(tokens[b] == bytes([b]) for b in range(256)), "first 256 tokens are the bytes"
    for i in range(256, len(tokens)):
        t = tokens[i]
        assert any(index.get(t[:k], i) < i and index.get(t[k:], i) < i for k in range(1, len(t))), \
            f"token {i} is not a merge of earlier tokens"


def check_tokenizer(model_dir, config):
    tiktoken = os.path.join(model_dir, "tokenizer.model")
    if os.path.exists(tiktoken):
        tokens = []
        for rank, line in enumerate(open(tiktoken, "rb").read().splitlines()):
            b64, r = line.split()
            assert int(r) == rank, "ranks in order"
            tokens.append(base64.b64decode(b64))
        assert len(tokens) + 256 == config["vocab_size"], "base vocabulary + 256 specials"
        check_merged(tokens)
        return len(tokens)
    tok = json.load(open(os.path.join(model_dir, "tokenizer.json")))
    decode = {v: k for k, v in bytes_to_unicode().items()}
    vocab = tok["model"]["vocab"]
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = bytes(decode[ch] for ch in text)
    check_merged(tokens)
    for i, merge in enumerate(tok["model"]["merges"]):
        left, right = merge.split(" ")
        assert vocab[left + right] == 256 + i, f"merge {i} makes token {256 + i}"
    specials = tok["added_tokens"]
    assert specials[0]["id"] == len(tokens) and specials[0]["special"]
    assert len(tokens) + len(specials) <= config["vocab_size"]
    return len(tokens)


def check_adapter(adapter_dir, config, weights):
    ac = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    r = ac["r"]
    pairs = 0
    for name, (dtype, a) in tensors.items():
        if not name.endswith("lora_A.weight"):
            continue
        module = name[len("base_model.model."):-len(".lora_A.weight")]
        assert module.split(".")[-1] in ac["target_modules"], f"{module} not a target"
        _, b = tensors[name.replace("lora_A", "lora_B")]
        out_f, in_f = weights[module + ".weight"][1].shape
        assert a.shape == (r, in_f) and b.shape == (out_f, r), f"{module} shapes"
        assert np.abs(b).max() > 0, "B is not zero"
        pairs += 1
    assert pairs == config["num_hidden_layers"] * len(ac["target_modules"])
    return pairs


def main():
    model_dir = sys.argv[1]
    config = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    shapes = expected_shapes(config)
    assert set(weights) == set(shapes), f"tensor names differ: {set(weights) ^ set(shapes)}"
    dtypes = {dtype for dtype, _ in weights.values()}
    assert len(dtypes) == 1, "one dtype"
    for name, (dtype, array) in weights.items():
        assert list(array.shape) == shapes[name], f"{name} shape {array.shape}"
        if dtype != "BF16":
            assert np.all(np.isfinite(array)), f"{name} finite"
    vocab = check_tokenizer(model_dir, config)
    pairs = check_adapter(sys.argv[2], config, weights) if len(sys.argv) > 2 else 0
    print(f"ok tensors={len(weights)} dtype={dtypes.pop()} vocab={vocab} lora_pairs={pairs}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("check failed:", e)
        sys.exit(1)

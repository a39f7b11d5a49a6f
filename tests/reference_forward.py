#!/usr/bin/python3
"""A plain numpy (float64) forward pass of a Hugging Face Llama / Qwen3 model,
as transformers' modeling_llama / modeling_qwen3 define it: rotate-half RoPE on
the checkpoint's own q/k rows, Llama 3 rope scaling of the inverse frequencies,
grouped-query attention, per-head q/k RMSNorm for Qwen3, SwiGLU, and LoRA as
y = W x + scale * B (A x). It is the independent reference that the runtime's
logits (tests/runtime) and llama.cpp's output on the GGUF files (tests/parity)
are checked against.

Input: a directory with config.json (Hugging Face's keys; with --lora also
lora_targets and lora_scale) and every tensor as raw little-endian f32 in
<name>.f32, under its checkpoint name (src/import/checkpoint.h:
layers.N.attention.wq.weight, ...; an adapter's as <target>.lora_a / .lora_b).

Usage: /usr/bin/python3 reference_forward.py DIR --prompt 1,2,3 [--lora]
           [--steps 32 | --logits OUT]
  --steps N: decodes N tokens greedily and prints
             {"tokens": [...], "log_probs": [[log_softmax over the vocabulary] per step]};
  --logits OUT: writes the logits of every prompt position to OUT, f32 [len(prompt), vocab].
"""
import argparse
import json
import math
import os

import numpy as np


def inverse_frequencies(cfg, head_dim):
    inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0)
                      ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    scaling = cfg.get("rope_scaling")
    if not scaling or scaling.get("rope_type", scaling.get("type")) != "llama3":
        return inv_freq
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old_context / high) & ~(wavelen > old_context / low)
    return np.where(medium, smoothed, scaled)


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


class Model:
    """cfg: config.json's keys; weights: float64 arrays under checkpoint names;
    lora: {target: (A, B)}, added as lora_scale * B (A x)."""

    def __init__(self, cfg, weights, lora=None):
        self.cfg, self.weights, self.lora = cfg, weights, lora or {}
        self.nq = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nq)
        self.hd = cfg.get("head_dim") or cfg["hidden_size"] // self.nq
        self.inv_freq = inverse_frequencies(cfg, self.hd)
        tied = cfg.get("tie_word_embeddings", False)
        self.output = weights["tok_embeddings.weight" if tied else "output.weight"]

    def linear(self, name, x):
        y = x @ self.weights[name + ".weight"].T
        if name in self.lora:
            a, b = self.lora[name]
            y = y + self.cfg["lora_scale"] * ((x @ a.T) @ b.T)
        return y

    def logits(self, tokens):
        """Logits of every position, [len(tokens), vocab]."""
        w, eps, hd, nq, nkv = self.weights, self.cfg["rms_norm_eps"], self.hd, self.nq, self.nkv
        n = len(tokens)
        angles = np.outer(np.arange(n, dtype=np.float64), self.inv_freq)
        cos = np.cos(np.concatenate([angles, angles], axis=-1))[:, None, :]
        sin = np.sin(np.concatenate([angles, angles], axis=-1))[:, None, :]
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        x = w["tok_embeddings.weight"][tokens]
        for layer in range(self.cfg["num_hidden_layers"]):
            p = f"layers.{layer}."
            h = rms_norm(x, w[p + "attention_norm.weight"], eps)
            q = self.linear(p + "attention.wq", h).reshape(n, nq, hd)
            k = self.linear(p + "attention.wk", h).reshape(n, nkv, hd)
            v = self.linear(p + "attention.wv", h).reshape(n, nkv, hd)
            if self.cfg["model_type"] == "qwen3":
                q = rms_norm(q, w[p + "attention.q_norm.weight"], eps)
                k = rms_norm(k, w[p + "attention.k_norm.weight"], eps)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = np.repeat(k, nq // nkv, axis=1)
            v = np.repeat(v, nq // nkv, axis=1)
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", scores, v).reshape(n, nq * hd)
            x = x + self.linear(p + "attention.wo", attn)
            h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
            gate = self.linear(p + "feed_forward.w1", h)
            up = self.linear(p + "feed_forward.w3", h)
            x = x + self.linear(p + "feed_forward.w2", gate / (1 + np.exp(-gate)) * up)
        return rms_norm(x, w["norm.weight"], eps) @ self.output.T


def load_f32(directory, name, shape):
    data = np.fromfile(os.path.join(directory, name + ".f32"), dtype="<f4")
    return data.astype(np.float64).reshape(shape)


def load_directory(directory, use_lora):
    """The Model of a directory of raw f32 tensors (see the module's doc)."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    d, hd, ff = cfg["hidden_size"], cfg["head_dim"], cfg["intermediate_size"]
    nq, nkv, vocab = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    linear = {"attention.wq": (nq * hd, d), "attention.wk": (nkv * hd, d),
              "attention.wv": (nkv * hd, d), "attention.wo": (d, nq * hd),
              "feed_forward.w1": (ff, d), "feed_forward.w3": (ff, d),
              "feed_forward.w2": (d, ff)}
    shapes = {"tok_embeddings": (vocab, d), "norm": (d,)}
    if not cfg["tie_word_embeddings"]:
        shapes["output"] = (vocab, d)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"layers.{layer}."
        shapes.update({p + name: shape for name, shape in linear.items()})
        shapes.update({p + "attention_norm": (d,), p + "ffn_norm": (d,)})
        if cfg["model_type"] == "qwen3":
            shapes.update({p + "attention.q_norm": (hd,), p + "attention.k_norm": (hd,)})
    weights = {name + ".weight": load_f32(directory, name + ".weight", shape)
               for name, shape in shapes.items()}
    lora = {}
    for target in cfg.get("lora_targets", []) if use_lora else []:
        out_features, in_features = linear[target.split(".", 2)[2]]
        a = np.fromfile(os.path.join(directory, target + ".lora_a.f32"), dtype="<f4")
        rank = a.size // in_features
        lora[target] = (a.astype(np.float64).reshape(rank, in_features),
                        load_f32(directory, target + ".lora_b", (out_features, rank)))
    return Model(cfg, weights, lora)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--logits")
    parser.add_argument("--lora", action="store_true")
    args = parser.parse_args()

    model = load_directory(args.dir, args.lora)
    tokens = [int(t) for t in args.prompt.split(",")]
    if args.logits:
        model.logits(tokens).astype("<f4").tofile(args.logits)
        return
    generated, steps = [], []
    for _ in range(args.steps):
        logits = model.logits(tokens)[-1]
        log_probs = logits - logits.max()
        log_probs -= math.log(np.exp(log_probs).sum())
        steps.append([float(x) for x in log_probs])
        generated.append(int(np.argmax(log_probs)))
        tokens.append(generated[-1])
    print(json.dumps({"tokens": generated, "log_probs": steps}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A plain numpy (float64) forward pass of a Hugging Face Llama / Qwen3 model,
as transformers' modeling_llama / modeling_qwen3 define it: rotate-half RoPE on
the checkpoint's own q/k rows, Llama 3 rope scaling of the inverse frequencies,
grouped-query attention, per-head q/k RMSNorm for Qwen3, SwiGLU, and LoRA as
y = W x + scale * B (A x). It is the independent reference that llama.cpp's
output on the GGUF files is checked against.

Input: a directory with config.json and raw f32 tensors (<name>.f32) as
written by tests/parity/random_model.cc. Decodes greedily and prints
{"tokens": [...], "log_probs": [[log_softmax over the vocabulary] per step]}.

Usage: /usr/bin/python3 reference_forward.py DIR --prompt 1,2,3 [--steps 32] [--lora]
"""
import argparse
import json
import math
import os

import numpy as np


def load(directory, name, shape):
    data = np.fromfile(os.path.join(directory, name + ".f32"), dtype="<f4")
    return data.astype(np.float64).reshape(shape)


def inverse_frequencies(cfg):
    dim = cfg["head_dim"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    scaling = cfg.get("rope_scaling")
    if not scaling:
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
    def __init__(self, directory, use_lora):
        with open(os.path.join(directory, "config.json")) as f:
            self.cfg = cfg = json.load(f)
        self.dir = directory
        d, hd, ff = cfg["hidden_size"], cfg["head_dim"], cfg["intermediate_size"]
        nq, nkv, vocab = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
        self.embed = load(directory, "tok_embeddings.weight", (vocab, d))
        self.norm = load(directory, "norm.weight", (d,))
        self.output = (self.embed if cfg["tie_word_embeddings"]
                       else load(directory, "output.weight", (vocab, d)))
        shapes = {"attention.wq": (nq * hd, d), "attention.wk": (nkv * hd, d),
                  "attention.wv": (nkv * hd, d), "attention.wo": (d, nq * hd),
                  "feed_forward.w1": (ff, d), "feed_forward.w3": (ff, d),
                  "feed_forward.w2": (d, ff)}
        self.weights = {}
        for layer in range(cfg["num_hidden_layers"]):
            p = f"layers.{layer}."
            for name, shape in shapes.items():
                self.weights[p + name] = load(directory, p + name + ".weight", shape)
            for name, size in [("attention_norm", d), ("ffn_norm", d)]:
                self.weights[p + name] = load(directory, p + name + ".weight", (size,))
            if cfg["model_type"] == "qwen3":
                for name in ["attention.q_norm", "attention.k_norm"]:
                    self.weights[p + name] = load(directory, p + name + ".weight", (hd,))
        self.lora = {}
        if use_lora:
            for target in cfg["lora_targets"]:
                out_features, in_features = shapes[target.split(".", 2)[2]]
                a = np.fromfile(os.path.join(directory, target + ".lora_a.f32"), dtype="<f4")
                rank = a.size // in_features
                self.lora[target] = (a.astype(np.float64).reshape(rank, in_features),
                                     load(directory, target + ".lora_b", (out_features, rank)))
        self.inv_freq = inverse_frequencies(cfg)

    def linear(self, name, x):
        y = x @ self.weights[name].T
        if name in self.lora:
            a, b = self.lora[name]
            y = y + self.cfg["lora_scale"] * ((x @ a.T) @ b.T)
        return y

    def logits(self, tokens):
        cfg = self.cfg
        eps, hd = cfg["rms_norm_eps"], cfg["head_dim"]
        nq, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        n = len(tokens)
        angles = np.outer(np.arange(n, dtype=np.float64), self.inv_freq)
        cos = np.cos(np.concatenate([angles, angles], axis=-1))[:, None, :]
        sin = np.sin(np.concatenate([angles, angles], axis=-1))[:, None, :]
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        x = self.embed[tokens]
        for layer in range(cfg["num_hidden_layers"]):
            p = f"layers.{layer}."
            h = rms_norm(x, self.weights[p + "attention_norm"], eps)
            q = self.linear(p + "attention.wq", h).reshape(n, nq, hd)
            k = self.linear(p + "attention.wk", h).reshape(n, nkv, hd)
            v = self.linear(p + "attention.wv", h).reshape(n, nkv, hd)
            if cfg["model_type"] == "qwen3":
                q = rms_norm(q, self.weights[p + "attention.q_norm"], eps)
                k = rms_norm(k, self.weights[p + "attention.k_norm"], eps)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            group = nq // nkv
            k = np.repeat(k, group, axis=1)
            v = np.repeat(v, group, axis=1)
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", scores, v).reshape(n, nq * hd)
            x = x + self.linear(p + "attention.wo", attn)
            h = rms_norm(x, self.weights[p + "ffn_norm"], eps)
            gate = self.linear(p + "feed_forward.w1", h)
            up = self.linear(p + "feed_forward.w3", h)
            x = x + self.linear(p + "feed_forward.w2", gate / (1 + np.exp(-gate)) * up)
        return rms_norm(x[-1], self.norm, eps) @ self.output.T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--lora", action="store_true")
    args = parser.parse_args()

    model = Model(args.dir, args.lora)
    tokens = [int(t) for t in args.prompt.split(",")]
    generated, steps = [], []
    for _ in range(args.steps):
        logits = model.logits(tokens)
        log_probs = logits - logits.max()
        log_probs -= math.log(np.exp(log_probs).sum())
        steps.append([float(x) for x in log_probs])
        generated.append(int(np.argmax(log_probs)))
        tokens.append(generated[-1])
    print(json.dumps({"tokens": generated, "log_probs": steps}))


if __name__ == "__main__":
    main()

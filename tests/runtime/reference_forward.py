#!/ usr / bin / python3
"""Independent numpy forward pass of a Llama / Qwen3 model (float64).

Usage: reference_forward.py WEIGHTS_DIR TOKENS OUT
  WEIGHTS_DIR holds manifest.json ({"config": ..., "tensors": {name: shape}})
  and <name>.f32 (raw little-endian float32) for every tensor.
  TOKENS is a comma-separated list of token ids.
  OUT receives the logits of every position, float32 [len(TOKENS), vocab].

Follows the Hugging Face LlamaForCausalLM / Qwen3ForCausalLM definitions:
RMSNorm, rotate-half RoPE (with "llama3" rope scaling), grouped-query causal
attention, SwiGLU MLP, per-head q/k RMSNorm for Qwen3, tied embeddings.
"""
import json
import math
import sys

import numpy as np


def load(weights_dir):
    with open(weights_dir + "/manifest.json") as f:
        manifest = json.load(f)
    tensors = {}
    for name, shape in manifest["tensors"].items():
        data = np.fromfile(f"{weights_dir}/{name}.f32", dtype="<f4")
        tensors[name] = data.reshape(shape).astype(np.float64)
    return manifest["config"], tensors


def rms_norm(x, weight, eps):
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(variance + eps) * weight


def inverse_frequencies(config):
    head_dim = config["head_dim"]
    inv_freq = 1.0 / (config["rope_theta"] ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    scaling = config.get("rope_scaling")
    if not scaling:
        return inv_freq
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context / low
    high_freq_wavelen = old_context / high
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    return np.where(medium, smoothed, scaled)


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rope(x, cos, sin):
#x : [seq, heads, head_dim]; cos / sin : [seq, head_dim]
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


def attention(q, k, v):
    seq, n_heads, head_dim = q.shape
    group = n_heads // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(head_dim)
    mask = np.triu(np.ones((seq, seq), dtype=bool), 1)
    scores = np.where(mask[None], -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    return np.einsum("hqk,khd->qhd", probs, v)


def forward(config, w, tokens):
    seq = len(tokens)
    n_heads, n_kv, head_dim = config["n_heads"], config["n_kv_heads"], config["head_dim"]
    eps = config["norm_eps"]
    angles = np.outer(np.arange(seq, dtype=np.float64), inverse_frequencies(config))
    cos = np.cos(np.concatenate([angles, angles], axis=-1))
    sin = np.sin(np.concatenate([angles, angles], axis=-1))
    x = w["tok_embeddings"][tokens]
    for layer in range(config["n_layers"]):
        p = f"layers.{layer}."
        h = rms_norm(x, w[p + "attention_norm"], eps)
        q = (h @ w[p + "wq"].T).reshape(seq, n_heads, head_dim)
        k = (h @ w[p + "wk"].T).reshape(seq, n_kv, head_dim)
        v = (h @ w[p + "wv"].T).reshape(seq, n_kv, head_dim)
        if config["qk_norm"]:
            q = rms_norm(q, w[p + "q_norm"], eps)
            k = rms_norm(k, w[p + "k_norm"], eps)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        out = attention(q, k, v).reshape(seq, n_heads * head_dim)
        x = x + out @ w[p + "wo"].T
        h = rms_norm(x, w[p + "ffn_norm"], eps)
        gate, up = h @ w[p + "w1"].T, h @ w[p + "w3"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "w2"].T
    x = rms_norm(x, w["norm"], eps)
    output = w["tok_embeddings"] if config["tied_embeddings"] else w["output"]
    return x @ output.T


def main():
    config, weights = load(sys.argv[1])
    tokens = [int(t) for t in sys.argv[2].split(",")]
    forward(config, weights, tokens).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()

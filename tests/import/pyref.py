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



# --- torch.save emulation: stub globals so pickle emits torch's opcodes. ---

def install_torch_stubs():
    import collections
    import types
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks):
        return RebuiltTensor(storage, offset, size, stride)

    def _rebuild_parameter(data, requires_grad, hooks):
        return data

    for function in (_rebuild_tensor_v2, _rebuild_parameter):
        function.__module__ = "torch._utils"
        function.__qualname__ = function.__name__
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    utils._rebuild_parameter = _rebuild_parameter
    torch._utils = utils
    for name in ["FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage"]:
        cls = type(name, (), {})
        cls.__module__ = "torch"
        setattr(torch, name, cls)
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return torch, utils, collections


class RebuiltTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


STORAGE_CLASS = {"f32": "FloatStorage", "f16": "HalfStorage", "bf16": "BFloat16Storage",
                 "i64": "LongStorage"}
ELEMENT = {"f32": 4, "f16": 2, "bf16": 2, "i64": 8}


class FakeStorage:
    def __init__(self, key, dtype, data):
        self.key, self.dtype, self.data = key, dtype, data


class FakeTensor:
    """Pickles as torch.Tensor does: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, storage, offset, size, stride, parameter=False):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        import collections
        utils = sys.modules["torch._utils"]
        inner = (utils._rebuild_tensor_v2,
                 (self.storage, self.offset, tuple(self.size), tuple(self.stride), False,
                  collections.OrderedDict()))
        if not self.parameter:
            return inner
        return (utils._rebuild_parameter, (Reduced(inner), False, collections.OrderedDict()))


class Reduced:
    def __init__(self, reduce_value):
        self.reduce_value = reduce_value

    def __reduce_ex__(self, protocol):
        return self.reduce_value


def contiguous_strides(shape):
    strides, step = [], 1
    for dim in reversed(shape):
        strides.insert(0, step)
        step *= dim
    return strides


def write_torch_zip(path, tensors, options=()):
    """tensors: list of (name, dtype, shape, bytes). options: 'deflate', 'zip64',
    'shared' (two tensors share one storage), 'parameter', 'metadata', 'strided'."""
    import collections
    import io
    import pickle
    import zipfile
    torch, _, _ = install_torch_stubs()
    state = collections.OrderedDict()
    storages = []
    for i, (name, dtype, shape, data) in enumerate(tensors):
        if "shared" in options and i == 1 and tensors[0][1] == dtype:
            # Tensor 1 is a view into tensor 0's storage, after tensor 0's data.
            first = storages[0]
            offset = len(first.data) // ELEMENT[dtype]
            first.data += data
            state[name] = FakeTensor(first, offset, shape, contiguous_strides(shape))
            continue
        storage = FakeStorage(str(len(storages)), dtype, data)
        storages.append(storage)
        stride = contiguous_strides(shape)
        if "strided" in options and len(shape) == 2:
            stride = [1, shape[0]]
        state[name] = FakeTensor(storage, 0, shape, stride, "parameter" in options)
    if "metadata" in options:
        state._metadata = collections.OrderedDict({"": {"version": 1}})

    def persistent_id(obj):
        if isinstance(obj, FakeStorage):
            numel = len(obj.data) // ELEMENT[obj.dtype]
            return ("storage", getattr(torch, STORAGE_CLASS[obj.dtype]), obj.key, "cpu", numel)
        return None

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=2)
    pickler.persistent_id = persistent_id
    pickler.dump(state)
    if "zip64" in options:
        zipfile.ZIP64_LIMIT = 16
        zipfile.ZIP_FILECOUNT_LIMIT = 1
    method = zipfile.ZIP_DEFLATED if "deflate" in options else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("model/data.pkl", buffer.getvalue())
        zf.writestr("model/byteorder", "little")
        for storage in storages:
            zf.writestr(f"model/data/{storage.key}", storage.data, compress_type=method)
        zf.writestr("model/version", "3\n")


def read_torch_zip(path):
    """Reads a torch.save zip with pickle + stubs; returns the manifest and the zip facts."""
    import pickle
    import zipfile
    install_torch_stubs()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        archive = names[0].split("/")[0]
        inverse = {v: k for k, v in STORAGE_CLASS.items()}

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                kind, cls, key, location, numel = pid
                assert kind == "storage" and location == "cpu"
                dtype = inverse[cls.__name__]
                data = zf.read(f"{archive}/data/{key}")
                assert len(data) == numel * ELEMENT[dtype]
                return FakeStorage(key, dtype, data)

        state = Unpickler(zf.open(f"{archive}/data.pkl")).load()
        manifest = {}
        for name, tensor in state.items():
            count = 1
            for dim in tensor.size:
                count *= dim
            assert list(tensor.stride) == contiguous_strides(list(tensor.size))
            element = ELEMENT[tensor.storage.dtype]
            data = tensor.storage.data[tensor.offset * element:(tensor.offset + count) * element]
            manifest[name] = entry(tensor.storage.dtype, tensor.size, data)
        infos = zf.infolist()
        facts = {
            "names": names,
            "stored": all(i.compress_type == zipfile.ZIP_STORED for i in infos),
            "crc_ok": zf.testzip() is None,
            "version": zf.read(f"{archive}/version").decode(),
            "byteorder": zf.read(f"{archive}/byteorder").decode(),
            "data_offsets": [i.header_offset + 30 + len(i.filename.encode()) +
                             len_local_extra(path, i.header_offset)
                             for i in infos if "/data/" in i.filename],
            "protocol": zf.read(f"{archive}/data.pkl")[1],
        }
    return {"tensors": manifest, "zip": facts}


def len_local_extra(path, header_offset):
    with open(path, "rb") as f:
        f.seek(header_offset + 28)
        return struct.unpack("<H", f.read(2))[0]


def cmd_pth(out, options):
    specs = [("layers.0.w", "f32", (6, 4)), ("layers.0.b", "bf16", (5,)),
             ("emb", "f16", (3, 2)), ("count", "i64", (2,)), ("scalar", "f32", ())]
    if "shared" in options:
        specs = [("first", "f32", (2, 3)), ("second", "f32", (4,))] + specs[2:]
    tensors, manifest = [], {}
    for name, dtype, shape in specs:
        data = to_bytes(values(name, shape) * 10, dtype)
        tensors.append((name, dtype, shape, data))
        manifest[name] = entry(dtype, shape, data)
    write_torch_zip(out, tensors, options)
    return {"tensors": manifest}


def meta_permute(w, n_heads):
    """transformers' convert_llama_weights_to_hf.py permute (Meta -> HF rows)."""
    dim1, dim2 = w.shape
    return w.reshape(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(0, 2, 1, 3).reshape(
        dim1, dim2)


def cmd_meta(out_dir, dtype, tied):
    os.makedirs(out_dir, exist_ok=True)
    dim, layers, heads, kv, vocab, multiple_of, mult = 64, 2, 4, 2, 128, 32, 1.5
    hidden = int(2 * (4 * dim) / 3)
    hidden = int(mult * hidden)
    hidden = multiple_of * ((hidden + multiple_of - 1) // multiple_of)
    head_dim = dim // heads
    params = {"dim": dim, "n_layers": layers, "n_heads": heads, "n_kv_heads": kv,
              "vocab_size": vocab, "multiple_of": multiple_of, "ffn_dim_multiplier": mult,
              "norm_eps": 1e-5, "rope_theta": 500000.0, "use_scaled_rope": True}
    with open(os.path.join(out_dir, "params.json"), "w") as f:
        json.dump(params, f)
    with open(os.path.join(out_dir, "tokenizer.model"), "w") as f:
        f.write("x")
    shapes = {"tok_embeddings.weight": (vocab, dim), "norm.weight": (dim,)}
    if not tied:
        shapes["output.weight"] = (vocab, dim)
    for i in range(layers):
        p = f"layers.{i}."
        shapes.update({p + "attention.wq.weight": (heads * head_dim, dim),
                       p + "attention.wk.weight": (kv * head_dim, dim),
                       p + "attention.wv.weight": (kv * head_dim, dim),
                       p + "attention.wo.weight": (dim, heads * head_dim),
                       p + "feed_forward.w1.weight": (hidden, dim),
                       p + "feed_forward.w2.weight": (dim, hidden),
                       p + "feed_forward.w3.weight": (hidden, dim),
                       p + "attention_norm.weight": (dim,), p + "ffn_norm.weight": (dim,)})
    tensors, manifest = [], {}
    for name, shape in shapes.items():
        w = values(name, shape)
        tensors.append((name, dtype, shape, to_bytes(w, dtype)))
        if name.endswith("attention.wq.weight"):
            w = meta_permute(w, heads)
        elif name.endswith("attention.wk.weight"):
            w = meta_permute(w, kv)
        manifest[name] = entry(dtype, shape, to_bytes(w, dtype))
    rope = np.ones(head_dim // 2, dtype=np.float32)
    tensors.append(("rope.freqs", "f32", (head_dim // 2,), rope.tobytes()))
    write_torch_zip(os.path.join(out_dir, "consolidated.00.pth"), tensors)
    return {"tensors": manifest, "hidden_dim": hidden}


PEFT_MODULES = {"q_proj": ("self_attn", "attention.wq"), "k_proj": ("self_attn", "attention.wk"),
                "v_proj": ("self_attn", "attention.wv"), "o_proj": ("self_attn", "attention.wo"),
                "gate_proj": ("mlp", "feed_forward.w1"), "down_proj": ("mlp", "feed_forward.w2"),
                "up_proj": ("mlp", "feed_forward.w3")}
TORCHTUNE_MODULES = {"q_proj": "attn.q_proj", "k_proj": "attn.k_proj", "v_proj": "attn.v_proj",
                     "o_proj": "attn.output_proj", "gate_proj": "mlp.w1",
                     "down_proj": "mlp.w2", "up_proj": "mlp.w3"}


def cmd_adapter(out_dir, style, targets, rank, fan_in_fan_out):
    """A LoRA adapter for the 'llama' model_dims(); style 'peft' (safetensors) or
    'torchtune' (adapter_model.pt). Manifest: canonical pair tensors in HF order."""
    d = model_dims("llama")
    q, kv = d["heads"] * d["head_dim"], d["kv"] * d["head_dim"]
    io = {"q_proj": (d["dim"], q), "k_proj": (d["dim"], kv), "v_proj": (d["dim"], kv),
          "o_proj": (q, d["dim"]), "gate_proj": (d["dim"], d["hidden"]),
          "down_proj": (d["hidden"], d["dim"]), "up_proj": (d["dim"], d["hidden"])}
    os.makedirs(out_dir, exist_ok=True)
    config = {"r": rank, "lora_alpha": 2 * rank, "target_modules": targets,
              "peft_type": "LORA", "base_model_name_or_path": "pyref/llama",
              "fan_in_fan_out": fan_in_fan_out, "use_rslora": False}
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f)
    tensors, manifest = [], {}
    for layer in range(d["layers"]):
        for module in targets:
            n_in, n_out = io[module]
            a, b = values(f"{layer}{module}A", (rank, n_in)), values(f"{layer}{module}B",
                                                                   (n_out, rank))
            canonical = f"layers.{layer}.{PEFT_MODULES[module][1]}"
            if style == "peft":
                base = f"base_model.model.model.layers.{layer}.{PEFT_MODULES[module][0]}.{module}"
                names = (base + ".lora_A.weight", base + ".lora_B.weight")
            else:
                base = f"layers.{layer}.{TORCHTUNE_MODULES[module]}"
                names = (base + ".lora_a.weight", base + ".lora_b.weight")
            hf_b = b
            if style != "peft" and module in ("q_proj", "k_proj"):
                hf_b = meta_permute(b, d["heads"] if module == "q_proj" else d["kv"])
            stored_a, stored_b = (a.T, b.T) if fan_in_fan_out else (a, b)
            tensors.append((names[0], "f32", stored_a.shape, to_bytes(stored_a, "f32")))
            tensors.append((names[1], "f32", stored_b.shape, to_bytes(stored_b, "f32")))
            manifest[canonical + ".lora_a"] = entry("f32", a.shape, to_bytes(a, "f32"))
            manifest[canonical + ".lora_b"] = entry("f32", b.shape, to_bytes(hf_b, "f32"))
    if style == "peft":
        write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors)
    else:
        write_torch_zip(os.path.join(out_dir, "adapter_model.pt"), tensors)
    return {"tensors": manifest}


def main(argv):
    command = argv[1]
    if command == "safetensors":
        result = cmd_safetensors(argv[2])
    elif command == "read-safetensors":
        result = read_safetensors(argv[2])
    elif command == "hf":
        out_dir, arch, dtype, shards, tied, lm_head = argv[2:8]
        result = cmd_hf(out_dir, arch, dtype, int(shards), tied == "tied", lm_head == "lm_head")
    elif command == "pth":
        result = cmd_pth(argv[2], argv[3:])
    elif command == "read-pth":
        result = read_torch_zip(argv[2])
    elif command == "meta":
        result = cmd_meta(argv[2], argv[3], argv[4] == "tied")
    elif command == "adapter":
        out_dir, style, targets, rank, fan = argv[2:7]
        result = cmd_adapter(out_dir, style, targets.split(","), int(rank), fan == "fan_in_fan_out")
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)

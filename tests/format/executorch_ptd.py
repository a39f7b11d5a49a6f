#!/usr/bin/python3
"""Writes .ptd files the way ExecuTorch's two writers lay them out.

An independent reference for lorashare's reader: the flatbuffer is built by
flatc from JSON (as ExecuTorch's serialize.py does), the extended header and
padding follow ExecuTorch's rules, and a manifest records what a reader must
find (absolute offset, size, SHA-256 and layout of every key).

  executorch_ptd.py python|cpp SCHEMA OUT.ptd MANIFEST.json

python: serialize.py (FlatTensorSerializer): header and flatbuffer padded to
  16, segments at lcm(128, alignment), identical buffers share one segment.
cpp: save_ptd (serialize.cpp): header and flatbuffer padded to the tensor
  alignment (64), one segment per tensor in key order, padded except the last.
"""
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

SCALAR_TYPE = {"f32": "FLOAT", "f16": "HALF", "i32": "INT", "u8": "BYTE", "i64": "LONG"}
NUMPY = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "u8": np.uint8, "i64": np.int64}


def aligned(n, a):
    return (n + a - 1) // a * a


def tensors():
    rng = np.random.default_rng(7)
    out = {}
    for key, dtype, sizes in [("linear.weight", "f32", [4, 8]), ("linear.bias", "f32", [8]),
                              ("tok_embeddings.weight", "f16", [10, 3]),
                              ("positions", "i64", [5]), ("mask", "u8", [3, 7])]:
        data = (rng.standard_normal(sizes) * 100).astype(NUMPY[dtype])
        out[key] = (data.tobytes(), dtype, sizes)
    return out


def flatc_binary(schema, doc):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "flat_tensor.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        subprocess.run(["flatc", "--binary", "-o", d, schema, path], check=True)
        with open(os.path.join(d, "flat_tensor.ptd"), "rb") as f:
            return f.read()


def layout(dtype, sizes):
    return {"scalar_type": SCALAR_TYPE[dtype], "sizes": sizes,
            "dim_order": list(range(len(sizes)))}


def header(flatbuffer_offset, flatbuffer_size, segment_base, segment_size):
    return b"FH01" + struct.pack("<IQQQQ", 40, flatbuffer_offset, flatbuffer_size, segment_base,
                                 segment_size)


def insert_header(flatbuffer, padded_header):
    root = struct.unpack_from("<I", flatbuffer, 0)[0] + len(padded_header)
    return struct.pack("<I", root) + flatbuffer[4:8] + padded_header + flatbuffer[8:]


def write_python(schema):
    """FlatTensorSerializer.serialize with segment_alignment 128, tensor_alignment 16."""
    items = tensors()
    # An alias of an existing buffer and an opaque blob with its own alignment,
    # like XNNPACK's content-keyed constants.
    blob = bytes(range(200))
    entries = [(k, v[0], layout(v[1], v[2]), 1) for k, v in items.items()]
    entries.insert(2, ("alias.weight", items["linear.weight"][0],
                       layout("f32", [4, 8]), 1))
    entries.append((hashlib.sha256(blob).hexdigest(), blob, None, 256))

    buffers, named, data = {}, [], b""
    segments = []
    for key, raw, lay, alignment in entries:
        if raw not in buffers:
            a = math.lcm(128, alignment)
            offset = aligned(len(data), a)
            data += b"\0" * (offset - len(data)) + raw
            buffers[raw] = len(segments)
            segments.append({"offset": offset, "size": len(raw)})
        item = {"key": key, "segment_index": buffers[raw]}
        if lay:
            item["tensor_layout"] = lay
        named.append(item)
    fb = flatc_binary(schema, {"version": 0, "segments": segments, "named_data": named})
    padded_header_len = aligned(40, 16)
    padded_fb = fb + b"\0" * (aligned(len(fb), 16) - len(fb))
    base = aligned(len(padded_fb) + padded_header_len, 128)
    hdr = header(padded_header_len, len(fb), base, len(data))
    head = insert_header(padded_fb, hdr + b"\0" * (padded_header_len - len(hdr)))
    head += b"\0" * (base - len(head))
    return head + data, base, named, segments, entries


def write_cpp(schema, alignment=64):
    """save_ptd(path, std::map<std::string, Tensor>, tensor_alignment)."""
    items = sorted(tensors().items())
    named, segments, data = [], [], b""
    for i, (key, (raw, dtype, sizes)) in enumerate(items):
        named.append({"key": key, "segment_index": i, "tensor_layout": layout(dtype, sizes)})
        segments.append({"offset": len(data), "size": len(raw)})
        data += raw
        if i != len(items) - 1:
            data += b"\0" * (aligned(len(raw), alignment) - len(raw))
    fb = flatc_binary(schema, {"version": 0, "segments": segments, "named_data": named})
    padded_header_len = aligned(40, alignment)
    base = padded_header_len + aligned(len(fb), alignment)
    hdr = header(padded_header_len, len(fb), base, len(data))
    head = insert_header(fb, hdr + b"\0" * (padded_header_len - len(hdr)))
    head += b"\0" * (base - len(head))
    entries = [(k, v[0], layout(v[1], v[2]), 1) for k, v in items]
    return head + data, base, named, segments, entries


def main():
    mode, schema, out, manifest_path = sys.argv[1:5]
    content, base, named, segments, entries = (write_python if mode == "python" else write_cpp)(
        schema)
    raw_by_key = {e[0]: e[1] for e in entries}
    dtype_by_type = {v: k for k, v in SCALAR_TYPE.items()}
    manifest = {"segment_base_offset": base, "segment_count": len(segments),
                "fingerprint": hashlib.sha256(content[:base]).hexdigest(), "entries": []}
    for item in named:
        seg = segments[item["segment_index"]]
        raw = raw_by_key[item["key"]]
        entry = {"key": item["key"], "segment_index": item["segment_index"],
                 "offset": base + seg["offset"], "size": len(raw),
                 "sha256": hashlib.sha256(raw).hexdigest()}
        assert content[entry["offset"]:entry["offset"] + len(raw)] == raw
        if "tensor_layout" in item:
            lay = item["tensor_layout"]
            entry["layout"] = {"dtype": dtype_by_type[lay["scalar_type"]], "sizes": lay["sizes"],
                               "dim_order": lay["dim_order"]}
        manifest["entries"].append(entry)
    with open(out, "wb") as f:
        f.write(content)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()

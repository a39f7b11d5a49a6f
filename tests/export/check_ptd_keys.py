#!/usr/bin/python3
"""Independent check of a foundation .ptd written by `lorashare export`.

Decodes the FlatTensor flatbuffer with flatc (from the schema written from the
spec) and the extended header by hand, then checks that every key is
"<format>-<sha256 of the segment bytes>" (format: the dtype of a plain tensor,
or for a packed blob, stored as uint8 [nbytes], its layout: q8row, q4g32,
q4g64, q4g128), that segments lie inside the file and are aligned (packed blobs
of 64 KiB or more on a page), and that no two segments hold the same bytes.

With a program schema and a .pte, also decodes the program and checks each of
its foundation tensors: the key exists, names the tensor's own format
(layout and group size, or dtype), and the blob has the size the layout's
geometry gives for the tensor's [rows, cols] (src/format/weight_layout.h).

Usage: check_ptd_keys.py SCHEMA FILE.ptd [PROGRAM_SCHEMA FILE.pte]
  -> prints "ok <n keys> [<n program tensors>]" or exits 1.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

DTYPE_NAMES = {"FLOAT": "f32", "HALF": "f16", "BFLOAT16": "bf16", 6: "f32", 5: "f16", 15: "bf16"}
PACKED_FORMATS = {"q8row", "q4g32", "q4g64", "q4g128"}
PAGE = 4096
PAGE_ALIGN_MIN_BYTES = 1 << 16


def decode(schema, path):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["flatc", "--json", "--raw-binary", "--strict-json", "-o", tmp, schema,
                        "--", path], check=True, capture_output=True)
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        return json.load(open(os.path.join(tmp, name)))


def align64(n):
    return (n + 63) // 64 * 64


def packed_bytes(layout, group, rows, cols):
    """Blob size of a packed [rows, cols] matrix, from weight_layout.h's description."""
    padded = (cols + 127) // 128 * 128
    tiled_rows = (rows + 15) // 16 * 16  # 16-row tiles, the last one padded
    if layout == "Q8_ROW":
        return align64(tiled_rows * padded) + align64(tiled_rows * 4) + align64(tiled_rows * 4)
    assert layout == "Q4_GROUP" and group in (32, 64, 128), f"layout {layout} group {group}"
    return align64(tiled_rows * padded // 2) + align64(tiled_rows * (padded // group) * 2)


def read_ptd(schema, path):
    """Checks the .ptd; returns {key: blob bytes}."""
    data = open(path, "rb").read()
    assert data[4:8] == b"FT01", "file identifier"
    assert data[8:12] == b"FH01", "header magic"
    length, fb_offset, fb_size, seg_base, seg_size = struct.unpack_from("<IQQQQ", data, 12)
    assert length >= 40, "header length"
    assert seg_base + seg_size <= len(data), "segment data inside the file"
    tree = decode(schema, path)
    segments = tree["segments"]
    seen = set()
    blobs = {}
    for entry in tree["named_data"]:
        seg = segments[entry.get("segment_index", 0)]
        offset, size = int(seg.get("offset", 0)), int(seg["size"])
        assert offset + size <= seg_size, "segment inside the segment data"
        assert (seg_base + offset) % 64 == 0, "64-byte alignment"
        blob = data[seg_base + offset: seg_base + offset + size]
        digest = hashlib.sha256(blob).hexdigest()
        layout = entry["tensor_layout"]
        scalar_type = layout.get("scalar_type", "BYTE")  # BYTE (0) is the default, omitted
        if scalar_type in ("BYTE", 0):
            fmt = entry["key"].split("-", 1)[0]
            assert fmt in PACKED_FORMATS, f"key {entry['key']}: uint8 blob without a packed layout"
            assert [int(s) for s in layout["sizes"]] == [size], f"{entry['key']}: sizes != [nbytes]"
            if size >= PAGE_ALIGN_MIN_BYTES:
                assert (seg_base + offset) % PAGE == 0, f"{entry['key']}: packed blob not on a page"
        else:
            fmt = DTYPE_NAMES[scalar_type]
        assert entry["key"] == f"{fmt}-{digest}", f"key {entry['key']} is not the content hash"
        assert digest not in seen, "identical bytes stored twice"
        seen.add(digest)
        blobs[entry["key"]] = blob
    return blobs


def check_program(schema, path, blobs):
    """Checks the foundation tensors of a .pte against the .ptd blobs; returns their count."""
    data = open(path, "rb").read()
    assert data[4:8] == b"LSP1", "program file identifier"
    tree = decode(schema, path)
    checked = 0
    for tensor in tree["tensors"]:
        if tensor.get("data_file", -1) != 0:
            continue
        layout = tensor.get("layout", "PLAIN")
        group = int(tensor.get("group_size", 0))
        shape = [int(s) for s in tensor["shape"]]
        nbytes = int(tensor["nbytes"])
        if layout == "PLAIN":
            fmt = tensor.get("dtype", "F32").lower()
        else:
            assert tensor.get("dtype") == "U8", f"{tensor['name']}: packed tensor not u8"
            assert len(shape) == 2, f"{tensor['name']}: packed tensor not 2-D"
            assert nbytes == packed_bytes(layout, group, *shape), f"{tensor['name']}: size"
            fmt = "q8row" if layout == "Q8_ROW" else f"q4g{group}"
        key = tensor["key"]
        assert key.split("-", 1)[0] == fmt, f"{tensor['name']}: key {key} is not {fmt}"
        assert key in blobs, f"{tensor['name']}: key {key} not in the .ptd"
        assert len(blobs[key]) == nbytes, f"{tensor['name']}: blob size != nbytes"
        checked += 1
    return checked


def main():
    blobs = read_ptd(sys.argv[1], sys.argv[2])
    result = ["ok", str(len(blobs))]
    if len(sys.argv) > 4:
        result.append(str(check_program(sys.argv[3], sys.argv[4], blobs)))
    print(" ".join(result))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("check failed:", e)
        sys.exit(1)

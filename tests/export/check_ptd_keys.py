#!/usr/bin/python3
"""Independent check of a foundation .ptd written by `lorashare export`.

Decodes the FlatTensor flatbuffer with flatc (from the schema written from the
spec) and the extended header by hand, then checks that every key is
"<dtype>-<sha256 of the segment bytes>", that segments lie inside the file and
are aligned, and that no two segments hold the same bytes.
Usage: check_ptd_keys.py SCHEMA FILE.ptd  -> prints "ok <n keys>" or exits 1.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

DTYPE_NAMES = {"FLOAT": "f32", "HALF": "f16", "BFLOAT16": "bf16", 6: "f32", 5: "f16", 15: "bf16"}


def main():
    schema, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    assert data[4:8] == b"FT01", "file identifier"
    assert data[8:12] == b"FH01", "header magic"
    length, fb_offset, fb_size, seg_base, seg_size = struct.unpack_from("<IQQQQ", data, 12)
    assert length >= 40, "header length"
    assert seg_base + seg_size <= len(data), "segment data inside the file"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["flatc", "--json", "--raw-binary", "--strict-json", "-o", tmp, schema,
                        "--", path], check=True, capture_output=True)
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        tree = json.load(open(os.path.join(tmp, name)))
    segments = tree["segments"]
    seen = set()
    for entry in tree["named_data"]:
        seg = segments[entry.get("segment_index", 0)]
        offset, size = int(seg.get("offset", 0)), int(seg["size"])
        assert offset + size <= seg_size, "segment inside the segment data"
        assert (seg_base + offset) % 64 == 0, "64-byte alignment"
        blob = data[seg_base + offset: seg_base + offset + size]
        digest = hashlib.sha256(blob).hexdigest()
        dtype = DTYPE_NAMES[entry["tensor_layout"]["scalar_type"]]
        assert entry["key"] == f"{dtype}-{digest}", f"key {entry['key']} is not the content hash"
        assert digest not in seen, "identical bytes stored twice"
        seen.add(digest)
    print("ok", len(tree["named_data"]))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("check failed:", e)
        sys.exit(1)

#!/usr/bin/python3
"""Turns a tied Hugging Face test checkpoint into an untied one, in place.

Sets "tie_word_embeddings": false in config.json and adds "lm_head.weight" to
model.safetensors: the embedding table with its rows in reverse order, so the
output layer holds different bytes from the embedding. Reads and writes the
safetensors container by hand (8-byte header length, JSON header, data).
Usage: untie_checkpoint.py DIR
"""
import json
import os
import struct
import sys


def main():
    directory = sys.argv[1]
    config_path = os.path.join(directory, "config.json")
    config = json.load(open(config_path))
    config["tie_word_embeddings"] = False
    json.dump(config, open(config_path, "w"), indent=2)

    path = os.path.join(directory, "model.safetensors")
    data = open(path, "rb").read()
    (header_len,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    embedding = header["model.embed_tokens.weight"]
    begin, end = embedding["data_offsets"]
    rows, cols = embedding["shape"]
    row_bytes = (end - begin) // rows
    table = body[begin:end]
    reversed_rows = b"".join(table[r * row_bytes:(r + 1) * row_bytes] for r in reversed(range(rows)))
    header["lm_head.weight"] = {"dtype": embedding["dtype"], "shape": [rows, cols],
                                "data_offsets": [len(body), len(body) + len(reversed_rows)]}
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded + body + reversed_rows)


if __name__ == "__main__":
    main()

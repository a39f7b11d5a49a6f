#!/usr/bin/python3
"""Independent reference for lorashare's GGUF reader: llama.cpp's gguf-py.

  gguf_reference.py write PATH   writes a GGUF with every metadata value type and two tensors
  gguf_reference.py dump PATH    prints the file's metadata and tensor table as JSON
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../third_party/llama.cpp-src/gguf-py'))
import gguf  # noqa: E402


def write(path):
    writer = gguf.GGUFWriter(path, arch='llama')
    writer.add_uint8('t.u8', 200)
    writer.add_int8('t.i8', -100)
    writer.add_uint16('t.u16', 60000)
    writer.add_int16('t.i16', -30000)
    writer.add_uint32('t.u32', 4000000000)
    writer.add_int32('t.i32', -2000000000)
    writer.add_uint64('t.u64', 2**63 - 5)
    writer.add_int64('t.i64', -2**62)
    writer.add_float32('t.f32', 1.5)
    writer.add_float64('t.f64', -2.25e100)
    writer.add_bool('t.bool', True)
    writer.add_string('t.string', 'héllo 🦙')
    writer.add_array('t.strings', ['a', '', 'ß', ' x'])
    writer.add_array('t.ints', [1, -2, 3])
    writer.add_array('t.floats', [0.5, -1.25])
    writer.add_array('t.nested', [[1, 2], [3]])
    writer.add_tensor('w.f32', np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.add_tensor('w.f16', np.ones((2, 5), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def plain(field):
    types = field.types
    if types[0] == gguf.GGUFValueType.ARRAY:
        if types[1] == gguf.GGUFValueType.ARRAY:
            return {'nested': int(field.parts[4][0])}  # the outer length, after key and types
        values = [field.parts[i] for i in field.data]
        if types[1] == gguf.GGUFValueType.STRING:
            return {'array': [bytes(v).decode('utf-8') for v in values]}
        return {'array': [v.tolist()[0] for v in values]}
    value = field.parts[field.data[0]]
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(value).decode('utf-8')
    return value.tolist()[0]


def dump(path):
    reader = gguf.GGUFReader(path)
    metadata = {}
    for name, field in reader.fields.items():
        if name.startswith('GGUF.'):
            continue
        entry = plain(field)
        if isinstance(entry, dict) and 'array' in entry and len(entry['array']) > 8:
            entry = {'length': len(entry['array']), 'first': entry['array'][:3],
                     'last': entry['array'][-3:]}
        metadata[name] = entry
    tensors = [{'name': t.name, 'dims': [int(d) for d in t.shape], 'type': int(t.tensor_type),
                'offset': int(t.data_offset), 'bytes': int(t.n_bytes)} for t in reader.tensors]
    print(json.dumps({'metadata': metadata, 'tensors': tensors}))


if __name__ == '__main__':
    {'write': write, 'dump': dump}[sys.argv[1]](sys.argv[2])

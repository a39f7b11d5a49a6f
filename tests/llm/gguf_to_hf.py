#!/usr/bin/python3
"""Writes a Hugging Face tokenizer.json (+ tokenizer_config.json) for a gpt2-style
GGUF vocabulary, read with llama.cpp's gguf-py, laid out like Qwen2's own file
(NFC normalizer, Split + ByteLevel pre-tokenizer, merges as pairs).

  gguf_to_hf.py VOCAB.gguf OUT_DIR
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../third_party/llama.cpp-src/gguf-py'))
import gguf  # noqa: E402

QWEN2_PATTERN = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
                 "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
CONTROL, USER_DEFINED = 3, 4


def strings(field):
    return [bytes(field.parts[i]).decode('utf-8') for i in field.data]


def main(path, out_dir):
    reader = gguf.GGUFReader(path)
    fields = reader.fields
    tokens = strings(fields['tokenizer.ggml.tokens'])
    types = [int(fields['tokenizer.ggml.token_type'].parts[i][0])
             for i in fields['tokenizer.ggml.token_type'].data]
    merges = [m.split(' ', 1) for m in strings(fields['tokenizer.ggml.merges'])]
    eos = int(fields['tokenizer.ggml.eos_token_id'].parts[-1][0])
    vocab, added = {}, []
    for i, (text, kind) in enumerate(zip(tokens, types)):
        if kind in (CONTROL, USER_DEFINED):
            added.append({'id': i, 'content': text, 'single_word': False, 'lstrip': False,
                          'rstrip': False, 'normalized': False, 'special': kind == CONTROL})
        else:
            vocab[text] = i
    tokenizer = {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added,
        'normalizer': {'type': 'NFC'},
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': QWEN2_PATTERN}, 'behavior': 'Isolated',
             'invert': False},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False,
             'use_regex': False}]},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False,
                    'use_regex': False},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None,
                  'continuing_subword_prefix': '', 'end_of_word_suffix': '', 'fuse_unk': False,
                  'byte_fallback': False, 'ignore_merges': False, 'vocab': vocab, 'merges': merges},
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out_dir, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump({'bos_token': None, 'eos_token': tokens[eos], 'add_bos_token': False}, f)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])

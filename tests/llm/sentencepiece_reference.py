#!/usr/bin/python3
"""Reference for lorashare's SentencePiece loader: Debian's python3-sentencepiece.

  sentencepiece_reference.py CORPUS DIR
      trains a small Llama-2-like BPE model (byte fallback, no normalization) on the
      first characters of CORPUS and writes DIR/spm.model, the text DIR/text.txt and
      its ids DIR/text.ids (one per line)
"""
import os
import sys

import sentencepiece as spm


def main(corpus_path, out_dir):
    with open(corpus_path, encoding='utf-8') as f:
        text = f.read()[:40000]
    text_path = os.path.join(out_dir, 'text.txt')
    with open(text_path, 'w', encoding='utf-8') as f:
        f.write(text)
    spm.SentencePieceTrainer.train(
        input=text_path, model_prefix=os.path.join(out_dir, 'spm'), model_type='bpe',
        vocab_size=1000, byte_fallback=True, character_coverage=0.98,
        normalization_rule_name='identity', remove_extra_whitespaces=False,
        split_digits=True, max_sentence_length=100000, bos_id=1, eos_id=2, unk_id=0,
        minloglevel=2)
    processor = spm.SentencePieceProcessor(model_file=os.path.join(out_dir, 'spm.model'))
    with open(os.path.join(out_dir, 'text.ids'), 'w') as f:
        f.write('\n'.join(str(i) for i in processor.encode(text)) + '\n')


if __name__ == '__main__':
    main(*sys.argv[1:])

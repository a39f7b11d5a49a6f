// @dqbd/tiktoken (Rust in WebAssembly) set up as Llama 3's tokenizer over a
// tiktoken vocabulary file: Llama 3's pattern, and its 256 special tokens
// numbered after the file's ranks. Shared by the tests and the benchmark.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Tiktoken } = require('../../third_party/npm/node_modules/@dqbd/tiktoken/tiktoken.cjs');

export function llama3Tiktoken(ranksPath) {
  const ranks = fs.readFileSync(ranksPath, 'utf8');
  const base = ranks.split('\n').filter((line) => line.length > 0).length;
  const names = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>',
    '<|reserved_special_token_1|>', '<|finetune_right_pad_id|>', '<|reserved_special_token_2|>',
    '<|start_header_id|>', '<|end_header_id|>', '<|eom_id|>', '<|eot_id|>', '<|python_tag|>'];
  for (let i = 3; names.length < 256; ++i) names.push(`<|reserved_special_token_${i}|>`);
  const specials = Object.fromEntries(names.map((name, i) => [name, base + i]));
  const pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return new Tiktoken(ranks, specials, pattern);
}

// Encodes a corpus with @dqbd/tiktoken (Rust compiled to WebAssembly) as
// Llama 3's tokenizer over a tiktoken vocabulary file, and prints the best
// MB/s of `runs` single-threaded encodings and the id count.
//   node tiktoken_encode.mjs TOKENIZER.model CORPUS RUNS
import fs from 'node:fs';
import { llama3Tiktoken } from '../tests/llm/llama3_tiktoken.mjs';

const [ranksPath, corpusPath, runs] = process.argv.slice(2);
const encoder = llama3Tiktoken(ranksPath);
const text = fs.readFileSync(corpusPath, 'utf8');
const bytes = Buffer.byteLength(text);
let best = Infinity;
let count = 0;
for (let i = 0; i < Number(runs); ++i) {
  const start = process.hrtime.bigint();
  count = encoder.encode(text, 'all').length;
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
}
console.log(JSON.stringify({ mb_per_s: bytes / 1e6 / best, tokens: count }));

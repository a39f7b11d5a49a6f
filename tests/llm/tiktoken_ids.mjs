// Encodes a text with @dqbd/tiktoken as Llama 3's tokenizer over a tiktoken
// vocabulary file; prints one id per line.
//   node tiktoken_ids.mjs TOKENIZER.model TEXT_FILE
import fs from 'node:fs';
import { llama3Tiktoken } from './llama3_tiktoken.mjs';

const [ranksPath, textPath] = process.argv.slice(2);
const ids = llama3Tiktoken(ranksPath).encode(fs.readFileSync(textPath, 'utf8'), 'all');
process.stdout.write(Array.from(ids).join('\n') + '\n');

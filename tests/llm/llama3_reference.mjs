// Independent reference for lorashare's Llama 3 tokenizer, built on the npm
// package llama3-tokenizer-js (the real Llama 3 vocabulary and merges).
//
//   node llama3_reference.mjs export DIR      writes DIR/tokenizer.model (tiktoken),
//                                             DIR/tokenizer.json + tokenizer_config.json
//   node llama3_reference.mjs corpus FILE MB  writes a deterministic varied corpus
//   node llama3_reference.mjs encode FILE OUT encodes FILE (specials parsed), one id per line
import fs from 'node:fs';
import path from 'node:path';

const npm = new URL('../../third_party/npm/node_modules/', import.meta.url);
const { default: tokenizer } =
    await import(new URL('llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js', npm));

const kBaseVocab = 128000;

// GPT-2's byte <-> printable-unicode mapping, rebuilt here from its definition.
function unicodeToByte() {
  const printable = [];
  for (let b = 0x21; b <= 0x7e; ++b) printable.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) printable.push(b);
  for (let b = 0xae; b <= 0xff; ++b) printable.push(b);
  const map = new Map();
  let next = 256;
  for (let b = 0; b < 256; ++b) {
    const cp = printable.includes(b) ? b : next++;
    map.set(String.fromCodePoint(cp), b);
  }
  return map;
}

function exportVocab(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const toByte = unicodeToByte();
  const lines = [];
  for (let id = 0; id < kBaseVocab; ++id) {
    const bytes = Buffer.from(Array.from(tokenizer.vocabById[id], (c) => toByte.get(c)));
    lines.push(`${bytes.toString('base64')} ${id}\n`);
  }
  fs.writeFileSync(path.join(dir, 'tokenizer.model'), lines.join(''));

  const vocab = {};
  for (let id = 0; id < kBaseVocab; ++id) vocab[tokenizer.vocabById[id]] = id;
  const merges = [...tokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const added = [];
  for (let id = kBaseVocab; id < tokenizer.vocabById.length; ++id) {
    added.push({ id, content: tokenizer.vocabById[id], single_word: false, lstrip: false,
                 rstrip: false, normalized: false, special: true });
  }
  const pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    post_processor: { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
               { Sequence: { id: 'A', type_id: 0 } }],
      pair: [], special_tokens: {} },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
             ignore_merges: true, vocab, merges },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(
      { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' }));
}

// Deterministic pseudo-random numbers (mulberry32).
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const kFragments = [
  'The quick brown fox jumps over the lazy dog. ', "It's what they'd've done; we'LL see, you'RE right. ",
  'Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. ', 'Où est la bibliothèque ? Ça va très bien, merci. ',
  'Съешь же ещё этих мягких французских булок, да выпей чаю. ', 'Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ',
  'نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ', 'דג סקרן שט בים מאוכזב ולפתע מצא חברה ',
  'ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले ', '我能吞下玻璃而不伤身体。你好，世界！',
  'いろはにほへと ちりぬるを わかよたれそ つねならむ ', '다람쥐 헌 쳇바퀴에 타고파 ', 'ไก่จิกเด็กตายบนปากโอ่ง ',
  'Emoji: 🦙🚀👍🏽👨‍👩‍👧‍👦🇩🇪❤️‍🔥 ', '<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>user<|end_header_id|>\n\n',
  '<|reserved_special_token_17|>', '<|eot_id', '<|not_special|>', '<||>', '||>', '<|python_tag|>',
  'int main(int argc, char** argv) {\n  return argc > 1 ? 0 : -1;\n}\n', 'def f(x):\n\tif x:\n\t\treturn [i**2 for i in range(x)]\n',
  '    ', '\t\t', '\n\n\n', ' \n ', '\r\n', '   \t  \n', '1234567890', '3.14159', '1,000,000', '0x7fff_ffff ',
  '====== ', '!!!??? ', '...', '--->>', '"quoted" ', '(parens) ', '[brackets]{braces} ', 'e-mail: a.b@c.de ',
  'https://example.com/path?q=1&r=2 ', 'naïve café résumé coöperate ', 'ﬁancée ', 'Ⅻ ⅛ ² ₃ ',
  '\u00a0\u2003\u3000', 'A\u0301 e\u0308 ', '\u200b\u200d', 'ǅ Ǆ ǆ ', 'İstanbul ı ',
];

// Random characters from several scripts, to reach rarely used merges.
const kRanges = [[0x20, 0x7e], [0xa0, 0x17e], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff],
                 [0x900, 0x97f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
                 [0x1f300, 0x1faff], [0x2000, 0x206f]];

function randomWord(random) {
  const [lo, hi] = kRanges[Math.floor(random() * kRanges.length)];
  let word = '';
  const length = 1 + Math.floor(random() * 8);
  for (let i = 0; i < length; ++i) word += String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));
  return word;
}

function makeCorpus(megabytes) {
  const random = rng(20240418);
  const parts = [];
  let bytes = 0;
  while (bytes < megabytes * 1024 * 1024) {
    const choice = random();
    let text;
    if (choice < 0.6) {
      text = kFragments[Math.floor(random() * kFragments.length)];
    } else if (choice < 0.8) {
      text = randomWord(random) + (random() < 0.5 ? ' ' : '');
    } else if (choice < 0.9) {
      text = String(Math.floor(random() * 1e9)) + ' ';
    } else if (choice < 0.97) {
      text = ' '.repeat(Math.floor(random() * 40)) + (random() < 0.5 ? '\n' : 'x');
    } else {
      text = ' \t\n'[Math.floor(random() * 3)].repeat(100 + Math.floor(random() * 2000));
    }
    parts.push(text);
    bytes += Buffer.byteLength(text);
  }
  return parts.join('');
}

const [command, a, b] = process.argv.slice(2);
if (command === 'export') {
  exportVocab(a);
} else if (command === 'corpus') {
  fs.writeFileSync(a, makeCorpus(Number(b)));
} else if (command === 'encode') {
  const ids = tokenizer.encode(fs.readFileSync(a, 'utf8'), { bos: false, eos: false });
  fs.writeFileSync(b, ids.join('\n') + '\n');
} else {
  console.error('usage: llama3_reference.mjs export DIR | corpus FILE MB | encode FILE OUT');
  process.exit(2);
}

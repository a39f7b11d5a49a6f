// Times llama.cpp (the prebuilt CPU binary of node-llama-cpp, the same one the
// parity tests run) on a GGUF model, optionally with a LoRA adapter at scale 1,
// the way `lorashare bench` times a program: a prompt of N deterministic token
// ids is evaluated in one batch and its greedy next token taken (prefill),
// then M more tokens are decoded greedily one at a time (decode), R times over
// on a cleared KV cache after one untimed warm-up. prefill_tok_s = N / prefill
// time, decode_tok_s = M / decode time, as `lorashare bench` counts them. Prints one JSON object:
//   {"engine": "llama.cpp", "model", "lora", "threads", "prompt_len", "gen",
//    "repeat", "load_ms", "prefill_tok_s": {median, mean, min, max},
//    "decode_tok_s": {...}, "rss_mib", "peak_rss_mib", "load_average", "runs": [...]}
// rss_mib is VmRSS after the last generation, peak_rss_mib VmHWM, both from
// /proc/self/status (the node process holds llama.cpp and its mapped model).
//
// Every step goes through node-llama-cpp's controlledEvaluate with greedy
// sampling (temperature 0), so the timings include its sampling of the next
// token over the vocabulary and the call from JavaScript: well under 1 ms a
// token, as llama-cli pays too, where llama-bench samples nothing.
//
// Usage: node bench/llamacpp_bench.mjs --model M.gguf [--lora A.gguf]
//          [--threads 2] [--prompt-len 128] [--gen 64] [--repeat 3]
//          [--flash-attention auto|on|off] [--kv-type f16|f32|i8]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {parseArgs} from "node:util";
import {fileURLToPath} from "node:url";
import {createRequire} from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const npmDir = path.resolve(here, "../third_party/npm");
const {getLlama, LlamaLogLevel} = await import(
    createRequire(path.join(npmDir, "package.json")).resolve("node-llama-cpp"));

const usage = "usage: llamacpp_bench.mjs --model M.gguf [--lora A.gguf] [--threads N] " +
              "[--prompt-len N] [--gen N] [--repeat N] [--flash-attention auto|on|off] " +
              "[--kv-type f16|f32|i8]";
let args;
try {
  ({values: args} = parseArgs({
    options: {
      model: {type: "string"},
      lora: {type: "string"},
      threads: {type: "string", default: "2"},
      "prompt-len": {type: "string", default: "128"},
      gen: {type: "string", default: "64"},
      repeat: {type: "string", default: "3"},
      "flash-attention": {type: "string", default: "auto"},
      "kv-type": {type: "string", default: "f16"},
    },
  }));
} catch (error) {
  console.error(`llamacpp_bench: ${error.message}\n${usage}`);
  process.exit(2);
}
const fail = (message) => {
  console.error(`llamacpp_bench: ${message}\n${usage}`);
  process.exit(2);
};
const positive = (name) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value <= 0) fail(`--${name} must be a positive integer`);
  return value;
};
if (!args.model) fail("--model is required");
for (const file of [args.model, args.lora]) {
  if (file && !fs.existsSync(file)) fail(`${file}: no such file`);
}
const threads = positive("threads");
const promptLen = positive("prompt-len");
const gen = positive("gen");
const repeat = positive("repeat");
const flashAttention = {auto: "auto", on: true, off: false}[args["flash-attention"]];
if (flashAttention === undefined) fail("--flash-attention must be auto, on or off");
// i8 is llama.cpp's Q8_0 cache (int8 in blocks of 32 with an f16 scale); a
// quantized value cache needs flash attention, which "auto" turns on.
const kvType = {f16: "F16", f32: "F32", i8: "Q8_0"}[args["kv-type"]];
if (kvType === undefined) fail("--kv-type must be f16, f32 or i8");

// VmRSS / VmHWM of this process in MiB.
function memoryMib() {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))[1]) / 1024;
  return {rss: field("VmRSS"), peak: field("VmHWM")};
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return {median, mean, min: sorted[0], max: sorted[sorted.length - 1]};
}

const loadStart = performance.now();
const llama = await getLlama({gpu: false, build: "never", maxThreads: 0,
                              logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0});
const embedding = model.fileInfo.tensorInfo?.find((tensor) => tensor.name === "token_embd.weight");
const vocabSize = Number(embedding?.dimensions?.[1] ?? 0);
if (!(vocabSize > 0)) fail(`${args.model}: no token_embd.weight to size the vocabulary by`);
const context = await model.createContext({
  contextSize: promptLen + gen + 1,
  batchSize: promptLen,
  threads: {ideal: threads, min: threads},
  flashAttention,
  experimentalKvCacheKeyType: kvType,
  experimentalKvCacheValueType: kvType,
  ...(args.lora ? {lora: {adapters: [{filePath: args.lora, scale: 1}]}} : {}),
});
const sequence = context.getSequence();
const loadMs = performance.now() - loadStart;

// Ids spread over the vocabulary, the same for every engine and run.
const prompt = Array.from({length: promptLen}, (_, i) => (i * 7919 + 13) % vocabSize);
const greedyNext = {generateNext: {token: true, options: {temperature: 0}}};

// Prefill + first token, then `steps` greedy decode steps; returns the
// seconds of each part.
async function generate(steps) {
  await sequence.clearHistory();
  const prefillStart = performance.now();
  let output = await sequence.controlledEvaluate(
      [...prompt.slice(0, -1), [prompt[promptLen - 1], greedyNext]]);
  let next = output[promptLen - 1]?.next?.token;
  const decodeStart = performance.now();
  for (let step = 0; step < steps; ++step) {
    if (next == null) throw new Error(`llama.cpp returned no token at step ${step}`);
    output = await sequence.controlledEvaluate([[next, greedyNext]]);
    next = output[0]?.next?.token;
  }
  const end = performance.now();
  return {prefill_s: (decodeStart - prefillStart) / 1000, decode_s: (end - decodeStart) / 1000};
}

await generate(Math.min(gen, 4));  // warm-up: page in the weights, build the graphs
const runs = [];
for (let r = 0; r < repeat; ++r) {
  const times = await generate(gen);
  runs.push({prefill_tok_s: promptLen / times.prefill_s, decode_tok_s: gen / times.decode_s});
}
const memory = memoryMib();
console.log(JSON.stringify({
  engine: "llama.cpp",
  model: args.model,
  lora: args.lora ?? null,
  threads,
  prompt_len: promptLen,
  gen,
  repeat,
  flash_attention: args["flash-attention"],
  kv_type: args["kv-type"],
  load_ms: loadMs,
  prefill_tok_s: summary(runs.map((run) => run.prefill_tok_s)),
  decode_tok_s: summary(runs.map((run) => run.decode_tok_s)),
  rss_mib: memory.rss,
  peak_rss_mib: memory.peak,
  load_average: os.loadavg()[0],
  runs,
}));
await context.dispose();
await model.dispose();
await llama.dispose();

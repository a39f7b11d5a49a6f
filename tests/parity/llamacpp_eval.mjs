// Runs llama.cpp (the prebuilt CPU binary of node-llama-cpp) on a GGUF model,
// optionally with a LoRA adapter at scale 1: evaluates the given prompt token
// ids, then decodes greedily, and prints one JSON object:
//   {"tokens": [...generated ids...],
//    "steps": [{"top": [[id, log_prob], ...]}, ...]}   (one step per token)
//
// Where the numbers come from: LlamaContextSequence.controlledEvaluate() with
// generateNext {token, probabilities} runs llama.cpp's sampler chain on the
// logits of the evaluated token. With temperature 0 the chain is the greedy
// sampler alone, which leaves the candidates' logits untouched, so the token
// is llama.cpp's argmax and `probabilities` is softmax(raw logits) over the
// whole vocabulary (computed in float32 by node-llama-cpp's addon, sorted from
// the most probable). node-llama-cpp exposes no raw logits; log_prob here is
// log(probability), i.e. logit - logsumexp(logits), and is comparable to the
// log-softmax of another engine's logits.
//
// With --force 4,5,6 the run is teacher-forced: step i feeds the i-th forced
// id instead of llama.cpp's own choice (steps = the number of forced ids), so
// two models can be compared on the same token history; "tokens" still holds
// llama.cpp's greedy choice at each step.
//
// Usage: node llamacpp_eval.mjs --model M.gguf [--lora A.gguf] --prompt 1,2,3
//                               [--steps 32] [--top-k 8] [--threads 1] [--force 4,5,6]
// One thread is the default: ggml's worker threads spin while they wait, and
// on a small, busy machine two of them ran ten times slower than one.
import path from "node:path";
import {parseArgs} from "node:util";
import {fileURLToPath} from "node:url";
import {createRequire} from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const npmDir = path.resolve(here, "../../third_party/npm");
const {getLlama, LlamaLogLevel} = await import(
    createRequire(path.join(npmDir, "package.json")).resolve("node-llama-cpp"));

const {values: args} = parseArgs({
  options: {
    model: {type: "string"},
    lora: {type: "string"},
    prompt: {type: "string"},
    steps: {type: "string", default: "32"},
    "top-k": {type: "string", default: "8"},
    threads: {type: "string", default: "1"},
    force: {type: "string"},
  },
});
if (!args.model || !args.prompt) {
  console.error("usage: llamacpp_eval.mjs --model M.gguf [--lora A.gguf] --prompt 1,2,3 " +
                "[--steps N] [--top-k K] [--threads T]");
  process.exit(2);
}
const prompt = args.prompt.split(",").map(Number);
const forced = args.force ? args.force.split(",").map(Number) : null;
const steps = forced ? forced.length : Number(args.steps);
const topK = Number(args["top-k"]);
const threads = Number(args.threads);
const ids = [...prompt, ...(forced ?? [])];
if (ids.some((id) => !Number.isInteger(id) || id < 0) || !(steps > 0) || !(topK > 0)) {
  console.error("llamacpp_eval: --prompt and --force must be token ids, --steps and --top-k positive");
  process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0});
const contextSize = prompt.length + steps;
const context = await model.createContext({
  contextSize,
  batchSize: contextSize,
  threads,
  // llama.cpp keeps K and V in f16 by default; f32 keeps the comparison exact.
  experimentalKvCacheKeyType: "F32",
  experimentalKvCacheValueType: "F32",
  flashAttention: false,
  ...(args.lora ? {lora: {adapters: [{filePath: args.lora, scale: 1}]}} : {}),
});
const sequence = context.getSequence();

const greedyNext = {generateNext: {token: true, probabilities: true, options: {temperature: 0}}};
const tokens = [];
const records = [];
let input = [...prompt.slice(0, -1), [prompt[prompt.length - 1], greedyNext]];
for (let step = 0; step < steps; ++step) {
  const output = await sequence.controlledEvaluate(input);
  const next = output[input.length - 1]?.next;
  if (next?.token == null || next.probabilities == null) {
    console.error(`llamacpp_eval: llama.cpp returned no token at step ${step}`);
    process.exit(1);
  }
  const top = [];
  for (const [id, probability] of next.probabilities) {
    if (top.length === topK) break;
    top.push([id, Math.log(probability)]);
  }
  tokens.push(next.token);
  records.push({top});
  input = [[forced ? forced[step] : next.token, greedyNext]];
}
console.log(JSON.stringify({tokens, steps: records}));
await context.dispose();
await model.dispose();
await llama.dispose();

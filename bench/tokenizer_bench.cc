// Encoding speed of a tokenizer on one thread.
//   LORASHARE_TOKENIZER=tokenizer.model LORASHARE_CORPUS=corpus.txt tokenizer_bench
// bench/compare-tiktoken runs it beside @dqbd/tiktoken on the same corpus.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "base/output_file.h"
#include "llm/tokenizer.h"

namespace lorashare {
namespace {

struct Setup {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string corpus;
};

const Setup& GetSetup() {
  static const Setup setup = [] {
    Setup s;
    const char* tokenizer = std::getenv("LORASHARE_TOKENIZER");
    const char* corpus = std::getenv("LORASHARE_CORPUS");
    if (tokenizer == nullptr || corpus == nullptr) {
      std::fprintf(stderr, "set LORASHARE_TOKENIZER and LORASHARE_CORPUS\n");
      std::exit(2);
    }
    auto loaded = Tokenizer::Load(tokenizer);
    auto text = ReadWholeFile(corpus);
    if (!loaded.ok() || !text.ok()) {
      std::fprintf(stderr, "%s\n",
                   (!loaded.ok() ? loaded.error() : text.error()).message().c_str());
      std::exit(1);
    }
    s.tokenizer = std::move(loaded).value();
    s.corpus = std::move(text).value();
    return s;
  }();
  return setup;
}

void BM_Encode(benchmark::State& state) {
  const Setup& setup = GetSetup();
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = setup.tokenizer->Encode(setup.corpus);
    if (!ids.ok()) {
      state.SkipWithError(ids.error().message().c_str());
      return;
    }
    tokens = ids->size();
    benchmark::DoNotOptimize(ids->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * setup.corpus.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Load(benchmark::State& state) {
  const char* path = std::getenv("LORASHARE_TOKENIZER");
  for (auto _ : state) {
    auto loaded = Tokenizer::Load(path == nullptr ? "" : path);
    if (!loaded.ok()) {
      state.SkipWithError(loaded.error().message().c_str());
      return;
    }
  }
}
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace lorashare

BENCHMARK_MAIN();

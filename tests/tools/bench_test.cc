// `lorashare bench` through the CLI binary on the tiny preset exported f32:
// every JSON field is there with sane values, the weight bytes per token
// equal a count made independently from the model's shape (as `inspect`
// reports it), --processes reads each process's PSS, and bad flags or files
// get clear errors with the documented exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli_suite.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

using CommandResult = lorashare::testing::SplitOutput;

class BenchTest : public lorashare::testing::CliSuite<BenchTest> {
 protected:
  static void SetUpTestSuite() {
    CliSuite::SetUpTestSuite();
    CommandResult made = Lorashare({"make-test-model", "--preset", "tiny", "--out", Path("base"),
                                    "--lora-out", Path("adapter")});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    CommandResult base = Lorashare({"export", "--quiet", "--checkpoint", Path("base"), "--output",
                                    Path("base.pte"), "--foundation-weights", Path("f.ptd")});
    ASSERT_EQ(base.exit_code, 0) << base.err;
    CommandResult lora =
        Lorashare({"export", "--quiet", "--checkpoint", Path("base"), "--adapter", Path("adapter"),
                   "--output", Path("lora.pte"), "--foundation-weights", Path("f.ptd")});
    ASSERT_EQ(lora.exit_code, 0) << lora.err;
    CommandResult quantized =
        Lorashare({"export", "--quiet", "--checkpoint", Path("base"), "--quantize", "8da4w",
                   "--output", Path("q.pte"), "--foundation-weights", Path("q.ptd")});
    ASSERT_EQ(quantized.exit_code, 0) << quantized.err;
  }

  // bench on `program` over f.ptd with one thread and `extra` flags; short
  // lengths unless `extra` sets them.
  static CommandResult Bench(const std::string& program, std::vector<std::string> extra) {
    std::vector<std::string> args = {"bench",     "--model", Path(program), "--data", Path("f.ptd"),
                                     "--threads", "1"};
    auto has = [&](const char* flag) {
      return std::find(extra.begin(), extra.end(), flag) != extra.end();
    };
    if (!has("--prompt-len")) args.insert(args.end(), {"--prompt-len", "12"});
    if (!has("--gen")) args.insert(args.end(), {"--gen", "6"});
    args.insert(args.end(), extra.begin(), extra.end());
    return Lorashare(args);
  }

  static Json ParseJson(const CommandResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    Json json = Json::parse(result.out, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << result.out;
    return json;
  }

  static Json Inspect(const std::string& program) {
    CommandResult result = Lorashare({"inspect", "--json", Path(program)});
    Json json = ParseJson(result);
    return json.is_array() && !json.empty() ? json[0] : Json();
  }

  // Weight bytes a decode step reads, counted from the shape `inspect`
  // reports: every projection, norm and the output layer once, one row of
  // the embedding, f32; plus A (rank x in) and B (out x rank) per adapted
  // projection per layer.
  static uint64_t CountFromShape(const Json& info) {
    const Json& m = info["model"];
    const uint64_t dim = m["dim"], layers = m["n_layers"], heads = m["n_heads"],
                   kv_heads = m["n_kv_heads"], head_dim = m["head_dim"], hidden = m["hidden_dim"],
                   vocab = m["vocab_size"];
    const uint64_t q = heads * head_dim, kv = kv_heads * head_dim;
    uint64_t per_layer = dim * q + 2 * dim * kv + q * dim + 3 * dim * hidden + 2 * dim;
    if (m["qk_norm"].get<bool>()) per_layer += 2 * head_dim;
    if (info.contains("adapter")) {
      const std::map<std::string, std::pair<uint64_t, uint64_t>> in_out = {
          {"q_proj", {dim, q}},        {"k_proj", {dim, kv}},        {"v_proj", {dim, kv}},
          {"o_proj", {q, dim}},        {"gate_proj", {dim, hidden}}, {"up_proj", {dim, hidden}},
          {"down_proj", {hidden, dim}}};
      const uint64_t rank = info["adapter"]["rank"];
      for (const Json& target : info["adapter"]["targets"]) {
        const auto& [in, out] = in_out.at(target.get<std::string>());
        per_layer += rank * (in + out);
      }
    }
    return 4 * (layers * per_layer + dim + vocab * dim + dim);
  }

  static void ExpectStats(const Json& report, const std::string& key, size_t count) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(report.contains(key));
    const Json& s = report[key];
    for (const char* field : {"mean", "median", "stdev", "min", "max"}) {
      ASSERT_TRUE(s.contains(field) && s[field].is_number()) << field;
    }
    const double mean = s["mean"], median = s["median"], stdev = s["stdev"], min = s["min"],
                 max = s["max"];
    EXPECT_GT(min, 0);
    EXPECT_LE(min, median);
    EXPECT_LE(median, max);
    EXPECT_LE(min, mean * (1 + 1e-12));
    EXPECT_LE(mean, max * (1 + 1e-12));
    EXPECT_GE(stdev, 0);
    const Json& samples = report["samples"][key];
    ASSERT_EQ(samples.size(), count);
    double sum = 0, low = samples[0], high = samples[0];
    for (const Json& v : samples) {
      sum += v.get<double>();
      low = std::min(low, v.get<double>());
      high = std::max(high, v.get<double>());
    }
    EXPECT_NEAR(mean, sum / count, 1e-9 * std::abs(mean));
    EXPECT_EQ(min, low);
    EXPECT_EQ(max, high);
  }
};

TEST_F(BenchTest, JsonHasEveryFieldWithSaneValues) {
  Json report = ParseJson(Bench("base.pte", {"--repeat", "3", "--warmup", "1", "--json"}));
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["model"], Path("base.pte"));
  EXPECT_EQ(report["threads"], 1);
  EXPECT_EQ(report["kv_type"], "f32");
  EXPECT_GE(report["load_average"].get<double>(), 0);
  EXPECT_EQ(report["prompt_len"], 12);
  EXPECT_EQ(report["gen"], 6);
  EXPECT_EQ(report["repeat"], 3);
  for (const char* key : {"load_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s"}) {
    ExpectStats(report, key, 3);
  }
  // The first token comes after the whole prompt: at least as long as the
  // prefill at its measured rate.
  EXPECT_GE(report["ttft_ms"]["min"].get<double>() * 1.0001,
            12 * 1000.0 / report["prefill_tok_s"]["max"].get<double>());
  const double load = report["rss_after_load_mib"], prefill = report["rss_after_prefill_mib"],
               gen = report["rss_after_gen_mib"], peak = report["peak_rss_mib"];
  EXPECT_GT(load, 1);
  EXPECT_GE(prefill, load * 0.9);
  EXPECT_GE(peak, gen);
  EXPECT_GE(peak, prefill);
  EXPECT_LT(peak, 4096);
  const uint64_t bytes = report["weight_bytes_per_token"];
  const double achieved = report["achieved_gb_s"], stream = report["stream_gb_s"];
  EXPECT_NEAR(achieved, bytes * report["decode_tok_s"]["mean"].get<double>() / 1e9,
              1e-9 * achieved);
  EXPECT_GT(stream, 0.1);
  // One stream measurement after each repeat; the fraction is the median of
  // each repeat's decode bytes/s over the measurement after it.
  const Json& streams = report["stream_samples_gb_s"];
  const Json& decode = report["samples"]["decode_tok_s"];
  ASSERT_EQ(streams.size(), 3u);
  std::vector<double> fractions, sorted_streams;
  for (size_t i = 0; i < 3; ++i) {
    fractions.push_back(bytes * decode[i].get<double>() / 1e9 / streams[i].get<double>());
    sorted_streams.push_back(streams[i].get<double>());
  }
  std::sort(fractions.begin(), fractions.end());
  std::sort(sorted_streams.begin(), sorted_streams.end());
  EXPECT_NEAR(stream, sorted_streams[1], 1e-9 * stream);
  EXPECT_NEAR(report["bandwidth_fraction"].get<double>(), fractions[1], 1e-9);
  // The 1 GiB measuring buffer lives in a child process, never in this one.
  EXPECT_LT(peak, 1024);
}

TEST_F(BenchTest, WeightBytesPerTokenMatchTheShape) {
  for (const std::string program : {"base.pte", "lora.pte"}) {
    SCOPED_TRACE(program);
    const Json info = Inspect(program);
    ASSERT_TRUE(info.is_object());
    Json report =
        ParseJson(Bench(program, {"--repeat", "1", "--warmup", "0", "--json", "--no-bandwidth"}));
    EXPECT_EQ(report["weight_bytes_per_token"].get<uint64_t>(), CountFromShape(info));
    EXPECT_TRUE(report["stream_gb_s"].is_null());
    EXPECT_TRUE(report["bandwidth_fraction"].is_null());
    if (program == "base.pte") {
      // Tied embeddings: every stored byte is read once (the table as the
      // output layer) and one more row for the lookup.
      const Json& m = info["model"];
      ASSERT_TRUE(m["tied_embeddings"].get<bool>());
      const uint64_t stored = info["tensors"]["external_bytes"].get<uint64_t>() +
                              info["tensors"]["inline_bytes"].get<uint64_t>();
      EXPECT_EQ(report["weight_bytes_per_token"].get<uint64_t>(),
                stored + 4 * m["dim"].get<uint64_t>());
    }
  }
}

// 8da4w: packed int4 linear weights and an int8 table that also serves as
// the tied output layer. `inspect` lists every tensor with its stored bytes;
// a decode step reads each once, and one row of the table more.
TEST_F(BenchTest, QuantizedWeightBytesPerTokenMatchInspect) {
  const Json info = Inspect("q.pte");
  ASSERT_TRUE(info.contains("tensor_list"));
  uint64_t expected = 0;
  for (const Json& t : info["tensor_list"]) {
    expected += t["bytes"].get<uint64_t>();
    if (t["name"] == "tok_embeddings.weight") {
      EXPECT_EQ(t["format"], "q8row");
      expected += t["bytes"].get<uint64_t>() / t["shape"][0].get<uint64_t>();
    }
  }
  Json report = ParseJson(
      Lorashare({"bench", "--model", Path("q.pte"), "--data", Path("q.ptd"), "--prompt-len", "8",
                 "--gen", "4", "--repeat", "1", "--json", "--no-bandwidth"}));
  EXPECT_EQ(report["weight_bytes_per_token"].get<uint64_t>(), expected);
  // int4 / int8 against f32, even with the tiny rows of 64 padded to 128 columns.
  EXPECT_LT(expected, CountFromShape(info) / 2);
}

TEST_F(BenchTest, ProcessesReportTheirPss) {
  Json report = ParseJson(Bench("lora.pte", {"--repeat", "2", "--warmup", "0", "--processes", "2",
                                             "--json", "--no-bandwidth"}));
  ASSERT_TRUE(report.contains("processes"));
  ASSERT_EQ(report["processes"].size(), 2u);
  for (const char* key : {"load_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s"}) {
    ExpectStats(report, key, 4);  // both processes' repeats
  }
  std::set<int> pids;
  double pss_sum = 0, smallest_rss = 1e300;
  for (const Json& p : report["processes"]) {
    pids.insert(p["pid"].get<int>());
    const double rss = p["rss_mib"], pss = p["pss_mib"];
    EXPECT_GT(pss, 0);
    EXPECT_LE(pss, rss + 0.01);
    EXPECT_GE(p["peak_rss_mib"].get<double>(), rss);
    EXPECT_GE(report["rss_after_gen_mib"].get<double>(), rss * 0.9);
    pss_sum += pss;
    smallest_rss = std::min(smallest_rss, rss);
  }
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_FALSE(pids.count(0));
  EXPECT_NEAR(report["pss_sum_mib"].get<double>(), pss_sum, 1e-9 * pss_sum);
  EXPECT_NEAR(report["pss_sum_over_rss"].get<double>(), pss_sum / smallest_rss, 1e-9);
  // Both decode at once, each reading the weights.
  const double achieved = report["achieved_gb_s"];
  EXPECT_NEAR(achieved,
              2 * report["weight_bytes_per_token"].get<double>() *
                  report["decode_tok_s"]["mean"].get<double>() / 1e9,
              1e-9 * achieved);
  // The two share at least the program's code and the mapped weights, so
  // together they hold less than two private copies would.
  EXPECT_LT(report["pss_sum_over_rss"].get<double>(), 2.0);
}

// The KV cache's size per type: f16 half of f32; int8 a byte per element
// plus a 4-byte scale per kv head and position, so above half of f16.
TEST_F(BenchTest, KvTypesF32F16AndI8) {
  std::map<std::string, double> kv_mib;
  for (const char* kv_type : {"f32", "f16", "i8"}) {
    Json report = ParseJson(
        Bench("base.pte", {"--kv-type", kv_type, "--repeat", "1", "--json", "--no-bandwidth"}));
    EXPECT_EQ(report["kv_type"], kv_type);
    ExpectStats(report, "decode_tok_s", 1);
    kv_mib[kv_type] = report["kv_cache_mib"].get<double>();
  }
  EXPECT_GT(kv_mib["f32"], 0.0);
  EXPECT_DOUBLE_EQ(kv_mib["f16"] * 2, kv_mib["f32"]);
  EXPECT_GT(kv_mib["i8"], kv_mib["f16"] / 2);
  EXPECT_LT(kv_mib["i8"], kv_mib["f16"]);
}

TEST_F(BenchTest, HumanTableByDefault) {
  CommandResult result = Bench("base.pte", {"--repeat", "1", "--warmup", "0", "--no-bandwidth"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* needle : {"decode tok/s", "prefill tok/s", "first token ms", "load ms",
                             "RSS after load", "KV cache", "Weight bytes per decoded token"}) {
    EXPECT_NE(result.out.find(needle), std::string::npos) << needle << " in " << result.out;
  }
  EXPECT_EQ(result.err, "");
}

TEST_F(BenchTest, BaselineDecodesInAlternatingBlocks) {
  Json report =
      ParseJson(Bench("lora.pte", {"--baseline", Path("base.pte"), "--repeat", "2", "--warmup", "0",
                                   "--gen", "11", "--json", "--no-bandwidth"}));
  ASSERT_TRUE(report.contains("baseline")) << report.dump();
  const Json& b = report["baseline"];
  EXPECT_EQ(b["model"], Path("base.pte"));
  EXPECT_EQ(b["data"], Json::array({Path("f.ptd")}));
  EXPECT_EQ(b["kv_type"], "f32");  // the model's
  EXPECT_EQ(b["block_tokens"], 8);
  EXPECT_EQ(b["block_pairs"], 4);  // 2 rounds of 11 tokens: blocks of 8 and 3
  for (const char* key : {"decode_tok_s", "baseline_decode_tok_s", "decode_ratio"}) {
    EXPECT_GT(b[key]["min"].get<double>(), 0) << key;
    EXPECT_LE(b[key]["min"].get<double>(), b[key]["median"].get<double>()) << key;
    EXPECT_LE(b[key]["median"].get<double>(), b[key]["max"].get<double>()) << key;
  }
  CommandResult human = Bench("lora.pte", {"--baseline", Path("base.pte"), "--repeat", "1",
                                           "--warmup", "0", "--no-bandwidth"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("Against " + Path("base.pte") + ": decode"), std::string::npos)
      << human.out;
}

// One program against itself with another KV cache type.
TEST_F(BenchTest, BaselineMayTakeAnotherKvType) {
  Json report = ParseJson(Bench(
      "base.pte", {"--baseline", Path("base.pte"), "--kv-type", "f16", "--baseline-kv-type", "i8",
                   "--repeat", "1", "--warmup", "0", "--gen", "8", "--json", "--no-bandwidth"}));
  EXPECT_EQ(report["kv_type"], "f16");
  EXPECT_EQ(report["baseline"]["kv_type"], "i8");
  EXPECT_EQ(report["baseline"]["block_pairs"], 1);
  CommandResult alone = Bench("base.pte", {"--baseline-kv-type", "i8", "--no-bandwidth"});
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--baseline"), std::string::npos) << alone.err;
}

// --profile: in each phase the kinds of step together hold every instruction
// and every weight byte of a pass, their times fit inside the measured
// prefill or decode time, and each kind's GB/s is its bytes over its time.
TEST_F(BenchTest, ProfileAccountsForEveryStep) {
  for (const std::string program : {"base.pte", "lora.pte"}) {
    SCOPED_TRACE(program);
    const bool bandwidth = program == "lora.pte";
    std::vector<std::string> flags = {"--repeat", "2", "--warmup",  "0",
                                      "--gen",    "5", "--profile", "--json"};
    if (!bandwidth) flags.push_back("--no-bandwidth");
    const Json report = ParseJson(Bench(program, flags));
    ASSERT_TRUE(report.contains("profile")) << report.dump();
    const int64_t instructions_per_pass = Inspect(program)["instructions"];
    // The measured time of each phase over both repeats.
    double prefill_ms = 0, decode_ms = 0;
    for (const Json& rate : report["samples"]["prefill_tok_s"])
      prefill_ms += 12000 / rate.get<double>();
    for (const Json& rate : report["samples"]["decode_tok_s"])
      decode_ms += 5000 / rate.get<double>();
    for (const auto& [phase, passes, measured_ms] :
         {std::tuple{"prefill", 2, prefill_ms}, std::tuple{"decode", 10, decode_ms}}) {
      SCOPED_TRACE(phase);
      const Json& profile = report["profile"][phase];
      EXPECT_EQ(profile["passes"], passes);
      int64_t instructions = 0;
      uint64_t bytes = 0;
      double ms = 0, share = 0;
      std::set<std::string> names;
      for (const Json& kind : profile["kinds"]) {
        const std::string name = kind["kind"];
        EXPECT_TRUE(names.insert(name).second) << name;
        instructions += kind["instructions"].get<int64_t>();
        const uint64_t kind_bytes = kind["weight_bytes_per_pass"];
        const double kind_ms = kind["ms_per_pass"];
        bytes += kind_bytes;
        ms += kind_ms;
        share += kind["share"].get<double>();
        if (kind_bytes == 0 || kind_ms == 0) {
          EXPECT_TRUE(kind["gb_s"].is_null()) << name;
          continue;
        }
        const double gb_s = kind_bytes / (kind_ms / 1000) / 1e9;
        EXPECT_NEAR(kind["gb_s"].get<double>(), gb_s, 1e-9 * gb_s) << name;
        if (bandwidth) {
          EXPECT_NEAR(kind["stream_fraction"].get<double>(),
                      gb_s / report["stream_gb_s"].get<double>(), 1e-9 * gb_s)
              << name;
        } else {
          EXPECT_TRUE(kind["stream_fraction"].is_null()) << name;
        }
      }
      EXPECT_EQ(instructions, instructions_per_pass);
      EXPECT_EQ(bytes, report["weight_bytes_per_token"].get<uint64_t>());
      EXPECT_NEAR(ms, profile["ms_per_pass"].get<double>(), 1e-9 * ms);
      EXPECT_NEAR(share, 1.0, 1e-9);
      EXPECT_LE(ms * passes, measured_ms);
      for (const char* name : {"embedding tok_embeddings", "attention", "linear feed_forward.w2",
                               "linear tok_embeddings"}) {
        EXPECT_TRUE(names.count(name) || names.count(std::string(name) + " +lora")) << name;
      }
      const bool any_lora = std::any_of(names.begin(), names.end(), [](const std::string& name) {
        return name.ends_with(" +lora");
      });
      EXPECT_EQ(any_lora, program == "lora.pte");
    }
  }
  const CommandResult human =
      Bench("base.pte", {"--repeat", "1", "--warmup", "0", "--profile", "--no-bandwidth"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  for (const char* needle : {"Prefill profile over 1 passes of 12 tokens",
                             "Decode profile over 6 tokens", "linear feed_forward.w1+w3"}) {
    EXPECT_NE(human.out.find(needle), std::string::npos) << needle << " in " << human.out;
  }
}

void ExpectError(const CommandResult& result, int exit_code, const std::string& needle) {
  EXPECT_EQ(result.exit_code, exit_code) << result.err;
  EXPECT_NE(result.err.find(needle), std::string::npos)
      << "stderr lacks '" << needle << "': " << result.err;
  EXPECT_EQ(result.out.find('{'), std::string::npos) << result.out;
}

TEST_F(BenchTest, BadFlagsAreUsageErrors) {
  ExpectError(Bench("base.pte", {"--prompt-len", "0"}), 2, "--prompt-len");
  ExpectError(Bench("base.pte", {"--gen", "-3"}), 2, "--gen");
  ExpectError(Bench("base.pte", {"--repeat", "many"}), 2, "--repeat");
  ExpectError(Bench("base.pte", {"--threads", "-1"}), 2, "--threads");
  ExpectError(Bench("base.pte", {"--warmup", "-1"}), 2, "--warmup");
  ExpectError(Bench("base.pte", {"--kv-type", "q4"}), 2, "--kv-type");
  ExpectError(Bench("base.pte", {"--frobnicate"}), 2, "--frobnicate");
  ExpectError(Lorashare({"bench", "--data", Path("f.ptd")}), 2, "--model");
  ExpectError(Bench("lora.pte", {"--baseline", Path("base.pte"), "--processes", "2"}), 2,
              "--baseline");
  ExpectError(Bench("base.pte", {"--baseline-data", Path("f.ptd")}), 2, "--baseline");
  ExpectError(Bench("base.pte", {"--profile", "--processes", "2"}), 2, "--profile");
}

TEST_F(BenchTest, LengthsBeyondTheContextAreRefused) {
  // The tiny preset's context is 512 positions.
  ExpectError(Bench("base.pte", {"--prompt-len", "500", "--gen", "13"}), 2,
              "--prompt-len 500 + --gen 13 = 513 positions exceed the context");
  ExpectError(Bench("base.pte", {"--prompt-len", "500", "--gen", "13", "--processes", "2"}), 2,
              "exceed the context");
}

TEST_F(BenchTest, BadFilesAreDataErrors) {
  ExpectError(Lorashare({"bench", "--model", Path("absent.pte"), "--data", Path("f.ptd")}), 1,
              "absent.pte");
  ExpectError(Lorashare({"bench", "--model", Path("base.pte"), "--data", Path("absent.ptd")}), 1,
              "absent.ptd");
  // A program given as its own data file: the fingerprint cannot match.
  CommandResult wrong =
      Lorashare({"bench", "--model", Path("base.pte"), "--data", Path("base.pte")});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  EXPECT_NE(wrong.err.find("lorashare: error:"), std::string::npos) << wrong.err;
  ExpectError(Bench("lora.pte", {"--baseline", Path("absent.pte"), "--repeat", "1", "--warmup", "0",
                                 "--no-bandwidth"}),
              1, "absent.pte");
  // In child processes the error still reaches the user and the exit code.
  ExpectError(Lorashare({"bench", "--model", Path("base.pte"), "--data", Path("absent.ptd"),
                         "--processes", "2"}),
              1, "absent.ptd");
}

// `lorashare cache` reports each data file and caches it again; the file
// still serves the program afterwards.
TEST_F(BenchTest, CacheReportsAndRecachesDataFiles) {
  CommandResult check = Lorashare({"cache", "--check", Path("f.ptd"), Path("q.ptd")});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find(Path("f.ptd") + ": "), std::string::npos) << check.out;
  EXPECT_NE(check.out.find(Path("q.ptd") + ": "), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("mapped by 2 MiB pages"), std::string::npos) << check.out;
  // Smaller than a 2 MiB page: nothing to gain, left as it is.
  CommandResult small = Lorashare({"cache", Path("f.ptd")});
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_NE(small.out.find("already in 2 MiB folios"), std::string::npos) << small.out;
  // A file written in 4 KiB pieces is cached in 4 KiB folios: cached again.
  {
    std::ofstream copy(Path("copied.bin"), std::ios::binary);
    const std::string piece(4096, 'x');
    for (int i = 0; i < 1100; ++i) copy.write(piece.data(), piece.size()).flush();
  }
  CommandResult recache = Lorashare({"cache", Path("copied.bin")});
  ASSERT_EQ(recache.exit_code, 0) << recache.err;
  EXPECT_NE(recache.out.find("; now "), std::string::npos) << recache.out;
  ParseJson(Bench("base.pte", {"--json", "--repeat", "1", "--warmup", "0", "--no-bandwidth"}));
  ExpectError(Lorashare({"cache", Path("f.ptd"), Path("absent.ptd")}), 1, "absent.ptd");
  ExpectError(Lorashare({"cache"}), 2, "files");
}

}  // namespace

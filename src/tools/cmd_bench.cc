// lorashare bench: how fast a program loads, prefills and decodes, what
// memory it holds, and how close decode comes to the machine's memory
// bandwidth; with --processes, what several processes running it at once
// hold together (PSS).
//
// Each repeat is a fresh load (Model::Load + NewSession, the files already
// in the page cache), a prefill of --prompt-len synthetic tokens, the first
// greedy token, then --gen one-token greedy decode steps. --warmup cycles run
// first and are not counted. No tokenizer is involved.
//
// JSON (--json, on stdout; field names are stable, other tools read them):
// {
//   "model": "<.pte>", "data": ["<.ptd>", ...],
//   "threads": worker threads (0 resolved to the core count),
//   "kv_type": "f32", "f16" or "i8" (the KV cache's element type),
//   "prompt_len", "gen", "repeat", "warmup": as run,
//   "load_average": the system's 1-minute load average when the run ended
//                               (other work on the machine skews every figure)
//   "load_ms": {stats}          Model::Load + NewSession
//   "ttft_ms": {stats}          prefill of prompt_len tokens + the first greedy token
//   "prefill_tok_s": {stats}    prompt_len / prefill time
//   "decode_tok_s": {stats}     gen / time of the gen decode steps
//   "samples": {"load_ms": [...], "ttft_ms": [...], "prefill_tok_s": [...],
//               "decode_tok_s": [...]}   one value per repeat
//   "stream_samples_gb_s": [...]   every stream measurement
//   "rss_after_load_mib", "rss_after_prefill_mib", "rss_after_gen_mib":
//                               VmRSS at those points, the highest over repeats
//   "peak_rss_mib":             VmHWM after the last repeat
//   "kv_cache_mib":             the session's KV cache (Model::KvCacheBytes for
//                               prompt_len + gen positions); part of the RSS
//                               once the conversation has written it
//   "huge_page_mapped_mib":     of the resident memory after the last repeat, how
//                               much is mapped by 2 MiB entries (SmapsRollup):
//                               weights mapped so stream without TLB misses
//   "weight_bytes_per_token":   weight bytes one decode step reads
//                               (DecodeWeightBytes, tools/bench_support.h)
//   "stream_gb_s":              read bandwidth (base/memory_bandwidth.h): best
//                               of 3 passes over 1 GiB with the same threads,
//                               measured in a child process right after each
//                               repeat (the buffer never counts in this
//                               process's memory); the median of those (null
//                               with --no-bandwidth)
//   "achieved_gb_s":            weight_bytes_per_token * decode_tok_s.mean / 1e9, times N
//                               with --processes N (each decodes at once, reading
//                               the shared weights from memory for itself)
//   "bandwidth_fraction":       the median over repeats of that repeat's achieved
//                               GB/s over the stream GB/s measured right after it,
//                               so a host whose bandwidth drifts compares like
//                               with like; with --processes, achieved_gb_s over
//                               one measurement after all (null with --no-bandwidth)
//   with --processes N, also:
//   "processes": [{"pid", "rss_mib", "pss_mib", "pss_anon_mib", "pss_file_mib",
//                  "peak_rss_mib"}, ...]   read while every process holds its
//                               model and session after generation
//                               (pss_anon/pss_file null on kernels without them)
//   "pss_sum_mib":              sum of pss_mib
//   "pss_sum_over_rss":         pss_sum_mib / the smallest rss_mib
//   and then the stats and samples pool the repeats of all processes (they ran
//   concurrently) and rss_* / peak_rss_mib are the highest of any process.
//   with --profile, also:
//   "profile": {"prefill": {phase}, "decode": {phase}}   the measured repeats'
//                               prefills (a pass: the whole prompt) and decode
//                               steps (a pass: one token), every step timed
//   {phase} = {"passes": passes timed,
//              "ms_per_pass": the steps' time per pass (the rest of a decode
//                             step is sampling and the caller's),
//              "kinds": [{"kind": a kind of step (runtime/step_profile.h),
//                         "instructions": how many of them one pass runs,
//                         "weight_bytes_per_pass": as one decode step reads them,
//                         "ms_per_pass", "share": of the steps' time,
//                         "gb_s": weight bytes over time (null without weights),
//                         "stream_fraction": gb_s / stream_gb_s (null without)},
//                        ...]}       in the order a pass runs them first
//   with --baseline B, also:
//   "baseline": {"model", "data", "kv_type", "block_tokens", "block_pairs",
//                "decode_tok_s": {stats}, "baseline_decode_tok_s": {stats},
//                "decode_ratio": {stats}}   both programs loaded here after the
//                               repeats, decoding in alternating blocks of
//                               block_tokens (tools/paired_decode.h), --repeat
//                               rounds of --gen tokens each; stats per block,
//                               decode_ratio = this program / B per block pair
// }
// {stats} = {"mean", "median", "stdev", "min", "max"} (stdev: sample, n - 1).
// MiB = 2^20 bytes; GB = 1e9 bytes.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>

#include "base/memory_bandwidth.h"
#include "base/memory_stats.h"
#include "base/output_file.h"
#include "base/page_cache.h"
#include "base/sample_stats.h"
#include "format/program.h"
#include "llm/sampler.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "runtime/step_profile.h"
#include "tools/bench_support.h"
#include "tools/commands.h"
#include "tools/generation_support.h"
#include "tools/paired_decode.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kBandwidthBufferBytes = uint64_t{1} << 30;
constexpr int kBandwidthPasses = 3;
constexpr const char* kSampleNames[] = {"load_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s"};
constexpr size_t kSampleKinds = std::size(kSampleNames);

struct BenchFlags {
  std::string model;
  std::vector<std::string> data;
  int32_t prompt_len = 128;
  int32_t gen = 64;
  int threads = 0;
  DType kv_type = DType::kF32;
  int repeat = 3;
  int warmup = 1;
  int processes = 0;  // 0: run here; N: N child processes at once
  bool json = false;
  bool no_bandwidth = false;
  bool profile = false;  // time each step of the measured prefills and decodes
  std::string baseline;  // also decode against this program, alternating blocks
  std::vector<std::string> baseline_data;
  DType baseline_kv_type = DType::kF32;  // --kv-type unless given
  // Child of --processes: after the last repeat, print the JSON on one line
  // and keep the model and session until stdin closes.
  bool hold = false;
};

// One load-prefill-decode cycle.
struct Cycle {
  double samples[kSampleKinds] = {};  // in kSampleNames order
  MemoryStats after_load, after_prefill, after_gen;
  StepProfile prefill_profile, decode_profile;  // with --profile
};

// What a cycle leaves loaded.
struct Loaded {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> session;
};

// Everything a run measured, as reported.
struct Measurements {
  std::vector<double> samples[kSampleKinds];
  double rss_after_load_mib = 0;
  double rss_after_prefill_mib = 0;
  double rss_after_gen_mib = 0;
  double peak_rss_mib = 0;
  double huge_page_mapped_mib = 0;
  double kv_cache_mib = 0;
  std::vector<double> stream_bytes_per_s;       // after each repeat, or once (--processes)
  StepProfile prefill_profile, decode_profile;  // every repeat's, summed

  void Add(const Cycle& cycle) {
    for (size_t k = 0; k < kSampleKinds; ++k) samples[k].push_back(cycle.samples[k]);
    prefill_profile.Add(cycle.prefill_profile);
    decode_profile.Add(cycle.decode_profile);
    rss_after_load_mib = std::max(rss_after_load_mib, cycle.after_load.rss_bytes / kMiB);
    rss_after_prefill_mib = std::max(rss_after_prefill_mib, cycle.after_prefill.rss_bytes / kMiB);
    rss_after_gen_mib = std::max(rss_after_gen_mib, cycle.after_gen.rss_bytes / kMiB);
  }
};

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int ResolvedThreads(int threads) {
  return threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

Result<Cycle> RunCycle(const BenchFlags& flags, std::span<const int32_t> prompt, Loaded* loaded) {
  *loaded = {};  // the previous cycle's model goes before this one loads
  ModelOptions options;
  options.threads = flags.threads;
  options.kv_type = flags.kv_type;
  Cycle cycle;
  auto start = Clock::now();
  LS_ASSIGN_OR_RETURN(loaded->model, Model::Load(flags.model, flags.data, options));
  LS_ASSIGN_OR_RETURN(loaded->session, loaded->model->NewSession(flags.prompt_len + flags.gen));
  cycle.samples[0] = MsSince(start);
  LS_ASSIGN_OR_RETURN(cycle.after_load, ReadMemoryStats());

  loaded->session->SetProfiling(flags.profile);
  start = Clock::now();
  LS_ASSIGN_OR_RETURN(std::span<const float> logits, loaded->session->Forward(prompt));
  const double prefill_ms = MsSince(start);
  if (flags.profile) cycle.prefill_profile = loaded->session->Profile();
  int32_t token = ArgMax(logits);
  cycle.samples[1] = MsSince(start);
  cycle.samples[2] = static_cast<double>(prompt.size()) * 1000.0 / prefill_ms;
  LS_ASSIGN_OR_RETURN(cycle.after_prefill, ReadMemoryStats());

  loaded->session->SetProfiling(flags.profile);  // from zero again
  start = Clock::now();
  for (int32_t step = 0; step < flags.gen; ++step) {
    LS_ASSIGN_OR_RETURN(logits, loaded->session->Forward({&token, 1}));
    token = ArgMax(logits);
  }
  cycle.samples[3] = flags.gen * 1000.0 / MsSince(start);
  if (flags.profile) cycle.decode_profile = loaded->session->Profile();
  LS_ASSIGN_OR_RETURN(cycle.after_gen, ReadMemoryStats());
  return cycle;
}

// The machine's stream bandwidth (bytes/s), measured in a child process so
// that its 1 GiB buffer never counts in this process's RSS or peak.
// The child (forked from a process whose pool threads it does not inherit)
// only maps memory, starts its own threads and writes to the pipe.
Result<double> MeasureStreamInChild(int threads) {
  int fds[2];
  if (::pipe(fds) != 0) {
    return MakeError(ErrorCode::kIo, "bandwidth: cannot create a pipe: {}", std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return MakeError(ErrorCode::kIo, "bandwidth: cannot fork: {}", std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    auto measured = MeasureReadBandwidth(
        {.buffer_bytes = kBandwidthBufferBytes, .threads = threads, .passes = kBandwidthPasses});
    if (!measured.ok()) fmt::print(stderr, "{}\n", measured.error().message());
    const double rate = measured.ok() ? measured->best_bytes_per_s : 0;
    const bool sent = ::write(fds[1], &rate, sizeof(rate)) == sizeof(rate);
    ::_exit(measured.ok() && sent ? 0 : 1);
  }
  ::close(fds[1]);
  double rate = 0;
  ssize_t got;
  do {
    got = ::read(fds[0], &rate, sizeof(rate));
  } while (got < 0 && errno == EINTR);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof(rate) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError(ErrorCode::kInternal, "bandwidth: the measuring process failed");
  }
  return rate;
}

// Appends one stream measurement unless --no-bandwidth.
Status MeasureStream(const BenchFlags& flags, Measurements* measured) {
  if (flags.no_bandwidth) return OkStatus();
  LS_ASSIGN_OR_RETURN(const double rate, MeasureStreamInChild(ResolvedThreads(flags.threads)));
  measured->stream_bytes_per_s.push_back(rate);
  return OkStatus();
}

// Warmup and measured cycles in this process; `loaded` keeps the last one.
// The stream bandwidth is measured after each measured cycle, except in a
// --processes child (the parent measures once, when all are done).
Result<Measurements> RunRepeats(const BenchFlags& flags, const ProgramSpec& spec, Loaded* loaded) {
  const std::vector<int32_t> prompt = SyntheticPrompt(spec, flags.prompt_len);
  for (int i = 0; i < flags.warmup; ++i) {
    LS_RETURN_IF_ERROR(RunCycle(flags, prompt, loaded));
  }
  Measurements measured;
  for (int i = 0; i < flags.repeat; ++i) {
    LS_ASSIGN_OR_RETURN(Cycle cycle, RunCycle(flags, prompt, loaded));
    measured.Add(cycle);
    if (!flags.hold) LS_RETURN_IF_ERROR(MeasureStream(flags, &measured));
  }
  LS_ASSIGN_OR_RETURN(MemoryStats end, ReadMemoryStats());
  measured.peak_rss_mib = end.peak_rss_bytes / kMiB;
  LS_ASSIGN_OR_RETURN(SmapsRollup rollup, ReadSmapsRollup());
  measured.huge_page_mapped_mib = rollup.huge_page_mapped_bytes / kMiB;
  measured.kv_cache_mib = loaded->model->KvCacheBytes(flags.prompt_len + flags.gen) / kMiB;
  return measured;
}

// null where the system does not say.
Json LoadAverage() {
  double load[1];
  return ::getloadavg(load, 1) == 1 ? Json(load[0]) : Json(nullptr);
}

Json StatsJson(std::span<const double> samples) {
  const SampleStats s = Summarize(samples);
  return {
      {"mean", s.mean}, {"median", s.median}, {"stdev", s.stdev}, {"min", s.min}, {"max", s.max}};
}

Json OptionalMiB(const std::optional<uint64_t>& bytes) {
  return bytes ? Json(*bytes / kMiB) : Json(nullptr);
}

// See the file comment: per repeat when there is a measurement per repeat.
Json BandwidthFraction(const Measurements& measured, double achieved_gb_s, uint64_t weight_bytes) {
  const std::vector<double>& streams = measured.stream_bytes_per_s;
  const std::vector<double>& decode = measured.samples[3];
  if (streams.empty()) return nullptr;
  if (streams.size() != decode.size()) return achieved_gb_s / (streams.front() / 1e9);
  std::vector<double> fractions;
  for (size_t i = 0; i < decode.size(); ++i) {
    fractions.push_back(static_cast<double>(weight_bytes) * decode[i] / streams[i]);
  }
  return Summarize(fractions).median;
}

// --profile: per kind of step, its time per pass and how fast it read its
// weights, also against the median stream bandwidth when there is one.
Json ProfileJson(const StepProfile& profile, const Json& stream_gb_s) {
  const double passes = static_cast<double>(profile.passes);
  Json kinds = Json::array();
  for (const StepProfile::Kind& kind : profile.kinds) {
    Json gb_s = nullptr, of_stream = nullptr;
    if (kind.weight_bytes > 0 && kind.seconds > 0) {
      gb_s = kind.weight_bytes * passes / kind.seconds / 1e9;
      if (stream_gb_s.is_number()) of_stream = gb_s.get<double>() / stream_gb_s.get<double>();
    }
    kinds.push_back({{"kind", kind.name},
                     {"instructions", kind.instructions},
                     {"weight_bytes_per_pass", kind.weight_bytes},
                     {"ms_per_pass", kind.seconds * 1000 / passes},
                     {"share", kind.seconds / profile.seconds()},
                     {"gb_s", gb_s},
                     {"stream_fraction", of_stream}});
  }
  return {{"passes", profile.passes},
          {"ms_per_pass", profile.seconds() * 1000 / passes},
          {"kinds", kinds}};
}

Json ReportJson(const BenchFlags& flags, const Measurements& measured, uint64_t weight_bytes) {
  Json out = {{"model", flags.model},
              {"data", flags.data},
              {"threads", ResolvedThreads(flags.threads)},
              {"kv_type", DTypeName(flags.kv_type)},
              {"prompt_len", flags.prompt_len},
              {"gen", flags.gen},
              {"repeat", flags.repeat},
              {"warmup", flags.warmup},
              {"load_average", LoadAverage()}};
  Json samples = Json::object();
  for (size_t k = 0; k < kSampleKinds; ++k) {
    out[kSampleNames[k]] = StatsJson(measured.samples[k]);
    samples[kSampleNames[k]] = measured.samples[k];
  }
  out["samples"] = samples;
  out["rss_after_load_mib"] = measured.rss_after_load_mib;
  out["rss_after_prefill_mib"] = measured.rss_after_prefill_mib;
  out["rss_after_gen_mib"] = measured.rss_after_gen_mib;
  out["peak_rss_mib"] = measured.peak_rss_mib;
  out["huge_page_mapped_mib"] = measured.huge_page_mapped_mib;
  out["kv_cache_mib"] = measured.kv_cache_mib;
  out["weight_bytes_per_token"] = weight_bytes;
  const double achieved = static_cast<double>(weight_bytes) * Summarize(measured.samples[3]).mean *
                          std::max(1, flags.processes) / 1e9;
  std::vector<double> streams_gb_s;
  for (double rate : measured.stream_bytes_per_s) streams_gb_s.push_back(rate / 1e9);
  out["stream_samples_gb_s"] = streams_gb_s;
  out["stream_gb_s"] = streams_gb_s.empty() ? Json(nullptr) : Json(Summarize(streams_gb_s).median);
  out["achieved_gb_s"] = achieved;
  out["bandwidth_fraction"] = BandwidthFraction(measured, achieved, weight_bytes);
  if (flags.profile) {
    out["profile"] = {{"prefill", ProfileJson(measured.prefill_profile, out["stream_gb_s"])},
                      {"decode", ProfileJson(measured.decode_profile, out["stream_gb_s"])}};
  }
  return out;
}

// One table per phase: a prefill pass is the whole prompt, a decode pass one token.
void PrintProfile(const Json& phase, const std::string& title) {
  fmt::print("{} ({:.3f} ms per pass in steps):\n", title, phase["ms_per_pass"].get<double>());
  fmt::print("  {:<40}{:>6}{:>10}{:>8}{:>10}{:>8}{:>8}\n", "step kind", "count", "ms/pass", "share",
             "MB/pass", "GB/s", "stream");
  for (const Json& kind : phase["kinds"]) {
    auto optional = [&](const char* key, double scale) {
      return kind[key].is_null() ? std::string("-")
                                 : fmt::format("{:.1f}", kind[key].get<double>() * scale);
    };
    fmt::print("  {:<40}{:>6}{:>10.3f}{:>7.1f}%{:>10.2f}{:>8}{:>8}\n",
               kind["kind"].get<std::string>(), kind["instructions"].get<int>(),
               kind["ms_per_pass"].get<double>(), 100 * kind["share"].get<double>(),
               kind["weight_bytes_per_pass"].get<uint64_t>() / 1e6, optional("gb_s", 1),
               optional("stream_fraction", 100));
  }
}

void PrintProfiles(const Json& report) {
  const Json& prefill = report["profile"]["prefill"];
  const Json& decode = report["profile"]["decode"];
  PrintProfile(prefill,
               fmt::format("Prefill profile over {} passes of {} tokens",
                           prefill["passes"].get<int64_t>(), report["prompt_len"].get<int>()));
  PrintProfile(decode,
               fmt::format("Decode profile over {} tokens", decode["passes"].get<int64_t>()));
}

void PrintHuman(const Json& report) {
  fmt::print(
      "{} over {}: {} threads, {} KV cache, prompt {} tokens, gen {} tokens, {} repeats ({} "
      "warmup)\n",
      report["model"].get<std::string>(), report["data"].dump(), report["threads"].get<int>(),
      report["kv_type"].get<std::string>(), report["prompt_len"].get<int>(),
      report["gen"].get<int>(), report["repeat"].get<int>(), report["warmup"].get<int>());
  fmt::print("{:<22}{:>12}{:>12}{:>12}{:>12}{:>12}\n", "", "mean", "median", "stdev", "min", "max");
  const std::pair<const char*, const char*> rows[] = {{"load_ms", "load ms"},
                                                      {"ttft_ms", "first token ms"},
                                                      {"prefill_tok_s", "prefill tok/s"},
                                                      {"decode_tok_s", "decode tok/s"}};
  for (const auto& [key, label] : rows) {
    const Json& s = report[key];
    fmt::print("{:<22}{:>12.2f}{:>12.2f}{:>12.2f}{:>12.2f}{:>12.2f}\n", label,
               s["mean"].get<double>(), s["median"].get<double>(), s["stdev"].get<double>(),
               s["min"].get<double>(), s["max"].get<double>());
  }
  fmt::print(
      "RSS after load {:.1f} MiB, after prefill {:.1f} MiB, after generation {:.1f} MiB, "
      "peak {:.1f} MiB; {:.1f} MiB mapped by huge pages; KV cache {:.2f} MiB\n",
      report["rss_after_load_mib"].get<double>(), report["rss_after_prefill_mib"].get<double>(),
      report["rss_after_gen_mib"].get<double>(), report["peak_rss_mib"].get<double>(),
      report["huge_page_mapped_mib"].get<double>(), report["kv_cache_mib"].get<double>());
  const uint64_t weight_bytes = report["weight_bytes_per_token"].get<uint64_t>();
  fmt::print("Weight bytes per decoded token: {} ({:.1f} MiB); achieved {:.2f} GB/s", weight_bytes,
             weight_bytes / kMiB, report["achieved_gb_s"].get<double>());
  if (report["stream_gb_s"].is_null()) {
    fmt::print("\n");
  } else {
    fmt::print(
        " of {:.2f} GB/s measured stream bandwidth (median); {:.1f}% of the stream measured "
        "after each repeat (median)\n",
        report["stream_gb_s"].get<double>(), 100 * report["bandwidth_fraction"].get<double>());
  }
  if (report["load_average"].is_number()) {
    fmt::print("System load average {:.2f} on {} cores\n", report["load_average"].get<double>(),
               std::thread::hardware_concurrency());
  }
  if (!report.contains("processes")) return;
  for (const Json& p : report["processes"]) {
    fmt::print("Process {}: RSS {:.1f} MiB, PSS {:.1f} MiB, peak {:.1f} MiB\n", p["pid"].get<int>(),
               p["rss_mib"].get<double>(), p["pss_mib"].get<double>(),
               p["peak_rss_mib"].get<double>());
  }
  fmt::print("Sum of PSS {:.1f} MiB = {:.3f} x one process's RSS\n",
             report["pss_sum_mib"].get<double>(), report["pss_sum_over_rss"].get<double>());
}

// --processes: child processes running `bench --hold`, each reporting its
// JSON on a pipe and then holding its model until its stdin pipe closes.
class Children {
 public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() { (void)Release(); }

  Status Spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return Errno("pipe");
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      return Errno("pipe");
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    const int fork_error = errno;
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (pid < 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      errno = fork_error;
      return Errno("fork");
    }
    children_.push_back({pid, to_child[1], from_child[0]});
    return OkStatus();
  }

  // Reads each child's report line; fails when a child ends without one.
  Result<std::vector<Json>> Reports() {
    std::vector<Json> reports;
    for (size_t i = 0; i < children_.size(); ++i) {
      std::string line;
      char c;
      ssize_t n;
      while ((n = ::read(children_[i].from_child, &c, 1)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || c == '\n') break;
        line += c;
      }
      Json report = Json::parse(line, nullptr, false);
      if (n == 1 && !report.is_discarded() && report.is_object()) {
        reports.push_back(std::move(report));
        continue;
      }
      const pid_t pid = children_[i].pid;
      LS_ASSIGN_OR_RETURN(int status, Release(pid));
      return MakeError(status == 2 ? ErrorCode::kInvalidArgument : ErrorCode::kInternal,
                       "bench process {} (pid {}) ended without a report ({})", i + 1, pid,
                       DescribeStatus(status));
    }
    return reports;
  }

  std::vector<pid_t> pids() const {
    std::vector<pid_t> pids;
    for (const Child& child : children_) pids.push_back(child.pid);
    return pids;
  }

  // Closes every child's stdin and waits for them; fails when one did not
  // exit with 0. Returns the exit status of `of` (or 0).
  Result<int> Release(pid_t of = -1) {
    for (Child& child : children_) {
      ::close(child.to_child);
      ::close(child.from_child);
    }
    int of_status = 0;
    std::string failed;
    for (const Child& child : children_) {
      int status = 0;
      while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
      }
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (child.pid == of) of_status = code;
      if (code != 0 && failed.empty()) {
        failed = fmt::format("pid {} {}", child.pid, DescribeStatus(code));
      }
    }
    children_.clear();
    if (of >= 0 || failed.empty()) return of_status;
    return MakeError(ErrorCode::kInternal, "bench process {}", failed);
  }

 private:
  struct Child {
    pid_t pid;
    int to_child;    // the child's stdin
    int from_child;  // the child's stdout
  };

  static Error Errno(const char* what) {
    return MakeError(ErrorCode::kIo, "bench: {} failed: {}", what, std::strerror(errno));
  }
  static std::string DescribeStatus(int code) {
    return code > 128 ? fmt::format("killed by signal {}", code - 128)
                      : fmt::format("exit status {}", code);
  }

  std::vector<Child> children_;
};

std::vector<std::string> ChildArgs(const BenchFlags& flags) {
  std::string data;
  for (const std::string& path : flags.data) data += (data.empty() ? "" : ",") + path;
  return {"lorashare",      "bench",
          "--model",        flags.model,
          "--data",         data,
          "--prompt-len",   std::to_string(flags.prompt_len),
          "--gen",          std::to_string(flags.gen),
          "--threads",      std::to_string(flags.threads),
          "--kv-type",      std::string(DTypeName(flags.kv_type)),
          "--repeat",       std::to_string(flags.repeat),
          "--warmup",       std::to_string(flags.warmup),
          "--no-bandwidth", "--hold"};
}

// Runs flags.processes children at once, reads their memory while all hold
// their models, and merges their reports.
Result<Json> RunProcesses(const BenchFlags& flags, uint64_t weight_bytes) {
  Children children;
  const std::vector<std::string> args = ChildArgs(flags);
  for (int i = 0; i < flags.processes; ++i) LS_RETURN_IF_ERROR(children.Spawn(args));
  LS_ASSIGN_OR_RETURN(std::vector<Json> reports, children.Reports());
  Measurements merged;
  Json processes = Json::array();
  double pss_sum = 0, smallest_rss = 0;
  const std::vector<pid_t> pids = children.pids();
  for (size_t i = 0; i < pids.size(); ++i) {
    LS_ASSIGN_OR_RETURN(SmapsRollup rollup, ReadSmapsRollup(pids[i]));
    LS_ASSIGN_OR_RETURN(MemoryStats stats, ReadMemoryStats(pids[i]));
    processes.push_back({{"pid", pids[i]},
                         {"rss_mib", stats.rss_bytes / kMiB},
                         {"pss_mib", rollup.pss_bytes / kMiB},
                         {"pss_anon_mib", OptionalMiB(rollup.pss_anon_bytes)},
                         {"pss_file_mib", OptionalMiB(rollup.pss_file_bytes)},
                         {"peak_rss_mib", stats.peak_rss_bytes / kMiB}});
    pss_sum += rollup.pss_bytes / kMiB;
    smallest_rss = i == 0 ? stats.rss_bytes / kMiB : std::min(smallest_rss, stats.rss_bytes / kMiB);
    const Json& report = reports[i];
    for (size_t k = 0; k < kSampleKinds; ++k) {
      for (const Json& value : report["samples"][kSampleNames[k]]) {
        merged.samples[k].push_back(value.get<double>());
      }
    }
    auto high = [&](double* field, const char* key) {
      *field = std::max(*field, report[key].get<double>());
    };
    high(&merged.rss_after_load_mib, "rss_after_load_mib");
    high(&merged.rss_after_prefill_mib, "rss_after_prefill_mib");
    high(&merged.rss_after_gen_mib, "rss_after_gen_mib");
    high(&merged.peak_rss_mib, "peak_rss_mib");
    high(&merged.huge_page_mapped_mib, "huge_page_mapped_mib");
    high(&merged.kv_cache_mib, "kv_cache_mib");
  }
  LS_RETURN_IF_ERROR(children.Release());
  LS_RETURN_IF_ERROR(MeasureStream(flags, &merged));
  Json out = ReportJson(flags, merged, weight_bytes);
  out["processes"] = processes;
  out["pss_sum_mib"] = pss_sum;
  out["pss_sum_over_rss"] = pss_sum / smallest_rss;
  return out;
}

// --baseline: the program's decode rate against the baseline's, in this
// process, in alternating blocks (tools/paired_decode.h), one round per repeat.
Result<Json> CompareWithBaseline(const BenchFlags& flags, const ProgramSpec& spec) {
  const std::vector<int32_t> prompt = SyntheticPrompt(spec, flags.prompt_len);
  PairedDecodeOptions options{
      .model = flags.model,
      .baseline = flags.baseline,
      .model_data = flags.data,
      .baseline_data = flags.baseline_data.empty() ? flags.data : flags.baseline_data,
      .options = {.threads = flags.threads, .kv_type = flags.kv_type},
      .baseline_options = {.threads = flags.threads, .kv_type = flags.baseline_kv_type},
      .prompt = prompt,
      .gen = flags.gen,
      .rounds = flags.repeat};
  LS_ASSIGN_OR_RETURN(PairedDecodeResult paired, RunPairedDecode(options));
  return Json{{"model", flags.baseline},
              {"data", options.baseline_data},
              {"kv_type", DTypeName(options.baseline_options.kv_type)},
              {"block_tokens", paired.block_tokens},
              {"decode_tok_s", StatsJson(paired.model_tok_s)},
              {"baseline_decode_tok_s", StatsJson(paired.baseline_tok_s)},
              {"decode_ratio", StatsJson(paired.ratios)},
              {"block_pairs", paired.ratios.size()}};
}

void PrintBaseline(const Json& b) {
  fmt::print(
      "Against {}: decode {:.2f} vs {:.2f} tok/s (medians) in alternating blocks of {} tokens; "
      "this / baseline {:.3f} (median of {} block pairs; min {:.3f}, max {:.3f})\n",
      b["model"].get<std::string>(), b["decode_tok_s"]["median"].get<double>(),
      b["baseline_decode_tok_s"]["median"].get<double>(), b["block_tokens"].get<int>(),
      b["decode_ratio"]["median"].get<double>(), b["block_pairs"].get<size_t>(),
      b["decode_ratio"]["min"].get<double>(), b["decode_ratio"]["max"].get<double>());
}

// Blocks until stdin reaches its end (the parent closed the pipe).
void WaitForStdinEnd() {
  char buffer[256];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

// Whether this kernel may map files by huge pages at all (the THP setting is
// not "never"); unknown counts as yes.
bool HugePagesEnabled() {
  auto setting = ReadWholeFile("/sys/kernel/mm/transparent_hugepage/enabled");
  return !setting.ok() || setting->find("[never]") == std::string::npos;
}

// A data file mapped mostly by 4 KiB pages decodes slower (the TLB misses
// every 4 KiB of weights): say so, and how to fix it, rather than let it
// pass as the runtime's speed.
void NoteSmallPages(const std::string& path, const CachedFile& file) {
  constexpr uint64_t kWorthNoting = uint64_t{64} << 20;
  if (file.bytes < kWorthNoting || file.huge_page_mapped_bytes * 2 >= file.bytes) return;
  if (!HugePagesEnabled()) return;
  fmt::print(stderr,
             "note: only {:.1f} of {:.1f} MiB of {} map by 2 MiB pages (it is cached in 4 KiB "
             "pages, as after cp); `lorashare cache {}` re-caches it in 2 MiB folios\n",
             file.huge_page_mapped_bytes / kMiB, file.bytes / kMiB, path, path);
}

// Before anything maps them: a file first touched by the program parser is
// cached by the small folios of ordinary readahead (see ReadIntoPageCache).
Status WarmPageCache(const BenchFlags& flags) {
  for (const std::vector<std::string>& paths :
       {std::vector{flags.model, flags.baseline}, flags.data, flags.baseline_data}) {
    for (const std::string& path : paths) {
      if (path.empty()) continue;
      LS_ASSIGN_OR_RETURN(CachedFile file, ReadIntoPageCache(path));
      NoteSmallPages(path, file);
    }
  }
  return OkStatus();
}

Status Bench(const BenchFlags& flags) {
  LS_RETURN_IF_ERROR(WarmPageCache(flags));
  LS_ASSIGN_OR_RETURN(auto program, ProgramFile::Open(flags.model));
  const ProgramSpec& spec = program->spec();
  const int64_t positions = int64_t{flags.prompt_len} + flags.gen;
  if (positions > spec.model.max_context) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--prompt-len {} + --gen {} = {} positions exceed the context of {} ({} "
                     "tokens)",
                     flags.prompt_len, flags.gen, positions, flags.model, spec.model.max_context);
  }
  const uint64_t weight_bytes = DecodeWeightBytes(spec);
  Json report;
  if (flags.processes > 0) {
    LS_ASSIGN_OR_RETURN(report, RunProcesses(flags, weight_bytes));
  } else {
    Loaded loaded;
    LS_ASSIGN_OR_RETURN(Measurements measured, RunRepeats(flags, spec, &loaded));
    if (flags.hold) {
      fmt::print("{}\n", ReportJson(flags, measured, weight_bytes).dump());
      std::fflush(stdout);
      WaitForStdinEnd();
      return OkStatus();
    }
    report = ReportJson(flags, measured, weight_bytes);
  }
  if (!flags.baseline.empty()) {
    LS_ASSIGN_OR_RETURN(report["baseline"], CompareWithBaseline(flags, spec));
  }
  if (flags.json) {
    fmt::print("{}\n", report.dump(2));
    return OkStatus();
  }
  PrintHuman(report);
  if (report.contains("profile")) PrintProfiles(report);
  if (report.contains("baseline")) PrintBaseline(report["baseline"]);
  return OkStatus();
}

}  // namespace

void RegisterBench(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "bench", "Measure load time, prefill and decode speed, memory and bandwidth of a program");
  auto flags = std::make_shared<BenchFlags>();
  cmd->add_option("--model", flags->model, "program (.pte)")->required();
  cmd->add_option("--data", flags->data,
                  "data files (.ptd) the program needs, comma-separated: foundation[,adapter]")
      ->required()
      ->delimiter(',');
  cmd->add_option("--prompt-len", flags->prompt_len, "prompt tokens prefilled in one pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--gen", flags->gen, "tokens decoded one at a time (greedy)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "worker threads (0 = one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  AddKvTypeOption(cmd, &flags->kv_type);
  cmd->add_option("--repeat", flags->repeat, "measured cycles, each a fresh load")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--warmup", flags->warmup, "cycles run first and not counted")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--processes", flags->processes,
                  "run the benchmark in N processes at once and report their PSS (0 = here)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--baseline", flags->baseline,
                  "also decode this program (e.g. the base of an adapter's program) in the same "
                  "process, in blocks alternating with the model's, and report the model's decode "
                  "rate relative to it")
      ->excludes("--processes");
  cmd->add_option("--baseline-data", flags->baseline_data,
                  "data files the baseline needs, comma-separated (default: --data)")
      ->delimiter(',')
      ->needs("--baseline");
  auto* baseline_kv = AddKvTypeOption(cmd, &flags->baseline_kv_type, "--baseline-kv-type",
                                      "the baseline's KV cache element type (default: --kv-type): "
                                      "one program with two cache types compares them");
  baseline_kv->needs("--baseline")->default_str("");
  cmd->add_flag("--no-bandwidth", flags->no_bandwidth,
                "skip measuring the machine's stream bandwidth");
  cmd->add_flag("--profile", flags->profile,
                "time every step of the measured prefills and decodes and report, per kind of "
                "step, its share of a pass's time and the GB/s it reads its weights at")
      ->excludes("--processes");
  cmd->add_flag("--json", flags->json, "print JSON to stdout");
  cmd->add_flag("--hold", flags->hold, "internal: child of --processes")->group("");
  cmd->callback([flags, exit_code, baseline_kv] {
    if (baseline_kv->count() == 0) flags->baseline_kv_type = flags->kv_type;
    Status status = Bench(*flags);
    *exit_code = status.ok() ? 0 : ReportError(status.error());
  });
}

}  // namespace lorashare::tools

// lorashare inspect: what a .ptd or .pte holds, and whether a program's
// external tensors resolve in given data files.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "format/program.h"
#include "format/ptd.h"
#include "tools/commands.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

using Json = nlohmann::ordered_json;

// Largest power of two (up to 4096) dividing the offset.
uint64_t AlignmentOf(uint64_t offset) {
  uint64_t alignment = 4096;
  while (alignment > 1 && offset % alignment != 0) alignment /= 2;
  return alignment;
}

Json LayoutJson(const std::optional<TensorLayout>& layout) {
  if (!layout) return nullptr;
  return {{"dtype", DTypeName(layout->dtype)}, {"sizes", layout->sizes}};
}

// The format a content key names ("q4g32-<sha256>"), or "" for other keys.
std::string KeyFormat(std::string_view key) {
  const size_t dash = key.find('-');
  if (dash == std::string_view::npos || key.size() - dash - 1 != 64) return "";
  return std::string(key.substr(0, dash));
}

// Adds one tensor of `bytes` to a {format: {tensors, bytes}} table.
void AddTotal(Json* totals, const std::string& format, uint64_t bytes) {
  Json& entry = (*totals)[format.empty() ? "other" : format];
  if (entry.is_null()) entry = {{"tensors", 0}, {"bytes", 0}};
  entry["tensors"] = entry["tensors"].get<uint64_t>() + 1;
  entry["bytes"] = entry["bytes"].get<uint64_t>() + bytes;
}

Json DescribePtd(const PtdFile& file) {
  Json entries = Json::array();
  Json totals = Json::object();
  for (const auto& e : file.entries()) {
    const std::string format = KeyFormat(e.key);
    AddTotal(&totals, format, e.size);
    entries.push_back({{"key", e.key},
                       {"format", format},
                       {"layout", LayoutJson(e.layout)},
                       {"bytes", e.size},
                       {"offset", e.offset},
                       {"alignment", AlignmentOf(e.offset)},
                       {"segment", e.segment_index}});
  }
  return {{"file", file.path()},
          {"kind", "ptd"},
          {"bytes", file.mapping().size()},
          {"version", file.version()},
          {"fingerprint", file.fingerprint()},
          {"segments", file.segment_count()},
          {"format_totals", totals},
          {"entries", entries}};
}

Json DescribeProgram(const ProgramFile& program) {
  const ProgramSpec& spec = program.spec();
  const ModelConfig& m = spec.model;
  std::map<std::string, int> op_counts;
  for (const auto& ins : spec.instructions) op_counts[std::string(OpCodeName(ins.op))]++;
  uint64_t inline_bytes = 0, external_bytes = 0;
  int inline_count = 0, external_count = 0;
  Json tensors = Json::array();
  Json totals = Json::object();
  for (const auto& t : spec.tensors) {
    (t.is_inline() ? inline_bytes : external_bytes) += t.nbytes;
    (t.is_inline() ? inline_count : external_count)++;
    // The same names prefix the exporter's content keys.
    const std::string format = StoredFormatName(t.layout, t.dtype, t.group_size);
    AddTotal(&totals, format, t.nbytes);
    tensors.push_back(
        {{"name", t.name},
         {"format", format},
         {"dtype", DTypeName(t.dtype)},
         {"layout", WeightLayoutBaseName(t.layout)},
         {"group_size", t.group_size},
         {"shape", t.shape},
         {"bytes", t.nbytes},
         {"where",
          t.is_inline() ? "inline" : spec.data_files[static_cast<size_t>(t.data_file)].name}});
  }
  Json data_files = Json::array();
  for (const auto& d : spec.data_files) {
    data_files.push_back({{"name", d.name},
                          {"role", d.role == DataRole::kFoundation ? "foundation" : "adapter"},
                          {"fingerprint", d.fingerprint}});
  }
  Json out = {
      {"file", program.path()},
      {"kind", "pte"},
      {"producer", spec.producer},
      {"architecture", ArchitectureName(m.arch)},
      {"model",
       {{"dim", m.dim},
        {"n_layers", m.n_layers},
        {"n_heads", m.n_heads},
        {"n_kv_heads", m.n_kv_heads},
        {"head_dim", m.head_dim},
        {"hidden_dim", m.hidden_dim},
        {"vocab_size", m.vocab_size},
        {"max_context", m.max_context},
        {"rope_theta", m.rope_theta},
        {"rope_scaling", m.rope_scaling.enabled ? Json(m.rope_scaling.factor) : Json(nullptr)},
        {"tied_embeddings", m.tied_embeddings},
        {"qk_norm", m.qk_norm}}},
      {"tokenizer", {{"bos_id", spec.tokenizer.bos_id}, {"eos_ids", spec.tokenizer.eos_ids}}},
      {"instructions", spec.instructions.size()},
      {"instruction_counts", op_counts},
      {"tensors",
       {{"inline", inline_count},
        {"inline_bytes", inline_bytes},
        {"external", external_count},
        {"external_bytes", external_bytes}}},
      {"data_files", data_files},
      {"format_totals", totals},
      {"tensor_list", tensors},
  };
  if (spec.adapter) {
    const AdapterSpec& a = *spec.adapter;
    out["adapter"] = {{"name", a.name},
                      {"rank", a.rank},
                      {"alpha", a.alpha},
                      {"scale", a.scale},
                      {"use_rslora", a.use_rslora},
                      {"targets", a.targets}};
  }
  return out;
}

// Checks every external tensor of `program` against the data files given:
// the file with the recorded fingerprint exists, holds the key, and the key's
// layout and size match the tensor table.
Json ResolveExternal(const ProgramFile& program,
                     const std::vector<std::shared_ptr<const PtdFile>>& data, bool* ok) {
  const ProgramSpec& spec = program.spec();
  std::vector<const PtdFile*> by_index(spec.data_files.size(), nullptr);
  Json problems = Json::array();
  for (size_t i = 0; i < spec.data_files.size(); ++i) {
    for (const auto& file : data) {
      if (file->fingerprint() == spec.data_files[i].fingerprint) by_index[i] = file.get();
    }
    if (by_index[i] == nullptr) {
      problems.push_back(fmt::format("no data file given has the fingerprint of {} ({})",
                                     spec.data_files[i].name, spec.data_files[i].fingerprint));
    }
  }
  int resolved = 0;
  for (const auto& t : spec.tensors) {
    if (t.is_inline() || by_index[static_cast<size_t>(t.data_file)] == nullptr) continue;
    const PtdFile& file = *by_index[static_cast<size_t>(t.data_file)];
    const PtdEntry* entry = file.Find(t.key);
    if (entry == nullptr) {
      problems.push_back(fmt::format("{}: key {} not in {}", t.name, t.key, file.path()));
      continue;
    }
    const std::vector<int64_t> stored = StoredSizes(t);
    const std::vector<int32_t> sizes(stored.begin(), stored.end());
    if (entry->size != t.nbytes ||
        (entry->layout && (entry->layout->dtype != t.dtype || entry->layout->sizes != sizes))) {
      problems.push_back(
          fmt::format("{}: layout in {} does not match the program", t.name, file.path()));
      continue;
    }
    ++resolved;
  }
  *ok = problems.empty();
  return {{"resolved", resolved}, {"problems", problems}};
}

void PrintTotals(const Json& totals) {
  for (const auto& [format, total] : totals.items()) {
    fmt::print("  total {:<6} {:>5} tensors {:>14} B ({:.3f} MiB)\n", format,
               total["tensors"].get<uint64_t>(), total["bytes"].get<uint64_t>(),
               static_cast<double>(total["bytes"].get<uint64_t>()) / kMiB);
  }
}

void PrintText(const Json& info) {
  if (info["kind"] == "ptd") {
    fmt::print("{}: FlatTensor data file, {} bytes, version {}, {} segments, {} keys\n",
               info["file"].get<std::string>(), info["bytes"].get<uint64_t>(),
               info["version"].get<uint32_t>(), info["segments"].get<size_t>(),
               info["entries"].size());
    fmt::print("  fingerprint {}\n", info["fingerprint"].get<std::string>());
    for (const auto& e : info["entries"]) {
      std::string layout = e["layout"].is_null()
                               ? "-"
                               : fmt::format("{} {}", e["layout"]["dtype"].get<std::string>(),
                                             e["layout"]["sizes"].dump());
      fmt::print("  {:<72} {:<28} {:>12} B  @{:<12} align {}\n", e["key"].get<std::string>(),
                 layout, e["bytes"].get<uint64_t>(), e["offset"].get<uint64_t>(),
                 e["alignment"].get<uint64_t>());
    }
    PrintTotals(info["format_totals"]);
    return;
  }
  fmt::print("{}: lorashare program ({}), {}\n", info["file"].get<std::string>(),
             info["producer"].get<std::string>(), info["architecture"].get<std::string>());
  fmt::print("  model: {}\n", info["model"].dump());
  fmt::print("  tokenizer: {}\n", info["tokenizer"].dump());
  fmt::print("  instructions: {} {}\n", info["instructions"].get<size_t>(),
             info["instruction_counts"].dump());
  fmt::print("  tensors: {}\n", info["tensors"].dump());
  for (const auto& t : info["tensor_list"]) {
    const int group = t["group_size"].get<int>();
    fmt::print("    {:<40} {:<6} {:<8} group {:<4} {:<14} {:>12} B  {}\n",
               t["name"].get<std::string>(), t["format"].get<std::string>(),
               t["layout"].get<std::string>(), group > 0 ? std::to_string(group) : "-",
               t["shape"].dump(), t["bytes"].get<uint64_t>(), t["where"].get<std::string>());
  }
  PrintTotals(info["format_totals"]);
  for (const auto& d : info["data_files"]) {
    fmt::print("  needs {} ({}) fingerprint {}\n", d["name"].get<std::string>(),
               d["role"].get<std::string>(), d["fingerprint"].get<std::string>());
  }
  if (info.contains("adapter")) fmt::print("  adapter: {}\n", info["adapter"].dump());
  if (info.contains("resolution")) {
    const auto& r = info["resolution"];
    fmt::print("  external tensors resolved: {}\n", r["resolved"].get<int>());
    for (const auto& p : r["problems"]) fmt::print("  problem: {}\n", p.get<std::string>());
  }
}

Result<std::string> FileIdentifier(const std::string& path) {
  LS_ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  if (mapping->size() < 8) {
    return MakeError(ErrorCode::kCorrupt, "{}: too short to be a .ptd or .pte ({} bytes)", path,
                     mapping->size());
  }
  return std::string(reinterpret_cast<const char*>(mapping->bytes().data()) + 4, 4);
}

int RunInspect(const std::vector<std::string>& files, const std::vector<std::string>& data_paths,
               bool json) {
  std::vector<std::shared_ptr<const PtdFile>> data;
  for (const auto& path : data_paths) {
    auto file = PtdFile::Open(path);
    if (!file.ok()) return ReportError(file.error());
    data.push_back(std::move(file).value());
  }
  Json all = Json::array();
  bool resolved = true;
  for (const auto& path : files) {
    auto identifier = FileIdentifier(path);
    if (!identifier.ok()) return ReportError(identifier.error());
    Json info;
    if (*identifier == "FT01") {
      auto file = PtdFile::Open(path);
      if (!file.ok()) return ReportError(file.error());
      info = DescribePtd(**file);
    } else if (*identifier == "LSP1") {
      auto program = ProgramFile::Open(path);
      if (!program.ok()) return ReportError(program.error());
      info = DescribeProgram(**program);
      if (!data.empty()) {
        bool ok = true;
        info["resolution"] = ResolveExternal(**program, data, &ok);
        resolved = resolved && ok;
      }
    } else {
      return ReportError(MakeError(ErrorCode::kCorrupt,
                                   "{}: neither a .ptd (FT01) nor a lorashare .pte (LSP1)", path));
    }
    if (json) {
      all.push_back(info);
    } else {
      PrintText(info);
    }
  }
  if (json) fmt::print("{}\n", all.dump(2));
  return resolved ? 0 : 1;
}

}  // namespace

void RegisterInspect(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Show what .ptd and .pte files hold");
  struct Flags {
    std::vector<std::string> files;
    std::vector<std::string> data;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("files", flags->files, ".ptd or .pte files")->required();
  cmd->add_option("--data", flags->data,
                  "data files (comma-separated) to resolve a program's external tensors against")
      ->delimiter(',');
  cmd->add_flag("--json", flags->json, "print JSON");
  cmd->callback(
      [flags, exit_code] { *exit_code = RunInspect(flags->files, flags->data, flags->json); });
}

}  // namespace lorashare::tools

#include "runtime/step_profile.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "runtime/loaded_model.h"

namespace lorashare {
namespace {

// "layers.3.attention.wq.weight" -> "attention.wq"; "layers.3.attention.wq.lora_a"
// -> "attention.wq": the same projection in every layer shares a name.
std::string ShortTensorName(std::string name) {
  constexpr std::string_view kLayerPrefix = "layers.";
  if (name.starts_with(kLayerPrefix)) {
    const size_t dot = name.find('.', kLayerPrefix.size());
    if (dot != std::string::npos) name.erase(0, dot + 1);
  }
  for (std::string_view suffix : {".weight", ".lora_a"}) {
    if (name.ends_with(suffix)) name.resize(name.size() - suffix.size());
  }
  return name;
}

// "attention.wq", "attention.wk" -> "attention.wq+wk".
std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined = names.front();
  const std::string prefix = joined.substr(0, joined.rfind('.') + 1);
  for (size_t i = 1; i < names.size(); ++i) {
    const bool same_prefix = !prefix.empty() && names[i].starts_with(prefix);
    joined.append("+").append(same_prefix ? names[i].substr(prefix.size()) : names[i]);
  }
  return joined;
}

// The step whose time includes step i's: a same-input group's first member
// runs the others, a LINEAR its folded LORA.
std::vector<size_t> Owners(const std::vector<LoadedModel::Step>& steps) {
  std::vector<size_t> owner(steps.size());
  std::iota(owner.begin(), owner.end(), size_t{0});
  for (size_t i = 0; i < steps.size(); ++i) {
    for (int32_t member : steps[i].same_input) owner[static_cast<size_t>(member)] = i;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].folded_lora >= 0) owner[static_cast<size_t>(steps[i].folded_lora)] = owner[i];
  }
  return owner;
}

std::string KindName(const LoadedModel& model, size_t owner, const std::vector<size_t>& owners) {
  const ProgramSpec& spec = model.spec();
  const InstructionSpec& ins = spec.instructions[owner];
  std::string name(OpCodeName(ins.op));
  std::vector<std::string> tensors;
  bool with_lora = false;
  for (size_t i = 0; i < owners.size(); ++i) {
    if (owners[i] != owner) continue;
    const InstructionSpec& member = spec.instructions[i];
    if (member.op == ins.op && !member.tensors.empty()) {
      tensors.push_back(ShortTensorName(spec.tensors[member.tensors[0]].name));
    }
    with_lora |= member.op == OpCode::kLora && ins.op != OpCode::kLora;
  }
  if (!tensors.empty()) name.append(" ").append(JoinNames(tensors));
  if (with_lora) name += " +lora";
  return name;
}

}  // namespace

double StepProfile::seconds() const {
  double total = 0;
  for (const Kind& kind : kinds) total += kind.seconds;
  return total;
}

void StepProfile::Add(const StepProfile& other) {
  passes += other.passes;
  for (const Kind& kind : other.kinds) {
    auto same = std::find_if(kinds.begin(), kinds.end(),
                             [&](const Kind& mine) { return mine.name == kind.name; });
    if (same == kinds.end()) {
      kinds.push_back(kind);
    } else {
      same->seconds += kind.seconds;
    }
  }
}

StepProfile SummarizeStepTimes(const LoadedModel& model, std::span<const double> step_seconds,
                               int64_t passes) {
  const std::vector<size_t> owners = Owners(model.steps());
  std::vector<std::string> names(owners.size());
  StepProfile profile;
  profile.passes = passes;
  std::map<std::string, size_t> kind_of_name;
  for (size_t i = 0; i < owners.size(); ++i) {
    const size_t owner = owners[i];
    if (names[owner].empty()) names[owner] = KindName(model, owner, owners);
    auto [it, added] = kind_of_name.emplace(names[owner], profile.kinds.size());
    if (added) profile.kinds.push_back({.name = names[owner]});
    StepProfile::Kind& kind = profile.kinds[it->second];
    ++kind.instructions;
    kind.weight_bytes += DecodeWeightBytes(model.spec(), model.spec().instructions[i]);
    kind.seconds += step_seconds[i];
  }
  return profile;
}

}  // namespace lorashare

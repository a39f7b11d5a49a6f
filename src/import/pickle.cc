#include "import/pickle.h"

#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "base/byte_reader.h"

namespace lorashare {
namespace {

using Kind = PickleValue::Kind;

// Far above what a checkpoint's pickle needs (a few values per tensor).
constexpr size_t kMaxValues = size_t{1} << 20;
constexpr size_t kMaxStack = size_t{1} << 16;
constexpr size_t kMaxMarks = 256;
constexpr size_t kMaxLineBytes = 256;

constexpr std::array<std::pair<std::string_view, DType>, 10> kStorageTypes = {{
    {"torch.FloatStorage", DType::kF32},
    {"torch.HalfStorage", DType::kF16},
    {"torch.BFloat16Storage", DType::kBF16},
    {"torch.DoubleStorage", DType::kF64},
    {"torch.LongStorage", DType::kI64},
    {"torch.IntStorage", DType::kI32},
    {"torch.ShortStorage", DType::kI16},
    {"torch.CharStorage", DType::kI8},
    {"torch.ByteStorage", DType::kU8},
    {"torch.BoolStorage", DType::kBool},
}};

class Machine {
 public:
  Machine(std::span<const uint8_t> bytes, const std::string& source)
      : reader_(bytes, source), source_(source) {}

  Result<Unpickled> Run() {
    while (true) {
      const size_t at = reader_.position();
      LS_ASSIGN_OR_RETURN(uint8_t op, reader_.Read<uint8_t>("opcode"));
      if (op == '.') break;
      auto status = Step(op);
      if (!status.ok()) {
        return MakeError(status.error().code(), "{} (opcode 0x{:02x} at offset {})",
                         status.error().message(), op, at);
      }
    }
    if (stack_.size() != 1 || !marks_.empty()) {
      return Fail("STOP with {} values on the stack", stack_.size());
    }
    Unpickled out;
    out.root = stack_.back();
    out.values = std::move(values_);
    return out;
  }

 private:
  template <typename... Args>
  Error Fail(fmt::format_string<Args...> format, Args&&... args) const {
    return MakeError(ErrorCode::kCorrupt, "{}: {}", source_,
                     fmt::format(format, std::forward<Args>(args)...));
  }

  Result<uint32_t> New(PickleValue value) {
    if (values_.size() >= kMaxValues) return Fail("more than {} values", kMaxValues);
    values_.push_back(std::move(value));
    return static_cast<uint32_t>(values_.size() - 1);
  }
  Status Push(PickleValue value) {
    LS_ASSIGN_OR_RETURN(uint32_t index, New(std::move(value)));
    return PushIndex(index);
  }
  Status PushIndex(uint32_t index) {
    if (stack_.size() >= kMaxStack) return Fail("stack deeper than {}", kMaxStack);
    stack_.push_back(index);
    return OkStatus();
  }
  size_t StackFloor() const { return marks_.empty() ? 0 : marks_.back(); }
  Result<uint32_t> Pop() {
    if (stack_.size() <= StackFloor()) return Fail("stack underflow");
    uint32_t index = stack_.back();
    stack_.pop_back();
    return index;
  }
  Result<uint32_t> Top() {
    if (stack_.size() <= StackFloor()) return Fail("stack underflow");
    return stack_.back();
  }
  // Pops everything above the last MARK, and the mark.
  Result<std::vector<uint32_t>> PopToMark() {
    if (marks_.empty()) return Fail("no MARK on the stack");
    std::vector<uint32_t> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  Status PushInt(int64_t number) { return Push({.kind = Kind::kInt, .number = number}); }
  Status PushString(std::string text) {
    return Push({.kind = Kind::kString, .text = std::move(text)});
  }
  Status PushTuple(std::vector<uint32_t> items) {
    return Push({.kind = Kind::kTuple, .items = std::move(items)});
  }
  Status PushTupleOf(size_t count) {
    std::vector<uint32_t> items(count);
    for (size_t i = count; i-- > 0;) {
      LS_ASSIGN_OR_RETURN(items[i], Pop());
    }
    return PushTuple(std::move(items));
  }

  Status ReadString(size_t length) {
    LS_ASSIGN_OR_RETURN(std::string_view text, reader_.ReadString(length, "string"));
    return PushString(std::string(text));
  }
  Result<std::string> ReadLine() {
    std::string line;
    while (true) {
      LS_ASSIGN_OR_RETURN(uint8_t c, reader_.Read<uint8_t>("GLOBAL name"));
      if (c == '\n') return line;
      if (line.size() >= kMaxLineBytes) return Fail("GLOBAL name longer than {}", kMaxLineBytes);
      line.push_back(static_cast<char>(c));
    }
  }
  Status ReadLong1() {
    LS_ASSIGN_OR_RETURN(uint8_t length, reader_.Read<uint8_t>("LONG1 length"));
    if (length > 8) return Fail("integer of {} bytes is too large", length);
    LS_ASSIGN_OR_RETURN(auto bytes, reader_.ReadBytes(length, "LONG1"));
    uint64_t value = 0;
    for (size_t i = 0; i < length; ++i) value |= uint64_t{bytes[i]} << (8 * i);
    if (length > 0 && length < 8 && (bytes[length - 1] & 0x80)) {
      value |= ~uint64_t{0} << (8 * length);  // sign-extend
    }
    return PushInt(static_cast<int64_t>(value));
  }
  Status ReadBinFloat() {
    LS_ASSIGN_OR_RETURN(auto bytes, reader_.ReadBytes(8, "BINFLOAT"));
    uint64_t bits = 0;
    for (uint8_t b : bytes) bits = bits << 8 | b;  // big-endian
    return Push({.kind = Kind::kFloat, .real = std::bit_cast<double>(bits)});
  }

  Status Memoize(uint64_t key) {
    LS_ASSIGN_OR_RETURN(uint32_t top, Top());
    if (memo_.size() >= kMaxValues && !memo_.contains(key)) return Fail("memo too large");
    memo_[key] = top;
    return OkStatus();
  }
  Status Recall(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) return Fail("memo key {} was never stored", key);
    return PushIndex(it->second);
  }

  Status StackGlobal() {
    LS_ASSIGN_OR_RETURN(uint32_t name, Pop());
    LS_ASSIGN_OR_RETURN(uint32_t module, Pop());
    if (values_[name].kind != Kind::kString || values_[module].kind != Kind::kString) {
      return Fail("STACK_GLOBAL needs two strings");
    }
    return Push({.kind = Kind::kGlobal, .text = values_[module].text + "." + values_[name].text});
  }
  Status Global() {
    LS_ASSIGN_OR_RETURN(std::string module, ReadLine());
    LS_ASSIGN_OR_RETURN(std::string name, ReadLine());
    return Push({.kind = Kind::kGlobal, .text = module + "." + name});
  }

  // ('storage', torch.<T>Storage, key, location, numel)
  Status PersistentId() {
    LS_ASSIGN_OR_RETURN(uint32_t pid, Pop());
    const PickleValue& id = values_[pid];
    if (id.kind != Kind::kTuple || id.items.size() != 5 ||
        values_[id.items[0]].kind != Kind::kString || values_[id.items[0]].text != "storage") {
      return Fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const PickleValue& type = values_[id.items[1]];
    const PickleValue& key = values_[id.items[2]];
    const PickleValue& numel = values_[id.items[4]];
    if (type.kind != Kind::kGlobal || key.kind != Kind::kString || numel.kind != Kind::kInt ||
        numel.number < 0) {
      return Fail("malformed storage persistent id");
    }
    PickleValue storage{.kind = Kind::kStorage, .number = numel.number, .text = key.text};
    bool known = false;
    for (const auto& [name, dtype] : kStorageTypes) {
      if (type.text == name) {
        storage.dtype = dtype;
        known = true;
      }
    }
    if (!known) {
      return MakeError(ErrorCode::kUnsupported, "{}: storage type {} is not supported", source_,
                       type.text);
    }
    return Push(std::move(storage));
  }

  Result<std::vector<int64_t>> IntTuple(uint32_t index, std::string_view what) {
    const PickleValue& tuple = values_[index];
    if (tuple.kind != Kind::kTuple) return Fail("tensor {} is not a tuple", what);
    std::vector<int64_t> out;
    for (uint32_t item : tuple.items) {
      if (values_[item].kind != Kind::kInt) return Fail("tensor {} holds a non-integer", what);
      out.push_back(values_[item].number);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata])
  Status RebuildTensor(const std::vector<uint32_t>& args) {
    if (args.size() < 4 || values_[args[0]].kind != Kind::kStorage ||
        values_[args[1]].kind != Kind::kInt) {
      return Fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)");
    }
    PickleValue tensor{
        .kind = Kind::kTensor, .number = values_[args[1]].number, .items = {args[0]}};
    LS_ASSIGN_OR_RETURN(tensor.ints, IntTuple(args[2], "size"));
    LS_ASSIGN_OR_RETURN(tensor.strides, IntTuple(args[3], "stride"));
    if (tensor.ints.size() != tensor.strides.size()) return Fail("tensor size and stride differ");
    return Push(std::move(tensor));
  }

  Status Reduce() {
    LS_ASSIGN_OR_RETURN(uint32_t args_index, Pop());
    LS_ASSIGN_OR_RETURN(uint32_t callable_index, Pop());
    const PickleValue& callable = values_[callable_index];
    if (values_[args_index].kind != Kind::kTuple || callable.kind != Kind::kGlobal) {
      return Fail("REDUCE needs a global and an argument tuple");
    }
    const std::vector<uint32_t> args = values_[args_index].items;
    if (callable.text == "torch._utils._rebuild_tensor_v2") return RebuildTensor(args);
    if (callable.text == "torch._utils._rebuild_parameter") {
      if (args.empty() || values_[args[0]].kind != Kind::kTensor) {
        return Fail("_rebuild_parameter needs a tensor");
      }
      return PushIndex(args[0]);
    }
    if (callable.text == "collections.OrderedDict" && args.empty()) {
      return Push({.kind = Kind::kDict});
    }
    return MakeError(ErrorCode::kUnsupported, "{}: cannot call {} (only tensors and dicts)",
                     source_, callable.text);
  }

  Status SetItems(std::vector<uint32_t> pairs) {
    if (pairs.size() % 2 != 0) return Fail("SETITEMS with an odd number of values");
    LS_ASSIGN_OR_RETURN(uint32_t dict, Top());
    if (values_[dict].kind != Kind::kDict) return Fail("SETITEM(S) on a non-dict");
    auto& items = values_[dict].items;
    items.insert(items.end(), pairs.begin(), pairs.end());
    return OkStatus();
  }
  Status Appends(std::vector<uint32_t> more) {
    LS_ASSIGN_OR_RETURN(uint32_t list, Top());
    if (values_[list].kind != Kind::kList) return Fail("APPEND(S) on a non-list");
    auto& items = values_[list].items;
    items.insert(items.end(), more.begin(), more.end());
    return OkStatus();
  }
  // State set on an object (a state_dict's _metadata): not needed, dropped.
  Status Build() {
    LS_RETURN_IF_ERROR(Pop());
    LS_ASSIGN_OR_RETURN(uint32_t target, Top());
    const Kind kind = values_[target].kind;
    if (kind != Kind::kDict && kind != Kind::kTensor) return Fail("BUILD on an unsupported object");
    return OkStatus();
  }

  Status Step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        LS_ASSIGN_OR_RETURN(uint8_t version, reader_.Read<uint8_t>("protocol"));
        if (version > 5) return Fail("pickle protocol {} is not supported", version);
        return OkStatus();
      }
      case 0x95:  // FRAME: only a length hint
        return reader_.Read<uint64_t>("FRAME length").ok() ? OkStatus() : Fail("truncated FRAME");
      case '}':
        return Push({.kind = Kind::kDict});
      case ']':
        return Push({.kind = Kind::kList});
      case ')':
        return PushTuple({});
      case '(':
        if (marks_.size() >= kMaxMarks) return Fail("MARKs nested deeper than {}", kMaxMarks);
        marks_.push_back(stack_.size());
        return OkStatus();
      case 'X': {
        LS_ASSIGN_OR_RETURN(uint32_t length, reader_.Read<uint32_t>("BINUNICODE length"));
        return ReadString(length);
      }
      case 0x8c: {
        LS_ASSIGN_OR_RETURN(uint8_t length, reader_.Read<uint8_t>("SHORT_BINUNICODE length"));
        return ReadString(length);
      }
      case 'J': {
        LS_ASSIGN_OR_RETURN(int32_t value, reader_.Read<int32_t>("BININT"));
        return PushInt(value);
      }
      case 'K': {
        LS_ASSIGN_OR_RETURN(uint8_t value, reader_.Read<uint8_t>("BININT1"));
        return PushInt(value);
      }
      case 'M': {
        LS_ASSIGN_OR_RETURN(uint16_t value, reader_.Read<uint16_t>("BININT2"));
        return PushInt(value);
      }
      case 0x8a:
        return ReadLong1();
      case 'G':
        return ReadBinFloat();
      case 'c':
        return Global();
      case 0x93:
        return StackGlobal();
      case 'Q':
        return PersistentId();
      case 'R':
        return Reduce();
      case 'b':
        return Build();
      case 't': {
        LS_ASSIGN_OR_RETURN(auto items, PopToMark());
        return PushTuple(std::move(items));
      }
      case 0x85:
      case 0x86:
      case 0x87:
        return PushTupleOf(op - 0x84);
      case 's': {
        LS_ASSIGN_OR_RETURN(uint32_t value, Pop());
        LS_ASSIGN_OR_RETURN(uint32_t key, Pop());
        return SetItems({key, value});
      }
      case 'u': {
        LS_ASSIGN_OR_RETURN(auto items, PopToMark());
        return SetItems(std::move(items));
      }
      case 'a': {
        LS_ASSIGN_OR_RETURN(uint32_t value, Pop());
        return Appends({value});
      }
      case 'e': {
        LS_ASSIGN_OR_RETURN(auto items, PopToMark());
        return Appends(std::move(items));
      }
      case 'q': {
        LS_ASSIGN_OR_RETURN(uint8_t key, reader_.Read<uint8_t>("BINPUT key"));
        return Memoize(key);
      }
      case 'r': {
        LS_ASSIGN_OR_RETURN(uint32_t key, reader_.Read<uint32_t>("LONG_BINPUT key"));
        return Memoize(key);
      }
      case 0x94:
        return Memoize(memo_.size());
      case 'h': {
        LS_ASSIGN_OR_RETURN(uint8_t key, reader_.Read<uint8_t>("BINGET key"));
        return Recall(key);
      }
      case 'j': {
        LS_ASSIGN_OR_RETURN(uint32_t key, reader_.Read<uint32_t>("LONG_BINGET key"));
        return Recall(key);
      }
      case 0x89:
        return Push({.kind = Kind::kBool, .number = 0});
      case 0x88:
        return Push({.kind = Kind::kBool, .number = 1});
      case 'N':
        return Push({.kind = Kind::kNone});
      default:
        return MakeError(ErrorCode::kUnsupported, "{}: pickle opcode 0x{:02x} is not supported",
                         source_, op);
    }
  }

  ByteReader reader_;
  const std::string& source_;
  std::vector<PickleValue> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

}  // namespace

Result<Unpickled> Unpickle(std::span<const uint8_t> bytes, const std::string& source) {
  return Machine(bytes, source).Run();
}

}  // namespace lorashare

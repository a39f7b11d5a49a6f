// Session: one conversation on a Model: its KV cache, position and scratch
// buffers. Not thread-safe; use one Session per thread of conversation.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "runtime/step_profile.h"

namespace lorashare {

class Session {
 public:
  virtual ~Session();

  // Runs `tokens` at positions [position(), position() + tokens.size()) in one
  // batched pass (prefill) or one token (decode), appends them to the KV cache
  // and returns the logits of the last token (vocab_size floats, valid until
  // the next call). Fails with kOutOfRange past capacity(), kInvalidArgument
  // for an empty input or a token id outside the vocabulary.
  virtual Result<std::span<const float>> Forward(std::span<const int32_t> tokens) = 0;

  virtual int32_t position() const = 0;
  virtual int32_t capacity() const = 0;
  // Forgets the conversation (position 0) without freeing buffers.
  virtual void Reset() = 0;

  // Profiling, off until turned on: Forward then times each step it runs,
  // and Profile() sums those times by kind of step since profiling was last
  // turned on (runtime/step_profile.h). Turning it off drops the times.
  virtual void SetProfiling(bool on) = 0;
  virtual StepProfile Profile() const = 0;
};

}  // namespace lorashare

// Which Highway target the dispatched kernels run on (e.g. "AVX3", "AVX2").
// Tests use it to prove they covered every target this CPU supports.
#pragma once

namespace lorashare {

const char* KernelTargetName();

}  // namespace lorashare

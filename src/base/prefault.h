// Making memory resident before it is written or read, in one system call
// rather than a page fault per page on first touch.
//
// On the development VM a first-touch fault costs about 16 us: touching each
// page of 14 MiB of fresh memory took 56-60 ms; MADV_POPULATE_WRITE took 3.6-
// 5.3 ms, and the first writes after it 25 ms more (the host maps the guest's
// pages on first use too), so about half. A fresh session's first prompt
// spent up to a third of its prefill faulting in its KV cache page by page.
// Memory the allocator reuses is resident already and costs neither.
#pragma once

#include <cstddef>

namespace lorashare {

// Makes the whole pages inside [data, data + bytes) resident and writable
// (pages shared with memory outside the range are left alone). Best effort:
// where the kernel lacks MADV_POPULATE_WRITE (before Linux 5.14) the pages
// fault in on first touch as before. Memory that is already resident (heap
// memory freed and reused, say) costs a walk of its page tables.
void PrefaultForWrite(void* data, size_t bytes);

// Maps every page that holds a byte of [data, data + bytes) of a file
// mapping, reading those not in the page cache from the file. A fresh
// mapping of a cached file otherwise faults on the first read of each page
// (or 2 MiB folio): the first token after loading the 1B 8da4w program (a
// 1-token prompt) took 24.6-25.4 ms that way and 21.7-22.5 populated.
// Best effort, as above.
void PrefaultForRead(const void* data, size_t bytes);

}  // namespace lorashare

/* biolatency's histogram map, shared by biolatency.bpf.c and src/tools/biolatency.rs. */
#pragma once
#include "common/hist.bpf.h"

struct biolatency_key {
	__u32 dev;		/* whole disk (kernel dev_t) with -D, else 0 */
	__u32 opflags;		/* op and flags (common/blk.bpf.h) with -F, else 0 */
};

struct biolatency_hist {
	__u64 slots[HIST_SLOTS];
	__u64 total;		/* sum of the latencies, in the histogram's unit */
	__u64 count;		/* unused: the sum of the slots */
};

/* runqlat's histogram map, shared by runqlat.bpf.c and src/tools/runqlat.rs. */
#pragma once
#include "common/hist.bpf.h"

struct runqlat_hist {
	__u64 slots[HIST_SLOTS];
	__u64 total;		/* sum of the latencies, in the histogram's unit */
	__u64 count;
	char comm[16];		/* with -P or -L: the task's name when first counted */
};

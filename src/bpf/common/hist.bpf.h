/* Histogram slot helpers; the runtime renders the slots (src/runtime/hist.rs). */
#pragma once
#include "common/vmlinux_all.bpf.h"

#define HIST_SLOTS 32

/* floor(log2(v)) for v > 0, 0 for v == 0: bucket i holds [2^i, 2^(i+1)). */
static __always_inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static __always_inline __u32 hist_slot(__u64 v)
{
	__u32 s = hist_log2(v);

	return s < HIST_SLOTS ? s : HIST_SLOTS - 1;
}

/* Work a tool had to skip because one of its bounded maps was full (an
 * in-flight table, a per-task start time). Counted per CPU; the runtime
 * (src/runtime/missed.rs) reports the total at exit, so a histogram that is
 * short of samples says so. */
#pragma once
#include "common/vmlinux_all.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} missed SEC(".maps");

static __always_inline void count_missed(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&missed, &zero);

	if (n)
		*n += 1;
}

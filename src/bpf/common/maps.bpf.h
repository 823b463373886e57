/* Map helpers shared by the tools. */
#pragma once
#include "common/vmlinux_all.bpf.h"

/* The value for key, inserting init first when absent; NULL when the map is full. */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/* A zeroed per-CPU scratch buffer of one value type, for records too large
 * for the 512-byte BPF stack. */
#define SCRATCH_MAP(name, vtype)                       \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1);                 \
		__type(key, __u32);                     \
		__type(value, vtype);                   \
	} name SEC(".maps")

/* Events to user space through one BPF ring buffer. Records are submitted
 * without waking the reader, which polls every few milliseconds; only when
 * the ring fills past a quarter is the reader woken at once. A per-event
 * wake-up is what makes perf-buffer tools cost 5x on a busy syscall.
 * Records that do not fit are counted in `drops`, which the runtime reports.
 *
 * A tool may #define RINGBUF_BYTES (a power of two) before including this. */
#pragma once
#include "common/vmlinux_all.bpf.h"

#ifndef RINGBUF_BYTES
#define RINGBUF_BYTES (256 * 1024)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void emit_count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

static __always_inline __u64 emit_wakeup_flags(void)
{
	/* The ring's real size: user space may resize it before load (-b). */
	__u64 quarter = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4;

	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= quarter ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Reserve a fixed-size record; NULL (and a counted drop) when the ring is full. */
static __always_inline void *emit_reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec)
		emit_count_drop();
	return rec;
}

static __always_inline void emit_submit(void *rec)
{
	bpf_ringbuf_submit(rec, emit_wakeup_flags());
}

/* Copy a variable-size record (built in a scratch map) into the ring. */
static __always_inline void emit_copy(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, emit_wakeup_flags()))
		emit_count_drop();
}

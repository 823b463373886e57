/* Events to user space through one BPF ring buffer. Records are submitted
 * without waking the reader, which polls every few milliseconds; the reader
 * is woken at once only when the ring fills past a quarter, or for a record
 * into a (nearly) empty ring after 5 quiet milliseconds, so a sparse
 * event shows at once rather than at the next poll. A per-event wake-up is
 * what makes perf-buffer tools cost 5x on a busy syscall; this is at most
 * 200 a second. Records that do not fit are counted in `drops`, which
 * the runtime reports.
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

/* When the reader was last woken for a record after a quiet spell. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} emit_woken SEC(".maps");

#define EMIT_NEARLY_EMPTY 4096		/* bytes waiting: the reader has caught up */
/* At most one such wake-up per 5 ms: a forced wake-up costs the traced
 * task microseconds (a self-IPI, ~10 us under virtualisation). */
#define EMIT_QUIET_NS 5000000ULL

static __always_inline __u64 emit_wakeup_flags(void)
{
	/* The ring's real size: user space may resize it before load (-b). */
	__u64 quarter = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u32 zero = 0;
	__u64 *woken, now;

	if (avail >= quarter)
		return BPF_RB_FORCE_WAKEUP;
	/* In a burst the ring is rarely this empty: the clock is read only
	 * for the first records after the reader has drained it. */
	if (avail > EMIT_NEARLY_EMPTY)
		return BPF_RB_NO_WAKEUP;
	woken = bpf_map_lookup_elem(&emit_woken, &zero);
	if (!woken)
		return BPF_RB_NO_WAKEUP;
	now = bpf_ktime_get_ns();
	if (now - *woken < EMIT_QUIET_NS)
		return BPF_RB_NO_WAKEUP;
	*woken = now;
	return BPF_RB_FORCE_WAKEUP;
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

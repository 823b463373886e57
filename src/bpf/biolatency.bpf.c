/* biolatency, kernel side: block I/O latency as log2 histograms, per disk
 * and/or per op and flags.
 *
 * With -Q or a filter on the issuer, requests are followed from first sight
 * (common/blk.bpf.h) and blk_rq_complete counts them. Otherwise nothing
 * needs the issuer: lat_rq_issue keeps only the issue time, 8 bytes per
 * request, and lat_rq_complete counts; two programs per I/O, like the C
 * tool's, instead of three that record pid and comm for nobody. */
#include "common/vmlinux_all.bpf.h"
#include "common/blk.bpf.h"
#include "common/maps.bpf.h"
#include "biolatency.h"

const volatile bool per_disk = false;
const volatile bool per_flags = false;
/* Count from first sight (queued time included), not from issue. */
const volatile bool queued = false;
const volatile bool milliseconds = false;
/* Sum the latencies (-e, --json); otherwise one atomic less per I/O. */
const volatile bool want_total = true;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct biolatency_key);
	__type(value, struct biolatency_hist);
} hists SEC(".maps");

/* Issue time by request, for lat_rq_*; user space shrinks whichever of
 * this and blk_inflight the chosen plan does not use. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLK_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} issued SEC(".maps");

/* The one histogram of a run without -D or -F: a per-CPU array slot, which
 * the verifier inlines and which needs no atomics, instead of a hash lookup
 * and two locked adds per I/O. It only grows; user space reports the
 * difference from its last reading, so nothing is lost to a clear. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct biolatency_hist);
} hist_all SEC(".maps");

static const struct biolatency_hist empty_hist;

static __always_inline void count_latency(struct request *rq, __u32 dev, __u64 start)
{
	struct biolatency_key key = {};
	struct biolatency_hist *h;
	__u64 delta = bpf_ktime_get_ns() - start;

	delta /= milliseconds ? 1000000 : 1000;
	if (!per_disk && !per_flags) {
		__u32 zero = 0;

		h = bpf_map_lookup_elem(&hist_all, &zero);
		if (!h)
			return;
		h->slots[hist_slot(delta)]++;
		if (want_total)
			h->total += delta;
		return;
	}
	if (per_disk)
		key.dev = dev;
	if (per_flags)
		key.opflags = blk_opflags(rq);
	h = map_lookup_or_init(&hists, &key, &empty_hist);
	if (!h) {
		count_missed();
		return;
	}
	/* No count: user space sums the slots. */
	__sync_fetch_and_add(&h->slots[hist_slot(delta)], 1);
	if (want_total)
		__sync_fetch_and_add(&h->total, delta);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	struct blk_rq_info *info = blk_rq_completed(rq, nr_bytes);
	__u64 start;

	if (!info)
		return 0;
	start = queued ? info->start_ns : info->issue_ns;
	if (info->wanted && info->issue_ns && start)
		count_latency(rq, info->dev, start);
	blk_rq_forget(rq);
	return 0;
}

/* Issue to the driver (again, after a requeue) starts the device time. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(lat_rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	__u64 now;

	if (!blk_dev_wanted(rq))
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&issued, &key, &now, BPF_ANY))
		count_missed();
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(lat_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	__u64 *start = bpf_map_lookup_elem(&issued, &key);

	if (!start)
		return 0;
	/* A partial completion: more follow for the rest of the request. */
	if (nr_bytes < rq->__data_len)
		return 0;
	count_latency(rq, per_disk ? blk_disk_dev(rq) : 0, *start);
	bpf_map_delete_elem(&issued, &key);
	return 0;
}

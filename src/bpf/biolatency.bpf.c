/* biolatency, kernel side: block I/O latency as log2 histograms, per disk
 * and/or per op and flags. Request tracking: common/blk.bpf.h; without -Q
 * or an issuer filter, lat_rq_issue alone starts the clock (one program
 * per I/O instead of three, and none of the issuer's identity). */
#include "common/vmlinux_all.bpf.h"
#include "common/blk.bpf.h"
#include "common/maps.bpf.h"
#include "biolatency.h"

const volatile bool per_disk = false;
const volatile bool per_flags = false;
/* Count from first sight (queued time included), not from issue. */
const volatile bool queued = false;
const volatile bool milliseconds = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct biolatency_key);
	__type(value, struct biolatency_hist);
} hists SEC(".maps");

static const struct biolatency_hist empty_hist;

/* Issue to the driver (again, after a requeue) starts the device time;
 * what blk_rq_complete needs and nothing more. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(lat_rq_issue, struct request *rq)
{
	struct blk_rq_info info = {};
	__u64 key = (__u64)rq;

	if (!blk_dev_wanted(rq))
		return 0;
	info.issue_ns = bpf_ktime_get_ns();
	info.start_ns = info.issue_ns;
	info.wanted = 1;
	if (per_disk)
		info.dev = blk_disk_dev(rq);
	if (bpf_map_update_elem(&blk_inflight, &key, &info, BPF_ANY))
		count_missed();
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	struct blk_rq_info *info = blk_rq_completed(rq, nr_bytes);
	struct biolatency_key key = {};
	struct biolatency_hist *h;
	__u64 start, delta;

	if (!info)
		return 0;
	start = queued ? info->start_ns : info->issue_ns;
	if (!info->wanted || !info->issue_ns || !start)
		goto out;
	delta = bpf_ktime_get_ns() - start;
	delta /= milliseconds ? 1000000 : 1000;
	if (per_disk)
		key.dev = info->dev;
	if (per_flags)
		key.opflags = blk_opflags(rq);
	h = map_lookup_or_init(&hists, &key, &empty_hist);
	if (!h) {
		count_missed();
		goto out;
	}
	/* No count: user space sums the slots, one atomic less per I/O. */
	__sync_fetch_and_add(&h->slots[hist_slot(delta)], 1);
	__sync_fetch_and_add(&h->total, delta);
out:
	blk_rq_forget(rq);
	return 0;
}

/* biolatency, kernel side: block I/O latency as log2 histograms, per disk
 * and/or per op and flags. Request tracking: common/blk.bpf.h. */
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
	__sync_fetch_and_add(&h->slots[hist_slot(delta)], 1);
	__sync_fetch_and_add(&h->total, delta);
	__sync_fetch_and_add(&h->count, 1);
out:
	blk_rq_forget(rq);
	return 0;
}

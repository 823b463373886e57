/* bitesize, kernel side: block I/O sizes at issue as log2 histograms of
 * Kbytes, per issuing command name. Request tracking: common/blk.bpf.h;
 * an entry is done with once its request is issued. */
#include "common/vmlinux_all.bpf.h"
#define BLK_OWN_ISSUE	/* counts at issue: its own block_rq_issue program */
#include "common/blk.bpf.h"
#include "common/maps.bpf.h"
#include "bitesize.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct bitesize_key);
	__type(value, struct bitesize_hist);
} hists SEC(".maps");

static const struct bitesize_hist empty_hist;

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_rq_issue, struct request *rq)
{
	struct blk_rq_info *info = blk_rq_issued(rq);
	struct bitesize_key key = {};
	struct bitesize_hist *h;

	if (!info)
		return 0;
	/* Zero-byte requests (flushes) have no size to show. */
	if (!info->wanted || !info->bytes)
		goto out;
	__builtin_memcpy(key.comm, info->comm, sizeof(key.comm));
	h = map_lookup_or_init(&hists, &key, &empty_hist);
	if (!h) {
		count_missed();
		goto out;
	}
	__sync_fetch_and_add(&h->slots[hist_slot(info->bytes / 1024)], 1);
out:
	blk_rq_forget(rq);
	return 0;
}

/* fsdist, kernel side: log2 latency histograms of read, write, open and
 * fsync on one filesystem. The hooks are in fsops.bpf.h. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/fd.bpf.h"
#include "common/hist.bpf.h"
#include "fsops.bpf.h"

/* 1000 for microseconds, 1000000 for milliseconds (-m). */
const volatile __u64 unit_ns = 1000;

/* One histogram per enum fsop; user space keeps the previous snapshot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FSOP_COUNT);
	__type(key, __u32);
	__type(value, struct fsdist_hist);
} hists SEC(".maps");

static __always_inline void fs_op_done(const struct fs_start *s, struct file *file, __s64 ret,
				       __u64 now, __u64 delta_ns)
{
	__u32 op = s->op;
	struct fsdist_hist *h = bpf_map_lookup_elem(&hists, &op);
	__u32 slot;

	if (!h)
		return;
	slot = hist_slot(delta_ns / unit_ns);
	__sync_fetch_and_add(&h->slots[slot], 1);
}

/* biosnoop, kernel side: one record per completed block request, with the
 * issuer and the queued and device times. Request tracking is shared with
 * biolatency and bitesize (common/blk.bpf.h). */
#include "common/vmlinux_all.bpf.h"
#include "common/blk.bpf.h"
#include "common/emit.bpf.h"
#include "biosnoop.h"

/* Only requests whose device time is at least this long. */
const volatile __u64 min_lat_ns = 0;

/* Puts the record type in BTF so the skeleton generates it for Rust. */
const struct biosnoop_event *unused_biosnoop_event __attribute__((unused));

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	struct blk_rq_info *info = blk_rq_completed(rq, nr_bytes);
	struct biosnoop_event *e;
	__u64 now = bpf_ktime_get_ns();

	if (!info)
		return 0;
	if (!info->wanted || !info->issue_ns || now - info->issue_ns < min_lat_ns)
		goto out;
	e = emit_reserve(sizeof(*e));
	if (!e)
		goto out;
	e->ts_ns = now;
	e->lat_ns = now - info->issue_ns;
	e->queue_ns = info->issue_ns - info->start_ns;
	e->sector = info->sector;
	e->bytes = info->bytes;
	e->pid = info->pid;
	e->tid = info->tid;
	e->dev = info->dev;
	e->opflags = blk_opflags(rq);
	e->error = error;
	__builtin_memcpy(e->comm, info->comm, sizeof(e->comm));
	emit_submit(e);
out:
	blk_rq_forget(rq);
	return 0;
}

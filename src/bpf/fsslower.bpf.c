/* fsslower, kernel side: file operations on one filesystem slower than a
 * threshold, one record each. The hooks are in fsops.bpf.h. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/fd.bpf.h"
#define RINGBUF_BYTES (1024 * 1024)
#include "common/emit.bpf.h"
#include "fsops.bpf.h"

const volatile __u64 min_ns = 10 * 1000 * 1000;

/* Only here so the record's type reaches the skeleton (types::fsslower_event). */
const volatile struct fsslower_event fsslower_event_type = {};

static __always_inline void fs_op_done(const struct fs_start *s, struct file *file, __s64 ret,
				       __u64 now, __u64 delta_ns)
{
	struct fsslower_event *e;
	__u64 pid_tgid;

	if (delta_ns < min_ns)
		return;
	e = emit_reserve(sizeof(*e));
	if (!e)
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	e->end_ns = now;
	e->delta_ns = delta_ns;
	e->offset = s->pos;
	e->bytes = (s->op == FSOP_READ || s->op == FSOP_WRITE) && ret > 0 ? ret : 0;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->op = s->op;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	file_dname(file, e->file, sizeof(e->file));
	emit_submit(e);
}

/* bashreadline, kernel side: the line readline() returns to an interactive
 * bash. A uretprobe on readline (in /bin/bash, or in libreadline where bash
 * links it dynamically) sees the returned string before bash parses it. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/emit.bpf.h"
#include "bashreadline.h"

/* Set when the probe is in a shared libreadline: other programs use it
 * too, and only bash's lines are wanted (bcc's behaviour). */
const volatile bool only_bash = false;

/* Names the record type in BTF, so the skeleton generates it for Rust. */
struct bashreadline_event record_type_ = {};

static __always_inline bool comm_is_bash(void)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm[0] == 'b' && comm[1] == 'a' && comm[2] == 's' && comm[3] == 'h' && comm[4] == 0;
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_readline, const char *line)
{
	struct bashreadline_event *e;

	/* NULL: end of input (Ctrl-D), nothing was typed. */
	if (!line || !filter_current())
		return 0;
	if (only_bash && !comm_is_bash())
		return 0;
	e = emit_reserve(sizeof(*e));
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->line_len = bpf_probe_read_user_str(e->line, sizeof(e->line), line);
	if (e->line_len < 0)
		e->line[0] = 0;
	emit_submit(e);
	return 0;
}

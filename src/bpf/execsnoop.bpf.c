/* execsnoop, kernel side: every execve/execveat with its arguments.
 *
 * The C tools read argv at sys_enter, where a freshly forked child's
 * string-literal arguments are often not yet faulted in, so they print them
 * empty. We read a successful exec's arguments at sys_exit from the new
 * image's argument area (mm->arg_start..arg_end), which the kernel has just
 * written; only a failed exec falls back to the caller's argv pointers, and
 * marks the list incomplete where a page is not present. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#define RINGBUF_BYTES (1024 * 1024)
#include "common/emit.bpf.h"
#include "execsnoop.h"

const volatile __u32 max_args = 20;
const volatile bool only_failed = false;
const volatile __u32 filter_ppid = 0;

/* The caller's argv, from enter to exit. Keyed by task pointer: an exec from
 * a non-leader thread changes the thread's pid on the way. */
struct exec_start {
	const char *const *argv;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct exec_start);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} starts SEC(".maps");

SCRATCH_MAP(scratch, struct execsnoop_event);

static __always_inline __u32 parent_tgid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, real_parent, tgid);
}

static __always_inline int on_enter(const char *const *argv)
{
	struct exec_start start = { .argv = argv };
	__u64 key = bpf_get_current_task();

	if (!filter_current())
		return 0;
	if (filter_ppid && parent_tgid() != filter_ppid)
		return 0;
	bpf_map_update_elem(&starts, &key, &start, BPF_ANY);
	return 0;
}

/* Failed exec: the caller's argv, one string at a time. */
static __always_inline void read_caller_args(struct execsnoop_event *e, const char *const *argv)
{
	__u32 off = 0;

	for (__u32 i = 0; i < 128; i++) {
		const char *arg = NULL;
		long n;

		if (i > max_args)
			break;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (off >= EXECSNOOP_ARGS_BYTES) {
			e->flags |= EXECSNOOP_ARGS_TRUNCATED;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[off & (EXECSNOOP_ARGS_BYTES - 1)],
					    EXECSNOOP_ARGS_BYTES, arg);
		if (n <= 0) {
			/* Not paged in yet: say the list is incomplete. */
			e->flags |= EXECSNOOP_ARGS_TRUNCATED;
			break;
		}
		off += n;
		e->args_count++;
	}
	if (off > EXECSNOOP_ARGS_BYTES) {
		off = EXECSNOOP_ARGS_BYTES;
		e->flags |= EXECSNOOP_ARGS_TRUNCATED;
	}
	e->args_size = off;
}

/* Successful exec: the new image's argument block, copied whole. */
static __always_inline void read_new_image_args(struct execsnoop_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = end > start ? end - start : 0;

	if (len > EXECSNOOP_ARGS_BYTES) {
		len = EXECSNOOP_ARGS_BYTES;
		e->flags |= EXECSNOOP_ARGS_TRUNCATED;
	}
	if (len && bpf_probe_read_user(e->args, len, (void *)start))
		len = 0;
	e->args_size = len;
	e->args_count = 0;	/* user space splits the block */
}

static __always_inline int on_exit(long ret)
{
	__u64 key = bpf_get_current_task();
	struct exec_start *start = bpf_map_lookup_elem(&starts, &key);
	struct execsnoop_event *e;
	__u32 zero = 0, size;

	if (!start)
		return 0;
	if (only_failed && ret >= 0)
		goto out;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto out;

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = parent_tgid();
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = 0;
	e->args_count = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (ret == 0)
		read_new_image_args(e);
	else
		read_caller_args(e, start->argv);

	/* The barrier keeps clang from dropping the mask the verifier needs. */
	size = e->args_size;
	barrier_var(size);
	size &= 2 * EXECSNOOP_ARGS_BYTES - 1;
	emit_copy(e, offsetof(struct execsnoop_event, args) + size);
out:
	bpf_map_delete_elem(&starts, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tp_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tp_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tp_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int tp_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

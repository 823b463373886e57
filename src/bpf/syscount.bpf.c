/* syscount, kernel side: syscalls counted at exit, per syscall number in a
 * per-CPU array (no atomics, no hashing on the hot path) or per process in
 * a hash (-P). With -L the entry is timed too; the start time lives in the
 * thread's task-local storage, so the hot path does no hash update.
 *
 * Nothing goes through a ring: user space reads the maps each interval. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#include "common/missed.bpf.h"
#include "syscount.h"

#define X32_SYSCALL_BIT 0x40000000

const volatile bool latency = false;		/* -L */
const volatile bool by_process = false;		/* -P */
const volatile bool only_failed = false;	/* -x */
const volatile __s64 only_errno = 0;		/* -e: ret == -only_errno */
const volatile __s64 only_nr = -1;		/* --syscall */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_MAX_NR);
	__type(key, __u32);
	__type(value, struct syscount_value);
} by_nr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct syscount_proc);
} by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} start SEC(".maps");

static __always_inline long syscall_slot(long id)
{
	/* x32 calls share the numbering with the x32 bit set. */
	return id & ~(long)X32_SYSCALL_BIT;
}

static __always_inline int on_enter(long id)
{
	__u64 *ts;

	if (only_nr >= 0 && syscall_slot(id) != only_nr)
		return 0;
	if (!filter_current())
		return 0;
	ts = bpf_task_storage_get(&start, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

#define NR_EXECVE 59
#define NR_EXECVEAT 322

static __always_inline void count_process(long id, long ret, __u64 ns)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct syscount_proc *p = bpf_map_lookup_elem(&by_pid, &pid);

	if (!p) {
		struct syscount_proc init = {};
		long err;

		bpf_get_current_comm(init.comm, sizeof(init.comm));
		err = bpf_map_update_elem(&by_pid, &pid, &init, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			count_missed();	/* the table is full */
			return;
		}
		p = bpf_map_lookup_elem(&by_pid, &pid);
		if (!p)
			return;
	}
	__sync_fetch_and_add(&p->count, 1);
	if (latency)
		__sync_fetch_and_add(&p->total_ns, ns);
	/* Show the name the process has now, not the one it forked with. */
	if ((id == NR_EXECVE || id == NR_EXECVEAT) && ret == 0)
		bpf_get_current_comm(p->comm, sizeof(p->comm));
}

static __always_inline int on_exit(long id, long ret)
{
	__u32 slot;
	__u64 ns = 0;

	/* -1: a call skipped by seccomp or ptrace, never run. */
	if (id < 0)
		return 0;
	id = syscall_slot(id);
	if (only_nr >= 0 && id != only_nr)
		return 0;
	if (only_failed && ret >= 0)
		return 0;
	if (only_errno && ret != -only_errno)
		return 0;
	if (!filter_current())
		return 0;
	if (latency) {
		__u64 *ts = bpf_task_storage_get(&start, bpf_get_current_task_btf(), 0, 0);

		/* Entered before we attached: no duration, not counted. */
		if (!ts || !*ts)
			return 0;
		ns = bpf_ktime_get_ns() - *ts;
		*ts = 0;
	}
	if (by_process) {
		count_process(id, ret, ns);
		return 0;
	}
	slot = id;
	if (slot < SYSCOUNT_MAX_NR) {
		struct syscount_value *v = bpf_map_lookup_elem(&by_nr, &slot);

		if (v) {
			v->count++;
			v->total_ns += ns;
		}
	}
	return 0;
}

/* BTF-typed raw tracepoints: the arguments as the kernel passes them, no
 * perf record built per call. */
SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	return on_exit(regs->orig_ax, ret);
#else
	return on_exit(regs->syscallno, ret);
#endif
}

/* The classic tracepoints, for kernels without BTF-typed ones. */
SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(ctx->id);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->id, ctx->ret);
}

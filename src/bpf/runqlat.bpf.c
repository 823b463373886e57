/* runqlat, kernel side: how long runnable tasks wait on a run queue.
 *
 * A task's wait starts when it is woken (sched_wakeup, sched_wakeup_new) or
 * when it leaves the CPU still runnable (preempted, at sched_switch), and
 * ends when sched_switch puts it on a CPU. None of these run in the waiting
 * task's context, so filters read the task's own ids. The same bodies serve
 * tp_btf and raw_tp (the `btf` argument, constant once inlined): tp_btf's
 * task pointers are BTF-typed and read with plain loads, raw_tp's with
 * probe-read helpers, which cost ~10 ns per call on these hot hooks. */
#include "common/vmlinux_all.bpf.h"
#include "common/core_fixes.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#include "common/missed.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

/* Histogram key: 0, or the tgid (-P), tid (-L) or pid namespace (--pidnss). */
#define RUNQLAT_BY_NONE 0
#define RUNQLAT_BY_PID 1
#define RUNQLAT_BY_TID 2
#define RUNQLAT_BY_PIDNS 3

const volatile __u32 key_by = RUNQLAT_BY_NONE;
const volatile bool milliseconds = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);	/* tid */
	__type(value, __u64);	/* start of the wait */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} start SEC(".maps");

/* Not preallocated: 10240 histograms would hold 3.8 MiB of kernel memory
 * for the one a plain `runqlat` uses; an entry is made once per key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct runqlat_hist);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hists SEC(".maps");

static const struct runqlat_hist empty_hist;

static __always_inline bool task_wanted(struct task_struct *p)
{
	/* The reads are helper calls the compiler keeps even when no filter
	 * uses them: skip them unless an id filter is set (rodata, so the
	 * verifier drops the whole branch). */
	if ((filter.pid || filter.tid || filter.uid != FILTER_NO_UID) &&
	    !filter_ids(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid), BPF_CORE_READ(p, cred, uid.val)))
		return false;
	if (filter.comm_set) {
		char comm[TASK_COMM_LEN];

		BPF_CORE_READ_INTO(&comm, p, comm);
		if (!comm_matches(comm))
			return false;
	}
	return true;
}

static __always_inline __u32 task_tid(struct task_struct *p, bool btf)
{
	return btf ? p->pid : BPF_CORE_READ(p, pid);
}

static __always_inline unsigned int task_state_of(struct task_struct *p, bool btf)
{
	if (!btf)
		return task_state(p);
	if (bpf_core_field_exists(p->__state))
		return p->__state;
	return ((struct task_struct___pre514 *)p)->state;
}

static __always_inline void wait_starts(struct task_struct *p, bool btf)
{
	__u32 tid = task_tid(p, btf);
	__u64 now;

	/* The idle tasks (pid 0) never wait. */
	if (!tid || !task_wanted(p))
		return;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&start, &tid, &now, BPF_ANY))
		count_missed();
}

/* The pid namespace the task sees itself in (what /proc/PID/ns/pid names). */
static __always_inline __u32 task_pidns(struct task_struct *p)
{
	struct pid *pid = BPF_CORE_READ(p, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	return BPF_CORE_READ(up.ns, ns.inum);
}

static __always_inline void wait_ends(struct task_struct *p, bool btf)
{
	__u32 tid = task_tid(p, btf);
	struct runqlat_hist *h, init = {};
	__u64 *tsp, delta;
	__u32 key = 0;

	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta < 0)
		return;
	delta /= milliseconds ? 1000000 : 1000;

	switch (key_by) {
	case RUNQLAT_BY_PID:
		key = BPF_CORE_READ(p, tgid);
		break;
	case RUNQLAT_BY_TID:
		key = tid;
		break;
	case RUNQLAT_BY_PIDNS:
		key = task_pidns(p);
		break;
	}
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		if (key_by == RUNQLAT_BY_PID || key_by == RUNQLAT_BY_TID)
			BPF_CORE_READ_INTO(&init.comm, p, comm);
		h = map_lookup_or_init(&hists, &key, &init);
		if (!h) {
			count_missed();
			return;
		}
	}
	__sync_fetch_and_add(&h->slots[hist_slot(delta)], 1);
	__sync_fetch_and_add(&h->total, delta);
	__sync_fetch_and_add(&h->count, 1);
}

/* prev is still runnable when it was preempted, or when it had not yet
 * committed to sleep (state back to TASK_RUNNING, e.g. a pending signal). */
static __always_inline void on_switch(bool preempt, struct task_struct *prev,
				      struct task_struct *next, bool btf)
{
	if (preempt || task_state_of(prev, btf) == TASK_RUNNING)
		wait_starts(prev, btf);
	wait_ends(next, btf);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tp_btf_sched_wakeup, struct task_struct *p)
{
	wait_starts(p, true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tp_btf_sched_wakeup_new, struct task_struct *p)
{
	wait_starts(p, true);
	return 0;
}

/* The arguments are (preempt, prev, next[, prev_state since 5.18]); the
 * leading ones are the same everywhere. prev's state is read from the task
 * (core_fixes' task_state) so kernels without prev_state work too. */
SEC("tp_btf/sched_switch")
int BPF_PROG(tp_btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_tp_sched_wakeup, struct task_struct *p)
{
	wait_starts(p, false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_tp_sched_wakeup_new, struct task_struct *p)
{
	wait_starts(p, false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_tp_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, false);
	return 0;
}

/* The common filters (--pid, --tid, --uid, --comm, --cgroup), set by the
 * runtime in rodata before load so the verifier prunes the unused checks. */
#pragma once
#include "common/vmlinux_all.bpf.h"

#define FILTER_NO_UID ((__u32)-1)

struct filter_cfg {
	__u32 pid;	/* thread group id, 0: any */
	__u32 tid;	/* thread id, 0: any */
	__u32 uid;	/* FILTER_NO_UID: any */
	__u8 cgroup;	/* 1: only tasks under cgroup_map[0] */
	__u8 comm_set;	/* 1: only tasks whose comm equals comm */
	char comm[TASK_COMM_LEN];
};

const volatile struct filter_cfg filter = { .uid = FILTER_NO_UID };

/* Index 0 holds the --cgroup directory, written by the runtime after load. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

static __always_inline bool comm_matches(const char *comm)
{
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != filter.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* True when the current task passes every filter the user set. */
static __always_inline bool filter_current(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (filter.pid && (__u32)(pid_tgid >> 32) != filter.pid)
		return false;
	if (filter.tid && (__u32)pid_tgid != filter.tid)
		return false;
	if (filter.uid != FILTER_NO_UID && (__u32)bpf_get_current_uid_gid() != filter.uid)
		return false;
	if (filter.cgroup && bpf_current_task_under_cgroup(&cgroup_map, 0) != 1)
		return false;
	if (filter.comm_set) {
		char comm[TASK_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		if (!comm_matches(comm))
			return false;
	}
	return true;
}

/* For events raised outside the subject's context (interrupts, softirqs):
 * filter on the ids the tool recorded earlier. */
static __always_inline bool filter_ids(__u32 tgid, __u32 tid, __u32 uid)
{
	if (filter.pid && tgid != filter.pid)
		return false;
	if (filter.tid && tid != filter.tid)
		return false;
	if (filter.uid != FILTER_NO_UID && uid != filter.uid)
		return false;
	return true;
}

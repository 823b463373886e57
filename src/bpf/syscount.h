/* syscount's map layouts, shared by syscount.bpf.c and src/tools/syscount.rs
 * (through the skeleton's generated types). */
#pragma once

#define SYSCOUNT_MAX_NR 1024		/* syscall numbers counted per syscall */
#define SYSCOUNT_MAX_PROCS 10240	/* processes counted with -P */
#define SYSCOUNT_COMM_LEN 16

/* Per syscall (a per-CPU array slot) or per process (a hash value). */
struct syscount_value {
	__u64 count;
	__u64 total_ns;		/* -L: time spent in the calls */
};

struct syscount_proc {
	__u64 count;
	__u64 total_ns;
	char comm[SYSCOUNT_COMM_LEN];	/* when the process was first counted */
};

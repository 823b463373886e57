/* The file operations fsslower and fsdist time, shared with Rust through
 * their skeletons' generated types. */
#pragma once

enum fsop {
	FSOP_READ = 0,
	FSOP_WRITE = 1,
	FSOP_OPEN = 2,
	FSOP_FSYNC = 3,
	FSOP_COUNT = 4,
};

#define FSOP_NAME_LEN 128	/* = FD_NAME_LEN */

/* One slow operation (fsslower). */
struct fsslower_event {
	__u64 end_ns;		/* bpf_ktime_get_ns() when it returned */
	__u64 delta_ns;
	__u64 offset;		/* file position at the start, bytes */
	__s64 bytes;		/* bytes read or written; 0 for open/fsync and errors */
	__u32 pid;
	__u32 tid;
	__u32 op;		/* enum fsop */
	__u32 pad;
	char comm[16];
	char file[FSOP_NAME_LEN];
};

/* One latency histogram per operation (fsdist). */
struct fsdist_hist {
	__u64 slots[32];	/* = HIST_SLOTS */
};

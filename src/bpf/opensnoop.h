/* opensnoop's record, shared by opensnoop.bpf.c and src/tools/opensnoop.rs
 * (through the skeleton's generated `types::opensnoop_event`). */
#pragma once

#define OPENSNOOP_PATH_BYTES 512	/* path bytes kept per open, with the NUL */
#define OPENSNOOP_COMM_LEN 16

/* status bits */
#define OPENSNOOP_PATH_CUT 1		/* the path is longer than PATH_BYTES */
#define OPENSNOOP_DIRS 2		/* -F: dir names follow the path (maybe none: "/") */
#define OPENSNOOP_DIRS_CUT 4		/* -F: the directory walk stopped early */

struct opensnoop_event {
	__u64 ts_ns;		/* at return, CLOCK_MONOTONIC (only with -T or --json) */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;		/* fd, or -errno */
	__u32 flags;		/* open flags as the caller gave them */
	__u32 mode;
	__s32 dirfd;		/* AT_FDCWD for open/creat */
	__u16 path_len;		/* bytes of path in buf, with its NUL */
	__u16 dir_len;		/* -F: bytes of directory names after the path */
	__u16 nr;		/* the syscall (open, openat, openat2, creat) */
	__u8 status;
	__u8 pending;		/* unused (the record's layout) */
	__u32 pad;
	char comm[OPENSNOOP_COMM_LEN];
	/* The path (NUL-terminated); with -F and a relative path, then the
	 * names of its directory, leaf first, each NUL-terminated. Only
	 * path_len + dir_len bytes reach the ring. */
	char buf[OPENSNOOP_PATH_BYTES];
};

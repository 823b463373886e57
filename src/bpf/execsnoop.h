/* execsnoop's record, shared by execsnoop.bpf.c and src/tools/execsnoop.rs
 * (through the skeleton's generated `types::execsnoop_event`). */
#pragma once

#define EXECSNOOP_ARGS_BYTES 4096	/* bytes of arguments kept per exec */
#define EXECSNOOP_COMM_LEN 16

/* flags */
#define EXECSNOOP_ARGS_TRUNCATED 1	/* more argument bytes than ARGS_BYTES */

struct execsnoop_event {
	__u32 pid;		/* thread group id after exec */
	__u32 ppid;
	__u32 uid;
	__s32 ret;		/* 0 or -errno */
	__u32 args_size;	/* bytes used in args: NUL-terminated strings */
	__u32 args_count;	/* strings read (failed execs: at most max_args + 1) */
	__u32 flags;
	__u32 pad;
	char comm[EXECSNOOP_COMM_LEN];
	/* Twice the kept size so every bounded read stays in the buffer; only
	 * args_size bytes reach the ring. */
	char args[2 * EXECSNOOP_ARGS_BYTES];
};

/* bashreadline's record, shared by bashreadline.bpf.c and src/tools/bashreadline.rs. */
#pragma once

#define BASHREADLINE_LINE_BYTES 256	/* bytes of a typed line kept, with the NUL */
#define BASHREADLINE_COMM_LEN 16

struct bashreadline_event {
	__u32 pid;
	__u32 uid;
	__s32 line_len;		/* bytes read with the NUL; < 0: unreadable */
	__u32 pad;
	char comm[BASHREADLINE_COMM_LEN];
	char line[BASHREADLINE_LINE_BYTES];
};

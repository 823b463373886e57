/* filetop's map entries, shared with src/tools/filetop.rs. */
#pragma once

#define FILETOP_NAME_LEN 128	/* = FD_NAME_LEN */

struct filetop_key {
	__u32 tid;
	__u32 dev;		/* st_dev of the file */
	__u64 ino;
	__u32 rdev;		/* device nodes: the device they stand for */
	__u32 pad;
};

struct filetop_value {
	__u64 reads;
	__u64 writes;
	__u64 rbytes;
	__u64 wbytes;
	__u32 pid;
	char type;		/* 'R' regular, 'S' socket, 'O' other */
	char pad[3];
	char comm[16];
	char name[FILETOP_NAME_LEN];
};

/* biosnoop's record, shared by biosnoop.bpf.c and src/tools/biosnoop.rs. */
#pragma once

struct biosnoop_event {
	__u64 ts_ns;		/* completion, CLOCK_MONOTONIC */
	__u64 lat_ns;		/* issue to completion */
	__u64 queue_ns;		/* first sight to issue */
	__u64 sector;
	__u32 bytes;
	__u32 pid;		/* issuer */
	__u32 tid;
	__u32 dev;		/* whole disk, kernel dev_t */
	__u32 opflags;		/* see BLK_OP_* and BLK_F_* in common/blk.bpf.h */
	__s32 error;		/* blk_status_t */
	char comm[16];
};

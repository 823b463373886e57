/* Block requests followed from birth to completion, shared by biosnoop,
 * biolatency and bitesize.
 *
 * Completion runs in interrupt context, so who issued a request is recorded
 * when the request is first seen, in the issuer's context: at block_io_start
 * (6.5+: when the request is made from the issuer's bio), else at
 * block_rq_insert, else at block_rq_issue (direct dispatch from the
 * submitter). The common filters are judged there too (filter_current) and
 * the verdict kept with the request.
 *
 * Every program takes a BTF-typed `struct request *` (tp_btf), the same on
 * every kernel since 5.11. Requests are keyed by address in a bounded hash;
 * an entry goes when its request completes, is merged into another, or (for
 * tools that only count issues) is issued. */
#pragma once
#include "common/vmlinux_all.bpf.h"
#include "common/core_fixes.bpf.h"
#include "common/filter.bpf.h"
#include "common/missed.bpf.h"

#ifndef BLK_INFLIGHT_MAX
#define BLK_INFLIGHT_MAX 16384
#endif

/* Our own op and flag codes, stable across kernels (the kernel's REQ_OP_*
 * numbers changed in 6.x); src/runtime/blk.rs decodes them. The encoded
 * value is op | flags << 8. */
#define BLK_OP_READ 0
#define BLK_OP_WRITE 1
#define BLK_OP_FLUSH 2
#define BLK_OP_DISCARD 3
#define BLK_OP_SECURE_ERASE 4
#define BLK_OP_WRITE_ZEROES 5
#define BLK_OP_ZONE_APPEND 6
#define BLK_OP_ZONE_RESET 7
#define BLK_OP_ZONE_RESET_ALL 8
#define BLK_OP_ZONE_OPEN 9
#define BLK_OP_ZONE_CLOSE 10
#define BLK_OP_ZONE_FINISH 11
#define BLK_OP_DRV_IN 12
#define BLK_OP_DRV_OUT 13
#define BLK_OP_OTHER 15

#define BLK_F_SYNC (1u << 0)
#define BLK_F_META (1u << 1)
#define BLK_F_PRIO (1u << 2)
#define BLK_F_NOMERGE (1u << 3)
#define BLK_F_IDLE (1u << 4)
#define BLK_F_INTEGRITY (1u << 5)
#define BLK_F_FUA (1u << 6)
#define BLK_F_PREFLUSH (1u << 7)
#define BLK_F_RAHEAD (1u << 8)
#define BLK_F_BACKGROUND (1u << 9)
#define BLK_F_NOWAIT (1u << 10)

/* Only this device (kernel dev_t), 0: any. A partition is matched on the
 * bio's device, a whole disk on the request's disk. Set by user space. */
const volatile __u32 blk_filter_dev = 0;
const volatile bool blk_filter_is_part = false;

struct blk_rq_info {
	__u64 start_ns;		/* first seen: the start of the queued time */
	__u64 issue_ns;		/* last issue to the driver, 0 before */
	__u64 sector;		/* at issue */
	__u32 bytes;		/* at issue */
	__u32 pid;		/* issuer's thread group */
	__u32 tid;
	__u32 dev;		/* whole disk */
	__u32 wanted;		/* the issuer passed the common filters */
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLK_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, struct blk_rq_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blk_inflight SEC(".maps");

static __always_inline __u32 blk_disk_dev(struct request *rq)
{
	struct gendisk *disk = request_disk(rq);

	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline bool blk_dev_wanted(struct request *rq)
{
	if (!blk_filter_dev)
		return true;
	if (blk_filter_is_part)
		return BPF_CORE_READ(rq, bio, bi_bdev, bd_dev) == blk_filter_dev;
	return blk_disk_dev(rq) == blk_filter_dev;
}

/* A kernel REQ_* flag bit, found by name so renumbering cannot fool us. */
#define BLK_KFLAG(opf, name) \
	(bpf_core_enum_value_exists(enum req_flag_bits, name) && \
	 ((opf) & (1u << bpf_core_enum_value(enum req_flag_bits, name))))

#define BLK_KOP(op, name) \
	(bpf_core_enum_value_exists(enum req_op, name) && (op) == bpf_core_enum_value(enum req_op, name))

static __always_inline __u32 blk_op(__u32 opf)
{
	__u32 op = opf & 0xff;

	/* These numbers have not moved since 4.10. */
	switch (op) {
	case 0: return BLK_OP_READ;
	case 1: return BLK_OP_WRITE;
	case 2: return BLK_OP_FLUSH;
	case 3: return BLK_OP_DISCARD;
	case 5: return BLK_OP_SECURE_ERASE;
	case 9: return BLK_OP_WRITE_ZEROES;
	}
	if (BLK_KOP(op, REQ_OP_ZONE_APPEND))
		return BLK_OP_ZONE_APPEND;
	if (BLK_KOP(op, REQ_OP_ZONE_RESET))
		return BLK_OP_ZONE_RESET;
	if (BLK_KOP(op, REQ_OP_ZONE_RESET_ALL))
		return BLK_OP_ZONE_RESET_ALL;
	if (BLK_KOP(op, REQ_OP_ZONE_OPEN))
		return BLK_OP_ZONE_OPEN;
	if (BLK_KOP(op, REQ_OP_ZONE_CLOSE))
		return BLK_OP_ZONE_CLOSE;
	if (BLK_KOP(op, REQ_OP_ZONE_FINISH))
		return BLK_OP_ZONE_FINISH;
	if (BLK_KOP(op, REQ_OP_DRV_IN))
		return BLK_OP_DRV_IN;
	if (BLK_KOP(op, REQ_OP_DRV_OUT))
		return BLK_OP_DRV_OUT;
	return BLK_OP_OTHER;
}

/* The request's operation and flags in our encoding. */
static __always_inline __u32 blk_opflags(struct request *rq)
{
	__u32 opf = BPF_CORE_READ(rq, cmd_flags);
	__u32 f = 0;

	if (BLK_KFLAG(opf, __REQ_SYNC))
		f |= BLK_F_SYNC;
	if (BLK_KFLAG(opf, __REQ_META))
		f |= BLK_F_META;
	if (BLK_KFLAG(opf, __REQ_PRIO))
		f |= BLK_F_PRIO;
	if (BLK_KFLAG(opf, __REQ_NOMERGE))
		f |= BLK_F_NOMERGE;
	if (BLK_KFLAG(opf, __REQ_IDLE))
		f |= BLK_F_IDLE;
	if (BLK_KFLAG(opf, __REQ_INTEGRITY))
		f |= BLK_F_INTEGRITY;
	if (BLK_KFLAG(opf, __REQ_FUA))
		f |= BLK_F_FUA;
	if (BLK_KFLAG(opf, __REQ_PREFLUSH))
		f |= BLK_F_PREFLUSH;
	if (BLK_KFLAG(opf, __REQ_RAHEAD))
		f |= BLK_F_RAHEAD;
	if (BLK_KFLAG(opf, __REQ_BACKGROUND))
		f |= BLK_F_BACKGROUND;
	if (BLK_KFLAG(opf, __REQ_NOWAIT))
		f |= BLK_F_NOWAIT;
	return blk_op(opf) | f << 8;
}

/* First sight of a request: remember the issuer. `fresh` marks a hook where
 * a request starts a new life (block_io_start), so an entry left from an
 * earlier life of the same address is replaced, not trusted. */
static __always_inline void blk_rq_seen(struct request *rq, bool fresh)
{
	__u64 key = (__u64)rq;
	struct blk_rq_info info = {};
	__u64 id;

	if (!fresh && bpf_map_lookup_elem(&blk_inflight, &key))
		return;
	if (!blk_dev_wanted(rq))
		return;
	id = bpf_get_current_pid_tgid();
	info.start_ns = bpf_ktime_get_ns();
	info.pid = id >> 32;
	info.tid = (__u32)id;
	info.dev = blk_disk_dev(rq);
	info.wanted = filter_current();
	bpf_get_current_comm(info.comm, sizeof(info.comm));
	if (bpf_map_update_elem(&blk_inflight, &key, &info, BPF_ANY))
		count_missed();
}

/* Issue to the driver (again, after a requeue): the device time starts. */
static __always_inline struct blk_rq_info *blk_rq_issued(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct blk_rq_info *info;

	blk_rq_seen(rq, false);
	info = bpf_map_lookup_elem(&blk_inflight, &key);
	if (!info)
		return NULL;
	info->issue_ns = bpf_ktime_get_ns();
	info->sector = BPF_CORE_READ(rq, __sector);
	info->bytes = BPF_CORE_READ(rq, __data_len);
	return info;
}

/* The request's entry when this completion ends it; NULL for a request seen
 * before we started or one only partly done (more completions follow). The
 * caller deletes the entry. */
static __always_inline struct blk_rq_info *blk_rq_completed(struct request *rq, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;

	if (nr_bytes < BPF_CORE_READ(rq, __data_len))
		return NULL;
	return bpf_map_lookup_elem(&blk_inflight, &key);
}

static __always_inline void blk_rq_forget(struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(&blk_inflight, &key);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(blk_io_start, struct request *rq)
{
	blk_rq_seen(rq, true);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(blk_rq_insert, struct request *rq)
{
	blk_rq_seen(rq, false);
	return 0;
}

/* The request merged into another is freed without completing. */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(blk_rq_merge, struct request *rq)
{
	blk_rq_forget(rq);
	return 0;
}

/* The issue hook most tools want; a tool doing more at issue defines
 * BLK_OWN_ISSUE before including this and writes its own blk_rq_issue. */
#ifndef BLK_OWN_ISSUE
SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_rq_issue, struct request *rq)
{
	blk_rq_issued(rq);
	return 0;
}
#endif

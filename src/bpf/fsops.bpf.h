/* The kernel side fsslower and fsdist share: time read, write, open and
 * fsync on one filesystem, by one of three sets of programs (the tool's
 * hook plan loads one set):
 *
 *  - fentry/fexit on the filesystem's own file operations (ext4_file_read_iter,
 *    xfs_file_fsync, ...): the filesystem's time only, as bcc's ext4slower;
 *  - kprobe/kretprobe on the same functions;
 *  - syscall tracepoints (read, write, pread64, pwrite64, readv, writev,
 *    preadv, pwritev, open, openat, openat2, fsync, fdatasync), keeping
 *    those whose file lives on the wanted filesystem (fd -> file ->
 *    superblock): the whole syscall's time, for kernels with neither.
 *
 * The including tool defines fs_op_done(), called once per finished op. */
#pragma once
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/fd.bpf.h"
#include "fsops.h"

/* The filesystem, for the syscall programs (the others are per filesystem). */
const volatile __u64 fs_magic = FD_EXT4_SUPER_MAGIC;
const volatile char fs_name[FD_FSTYPE_LEN] = "ext4";
/* The tool itself: its own writes (ext4slower 0 > file-on-ext4) would feed
 * back into its output forever. */
const volatile __u32 self_tgid = 0;

struct fs_start {
	__u64 ts;
	struct file *file;	/* NULL for a syscall open: known at exit */
	__u64 pos;
	__u32 op;
	__u32 pad;
};

/* In-flight operations by thread: a thread is in at most one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fs_start);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} fs_starts SEC(".maps");

/* Provided by the tool: one finished operation on `file`. */
static __always_inline void fs_op_done(const struct fs_start *s, struct file *file, __s64 ret,
				       __u64 now, __u64 delta_ns);

/* The common filters, and never the tool itself. */
static __always_inline bool fs_wanted(void)
{
	return filter_current() && (bpf_get_current_pid_tgid() >> 32) != self_tgid;
}

static __always_inline int fs_record(__u32 op, struct file *file, __u64 pos)
{
	struct fs_start s = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	s.ts = bpf_ktime_get_ns();
	s.file = file;
	s.pos = pos;
	s.op = op;
	bpf_map_update_elem(&fs_starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int fs_enter(__u32 op, struct file *file, __u64 pos)
{
	return fs_wanted() ? fs_record(op, file, pos) : 0;
}

/* For the syscall programs: whether an op on this file reaches the
 * filesystem's file operations, as the fentry/kprobe programs see them:
 * regular files (and directories for fsync), not device nodes or FIFOs
 * that merely live there, nor O_PATH handles. */
static __always_inline bool fs_syscall_file(struct file *file, __u32 op)
{
	__u16 type;

	if (!file_on_fs(file, fs_magic, fs_name))
		return false;
	if (BPF_CORE_READ(file, f_flags) & FD_O_PATH)
		return false;
	type = file_mode(file) & FD_S_IFMT;
	return type == FD_S_IFREG || (op == FSOP_FSYNC && type == FD_S_IFDIR);
}

/* syscall_open: the file is the fd the syscall returned. */
static __always_inline int fs_exit(__s64 ret, bool syscall_open)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fs_start *s = bpf_map_lookup_elem(&fs_starts, &tid);
	struct file *file;
	__u64 now;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	file = s->file;
	if (syscall_open) {
		file = ret >= 0 ? fd_file(ret) : NULL;
		if (!fs_syscall_file(file, FSOP_OPEN))
			goto out;
	}
	if (file && now >= s->ts)
		fs_op_done(s, file, ret, now, now - s->ts);
out:
	bpf_map_delete_elem(&fs_starts, &tid);
	return 0;
}

/* ---- fentry/fexit and kprobe/kretprobe on one filesystem's functions ---- */

#define FSOPS_FUNC_PROGS(fs, rd, wr, op, sy)                                            \
SEC("fentry/" #rd)                                                                      \
int BPF_PROG(fentry_##fs##_read, struct kiocb *iocb)                                    \
{ return fs_enter(FSOP_READ, BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos)); } \
SEC("fexit/" #rd)                                                                       \
int BPF_PROG(fexit_##fs##_read, struct kiocb *iocb, struct iov_iter *to, long ret)     \
{ return fs_exit(ret, false); }                                                         \
SEC("fentry/" #wr)                                                                      \
int BPF_PROG(fentry_##fs##_write, struct kiocb *iocb)                                   \
{ return fs_enter(FSOP_WRITE, BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos)); } \
SEC("fexit/" #wr)                                                                       \
int BPF_PROG(fexit_##fs##_write, struct kiocb *iocb, struct iov_iter *from, long ret)  \
{ return fs_exit(ret, false); }                                                         \
SEC("fentry/" #op)                                                                      \
int BPF_PROG(fentry_##fs##_open, struct inode *inode, struct file *file)                \
{ return fs_enter(FSOP_OPEN, file, 0); }                                                \
SEC("fexit/" #op)                                                                       \
int BPF_PROG(fexit_##fs##_open, struct inode *inode, struct file *file, int ret)        \
{ return fs_exit(ret, false); }                                                         \
SEC("fentry/" #sy)                                                                      \
int BPF_PROG(fentry_##fs##_fsync, struct file *file, loff_t start)                      \
{ return fs_enter(FSOP_FSYNC, file, start); }                                           \
SEC("fexit/" #sy)                                                                       \
int BPF_PROG(fexit_##fs##_fsync, struct file *file, loff_t start, loff_t end,           \
	     int datasync, int ret)                                                     \
{ return fs_exit(ret, false); }                                                         \
SEC("kprobe/" #rd)                                                                      \
int BPF_KPROBE(kprobe_##fs##_read, struct kiocb *iocb)                                  \
{ return fs_enter(FSOP_READ, BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos)); } \
SEC("kretprobe/" #rd)                                                                   \
int BPF_KRETPROBE(kretprobe_##fs##_read, long ret)                                      \
{ return fs_exit(ret, false); }                                                         \
SEC("kprobe/" #wr)                                                                      \
int BPF_KPROBE(kprobe_##fs##_write, struct kiocb *iocb)                                 \
{ return fs_enter(FSOP_WRITE, BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos)); } \
SEC("kretprobe/" #wr)                                                                   \
int BPF_KRETPROBE(kretprobe_##fs##_write, long ret)                                     \
{ return fs_exit(ret, false); }                                                         \
SEC("kprobe/" #op)                                                                      \
int BPF_KPROBE(kprobe_##fs##_open, struct inode *inode, struct file *file)              \
{ return fs_enter(FSOP_OPEN, file, 0); }                                                \
SEC("kretprobe/" #op)                                                                   \
int BPF_KRETPROBE(kretprobe_##fs##_open, int ret)                                       \
{ return fs_exit(ret, false); }                                                         \
SEC("kprobe/" #sy)                                                                      \
int BPF_KPROBE(kprobe_##fs##_fsync, struct file *file, loff_t start)                    \
{ return fs_enter(FSOP_FSYNC, file, start); }                                           \
SEC("kretprobe/" #sy)                                                                   \
int BPF_KRETPROBE(kretprobe_##fs##_fsync, int ret)                                      \
{ return fs_exit(ret, false); }

FSOPS_FUNC_PROGS(ext4, ext4_file_read_iter, ext4_file_write_iter, ext4_file_open, ext4_sync_file)
FSOPS_FUNC_PROGS(xfs, xfs_file_read_iter, xfs_file_write_iter, xfs_file_open, xfs_file_fsync)
FSOPS_FUNC_PROGS(btrfs, btrfs_file_read_iter, btrfs_file_write_iter, btrfs_file_open, btrfs_sync_file)
FSOPS_FUNC_PROGS(nfs, nfs_file_read, nfs_file_write, nfs_file_open, nfs_file_fsync)

/* ---- syscall tracepoints, filtered by filesystem ---- */

/* read/write family: the file from the fd; the position given, or the
 * file's own for the calls that use it. */
static __always_inline int fs_enter_fd(__u32 op, long fd, bool has_pos, __u64 pos)
{
	struct file *file;

	if (!fs_wanted())
		return 0;
	file = fd_file(fd);
	if (!fs_syscall_file(file, op))
		return 0;
	if (!has_pos)
		pos = BPF_CORE_READ(file, f_pos);
	return fs_record(op, file, pos);
}

#define FSOPS_SYSCALL(name, enter_body, is_open)                                        \
SEC("tracepoint/syscalls/sys_enter_" #name)                                             \
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)                              \
{ enter_body; }                                                                         \
SEC("tracepoint/syscalls/sys_exit_" #name)                                              \
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                                \
{ return fs_exit(ctx->ret, is_open); }

FSOPS_SYSCALL(read, return fs_enter_fd(FSOP_READ, ctx->args[0], false, 0), false)
FSOPS_SYSCALL(write, return fs_enter_fd(FSOP_WRITE, ctx->args[0], false, 0), false)
FSOPS_SYSCALL(readv, return fs_enter_fd(FSOP_READ, ctx->args[0], false, 0), false)
FSOPS_SYSCALL(writev, return fs_enter_fd(FSOP_WRITE, ctx->args[0], false, 0), false)
FSOPS_SYSCALL(pread64, return fs_enter_fd(FSOP_READ, ctx->args[0], true, ctx->args[3]), false)
FSOPS_SYSCALL(pwrite64, return fs_enter_fd(FSOP_WRITE, ctx->args[0], true, ctx->args[3]), false)
FSOPS_SYSCALL(preadv, return fs_enter_fd(FSOP_READ, ctx->args[0], true, ctx->args[3]), false)
FSOPS_SYSCALL(pwritev, return fs_enter_fd(FSOP_WRITE, ctx->args[0], true, ctx->args[3]), false)
FSOPS_SYSCALL(fsync, return fs_enter_fd(FSOP_FSYNC, ctx->args[0], true, 0), false)
FSOPS_SYSCALL(fdatasync, return fs_enter_fd(FSOP_FSYNC, ctx->args[0], true, 0), false)
/* Opens: the filesystem is known only from the fd returned. */
FSOPS_SYSCALL(open, return fs_enter(FSOP_OPEN, NULL, 0), true)
FSOPS_SYSCALL(openat, return fs_enter(FSOP_OPEN, NULL, 0), true)
FSOPS_SYSCALL(openat2, return fs_enter(FSOP_OPEN, NULL, 0), true)

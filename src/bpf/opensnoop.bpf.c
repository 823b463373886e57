/* opensnoop, kernel side: open, openat, openat2 and creat with their path,
 * flags and result.
 *
 * Tracepoints: the path is read at sys_enter into the thread's task-local
 * stash (no hash update per call, no size limit on threads in flight) and
 * sent from sys_exit with the result, only its used bytes. fexit on
 * do_sys_openat2, where the kernel has it, does both in one program.
 * Filters run at entry so a filtered call costs no stash write. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#include "common/path.bpf.h"
#define RINGBUF_BYTES (1024 * 1024)
#include "common/emit.bpf.h"
#include "opensnoop.h"

#define AT_FDCWD -100
#define O_WRONLY_CREAT_TRUNC (01 | 0100 | 01000)	/* what creat() means */
#define O_LARGEFILE_X86 0100000
#define FLAG_WANTS 8

/* -f: a call passes when (flags & mask) == value for any entry. */
struct flag_want {
	__u32 mask;
	__u32 value;
};

/* The tool itself: its own opens (tracefs files while it attaches) are
 * noise, not what the user asked about. */
const volatile __u32 self_tgid = 0;
const volatile bool only_failed = false;	/* -x */
const volatile bool want_ts = false;		/* -T or --json */
const volatile bool full_path = false;		/* -F */
const volatile __u32 n_flag_wants = 0;
const volatile struct flag_want flag_wants[FLAG_WANTS] = {};
const volatile __u32 name_len = 0;		/* -n: comm contains name */
const volatile char name[TASK_COMM_LEN] = {};

/* A call between sys_enter and sys_exit; the user pointer is kept when the
 * path could not be read at entry (a page not yet faulted in) to retry. */
struct stash {
	__u64 upath;
	struct opensnoop_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stash);
} stash SEC(".maps");

/* A record with -F's directory names after the path, or fexit's record. */
struct full_record {
	struct opensnoop_event ev;
	char more[PATH_WALK_BYTES + PATH_NAME_BYTES];
};

SCRATCH_MAP(scratch, struct full_record);

static __always_inline bool flags_wanted(__u32 flags)
{
	for (__u32 i = 0; i < FLAG_WANTS; i++) {
		if (i >= n_flag_wants)
			break;
		if ((flags & flag_wants[i].mask) == flag_wants[i].value)
			return true;
	}
	return false;
}

/* -n: bcc's substring match on the command name, done here so unwanted
 * opens never reach the ring. */
static __always_inline bool comm_contains(const char *comm)
{
	for (__u32 i = 0; i + name_len < TASK_COMM_LEN; i++) {
		bool match = true;

		for (__u32 j = 0; j < TASK_COMM_LEN - 1; j++) {
			if (j >= name_len)
				break;
			if (comm[(i + j) & (TASK_COMM_LEN - 1)] != name[j]) {
				match = false;
				break;
			}
		}
		if (match)
			return true;
		if (!comm[i & (TASK_COMM_LEN - 1)])
			break;
	}
	return false;
}

/* Read the user's path into e->buf; false when it cannot be read now. */
static __always_inline bool read_path(struct opensnoop_event *e, const char *upath)
{
	long n = bpf_probe_read_user_str(e->buf, sizeof(e->buf), upath);
	char next = 0;

	if (n <= 0) {
		e->path_len = 0;
		return false;
	}
	/* A full buffer may hold the whole path exactly or a cut one. */
	if (n == sizeof(e->buf) &&
	    (bpf_probe_read_user(&next, 1, upath + sizeof(e->buf) - 1) || next))
		e->status |= OPENSNOOP_PATH_CUT;
	e->path_len = n;
	return true;
}

/* The identity and arguments of a call that passed the filters; false
 * when -n rejects it or the caller is this tool. */
static __always_inline bool fill_start(struct opensnoop_event *e, __u16 nr, int dirfd,
				       __u32 flags, __u32 mode)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)(id >> 32) == self_tgid)
		return false;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (name_len && !comm_contains(e->comm))
		return false;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = flags;
	e->mode = mode;
	e->dirfd = dirfd;
	e->nr = nr;
	e->status = 0;
	e->dir_len = 0;
	return true;
}

/* 64-bit and clamped after the barrier, so the verifier sees the bound on
 * the very register that is used (a 32-bit copy loses it). */
static __always_inline __u64 bounded_path_len(struct opensnoop_event *e)
{
	__u64 len = e->path_len;

	if (len > OPENSNOOP_PATH_BYTES)
		len = OPENSNOOP_PATH_BYTES;
	barrier_var(len);
	return len;
}

/* -F: append the names of the directory a relative path starts from (the
 * cwd, or dirfd's directory) to f's path, leaf first. */
static __always_inline void add_dir_names(struct full_record *f)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fs_struct *fs = task->fs;
	struct dentry *dentry;
	struct vfsmount *mnt;
	__u64 len = bounded_path_len(&f->ev), n;
	bool complete;

	if (!fs)
		return;
	if (f->ev.dirfd == AT_FDCWD) {
		dentry = BPF_CORE_READ(fs, pwd.dentry);
		mnt = BPF_CORE_READ(fs, pwd.mnt);
	} else {
		struct file *file = task_fd_file(task, f->ev.dirfd);

		if (!file)
			return;
		dentry = BPF_CORE_READ(file, f_path.dentry);
		mnt = BPF_CORE_READ(file, f_path.mnt);
	}
	n = path_dir_names(dentry, mnt, &fs->root, f->ev.buf + len, &complete);
	if (n > PATH_WALK_BYTES)
		n = PATH_WALK_BYTES;
	f->ev.dir_len = n;
	f->ev.status |= OPENSNOOP_DIRS | (complete ? 0 : OPENSNOOP_DIRS_CUT);
}

static __always_inline void emit_full(struct full_record *f)
{
	__u64 len = bounded_path_len(&f->ev);
	__u64 dirs = f->ev.dir_len;

	if (dirs > PATH_WALK_BYTES)
		dirs = PATH_WALK_BYTES;
	barrier_var(dirs);
	emit_copy(f, offsetof(struct opensnoop_event, buf) + len + dirs);
}

static __always_inline bool relative(struct opensnoop_event *e)
{
	return e->path_len > 1 && e->buf[0] != '/';
}

/* The result is known: -x, time, -F, then the ring. `full` is constant in
 * each program: only the -F exit programs carry the directory walk, whose
 * dozen kernel types would otherwise cost every start-up ~20 ms of CO-RE
 * relocation for an option rarely given. */
static __always_inline void finish(struct opensnoop_event *e, long ret, bool full)
{
	e->ret = ret;
	if (want_ts)
		e->ts_ns = bpf_ktime_get_ns();
	if (full && full_path && relative(e)) {
		__u32 zero = 0;
		__u64 len = bounded_path_len(e);
		struct full_record *f = bpf_map_lookup_elem(&scratch, &zero);

		if (!f)
			return;
		if (bpf_probe_read_kernel(f, offsetof(struct opensnoop_event, buf) + len, e))
			return;
		add_dir_names(f);
		emit_full(f);
		return;
	}
	emit_copy(e, offsetof(struct opensnoop_event, buf) + bounded_path_len(e));
}

static __always_inline int on_enter(__u16 nr, int dirfd, const char *upath, __u32 flags, __u32 mode)
{
	struct stash *s;

	if (!filter_current())
		return 0;
	if (n_flag_wants && !flags_wanted(flags))
		return 0;
	s = bpf_task_storage_get(&stash, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	if (!fill_start(&s->ev, nr, dirfd, flags, mode)) {
		s->ev.pending = 0;
		return 0;
	}
	s->upath = read_path(&s->ev, upath) ? 0 : (__u64)upath;
	s->ev.pending = 1;
	return 0;
}

static __always_inline int on_exit(long ret, bool full)
{
	struct stash *s = bpf_task_storage_get(&stash, bpf_get_current_task_btf(), 0, 0);

	if (!s || !s->ev.pending)
		return 0;
	s->ev.pending = 0;
	if (only_failed && ret >= 0)
		return 0;
	/* The kernel has read the path by now, so its page is present. */
	if (s->upath)
		read_path(&s->ev, (const char *)s->upath);
	finish(&s->ev, ret, full);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tp_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(2, AT_FDCWD, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(257, (int)ctx->args[0], (const char *)ctx->args[1], ctx->args[2],
			ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tp_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	/* A bad `how` fails the call with EFAULT; the call is still shown. */
	bpf_probe_read_user(&how, sizeof(how.flags) + sizeof(how.mode), (void *)ctx->args[2]);
	return on_enter(437, (int)ctx->args[0], (const char *)ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int tp_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(85, AT_FDCWD, (const char *)ctx->args[0], O_WRONLY_CREAT_TRUNC,
			ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int tp_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tp_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, false);
}

/* The same with -F. */
SEC("tracepoint/syscalls/sys_exit_open")
int tp_exit_open_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tp_exit_creat_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret, true);
}

/* One program for all four calls, where fexit works: the syscall number
 * comes from the task's saved registers. */
SEC("fexit/do_sys_openat2")
int BPF_PROG(fexit_do_sys_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct full_record *f;
	__u32 zero = 0;
	/* The syscalls add O_LARGEFILE on 64-bit; the tracepoints see the
	 * caller's flags without it, and so should this path. */
	__u32 flags = how->flags & ~O_LARGEFILE_X86;
#if defined(__TARGET_ARCH_x86)
	__u16 nr = BPF_CORE_READ(regs, orig_ax);
#else
	__u16 nr = BPF_CORE_READ(regs, syscallno);
#endif

	if (only_failed && ret >= 0)
		return 0;
	if (!filter_current())
		return 0;
	if (n_flag_wants && !flags_wanted(flags))
		return 0;
	f = bpf_map_lookup_elem(&scratch, &zero);
	if (!f)
		return 0;
	if (!fill_start(&f->ev, nr, dfd, flags, how->mode))
		return 0;
	read_path(&f->ev, filename);
	f->ev.ret = ret;
	if (want_ts)
		f->ev.ts_ns = bpf_ktime_get_ns();
	if (full_path && relative(&f->ev))
		add_dir_names(f);
	emit_full(f);
	return 0;
}

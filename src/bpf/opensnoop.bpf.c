/* opensnoop, kernel side: open, openat, openat2 and creat with their path,
 * flags and result.
 *
 * Tracepoints: one program per call, at sys_exit, which reads the call's
 * arguments from the registers the task entered the kernel with. The
 * sys_enter tracepoints stay off: each enabled syscall tracepoint costs
 * every call of the task a trace record before any program runs, and the
 * path is certainly in memory by the exit (the kernel has just read it).
 * fexit on do_sys_openat2, where the kernel has it, is one program too. */
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

/* The registers a task entered the kernel with, as x86-64 lays them out
 * (struct pt_regs is ABI there), so reading them needs no CO-RE relocation.
 * They keep the syscall's arguments until it returns. */
struct syscall_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax;
};

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

/* A call that passed -x and the common filters: -f, the record, -F, then
 * the ring. Shared by the tracepoint and fexit paths. */
static __always_inline int record_call(__u16 nr, int dirfd, const char *upath, __u32 flags,
				       __u32 mode, long ret, bool full)
{
	struct full_record *f;
	__u32 zero = 0;

	if (n_flag_wants && !flags_wanted(flags))
		return 0;
	f = bpf_map_lookup_elem(&scratch, &zero);
	if (!f)
		return 0;
	if (!fill_start(&f->ev, nr, dirfd, flags, mode))
		return 0;
	read_path(&f->ev, upath);
	f->ev.ret = ret;
	if (want_ts)
		f->ev.ts_ns = bpf_ktime_get_ns();
	if (full && full_path && relative(&f->ev))
		add_dir_names(f);
	emit_full(f);
	return 0;
}

/* One call, at its exit: filters, then the arguments from the saved
 * registers. `nr` and `full` are constant in each program: only the
 * -F programs carry the directory walk, whose dozen kernel types would
 * otherwise cost every start-up CO-RE relocation for an option rarely
 * given. */
static __always_inline int on_exit(__u16 nr, long ret, bool full)
{
	struct syscall_regs *r = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());
	const char *upath;
	int dirfd = AT_FDCWD;
	__u32 flags, mode;

	if (only_failed && ret >= 0)
		return 0;
	if (!filter_current())
		return 0;
	if (nr == 2) {			/* open(path, flags, mode) */
		upath = (const char *)r->di;
		flags = r->si;
		mode = r->dx;
	} else if (nr == 257) {		/* openat(dirfd, path, flags, mode) */
		dirfd = r->di;
		upath = (const char *)r->si;
		flags = r->dx;
		mode = r->r10;
	} else if (nr == 437) {		/* openat2(dirfd, path, how, size) */
		struct open_how how = {};

		/* A bad `how` failed the call with EFAULT; it is still shown. */
		bpf_probe_read_user(&how, sizeof(how.flags) + sizeof(how.mode), (void *)r->dx);
		dirfd = r->di;
		upath = (const char *)r->si;
		flags = how.flags;
		mode = how.mode;
	} else {			/* creat(path, mode) */
		upath = (const char *)r->di;
		flags = O_WRONLY_CREAT_TRUNC;
		mode = r->si;
	}
	return record_call(nr, dirfd, upath, flags, mode, ret, full);
}

SEC("tracepoint/syscalls/sys_exit_open")
int tp_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(2, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(257, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(437, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tp_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(85, ctx->ret, false);
}

/* The same with -F. */
SEC("tracepoint/syscalls/sys_exit_open")
int tp_exit_open_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(2, ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(257, ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(437, ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int tp_exit_creat_full(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(85, ctx->ret, true);
}

/* One program for all four calls, where fexit works: the syscall number
 * comes from the task's saved registers. */
SEC("fexit/do_sys_openat2")
int BPF_PROG(fexit_do_sys_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
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
	return record_call(nr, dfd, filename, flags, how->mode, ret, true);
}

/* filetop, kernel side: reads and writes per thread and file, summed in a
 * hash that user space reads and empties every interval.
 *
 * Three ways in: fexit on vfs_read/vfs_write (file and bytes in one
 * program), kprobe+kretprobe on them, or the read/write syscall
 * tracepoints with the file found from the fd. Bytes are those actually
 * transferred (the return value), not those asked for. */
#include "common/vmlinux_all.bpf.h"
#include "common/filter.bpf.h"
#include "common/maps.bpf.h"
#include "common/fd.bpf.h"
#include "filetop.h"

/* false: regular files only (bcc's default; -a lifts it). */
const volatile bool all_files = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct filetop_key);
	__type(value, struct filetop_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} entries SEC(".maps");

/* Accesses not counted because `entries` was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} full SEC(".maps");

SCRATCH_MAP(scratch, struct filetop_value);

/* A read or write in flight (kprobe and syscall paths). */
struct rw_start {
	struct file *file;
	bool write;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct rw_start);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} starts SEC(".maps");

static __always_inline char file_type(__u16 mode)
{
	if ((mode & FD_S_IFMT) == FD_S_IFREG)
		return 'R';
	if ((mode & FD_S_IFMT) == FD_S_IFSOCK)
		return 'S';
	return 'O';
}

static __always_inline void count_full(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&full, &zero);

	if (n)
		*n += 1;
}

static __always_inline void account(struct file *file, long ret, bool write)
{
	struct filetop_key key = {};
	struct filetop_value *v;
	__u64 pid_tgid;
	__u16 mode;
	__u32 zero = 0;

	if (!file || ret <= 0)
		return;
	mode = file_mode(file);
	if (!all_files && (mode & FD_S_IFMT) != FD_S_IFREG)
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	key.tid = (__u32)pid_tgid;
	key.dev = file_dev(file);
	key.ino = file_ino(file);
	key.rdev = file_rdev(file);
	v = bpf_map_lookup_elem(&entries, &key);
	if (!v) {
		struct filetop_value *init = bpf_map_lookup_elem(&scratch, &zero);
		long err;

		if (!init)
			return;
		__builtin_memset(init, 0, sizeof(*init));
		init->pid = pid_tgid >> 32;
		init->type = file_type(mode);
		bpf_get_current_comm(init->comm, sizeof(init->comm));
		file_dname(file, init->name, sizeof(init->name));
		err = bpf_map_update_elem(&entries, &key, init, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			count_full();
			return;
		}
		v = bpf_map_lookup_elem(&entries, &key);
		if (!v)
			return;
	}
	if (write) {
		__sync_fetch_and_add(&v->writes, 1);
		__sync_fetch_and_add(&v->wbytes, ret);
	} else {
		__sync_fetch_and_add(&v->reads, 1);
		__sync_fetch_and_add(&v->rbytes, ret);
	}
}

/* The caller has applied the filters. */
static __always_inline int start(struct file *file, bool write)
{
	struct rw_start s = { .file = file, .write = write };
	__u32 tid;

	if (!file)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int finish(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rw_start *s = bpf_map_lookup_elem(&starts, &tid);

	if (!s)
		return 0;
	account(s->file, ret, s->write);
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(fexit_vfs_read, struct file *file, char *buf, size_t count, loff_t *pos, long ret)
{
	if (filter_current())
		account(file, ret, false);
	return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(fexit_vfs_write, struct file *file, const char *buf, size_t count, loff_t *pos, long ret)
{
	if (filter_current())
		account(file, ret, true);
	return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(kprobe_vfs_read, struct file *file)
{
	return filter_current() ? start(file, false) : 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(kretprobe_vfs_read, long ret)
{
	return finish(ret);
}

SEC("kprobe/vfs_write")
int BPF_KPROBE(kprobe_vfs_write, struct file *file)
{
	return filter_current() ? start(file, true) : 0;
}

SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(kretprobe_vfs_write, long ret)
{
	return finish(ret);
}

#define FILETOP_SYSCALL(name, write)                                    \
SEC("tracepoint/syscalls/sys_enter_" #name)                             \
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)              \
{ return filter_current() ? start(fd_file(ctx->args[0]), write) : 0; }                       \
SEC("tracepoint/syscalls/sys_exit_" #name)                              \
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                \
{ return finish(ctx->ret); }

FILETOP_SYSCALL(read, false)
FILETOP_SYSCALL(readv, false)
FILETOP_SYSCALL(pread64, false)
FILETOP_SYSCALL(preadv, false)
FILETOP_SYSCALL(write, true)
FILETOP_SYSCALL(writev, true)
FILETOP_SYSCALL(pwrite64, true)
FILETOP_SYSCALL(pwritev, true)

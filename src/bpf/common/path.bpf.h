/* Paths in the kernel, for tools that show where a relative path points:
 * fd -> struct file, and a struct path as directory names up to the task's
 * root (the path as the process sees it, crossing mounts). bpf_d_path() would
 * do this but is refused outside a few fentry/LSM hooks, so the dentries are
 * walked by hand, with CO-RE reads only. */
#pragma once
#include "common/vmlinux_all.bpf.h"

/* Room for the names one walk writes; the caller's buffer must hold
 * PATH_WALK_BYTES + PATH_NAME_BYTES from where the names start. */
#define PATH_WALK_BYTES 1024
#define PATH_NAME_BYTES 256	/* NAME_MAX + NUL */
#define PATH_WALK_DEPTH 40	/* directory levels followed at most */

/* The open file behind `fd` in `task`, or NULL. */
static __always_inline struct file *task_fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/* The kernel's field offsets the walk needs. The caller fills them with
 * CO-RE, so they are relocated only in the programs that walk; the step,
 * a bpf_loop callback, is always relocated with the object, and each type
 * it named would cost every start-up a scan of kernel BTF (~1 ms). */
struct path_walk_offsets {
	__u64 mnt_root;		/* vfsmount.mnt_root */
	__u64 mnt;		/* mount.mnt */
	__u64 mnt_parent;	/* mount.mnt_parent */
	__u64 mnt_mountpoint;	/* mount.mnt_mountpoint */
	__u64 d_parent;		/* dentry.d_parent */
	__u64 d_name_name;	/* dentry.d_name.name */
};

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	char *buf;
	struct path_walk_offsets o;
	__u32 off;
	bool complete;
};

/* A kernel pointer at `base + off`, or NULL when it cannot be read. */
static __always_inline void *path_read_ptr(const void *base, __u64 off)
{
	void *p = NULL;

	if (bpf_probe_read_kernel(&p, sizeof(p), base + off))
		return NULL;
	return p;
}

/* One step up: cross to the parent mount, or write one name and go to the
 * parent directory. 1 stops the walk. */
static long path_walk_step(__u64 i, struct path_walk *w)
{
	struct dentry *dentry = w->dentry, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	__u32 off = w->off;
	long n;

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
		w->complete = true;
		return 1;
	}
	if (dentry == path_read_ptr(vfsmnt, w->o.mnt_root)) {
		/* The top of a mount: continue from where it is mounted. */
		void *m = (void *)vfsmnt - w->o.mnt;
		void *up = path_read_ptr(m, w->o.mnt_parent);

		if (!up || up == m) {	/* the namespace's root (the task is chrooted outside it) */
			w->complete = up == m;
			return 1;
		}
		w->dentry = path_read_ptr(m, w->o.mnt_mountpoint);
		w->vfsmnt = up + w->o.mnt;
		return 0;
	}
	parent = path_read_ptr(dentry, w->o.d_parent);
	if (parent == dentry) {
		w->complete = true;
		return 1;
	}
	if (!parent || off > PATH_WALK_BYTES - PATH_NAME_BYTES)
		return 1;
	n = bpf_probe_read_kernel_str(w->buf + (off & (PATH_WALK_BYTES - 1)), PATH_NAME_BYTES,
				      path_read_ptr(dentry, w->o.d_name_name));
	if (n <= 0)
		return 1;
	w->off = off + n;
	w->dentry = parent;
	return 0;
}

/* Write the names of the directories from (dentry, vfsmnt) up to `root`,
 * leaf first, each NUL-terminated, at buf[0..]. Returns the bytes written;
 * *complete says whether the walk reached the root (false: deeper than
 * PATH_WALK_DEPTH levels or longer than PATH_WALK_BYTES, names cut).
 * bpf_loop (5.17+) keeps verification to one pass over the step. */
static __always_inline __u32 path_dir_names(struct dentry *dentry, struct vfsmount *vfsmnt,
					    const struct path *root, char *buf, bool *complete)
{
	struct path_walk w = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.root_dentry = BPF_CORE_READ(root, dentry),
		.root_mnt = BPF_CORE_READ(root, mnt),
		.buf = buf,
		.o = {
			.mnt_root = bpf_core_field_offset(struct vfsmount, mnt_root),
			.mnt = bpf_core_field_offset(struct mount, mnt),
			.mnt_parent = bpf_core_field_offset(struct mount, mnt_parent),
			.mnt_mountpoint = bpf_core_field_offset(struct mount, mnt_mountpoint),
			.d_parent = bpf_core_field_offset(struct dentry, d_parent),
			.d_name_name = bpf_core_field_offset(struct dentry, d_name) +
				       bpf_core_field_offset(struct qstr, name),
		},
	};

	bpf_loop(PATH_WALK_DEPTH, path_walk_step, &w, 0);
	*complete = w.complete;
	return w.off;
}

/* From a file descriptor to what it names: fd -> struct file -> dentry name,
 * inode, device, superblock magic and filesystem type name.
 * Everything is read with CO-RE, so one object runs on 6.1 and 6.18 (where
 * struct file's f_path and struct dentry's d_name moved into unions: CO-RE
 * matches them by name either way).
 *
 * For syscall tracepoints, which know only the fd: the file is looked up in
 * the current task's descriptor table, as the kernel would, without a
 * reference (the pointer is read, never dereferenced outside probe reads). */
#pragma once
#include "common/vmlinux_all.bpf.h"

/* Longest dentry name kept (NAME_MAX is 255; longer ones are cut). */
#ifndef FD_NAME_LEN
#define FD_NAME_LEN 128
#endif
#define FD_FSTYPE_LEN 16

/* Superblock magics of the filesystems the fs tools know (linux/magic.h). */
#define FD_EXT4_SUPER_MAGIC 0xEF53	/* shared by ext2, ext3, ext4 */
#define FD_XFS_SUPER_MAGIC 0x58465342
#define FD_BTRFS_SUPER_MAGIC 0x9123683E
#define FD_NFS_SUPER_MAGIC 0x6969	/* nfs and nfs4 */

/* File type bits of i_mode (linux/stat.h). */
#define FD_S_IFMT 00170000
#define FD_S_IFSOCK 0140000
#define FD_S_IFREG 0100000
#define FD_S_IFDIR 0040000

#define FD_O_PATH 010000000	/* open flag: a path handle, no file operations */

/* The open file behind fd in the current task, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **arr;
	struct file *f = NULL;
	unsigned int max;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	arr = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]))
		return NULL;
	return f;
}

static __always_inline struct inode *file_inode_of(struct file *f)
{
	return BPF_CORE_READ(f, f_inode);
}

static __always_inline __u64 file_ino(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_ino);
}

/* The device of the filesystem holding the file (st_dev). */
static __always_inline __u32 file_dev(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

/* The device a device node stands for (st_rdev), 0 for other files. */
static __always_inline __u32 file_rdev(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_rdev);
}

static __always_inline __u16 file_mode(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_mode);
}

static __always_inline __u64 file_sb_magic(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_sb, s_magic);
}

/* The filesystem type name ("ext4", "xfs", "nfs4", ...), NUL-terminated. */
static __always_inline long file_fs_type(struct file *f, char *buf, __u32 size)
{
	const char *name = BPF_CORE_READ(f, f_inode, i_sb, s_type, name);

	buf[0] = 0;
	if (!name)
		return 0;
	return bpf_probe_read_kernel_str(buf, size, name);
}

/* Whether the file lives on a filesystem with this magic and, when `name`
 * is non-empty, this type name (ext2/3/4 share one magic). `name` is a
 * FD_FSTYPE_LEN array, typically rodata. */
static __always_inline bool file_on_fs(struct file *f, __u64 magic, const volatile char *name)
{
	char type[FD_FSTYPE_LEN];

	if (!f || file_sb_magic(f) != magic)
		return false;
	if (!name[0])
		return true;
	if (file_fs_type(f, type, sizeof(type)) <= 0)
		return false;
	for (int i = 0; i < FD_FSTYPE_LEN; i++) {
		if (type[i] != name[i])
			return false;
		if (!type[i])
			break;
	}
	return true;
}

static __always_inline struct dentry *file_dentry_of(struct file *f)
{
	return BPF_CORE_READ(f, f_path.dentry);
}

/* A dentry's own name, NUL-terminated; the length read (with the NUL) or < 0. */
static __always_inline long dentry_name(struct dentry *d, char *buf, __u32 size)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);

	buf[0] = 0;
	if (!name)
		return 0;
	return bpf_probe_read_kernel_str(buf, size, name);
}

/* The file's name (its dentry's name, as bcc's fs tools print it). */
static __always_inline long file_dname(struct file *f, char *buf, __u32 size)
{
	return dentry_name(file_dentry_of(f), buf, size);
}

/* 4 KiB O_DIRECT reads walking a block device: every read is one block
 * request, so each op is one event for the block tools. */
#include "wl.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define BLOCK 4096

int main(int argc, char **argv)
{
	unsigned long long size = 0, off = 0;
	struct wl w;
	unsigned long n = 0;
	void *buf;
	int fd;

	wl_init(&w, argc, argv, 1, "BLOCKDEV");
	fd = open(w.argv[0], O_RDONLY | O_DIRECT);
	if (fd < 0)
		wl_die("open");
	if (ioctl(fd, BLKGETSIZE64, &size) || size < BLOCK)
		wl_die("BLKGETSIZE64");
	if (posix_memalign(&buf, BLOCK, BLOCK))
		wl_die("posix_memalign");
	wl_begin(&w);
	while (wl_more(&w, n)) {
		if (pread(fd, buf, BLOCK, off) != BLOCK)
			wl_die("pread");
		off += BLOCK;
		if (off + BLOCK > size)
			off = 0;
		n++;
	}
	wl_report(&w, n);
	return 0;
}

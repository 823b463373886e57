/* vmt-open [-c] [-t] [-d] [-w BYTES] [-r] [-s] [-u] PATH
 * One open with known flags, then optional I/O, for file and block tools:
 *   -c O_CREAT  -t O_TRUNC  -d O_DIRECT (real block I/O, no page cache)
 *   -w write BYTES (4 KiB-aligned buffer)  -r read to EOF  -s fsync  -u unlink
 * Prints "pid=N fd=F" or "pid=N errno=E"; exits 0 only if every step worked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536

int main(int argc, char **argv)
{
	int flags = 0, opt, do_read = 0, do_sync = 0, do_unlink = 0;
	long wbytes = -1;

	while ((opt = getopt(argc, argv, "ctdw:rsu")) != -1) {
		switch (opt) {
		case 'c': flags |= O_CREAT; break;
		case 't': flags |= O_TRUNC; break;
		case 'd': flags |= O_DIRECT; break;
		case 'w': wbytes = strtol(optarg, NULL, 0); break;
		case 'r': do_read = 1; break;
		case 's': do_sync = 1; break;
		case 'u': do_unlink = 1; break;
		default:
			fprintf(stderr, "usage: vmt-open [-c] [-t] [-d] [-w BYTES] [-r] [-s] [-u] PATH\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmt-open: need exactly one PATH\n");
		return 2;
	}
	const char *path = argv[optind];
	flags |= wbytes >= 0 ? (do_read ? O_RDWR : O_WRONLY) : O_RDONLY;

	int fd = open(path, flags, 0644);
	if (fd < 0) {
		printf("pid=%d errno=%d\n", (int)getpid(), errno);
		return 1;
	}
	printf("pid=%d fd=%d\n", (int)getpid(), fd);
	fflush(stdout);

	/* O_DIRECT needs an aligned buffer; 4 KiB covers every block size here. */
	char *buf;
	if (posix_memalign((void **)&buf, 4096, CHUNK))
		return 1;
	memset(buf, 'i', CHUNK);

	for (long left = wbytes; left > 0;) {
		long n = left < CHUNK ? left : CHUNK;
		ssize_t w = write(fd, buf, n);
		if (w <= 0) {
			perror("vmt-open: write");
			return 1;
		}
		left -= w;
	}
	if (do_sync && fsync(fd)) {
		perror("vmt-open: fsync");
		return 1;
	}
	if (do_read) {
		if (wbytes >= 0)
			lseek(fd, 0, SEEK_SET);
		ssize_t r;
		while ((r = read(fd, buf, CHUNK)) > 0)
			;
		if (r < 0) {
			perror("vmt-open: read");
			return 1;
		}
	}
	close(fd);
	if (do_unlink && unlink(path)) {
		perror("vmt-open: unlink");
		return 1;
	}
	return 0;
}

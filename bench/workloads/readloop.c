/* pread() of 64 bytes from a cached file: the cheapest I/O syscall, so any
 * tool hooking read shows its full per-call cost here. */
#include "wl.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	char buf[64];
	struct wl w;
	unsigned long n = 0;
	int fd;

	wl_init(&w, argc, argv, 1, "FILE");
	fd = open(w.argv[0], O_RDONLY);
	if (fd < 0)
		wl_die("open");
	wl_begin(&w);
	while (wl_more(&w, n)) {
		if (pread(fd, buf, sizeof(buf), 0) < 0)
			wl_die("pread");
		n++;
	}
	wl_report(&w, n);
	return 0;
}

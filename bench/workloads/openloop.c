/* open()+close() of one existing file: what opensnoop sees at full rate. */
#include "wl.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	struct wl w;
	unsigned long n = 0;

	wl_init(&w, argc, argv, 1, "FILE");
	wl_begin(&w);
	while (wl_more(&w, n)) {
		int fd = open(w.argv[0], O_RDONLY);

		if (fd < 0)
			wl_die("open");
		close(fd);
		n++;
	}
	wl_report(&w, n);
	return 0;
}

/* vmt-count N GOFILE: a known number of user function calls, for uprobe
 * counting. Prints "pid=N", waits until GOFILE exists (so a tool can be
 * started on this pid first), then makes N calls of vmt_counted() and 2N
 * of vmt_counted_too(), prints "done" and exits. (System calls:
 * vmt-syscalls.) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* noipa: the functions stay real, named calls at -O2. */
__attribute__((noipa)) int vmt_counted(int x) { return x + 1; }
__attribute__((noipa)) int vmt_counted_too(int x) { return x * 2; }

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	volatile int acc = 0;
	int n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: vmt-count N GOFILE\n");
		return 2;
	}
	n = atoi(argv[1]);
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	/* Bounded wait: 60 s. */
	for (i = 0; access(argv[2], F_OK) != 0; i++) {
		if (i > 6000)
			return 3;
		nanosleep(&tick, NULL);
	}
	for (i = 0; i < n; i++)
		acc += vmt_counted(i);
	for (i = 0; i < 2 * n; i++)
		acc += vmt_counted_too(i);
	printf("done\n");
	return 0;
}

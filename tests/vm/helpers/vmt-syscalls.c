/* vmt-syscalls [-w FILE] [-f] N
 * N calls of a syscall nothing else on the guest makes in a loop, for
 * syscount: getppid (always succeeds), or with -f getpgid on a pid above
 * the kernel's limit (always fails with ESRCH).
 *   -w FILE  print the pid first, then wait until FILE exists (so a tracer
 *            can be started with -p on this pid before the calls)
 * Prints "pid=N calls=N"; exits 0 only if every call did what it should. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *wait_for = NULL;
	int fail = 0, opt;

	while ((opt = getopt(argc, argv, "w:f")) != -1) {
		switch (opt) {
		case 'w': wait_for = optarg; break;
		case 'f': fail = 1; break;
		default:
			fprintf(stderr, "usage: vmt-syscalls [-w FILE] [-f] N\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmt-syscalls: need N\n");
		return 2;
	}
	long n = strtol(argv[optind], NULL, 0);

	if (wait_for) {
		printf("pid=%d\n", (int)getpid());
		fflush(stdout);
		/* Bounded: 60 s at most. */
		for (int i = 0; access(wait_for, F_OK) != 0; i++) {
			if (i > 6000) {
				fprintf(stderr, "vmt-syscalls: %s never appeared\n", wait_for);
				return 1;
			}
			usleep(10000);
		}
	}
	for (long i = 0; i < n; i++) {
		if (fail) {
			if (syscall(SYS_getpgid, 0x3ffffff0) != -1 || errno != ESRCH) {
				fprintf(stderr, "vmt-syscalls: getpgid did not fail with ESRCH\n");
				return 1;
			}
		} else {
			syscall(SYS_getppid);
		}
	}
	printf("pid=%d calls=%ld\n", (int)getpid(), n);
	return 0;
}

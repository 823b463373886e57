/* vmt-sched [-g FIFO] [-s SPINNERS] N USEC
 * A process that waits on a run queue a known number of times: pinned to
 * CPU 0 with SPINNERS busy children (also on CPU 0), it sleeps USEC
 * microseconds N times, so each of its N wake-ups waits for a turn, then
 * kills the spinners. With -g it first blocks until FIFO is opened for
 * writing, and reads it to EOF (so a tracer can be started with its pid).
 * Prints "pid=N". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SPINNERS 8

int main(int argc, char **argv)
{
	const char *gate = NULL;
	int spinners = 0, opt;
	pid_t kids[MAX_SPINNERS];

	while ((opt = getopt(argc, argv, "g:s:")) != -1) {
		switch (opt) {
		case 'g': gate = optarg; break;
		case 's': spinners = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind != argc - 2 || spinners < 0 || spinners > MAX_SPINNERS)
		goto usage;
	long n = atol(argv[optind]), usec = atol(argv[optind + 1]);

	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	if (gate) {
		int fd = open(gate, O_RDONLY);	/* blocks until a writer comes */
		char b[64];

		if (fd < 0) {
			perror("vmt-sched: open gate");
			return 1;
		}
		/* Read to EOF: closing early would send the writer SIGPIPE. */
		while (read(fd, b, sizeof(b)) > 0)
			;
		close(fd);
	}

	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("vmt-sched: sched_setaffinity");
		return 1;
	}
	for (int i = 0; i < spinners; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			perror("vmt-sched: fork");
			spinners = i;
			break;
		}
		if (kids[i] == 0) {
			for (volatile unsigned long x = 0;; x++)
				;
		}
	}
	for (long i = 0; i < n; i++)
		usleep(usec);
	for (int i = 0; i < spinners; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
usage:
	fprintf(stderr, "usage: vmt-sched [-g FIFO] [-s SPINNERS] N USEC\n");
	return 2;
}

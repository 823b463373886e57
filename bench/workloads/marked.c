/* Uniquely marked events for the capture measurement:
 *     marked open PREFIX K RATE   open("PREFIX-<i>"), i = 0..K-1 (the path
 *                                 does not exist; the failed open is traced)
 *     marked exec PREFIX K RATE   fork + exec "/bin/true PREFIX-<i>", waited
 * RATE is events per second, 0 for as fast as possible. Prints the usual
 * ops= line. */
#include "wl.h"
#include <fcntl.h>
#include <sys/wait.h>

static void pace(double start, unsigned long i, double rate)
{
	double due = start + i / rate, now = wl_now();

	if (due > now) {
		struct timespec ts = { .tv_sec = (time_t)(due - now) };

		ts.tv_nsec = (long)((due - now - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

static void one_exec(const char *marker)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		wl_die("fork");
	if (pid == 0) {
		/* Copies on the child's own (touched, so present) stack: tools that
		 * read argv at syscall entry would see nothing in pages the fresh
		 * child has not faulted in yet, and that is not what is measured. */
		char name[8] = "true", arg[512];
		char *argv[] = { name, arg, NULL };

		snprintf(arg, sizeof(arg), "%s", marker);
		execv("/bin/true", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		wl_die("waitpid");
}

int main(int argc, char **argv)
{
	char marker[512];
	struct wl w = { 0 };
	unsigned long k, i;
	double rate;
	int exec_mode;

	if (argc != 5 || (strcmp(argv[1], "open") && strcmp(argv[1], "exec"))) {
		fprintf(stderr, "usage: %s open|exec PREFIX K RATE\n", argv[0]);
		return 2;
	}
	exec_mode = !strcmp(argv[1], "exec");
	k = strtoul(argv[3], NULL, 10);
	rate = atof(argv[4]);
	w.count = k;
	wl_begin(&w);
	for (i = 0; i < k; i++) {
		if (rate > 0)
			pace(w.start, i, rate);
		snprintf(marker, sizeof(marker), "%s-%lu", argv[2], i);
		if (exec_mode) {
			one_exec(marker);
		} else {
			int fd = open(marker, O_RDONLY);

			if (fd >= 0)
				close(fd);
		}
	}
	wl_report(&w, k);
	return 0;
}

/* Two processes passing one byte back and forth over pipes: every round
 * trip is two wake-ups and two context switches, what runqlat sees. Both
 * stay on one CPU: across CPUs each wake-up would wait for an idle CPU to
 * come out of its sleep state, and the loop would time that instead. */
#include "wl.h"
#include <sched.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int ping[2], pong[2];
	struct wl w;
	unsigned long n = 0;
	char c = 0;
	pid_t pid;

	wl_init(&w, argc, argv, 0, "");
	{
		cpu_set_t one;
		int cpu = sched_getcpu();

		CPU_ZERO(&one);
		CPU_SET(cpu < 0 ? 0 : cpu, &one);
		/* Inherited by the child. */
		if (sched_setaffinity(0, sizeof(one), &one))
			wl_die("sched_setaffinity");
	}
	if (pipe(ping) || pipe(pong))
		wl_die("pipe");
	pid = fork();
	if (pid < 0)
		wl_die("fork");
	if (pid == 0) {
		/* Echo until the parent closes its end. */
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	wl_begin(&w);
	while (wl_more(&w, n)) {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			wl_die("pipe round trip");
		n++;
	}
	wl_report(&w, n);
	close(ping[1]);
	waitpid(pid, NULL, 0);
	return 0;
}

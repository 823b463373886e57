/* fork() + exec of /bin/true, waited for: what execsnoop sees. */
#include "wl.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct wl w;
	unsigned long n = 0;

	wl_init(&w, argc, argv, 0, "");
	wl_begin(&w);
	while (wl_more(&w, n)) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			wl_die("fork");
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			wl_die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "/bin/true failed\n");
			return 1;
		}
		n++;
	}
	wl_report(&w, n);
	return 0;
}

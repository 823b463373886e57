/* vmt-readline LINE GOFILE: a stand-in for an interactive shell, for
 * bashreadline -s: this static binary has its own readline(), which
 * returns LINE. Prints "pid=N", waits until GOFILE exists, calls readline()
 * once, prints "done". (The guest has no bash.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *the_line;

__attribute__((noipa)) char *readline(const char *prompt)
{
	(void)prompt;
	return strdup(the_line);
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char *got;
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: vmt-readline LINE GOFILE\n");
		return 2;
	}
	the_line = argv[1];
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	for (i = 0; access(argv[2], F_OK) != 0; i++) {
		if (i > 6000)
			return 3;
		nanosleep(&tick, NULL);
	}
	got = readline("$ ");
	printf("done %s\n", got ? "ok" : "null");
	free(got);
	return 0;
}

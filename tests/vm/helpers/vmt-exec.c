/* vmt-exec PATH ARGV0 [ARG...]: print our pid, then execve PATH with exactly
 * the argv given (argv[0] included), so a case controls every byte the tracer
 * sees and can provoke failing execs (missing PATH -> ENOENT). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vmt-exec PATH ARGV0 [ARG...]\n");
		return 2;
	}
	printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
	fflush(stdout);
	execve(argv[1], argv + 2, environ);
	int e = errno;
	printf("errno=%d\n", e);
	fprintf(stderr, "vmt-exec: %s: %s\n", argv[1], strerror(e));
	return 127;
}

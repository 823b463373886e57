/* Exec target with a known name: ignores its arguments, reports who it is.
 * Static, so the guest needs no libc and a shell runs it with a real execve. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
	return 0;
}

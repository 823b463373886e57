/* vmt-spin SECS: burn CPU in vmt_spin_target() for SECS seconds, for
 * sampling profilers. Prints "pid=N" first. */
/* Frame pointers, so the profiler can walk from the target to main. */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noipa)) void vmt_spin_target(time_t end)
{
	while (time(NULL) < end)
		for (int i = 0; i < 1000000; i++)
			sink++;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 10;

	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	vmt_spin_target(time(NULL) + secs);
	return 0;
}

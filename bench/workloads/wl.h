/* Shared by the workload generators. Each runs its loop for `-t SECONDS` or
 * `-n COUNT` and prints one line the harness parses:
 *     ops=N secs=S ops_per_s=R
 * The clock is read every 16 operations so timing costs nothing measurable. */
#pragma once
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct wl {
	double secs;		/* run this long (when count is 0) */
	unsigned long count;	/* or this many operations */
	double start;
	int argc;		/* what is left after the options */
	char **argv;
};

static inline double wl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void wl_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void wl_usage(const char *prog, const char *rest)
{
	fprintf(stderr, "usage: %s (-t SECONDS | -n COUNT) %s\n", prog, rest);
	exit(2);
}

static inline void wl_init(struct wl *w, int argc, char **argv, int nargs, const char *rest)
{
	int opt;

	w->secs = 1.0;
	w->count = 0;
	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		if (opt == 't')
			w->secs = atof(optarg);
		else if (opt == 'n')
			w->count = strtoul(optarg, NULL, 10);
		else
			wl_usage(argv[0], rest);
	}
	w->argc = argc - optind;
	w->argv = argv + optind;
	if (w->argc != nargs)
		wl_usage(argv[0], rest);
}

static inline void wl_begin(struct wl *w)
{
	w->start = wl_now();
}

/* Whether to do another operation after `done` of them. */
static inline int wl_more(const struct wl *w, unsigned long done)
{
	if (w->count)
		return done < w->count;
	if (done % 16)
		return 1;
	return wl_now() - w->start < w->secs;
}

static inline void wl_report(const struct wl *w, unsigned long done)
{
	double secs = wl_now() - w->start;

	printf("ops=%lu secs=%.6f ops_per_s=%.1f\n", done, secs, secs > 0 ? done / secs : 0.0);
}

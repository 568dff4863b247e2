/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bench harness: contenders run alternately (A B A B ...), each round in a
 * fresh child so that its peak RSS (wait4's ru_maxrss) is its own; inside the
 * child a warm-up, then N timed iterations, reported as the median.
 */
#ifndef MEMLENS_BENCH_H
#define MEMLENS_BENCH_H

#include <stdint.h>
#include <stdio.h>

struct contender {
	const char *id;		/* stable: scripts read ratios by it */
	const char *name;
	/* one iteration; returns 0 or -errno */
	int (*run)(void *arg);
	void *arg;
	int iters;		/* timed iterations per round */
};

struct result {
	const char *id;
	const char *name;
	double median_us, min_us, max_us;
	long maxrss_kb;
	int failed;
};

int bench_run(const char *title, struct contender *c, int n, int rounds, struct result *res);
void bench_print(FILE *f, const char *title, const struct result *r, int n, const char *baseline, const char *floor);
/* one bench as an element of all.json's "benches" (a comma before all but the first) */
void bench_json(FILE *f, const char *id, const char *title, const struct result *r, int n);
void bench_json_str(FILE *f, const char *s);
double now_us(void);

#endif

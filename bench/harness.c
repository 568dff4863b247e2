// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* in a child: warm up, time iters, write the median per iteration */
static double one_round(struct contender *c, int *failed, long *maxrss)
{
	int p[2];
	double med = -1;
	pid_t pid;
	struct rusage ru;
	int st;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		double *t = malloc(sizeof(double) * (size_t)c->iters), m;
		int err = c->run(c->arg);	/* warm-up */

		for (int i = 0; i < c->iters && !err; i++) {
			double t0 = now_us();

			err = c->run(c->arg);
			t[i] = now_us() - t0;
		}
		qsort(t, (size_t)c->iters, sizeof(double), cmp_d);
		m = err ? -1 : t[c->iters / 2];
		if (write(p[1], &m, sizeof(m)) != sizeof(m))
			_exit(1);
		_exit(err ? 1 : 0);
	}
	close(p[1]);
	if (read(p[0], &med, sizeof(med)) != sizeof(med))
		med = -1;
	close(p[0]);
	if (wait4(pid, &st, 0, &ru) == pid && ru.ru_maxrss > *maxrss)
		*maxrss = ru.ru_maxrss;
	if (med < 0)
		*failed = 1;
	return med >= 0 ? med : -1;
}

/* BENCH_ONLY=id[,id...] runs only those contenders (to profile one of them) */
static int wanted(const char *id)
{
	const char *only = getenv("BENCH_ONLY"), *p;
	size_t len = strlen(id);

	if (!only || !*only)
		return 1;
	for (p = only; (p = strstr(p, id)); p += len)
		if ((p == only || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return 1;
	return 0;
}

int bench_run(const char *title, struct contender *c, int n, int rounds, struct result *res)
{
	double *m = calloc((size_t)(n * rounds), sizeof(double));

	fprintf(stderr, "bench %s: %d contenders x %d rounds\n", title, n, rounds);
	for (int i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].id = c[i].id;
		res[i].name = c[i].name;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++) {
			if (!wanted(c[i].id)) {
				res[i].failed = 1;	/* left out by BENCH_ONLY */
				continue;
			}
			m[i * rounds + r] = one_round(&c[i], &res[i].failed, &res[i].maxrss_kb);
		}
	for (int i = 0; i < n; i++) {
		double *v = &m[i * rounds];

		qsort(v, (size_t)rounds, sizeof(double), cmp_d);
		res[i].median_us = v[rounds / 2];
		res[i].min_us = v[0];
		res[i].max_us = v[rounds - 1];
	}
	free(m);
	return 0;
}

void bench_print(FILE *f, const char *title, const struct result *r, int n, const char *baseline, const char *floor)
{
	double base = 0, fl = 0;

	for (int i = 0; i < n; i++) {
		if (baseline && !strcmp(r[i].name, baseline))
			base = r[i].median_us;
		if (floor && !strcmp(r[i].name, floor))
			fl = r[i].median_us;
	}
	fprintf(f, "\n%s\n", title);
	fprintf(f, "%-44s %12s %12s %12s %10s %10s %10s\n", "contender", "median us", "min us", "max us", "x baseline",
		"x floor", "maxrss KB");
	for (int i = 0; i < n; i++) {
		if (r[i].failed) {
			fprintf(f, "%-44s %12s\n", r[i].name, "failed");
			continue;
		}
		fprintf(f, "%-44s %12.1f %12.1f %12.1f %10.2f %10.2f %10ld\n", r[i].name, r[i].median_us, r[i].min_us,
			r[i].max_us, base > 0 ? base / r[i].median_us : 0, fl > 0 ? r[i].median_us / fl : 0, r[i].maxrss_kb);
	}
}

void bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void bench_json(FILE *f, const char *id, const char *title, const struct result *r, int n)
{
	static int benches;

	fprintf(f, "%s\n    {\"id\": ", benches++ ? "," : "");
	bench_json_str(f, id);
	fprintf(f, ", \"title\": ");
	bench_json_str(f, title);
	fprintf(f, ", \"results\": [");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s\n      {\"id\": ", i ? "," : "");
		bench_json_str(f, r[i].id);
		fprintf(f, ", \"name\": ");
		bench_json_str(f, r[i].name);
		if (r[i].failed)
			fprintf(f, ", \"failed\": true, \"median_us\": null, \"min_us\": null, \"max_us\": null, \"maxrss_kb\": null}");
		else
			fprintf(f, ", \"failed\": false, \"median_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f, \"maxrss_kb\": %ld}",
				r[i].median_us, r[i].min_us, r[i].max_us, r[i].maxrss_kb);
	}
	fprintf(f, "]}");
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bounded reads of stall.h: the stuck registry and one-file reads. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core.h"
#include "procfs.h"
#include "stall.h"

struct ml_stuck {
	pthread_mutex_t mu;
	unsigned refs;
	size_t n;
	pid_t pid[ML_STUCK_MAX];
	bool slow[ML_STUCK_MAX];
};

struct ml_stuck *ml_stuck_new(void)
{
	struct ml_stuck *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	pthread_mutex_init(&st->mu, NULL);
	st->refs = 1;
	return st;
}

struct ml_stuck *ml_stuck_get(struct ml_stuck *st)
{
	if (st) {
		pthread_mutex_lock(&st->mu);
		st->refs++;
		pthread_mutex_unlock(&st->mu);
	}
	return st;
}

void ml_stuck_put(struct ml_stuck *st)
{
	bool last;

	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	last = --st->refs == 0;
	pthread_mutex_unlock(&st->mu);
	if (last) {
		pthread_mutex_destroy(&st->mu);
		free(st);
	}
}

bool ml_stuck_has(struct ml_stuck *st, pid_t pid)
{
	bool has = false;

	if (!st)
		return false;
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->n && !has; i++)
		has = st->pid[i] == pid;
	pthread_mutex_unlock(&st->mu);
	return has;
}

static void stuck_add(struct ml_stuck *st, pid_t pid, bool slow)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	if (st->n < ML_STUCK_MAX) {
		st->slow[st->n] = slow;
		st->pid[st->n++] = pid;
	}
	pthread_mutex_unlock(&st->mu);
}

void ml_stuck_add(struct ml_stuck *st, pid_t pid) { stuck_add(st, pid, false); }
void ml_stuck_add_slow(struct ml_stuck *st, pid_t pid) { stuck_add(st, pid, true); }

bool ml_stuck_slow(struct ml_stuck *st, pid_t pid)
{
	bool slow = false;

	if (!st)
		return false;
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->n; i++)
		if (st->pid[i] == pid) {
			slow = st->slow[i];
			break;
		}
	pthread_mutex_unlock(&st->mu);
	return slow;
}

void ml_stuck_del(struct ml_stuck *st, pid_t pid)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->n; i++)
		if (st->pid[i] == pid) {
			st->n--;
			st->pid[i] = st->pid[st->n];
			st->slow[i] = st->slow[st->n];
			break;
		}
	pthread_mutex_unlock(&st->mu);
}

uint64_t ml_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the kept reader of a run of reads ---- */

/* shared by the caller and its thread, freed by the last of the two */
struct ml_reader {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a request, its answer, or quit */
	unsigned refs;
	bool have_req, done, abandoned, quit;
	pthread_t t;
	struct ml_stuck *stuck;	/* a reference of its own */
	pid_t pid;
	char path[64];
	char *buf;
	size_t len;
	int err;
};

static void reader_put(struct ml_reader *r)
{
	bool last;

	pthread_mutex_lock(&r->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (!last)
		return;
	free(r->buf);
	ml_stuck_put(r->stuck);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void *reader_run(void *arg)
{
	struct ml_reader *r = arg;
	char path[64], *buf;
	size_t len;
	int err;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->have_req && !r->quit)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->quit)
			break;
		memcpy(path, r->path, sizeof(path));
		pthread_mutex_unlock(&r->mu);
		buf = NULL;
		len = 0;
		err = ml_read_file(path, &buf, &len);
		pthread_mutex_lock(&r->mu);
		r->have_req = false;
		if (r->abandoned) {	/* nobody waits: its process is no longer stuck */
			pthread_mutex_unlock(&r->mu);
			free(buf);
			ml_stuck_del(r->stuck, r->pid);
			reader_put(r);
			return NULL;
		}
		r->buf = buf;
		r->len = len;
		r->err = err;
		r->done = true;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	reader_put(r);
	return NULL;
}

static struct ml_reader *reader_new(struct memlens *ml)
{
	struct ml_reader *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	r->refs = 2;
	r->stuck = ml_stuck_get(ml->stuck);
	/* no signal of the application's is taken by the thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->t, NULL, reader_run, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		r->refs = 1;
		reader_put(r);
		return NULL;
	}
	return r;
}

void ml_reader_begin(struct memlens *ml)
{
	if (ml->threads != 1)
		ml->reader_run++;
}

void ml_reader_end(struct memlens *ml)
{
	struct ml_reader *r = ml->reader;

	if (ml->threads == 1 || !ml->reader_run || --ml->reader_run)
		return;
	ml->reader = NULL;
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->t, NULL);	/* idle: it leaves at once */
	reader_put(r);
}

/* ml_read_bounded() through the kept reader (made if there is none): 0 or -errno */
static int reader_read(struct memlens *ml, pid_t pid, const char *path, char **bufp, size_t *lenp)
{
	struct ml_reader *r = ml->reader;
	struct timespec dl;
	int err;

	if (!r && !(r = ml->reader = reader_new(ml)))
		return -EAGAIN;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ml->stall_ms / 1000;
	dl.tv_nsec += (long)(ml->stall_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->mu);
	strcpy(r->path, path);
	r->pid = pid;
	r->done = false;
	r->have_req = true;
	pthread_cond_broadcast(&r->cv);
	while (!r->done && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
		;
	if (r->done) {
		err = r->err;
		if (!err) {
			*bufp = r->buf;
			*lenp = r->len;
		} else {
			free(r->buf);
		}
		r->buf = NULL;
		r->done = false;
		pthread_mutex_unlock(&r->mu);
		return err;
	}
	/* it stays in the read until the process lets go; the next read gets
	 * a new reader */
	r->abandoned = true;
	ml_stuck_add(ml->stuck, pid);
	pthread_mutex_unlock(&r->mu);
	pthread_detach(r->t);
	ml->reader = NULL;
	reader_put(r);
	return -ETIMEDOUT;
}

int ml_read_bounded(struct memlens *ml, pid_t pid, const char *path, char **bufp, size_t *lenp)
{
	int err;

	if (ml_stuck_has(ml->stuck, pid))
		return -ETIMEDOUT;
	if (ml->threads == 1)	/* no thread of ours: the caller reads, unbounded */
		return ml_read_file(path, bufp, lenp);
	if (strlen(path) >= sizeof(((struct ml_reader *)0)->path))
		return -ENAMETOOLONG;
	if (ml->reader_run)
		return reader_read(ml, pid, path, bufp, lenp);
	/* a read alone: a run of one */
	ml_reader_begin(ml);
	err = reader_read(ml, pid, path, bufp, lenp);
	ml_reader_end(ml);
	return err;
}

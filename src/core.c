// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The helpers of core.h. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "core.h"

bool ml_opts_valid(const void *opts, size_t user_sz, size_t known_sz)
{
	if (user_sz < sizeof(size_t))
		return false;
	for (size_t i = known_sz; i < user_sz; i++)
		if (((const unsigned char *)opts)[i])
			return false;
	return true;
}

void ml_log(struct memlens *ml, enum memlens_print_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!ml || !ml->print)
		return;
	va_start(ap, fmt);
	ml->print(lvl, fmt, ap);
	va_end(ap);
}

void ml_probe_set(struct ml_probe *p, int err, const char *fmt, ...)
{
	va_list ap;

	p->done = true;
	p->err = err > 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

static __thread char libbpf_last[160];

static int libbpf_capture(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char line[160];
	size_t n;

	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strcspn(line, "\n");
	line[n] = 0;
	if (n)
		memcpy(libbpf_last, line, n + 1);
	return 0;
}

void *ml_libbpf_quiet(void)
{
	libbpf_last[0] = 0;
	return (void *)libbpf_set_print(libbpf_capture);
}

void ml_libbpf_restore(void *old)
{
	libbpf_set_print((libbpf_print_fn_t)old);
}

int ml_caps_effective(uint64_t *eff)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	*eff = 0;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

const char *ml_libbpf_last(void)
{
	return libbpf_last;
}

/* ---- arena ---- */
struct ml_arena_blk {
	struct ml_arena_blk *next;
	size_t used, cap;
	char data[];
};

/* blocks grow from 2 KiB to 64 KiB: small sets (a normalization's few VMAs)
 * stay small, big walks do not allocate per name */
#define ML_ARENA_BLK_MIN (2 * 1024)
#define ML_ARENA_BLK_MAX (64 * 1024)

void *ml_arena_alloc(struct ml_arena *a, size_t len, size_t align)
{
	struct ml_arena_blk *b = a->head;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;

	if (!b || at > b->cap || b->cap - at < len) {
		size_t cap = b ? (b->cap * 2 > ML_ARENA_BLK_MAX ? ML_ARENA_BLK_MAX : b->cap * 2) : ML_ARENA_BLK_MIN;

		if (cap < len)
			cap = len;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
		at = 0;
	}
	b->used = at + len;
	return b->data + at;
}

const char *ml_arena_strndup(struct ml_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == 0)
		return "";
	p = ml_arena_alloc(a, len + 1, 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = 0;
	return p;
}

void ml_arena_free(struct ml_arena *a)
{
	struct ml_arena_blk *b = a->head, *n;

	for (; b; b = n) {
		n = b->next;
		free(b);
	}
	a->head = NULL;
}

void *ml_vec_push(void **arr, size_t *n, size_t *cap, size_t elem_size)
{
	char *p;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;

		if (c > SIZE_MAX / elem_size)
			return NULL;
		p = realloc(*arr, c * elem_size);
		if (!p)
			return NULL;
		*arr = p;
		*cap = c;
	}
	p = (char *)*arr + (*n)++ * elem_size;
	memset(p, 0, elem_size);
	return p;
}

/*
 * A helper thread for work split in two (the DMA-BUF fd and mapping walks,
 * the snapshot's processes): only where the caller may run on another CPU,
 * and placed on those other CPUs, since left to the scheduler it is woken on
 * the caller's CPU and waits behind the caller's half (measured here: the
 * two halves then cost their sum).  It takes no signal of the caller's.
 * false: no helper (one CPU, or it could not be made); the caller does all.
 */
bool ml_helper_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	cpu_set_t cpus;
	sigset_t all, old;
	pthread_attr_t attr;
	int cpu = sched_getcpu();
	bool ok = false;

	if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus))
		return false;
	CPU_CLR(cpu, &cpus);
	if (CPU_COUNT(&cpus) == 0 || pthread_attr_init(&attr))
		return false;
	if (pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus) == 0 && sigfillset(&all) == 0 &&
	    pthread_sigmask(SIG_SETMASK, &all, &old) == 0) {
		ok = pthread_create(t, &attr, fn, arg) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_attr_destroy(&attr);
	return ok;
}

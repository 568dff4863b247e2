// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The two shapes of growth memlens diff tells apart (tests/leak.sh):
 *
 *   leaker leak KIB_PER_S
 *	a steady leak: KIB_PER_S KiB of private anonymous memory written each
 *	second, in 64 steps a second on an absolute clock (a late step
 *	catches up), so its PSS at time t after "ready" is KIB_PER_S * t KiB
 *	to within one step; until its region (two minutes of leak) is full.
 *   leaker spike MIB AT_MS HOLD_MS
 *	one spike: AT_MS after "ready", MIB MiB mapped and written at once
 *	(MAP_POPULATE, under one mmap lock), held HOLD_MS, then unmapped: its
 *	PSS grows once and comes back.
 *
 *   leaker hold NAME KIB [FILE]
 *	a process of names anyone may choose: NAME as its comm (the kernel
 *	keeps 15 bytes) and as the name of a memfd of KIB KiB it maps shared
 *	and writes, KIB KiB of anonymous memory written, and FILE (any size)
 *	mapped private and read: one leaf of each kind in a report.
 *
 * All print "ready" when set up, then run until killed.  No THP for the
 * leak (a 2 MiB page at the first touch would be a jump, not a rate), and
 * nothing else of theirs grows: static, no stdio after "ready".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STEPS 64	/* a second */

static void after(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static void ready(void)
{
	fputs("ready\n", stdout);
	fflush(stdout);
}

static int leak(long kib_s)
{
	size_t step = (size_t)kib_s * 1024 / STEPS, len = (size_t)kib_s * 1024 * 120, done = 0;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct timespec t;

	if (p == MAP_FAILED || madvise(p, len, MADV_NOHUGEPAGE)) {
		perror("leaker: mmap");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	ready();
	for (;;) {
		after(&t, 1000000000L / STEPS);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		if (done + step > len)
			pause();
		memset(p + done, 0x5a, step);
		done += step;
	}
}

static int spike(long mib, long at_ms, long hold_ms)
{
	size_t len = (size_t)mib << 20;
	struct timespec t;
	void *p;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ready();
	after(&t, at_ms * 1000000L);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	after(&t, hold_ms * 1000000L);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	munmap(p, len);
	for (;;)
		pause();
}

static int hold(const char *name, long kib, const char *file)
{
	size_t len = (size_t)kib * 1024;
	int fd = memfd_create(name, 0);
	char *shm, *anon;

	prctl(PR_SET_NAME, name);
	if (fd < 0 || ftruncate(fd, (off_t)len)) {
		perror("leaker: memfd");
		return 1;
	}
	shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED || anon == MAP_FAILED) {
		perror("leaker: mmap");
		return 1;
	}
	memset(shm, 0x11, len);
	memset(anon, 0x22, len);
	if (file) {
		struct stat st;
		int ffd = open(file, O_RDONLY);
		volatile const char *m;

		if (ffd < 0 || fstat(ffd, &st) || !st.st_size ||
		    (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, ffd, 0)) == MAP_FAILED) {
			perror("leaker: file");
			return 1;
		}
		for (off_t o = 0; o < st.st_size; o += 4096)
			(void)m[o];
	}
	ready();
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "hold") && atol(argv[3]) > 0)
		return hold(argv[2], atol(argv[3]), argc == 5 ? argv[4] : NULL);
	if (argc == 3 && !strcmp(argv[1], "leak") && atol(argv[2]) >= STEPS / 4)
		return leak(atol(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "spike") && atol(argv[2]) > 0)
		return spike(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: leaker leak KIB_PER_S | leaker spike MIB AT_MS HOLD_MS | leaker hold NAME KIB [FILE]\n");
	return 2;
}

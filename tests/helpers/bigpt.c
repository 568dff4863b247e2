// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bigpt GIB: a process whose smaps_rollup is slow and cheap to make: GIB
 * GiB mapped and faulted in, millions of page-table entries for a page walk
 * on every smaps_rollup read, but little RAM behind them.  Where the kernel
 * maps read faults of anonymous memory to the shared zero page, a private
 * read-only mapping of GIB GiB read page by page (no THP: one PTE each),
 * as an operator's sparse array would; where it allocates instead (some
 * kernels do), one 64 MiB memfd mapped GIB * 16 times, populated.  Prints
 * "ready zero" or "ready memfd", then waits to be killed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static unsigned long rss_anon_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lu", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static volatile char *read_faulted(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long sum = 0;

	if (p == MAP_FAILED)
		return NULL;
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	if (madvise((void *)p, len, MADV_POPULATE_READ))
		for (size_t off = 0; off < len; off += (size_t)page)
			sum += p[off];
	return sum ? NULL : p;
}

int main(int argc, char **argv)
{
	double gib = argc > 1 ? atof(argv[1]) : 1;
	size_t chunk = 64UL << 20, before = rss_anon_kb();
	volatile char *probe = read_faulted(chunk);
	int fd;

	if (!probe) {
		perror("mmap");
		return 1;
	}
	if (rss_anon_kb() - before < 8192) {	/* zero page: no RAM for 64 MiB read */
		munmap((void *)probe, chunk);
		if (!read_faulted((size_t)(gib * (1UL << 30)))) {
			perror("mmap");
			return 1;
		}
		printf("ready zero\n");
	} else {
		munmap((void *)probe, chunk);
		fd = memfd_create("bigpt", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)chunk)) {
			perror("memfd");
			return 1;
		}
		for (size_t i = 0; i < (size_t)(gib * 16); i++)
			if (mmap(NULL, chunk, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
				perror("mmap");
				return 1;
			}
		printf("ready memfd\n");
	}
	fflush(stdout);
	for (;;)
		pause();
}

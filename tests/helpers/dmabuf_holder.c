// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test helper: holds DMA-BUFs of known sizes for the exporter's test.
 *   dmabuf_holder [--fork|--two-tables] NAME PAGES...
 * One buffer per PAGES argument (the system dma-heap, else udmabuf), each
 * named NAME, the first also mapped; --fork: a child holds the same fds
 * (every buffer shared by two processes); --two-tables: a thread of this
 * process unshares its fd table (every buffer held by two fd tables and, the
 * first, a mapping: all of one process).  Prints "exporter E", "pid P" for
 * itself and the child, "bytes B" (the sum), then "ready", and sleeps until
 * killed (the child dies with it).  Exit 77: no DMA-BUF exporter here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *own_table(void *arg)
{
	(void)arg;
	if (unshare(CLONE_FILES))
		perror("dmabuf_holder: unshare");
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	long pg = sysconf(_SC_PAGESIZE);
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC), udma = -1, i = 1;
	unsigned long long bytes = 0;
	bool do_fork = argc > 1 && !strcmp(argv[1], "--fork");
	bool two_tables = argc > 1 && !strcmp(argv[1], "--two-tables");
	const char *name;

	i += do_fork || two_tables;
	if (argc < i + 2) {
		fprintf(stderr, "usage: dmabuf_holder [--fork|--two-tables] NAME PAGES...\n");
		return 2;
	}
	name = argv[i++];
	if (heap < 0)
		udma = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (heap < 0 && udma < 0)
		return 77;
	printf("exporter %s\n", heap >= 0 ? "system" : "udmabuf");
	for (int first = 1; i < argc; i++, first = 0) {
		long pages = atol(argv[i]);
		int fd;

		if (heap >= 0) {
			struct dma_heap_allocation_data d = { .len = (__u64)(pages * pg), .fd_flags = O_RDWR | O_CLOEXEC };

			fd = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -1 : (int)d.fd;
		} else {
			int memfd = memfd_create(name, MFD_ALLOW_SEALING);
			struct udmabuf_create c = { .memfd = (__u32)memfd, .flags = UDMABUF_FLAGS_CLOEXEC,
						    .size = (__u64)(pages * pg) };

			if (memfd < 0 || ftruncate(memfd, pages * pg) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
				return 1;
			fd = ioctl(udma, UDMABUF_CREATE, &c);
			close(memfd);
		}
		if (fd < 0 || ioctl(fd, DMA_BUF_SET_NAME_B, name)) {
			perror("dmabuf_holder");
			return 1;
		}
		if (first && mmap(NULL, (size_t)(pages * pg), PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) {
			perror("dmabuf_holder: mmap");
			return 1;
		}
		bytes += (unsigned long long)(pages * pg);
	}
	printf("pid %d\n", (int)getpid());
	if (do_fork) {
		pid_t c;

		fflush(stdout);
		c = fork();
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		printf("pid %d\n", (int)c);
	}
	if (two_tables) {
		pthread_t t;

		if (pthread_create(&t, NULL, own_table, NULL))
			return 1;
		usleep(100000);	/* its table unshared before "ready" */
	}
	printf("bytes %llu\nready\n", bytes);
	fflush(stdout);
	for (;;)
		pause();
}

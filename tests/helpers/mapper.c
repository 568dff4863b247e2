// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test helper: builds known mappings, prints what it built (one "key value"
 * per line, then "ready"), and waits until its stdin closes.
 *   mapper [--dir DIR] [--vmas N] [--files N] [--children N] [--map FILE] [--comm C]
 * --files N: N more files (in DIR), each mapped twice: many distinct paths,
 * each in two VMAs (and in each child's)
 * Keys: file, ro_shared_file (r--s: read-only open, MAP_SHARED), deleted, memfd, shm, anon_named (or anon_named_unsupported),
 * space_file, nl_file, hugetlb (or hugetlb_unsupported), many_base, many_count,
 * with the start address in hex and, for files, the path and inode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static long pg;

static void die(const char *what)
{
	fprintf(stderr, "mapper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* a file of 4 pages, mapped from its second page */
static void *map_file(const char *path, int prot, int flags)
{
	char buf[4096];
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	memset(buf, 'm', sizeof(buf));
	for (int i = 0; i < 4; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("write");
	/* shared and read-only through a read-only open: VM_MAYSHARE without
	 * VM_SHARED, which maps prints as "r--s" */
	if ((flags & MAP_SHARED) && !(prot & PROT_WRITE)) {
		close(fd);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
	}
	p = mmap(NULL, 2 * pg, prot, flags, fd, pg);
	if (p == MAP_FAILED)
		die("mmap file");
	fstat(fd, &st);
	close(fd);
	/* the path last, '\n' written as maps writes it */
	printf("%lx %lu ", (unsigned long)p, (unsigned long)st.st_ino);
	for (const char *c = path; *c; c++)
		if (*c == '\n')
			fputs("\\012", stdout);
		else
			putchar(*c);
	putchar('\n');
	return p;
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	long nvmas = 0, children = 0, nfiles = 0;
	const char *extra = NULL;	/* an existing file to map too */
	char path[512];
	void *p;
	int fd;

	pg = sysconf(_SC_PAGESIZE);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--vmas") && i + 1 < argc)
			nvmas = atol(argv[++i]);
		else if (!strcmp(argv[i], "--files") && i + 1 < argc)
			nfiles = atol(argv[++i]);
		else if (!strcmp(argv[i], "--children") && i + 1 < argc)
			children = atol(argv[++i]);
		else if (!strcmp(argv[i], "--map") && i + 1 < argc)
			extra = argv[++i];
		else if (!strcmp(argv[i], "--comm") && i + 1 < argc)
			prctl(PR_SET_NAME, argv[++i]);	/* any bytes, as any process may choose */
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (extra) {
		fd = open(extra, O_RDONLY);
		p = fd < 0 ? MAP_FAILED : mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			die(extra);
		printf("extra %lx\n", (unsigned long)p);
		close(fd);
	}
	printf("file ");
	snprintf(path, sizeof(path), "%s/mapper-file.bin", dir);
	map_file(path, PROT_READ, MAP_PRIVATE);

	printf("ro_shared_file ");
	snprintf(path, sizeof(path), "%s/mapper-ro-shared.bin", dir);
	map_file(path, PROT_READ, MAP_SHARED);

	printf("deleted ");
	snprintf(path, sizeof(path), "%s/mapper-deleted.bin", dir);
	map_file(path, PROT_READ | PROT_WRITE, MAP_SHARED);
	unlink(path);

	printf("space_file ");
	snprintf(path, sizeof(path), "%s/mapper with  spaces.bin", dir);
	map_file(path, PROT_READ, MAP_PRIVATE);

	printf("nl_file ");
	snprintf(path, sizeof(path), "%s/mapper\nnewline.bin", dir);
	map_file(path, PROT_READ | PROT_EXEC, MAP_PRIVATE);

	fd = memfd_create("mapper-memfd", 0);
	if (fd < 0 || ftruncate(fd, 3 * pg))
		die("memfd");
	p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	memset(p, 1, 3 * pg);
	printf("memfd %lx\n", (unsigned long)p);

	p = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap shared anon");
	printf("shm %lx\n", (unsigned long)p);

	p = mmap(NULL, 7 * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap anon");
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, 7 * pg, (unsigned long)"mapper name") == 0)
		printf("anon_named %lx\n", (unsigned long)p);
	else
		printf("anon_named_unsupported %lx %s\n", (unsigned long)p, strerror(errno));

	p = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p != MAP_FAILED) {
		memset(p, 1, 1);
		printf("hugetlb %lx\n", (unsigned long)p);
	} else {
		printf("hugetlb_unsupported 0 %s\n", strerror(errno));
	}

	if (nvmas > 0) {
		/* alternate protections so the kernel cannot merge neighbours */
		char *base = mmap(NULL, (size_t)nvmas * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (base == MAP_FAILED)
			die("mmap many");
		for (long i = 1; i < nvmas; i += 2)
			if (mprotect(base + i * pg, pg, PROT_READ | PROT_WRITE))
				die("mprotect");
		printf("many_base %lx\nmany_count %ld\n", (unsigned long)base, nvmas);
	}
	for (long i = 0; i < nfiles; i++) {
		/* names of different lengths, so records straddle the reads' ends */
		snprintf(path, sizeof(path), "%s/mapper-f%ld-%.*s.bin", dir, i, (int)(i % 97),
			 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 2 * pg))
			die(path);
		for (int k = 0; k < 2; k++)
			if (mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, k * pg) == MAP_FAILED)
				die("mmap files");
		close(fd);
	}
	if (nfiles)
		printf("files %ld\n", nfiles);
	/* a [heap] even when malloc does not use brk (ASan's allocator) */
	p = sbrk(pg);
	if (p != (void *)-1)
		memset(p, 1, pg);
	printf("main %lx\n", (unsigned long)&main);
	/* children share the memfd, shared anonymous and file mappings; they
	 * exit with the parent (their stdin is the parent's) */
	for (long i = 0; i < children; i++) {
		pid_t c = fork();

		if (c == 0) {
			while (read(0, path, sizeof(path)) > 0)
				;
			_exit(0);
		}
		printf("child %d\n", (int)c);
	}
	printf("ready\n");
	/* wait for the test to close our stdin */
	while (read(0, path, sizeof(path)) > 0)
		;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test helper, linked statically so that no library page is shared with
 * anything else on the machine: its Pss depends only on itself and its child.
 *   sharer FILE PARENT_PAGES CHILD_PAGES [ARGS...]
 * Maps FILE MAP_SHARED, touches PARENT_PAGES of it, forks a child that touches
 * CHILD_PAGES, prints "parent PID" and "child PID", and both wait until
 * stdin closes.  ARGS only make the command line longer (CMDLINE tests).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	volatile char *m;
	long pg = sysconf(_SC_PAGESIZE), np, nc;
	char c;
	int fd;
	pid_t kid;

	if (argc < 4)
		return 2;
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		return 1;
	np = atol(argv[2]);
	nc = atol(argv[3]);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 1;
	for (long i = 0; i < np && i * pg < st.st_size; i++)
		m[i * pg] = 1;
	fflush(stdout);
	kid = fork();
	if (kid < 0)
		return 1;
	if (kid == 0) {
		for (long i = 0; i < nc && i * pg < st.st_size; i++)
			c = m[i * pg];
		(void)c;
		printf("child %d\n", (int)getpid());
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	usleep(200000);
	printf("parent %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	waitpid(kid, NULL, 0);
	return 0;
}

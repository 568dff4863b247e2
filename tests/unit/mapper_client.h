/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Start tests/helpers/mapper and read what it built. */
#ifndef MAPPER_CLIENT_H
#define MAPPER_CLIENT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct mapper {
	pid_t pid;
	int in_fd;	/* close to let it exit */
	int n;
	struct {
		char key[32];
		unsigned long addr;
		unsigned long ino;
		char path[512];
		char rest[128];
	} e[32];
};

static const char *mapper_bin(void)
{
	static char path[4096];
	const char *d = getenv("MEMLENS_BUILD");

	snprintf(path, sizeof(path), "%s/tests/mapper", d ? d : "build");
	return path;
}

static int mapper_start(struct mapper *m, const char *const *args)
{
	int in[2], out[2];
	char line[1024];
	FILE *f;

	memset(m, 0, sizeof(*m));
	if (pipe(in) || pipe(out))
		return -1;
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		const char *argv[16] = { mapper_bin() };
		int i = 1;

		for (; args && args[i - 1] && i < 15; i++)
			argv[i] = args[i - 1];
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	m->in_fd = in[1];
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "ready")) {
			fclose(f);
			return 0;
		}
		if (m->n < 32) {
			char *sp = strchr(line, ' ');

			if (!sp)
				continue;
			*sp = 0;
			snprintf(m->e[m->n].key, sizeof(m->e[m->n].key), "%s", line);
			snprintf(m->e[m->n].rest, sizeof(m->e[m->n].rest), "%s", sp + 1);
			m->e[m->n].addr = strtoul(sp + 1, &sp, 16);
			if (*sp == ' ') {
				m->e[m->n].ino = strtoul(sp + 1, &sp, 10);
				if (*sp == ' ')
					snprintf(m->e[m->n].path, sizeof(m->e[m->n].path), "%s", sp + 1);
			}
			m->n++;
		}
	}
	if (f)
		fclose(f);
	return -1;
}

static int mapper_find(const struct mapper *m, const char *key)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].key, key))
			return i;
	return -1;
}

static void mapper_stop(struct mapper *m)
{
	if (m->pid <= 0)
		return;
	close(m->in_fd);
	waitpid(m->pid, NULL, 0);
	m->pid = 0;
}

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Small readers of /proc: whole files, small files, stat, comm, the pid walk. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "procfs.h"

int ml_read_file_fd(int fd, char **bufp, size_t *lenp)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		free(buf);
		return -errno;
	}
	for (;;) {
		if (cap - len < 4096) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		len += n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int ml_open_proc(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT && !strncmp(path, "/proc/", 6) ? -ESRCH : -errno;
	return fd;
}

int ml_read_file(const char *path, char **buf, size_t *len)
{
	int fd = ml_open_proc(path), err;

	if (fd < 0)
		return fd;
	err = ml_read_file_fd(fd, buf, len);
	close(fd);
	return err;
}

int ml_read_small(const char *path, char *buf, size_t len)
{
	int fd = ml_open_proc(path);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int ml_proc_stat(pid_t pid, struct ml_proc_stat *st)
{
	char path[64], buf[1024];

	int err;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	memset(st, 0, sizeof(*st));
	err = ml_read_small(path, buf, sizeof(buf));
	if (ml_err_ours(err))
		return err;	/* not the process's: no fd left */
	if (err || !buf[0])
		return -ESRCH;
	return ml_proc_stat_parse(buf, st);
}

int ml_status_uid_parse(const char *buf, uint32_t *uid)
{
	const char *p = strstr(buf, "\nUid:");
	unsigned long long real, eff;
	char *e;

	*uid = UINT32_MAX;
	if (!p)
		return -EPROTO;
	p += 5;
	errno = 0;
	real = strtoull(p, &e, 10);
	if (e == p || (*e != '\t' && *e != ' '))
		return -EPROTO;
	p = e;
	eff = strtoull(p, &e, 10);
	if (e == p || errno || real > UINT32_MAX || eff >= UINT32_MAX)
		return -EPROTO;
	*uid = (uint32_t)eff;
	return 0;
}

/* "\nKEY:\t   N kB" -> N * 1024; false if absent or not that */
static bool status_kb(const char *buf, const char *key, uint64_t *out)
{
	const char *p = strstr(buf, key);
	unsigned long long v;
	char *e;

	if (!p)
		return false;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoull(p, &e, 10);
	if (errno || strncmp(e, " kB\n", 4) || v > UINT64_MAX / 1024)
		return false;
	*out = v * 1024;
	return true;
}

int ml_status_counters_parse(const char *buf, struct ml_counters *c)
{
	memset(c, 0, sizeof(*c));
	/* Name is escaped by the kernel (no newline of the process's own), so
	 * a line start is the kernel's; RssShmem and VmSwap since 4.5 and 2.6.34 */
	if (!status_kb(buf, "\nVmSize:", &c->vss) || !status_kb(buf, "\nVmRSS:", &c->rss) ||
	    !status_kb(buf, "\nRssAnon:", &c->anon) || !status_kb(buf, "\nRssFile:", &c->file) ||
	    !status_kb(buf, "\nRssShmem:", &c->shmem) || !status_kb(buf, "\nVmSwap:", &c->swap)) {
		memset(c, 0, sizeof(*c));	/* refused: nothing half-filled */
		return -EPROTO;
	}
	return 0;
}

int ml_proc_counters(pid_t pid, struct ml_counters *c)
{
	char path[64], buf[16384];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	memset(c, 0, sizeof(*c));
	err = ml_read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	if (!buf[0])
		return -ESRCH;
	return ml_status_counters_parse(buf, c);
}

int ml_proc_uid(pid_t pid, uint32_t *uid)
{
	char path[64], buf[4096];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	*uid = UINT32_MAX;
	err = ml_read_small(path, buf, sizeof(buf));
	if (err)
		return err;
	if (!buf[0])
		return -ESRCH;
	return ml_status_uid_parse(buf, uid);
}

int ml_proc_stat_parse(const char *buf, struct ml_proc_stat *st)
{
	const char *p;

	memset(st, 0, sizeof(*st));
	/* "pid (comm) S ppid pgrp session tty tpgid flags ... starttime(22)":
	 * comm may hold ')', so the fields start after the last one */
	const char *c = strchr(buf, '(');

	p = strrchr(buf, ')');
	if (!p || !c || c > p ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu %llu",
		   &st->state, &st->flags, &st->start_time, &st->vsize) != 4) {
		memset(st, 0, sizeof(*st));
		return -EPROTO;
	}
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(p - c - 1 < 15 ? p - c - 1 : 15), c + 1);
	return 0;
}

int ml_statm_parse(const char *buf, uint64_t *pages)
{
	char *e;

	errno = 0;
	*pages = strtoull(buf, &e, 10);
	return e == buf || errno || (*e != ' ' && *e != '\n' && *e) ? -EPROTO : 0;
}

int ml_pid_gone(pid_t pid)
{
	struct ml_proc_stat st;
	int err = ml_proc_stat(pid, &st);

	if (err == -ESRCH)
		return 1;
	return !err && (st.state == 'Z' || st.state == 'X');
}

bool ml_pid_is_kthread(pid_t pid)
{
	struct ml_proc_stat st;

	return ml_proc_stat(pid, &st) == 0 && (st.flags & 0x00200000);	/* PF_KTHREAD */
}

void ml_proc_comm(pid_t pid, char comm[16])
{
	char path[64], buf[64];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = 0;
	if (ml_read_small(path, buf, sizeof(buf)))
		return;
	/* "%s\n" of task->comm, which may itself hold newlines: only the last goes */
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	snprintf(comm, 16, "%.15s", buf);
}

int ml_open_maps(pid_t pid, int *fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	*fd = ml_open_proc(path);
	return *fd < 0 ? *fd : 0;
}

pid_t ml_parse_pid(const char *name)
{
	long v = 0;

	if (*name < '1' || *name > '9')
		return 0;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || v > 0x3fffffff)
			return 0;
		v = v * 10 + (*name - '0');
	}
	return (pid_t)v;
}

int ml_pids_open(struct ml_pids *it)
{
	it->d = opendir("/proc");
	return it->d ? 0 : -errno;
}

pid_t ml_pids_next(struct ml_pids *it)
{
	struct dirent *de;
	pid_t pid;

	while (it->d && (de = readdir(it->d)))
		if ((pid = ml_parse_pid(de->d_name)) > 0)
			return pid;
	return 0;
}

void ml_pids_close(struct ml_pids *it)
{
	if (it->d)
		closedir(it->d);
	it->d = NULL;
}

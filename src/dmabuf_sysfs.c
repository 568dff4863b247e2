// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /sys/kernel/dmabuf/buffers/<ino>/{size,exporter_name}: CONFIG_DMABUF_SYSFS_STATS,
 * deprecated and removed in 7.0; the last fallback for the system-wide list.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "dmabuf_raw.h"
#include "procfs.h"

static int read_small(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int ml_dmabuf_sysfs_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw)
{
	DIR *d = opendir("/sys/kernel/dmabuf/buffers");
	struct dirent *de;
	char val[64];

	(void)ml;
	(void)pin_dir;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct ml_dbuf *b;
		char *e;
		uint64_t ino = strtoull(de->d_name, &e, 10);
		int dfd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *e)
			continue;
		dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;	/* freed while we looked */
		b = ML_VEC_PUSH(raw->bufs, raw->nbufs, raw->capbufs);
		if (!b) {
			close(dfd);
			closedir(d);
			return -ENOMEM;
		}
		b->ino = ino;
		if (read_small(dfd, "size", val, sizeof(val)) == 0)
			b->size = strtoull(val, NULL, 10);
		if (read_small(dfd, "exporter_name", val, sizeof(val)) == 0)
			snprintf(b->exp, sizeof(b->exp), "%.31s", val);
		close(dfd);
	}
	closedir(d);
	raw->system_list = "sysfs";
	return 0;
}

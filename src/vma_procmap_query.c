// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * PROCMAP_QUERY ioctl on /proc/<pid>/maps (Linux 6.11+): binary point
 * queries address -> VMA, with name and ELF build ID on request (trusted
 * from 6.12).  A whole walk is a chain of covering-or-next queries from 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "probes.h"
#include "procfs.h"
#include "source.h"
#include "uapi/procmap_query.h"
#include "vma_procmap_query.h"

#define PQ_NAME_MAX ML_PQ_NAME_MAX

static int pq_ioctl(int fd, uint64_t addr, uint32_t flags, bool want_bid, struct memlens_vma *v, char *name,
		    size_t name_size, size_t *name_len)
{
	struct procmap_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = flags & 0x3f;	/* the kernel's flags use our values */
	q.query_addr = addr;
	q.vma_name_addr = (uintptr_t)name;
	q.vma_name_size = (uint32_t)name_size;
	if (want_bid) {
		q.build_id_addr = (uintptr_t)v->build_id;
		q.build_id_size = MEMLENS_BUILD_ID_MAX;
	}
	if (ioctl(fd, PROCMAP_QUERY, &q) < 0)
		return -errno;
	v->start = q.vma_start;
	v->end = q.vma_end;
	v->flags = (uint32_t)q.vma_flags & (MEMLENS_VMA_READ | MEMLENS_VMA_WRITE | MEMLENS_VMA_EXEC | MEMLENS_VMA_SHARED);
	v->page_size = (uint32_t)q.vma_page_size;
	v->offset = q.vma_offset;
	v->inode = q.inode;
	v->dev_major = q.dev_major;
	v->dev_minor = q.dev_minor;
	v->build_id_size = want_bid ? q.build_id_size : 0;
	v->build_id_err = 0;
	*name_len = q.vma_name_size ? strnlen(name, q.vma_name_size) : 0;
	return 0;
}

int ml_procmap_query_vma(int maps_fd, uint64_t addr, struct memlens_vma *v, char *name, size_t name_size,
			 size_t *name_len)
{
	return pq_ioctl(maps_fd, addr, 0, false, v, name, name_size, name_len);
}

int ml_procmap_query_probe(struct memlens *ml, struct ml_probe *p)
{
	struct memlens_vma v;
	char *name;
	size_t len;
	int fd, err;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ml_probe_set(p, -errno, "cannot open /proc/self/maps: %s", strerror(errno));
		return p->err;
	}
	name = malloc(PQ_NAME_MAX);
	if (!name) {
		close(fd);
		ml_probe_set(p, -ENOMEM, "out of memory");
		return p->err;
	}
	memset(&v, 0, sizeof(v));
	err = pq_ioctl(fd, (uintptr_t)&ml_procmap_query_probe, 0, false, &v, name, PQ_NAME_MAX, &len);
	free(name);
	close(fd);
	if (err == -ENOTTY)
		ml_probe_set(p, err, "kernel %s has no PROCMAP_QUERY ioctl (needs 6.11+)", ml->release);
	else if (err)
		ml_probe_set(p, err, "PROCMAP_QUERY on /proc/self/maps failed: %s", strerror(-err));
	else
		ml_probe_set(p, 0, "PROCMAP_QUERY ioctl works (kernel %s)", ml->release);
	return err;
}

static int pq_query(const struct ml_vma_req *r, uint64_t addr, uint32_t flags, struct memlens_vma *v, char *name,
		    size_t name_size, size_t *name_len)
{
	int err;

	v->pid = r->pid;
	err = pq_ioctl(r->maps_fd, addr, flags, r->kernel_bid, v, name, name_size, name_len);
	/* no mm (a kernel thread, or a zombie): nothing is mapped, as the other
	 * sources say; a process that is gone stays ESRCH */
	if (err == -ESRCH && !ml_pid_gone(r->pid))
		err = -ENOENT;
	return err;
}

static int pq_walk(const struct ml_vma_req *r, struct memlens_vma_set *set)
{
	char *name = malloc(PQ_NAME_MAX);
	struct memlens_vma v;
	uint64_t addr = 0;
	size_t len;
	int err;

	if (!name)
		return -ENOMEM;
	memset(&v, 0, sizeof(v));
	for (;;) {
		err = pq_query(r, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &v, name, PQ_NAME_MAX, &len);
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err)
			break;
		err = ml_set_push_path(set, &v, name, len);
		if (err || v.end <= addr)
			break;
		addr = v.end;
	}
	free(name);
	return err;
}

const struct ml_source ml_src_procmap_query = {
	.id = MEMLENS_SOURCE_PROCMAP_QUERY,
	.name = "ioctl",
	.iface = MEMLENS_IFACE_PROCMAP_QUERY,
	.also = MEMLENS_IFACE_PROCMAP_BUILD_ID,
	.caps = ML_CAP_VMA_BUILD_ID,
	/* one process: a point query per VMA beats loading a BPF program */
	/* one ioctl per VMA: cheapest where a job touches few VMAs, the dearest
	 * way to list them all */
	.cost = { [MEMLENS_JOB_QUERY] = "one ioctl per VMA the addresses touch, not a read of every VMA (3244 addresses in 5 VMAs: 11-26x cheaper than reading maps)" },
	.vma = { .walk = pq_walk, .query = pq_query },
};

/* build IDs the kernel reads with each VMA: this source's, from 6.12 */
const struct ml_source ml_src_build_id_kernel = {
	.id = MEMLENS_SOURCE_BUILD_ID_KERNEL,
	.name = "procmap_query",
	.iface = MEMLENS_IFACE_PROCMAP_BUILD_ID,
	.also = -1,
	.caps = ML_CAP_WITH_VMA,
};

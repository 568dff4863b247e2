// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loading memlens's BPF programs: light skeleton first, regular one as the fallback. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf_prog.h"
#include "task_vma.skel.h"
#include "task_vma.lskel.h"
#include "dmabuf.skel.h"
#include "dmabuf.lskel.h"
#include "task_file.skel.h"
#include "task_file.lskel.h"
#include "task_vma_dmabuf.skel.h"
#include "task_vma_dmabuf.lskel.h"

/* task_vma reads the page size from .rodata and its walk controls from .bss */
#define TASK_VMA_SETUP(s) ((s)->rodata->page_size = (uint32_t)ml->page_size)
#define TASK_VMA_CTL(s) (&(s)->bss->walk_ctl)
#define NO_SETUP(s) ((void)(s))
#define NO_CTL(s) ((struct ml_walk_ctl *)NULL)

/* one loader per skeleton kind and program: open, set up, load, take the fd */
#define LOADERS(name, prog, setup, ctl)                                                         \
	static void name##_light_destroy(void *s) { name##_lskel__destroy(s); }                  \
	static void name##_regular_destroy(void *s) { name##_bpf__destroy(s); }                  \
	static int name##_light(struct memlens *ml, struct ml_prog_loaded *p)                    \
	{                                                                                       \
		struct name##_lskel *s = name##_lskel__open();                                  \
		int err;                                                                        \
                                                                                                \
		(void)ml;                                                                       \
		if (!s)                                                                         \
			return -ENOMEM;                                                         \
		setup(s);                                                                       \
		err = name##_lskel__load(s);                                                    \
		if (err) {                                                                      \
			name##_lskel__destroy(s);                                               \
			return err < 0 ? err : -EINVAL;                                         \
		}                                                                               \
		p->fd = s->progs.prog.prog_fd;                                                  \
		p->walk_ctl = ctl(s);                                                             \
		p->skel = s;                                                                    \
		p->destroy = name##_light_destroy;                                              \
		return 0;                                                                       \
	}                                                                                       \
	static int name##_regular(struct memlens *ml, struct ml_prog_loaded *p)                  \
	{                                                                                       \
		struct name##_bpf *s = name##_bpf__open();                                      \
		int err;                                                                        \
                                                                                                \
		(void)ml;                                                                       \
		if (!s)                                                                         \
			return -errno;                                                          \
		setup(s);                                                                       \
		err = name##_bpf__load(s);                                                      \
		if (err) {                                                                      \
			name##_bpf__destroy(s);                                                 \
			return err;                                                             \
		}                                                                               \
		p->fd = bpf_program__fd(s->progs.prog);                                         \
		p->walk_ctl = ctl(s);                                                             \
		p->skel = s;                                                                    \
		p->destroy = name##_regular_destroy;                                            \
		return 0;                                                                       \
	}

LOADERS(task_vma, memlens_task_vma, TASK_VMA_SETUP, TASK_VMA_CTL)
LOADERS(dmabuf, memlens_dmabuf, NO_SETUP, NO_CTL)
LOADERS(task_file, memlens_dmabuf_fds, NO_SETUP, NO_CTL)
LOADERS(task_vma_dmabuf, memlens_dmabuf_maps, NO_SETUP, NO_CTL)

static const struct {
	int (*light)(struct memlens *ml, struct ml_prog_loaded *p);
	int (*regular)(struct memlens *ml, struct ml_prog_loaded *p);
} loaders[ML_PROG_MAX] = {
	[ML_PROG_TASK_VMA] = { task_vma_light, task_vma_regular },
	[ML_PROG_DMABUF] = { dmabuf_light, dmabuf_regular },
	[ML_PROG_TASK_FILE] = { task_file_light, task_file_regular },
	[ML_PROG_TASK_VMA_DMABUF] = { task_vma_dmabuf_light, task_vma_dmabuf_regular },
};

static pthread_mutex_t regular_lock = PTHREAD_MUTEX_INITIALIZER;

int ml_prog_load(struct memlens *ml, enum ml_prog id, struct ml_prog_loaded *out)
{
	const char *only = getenv("MEMLENS_BPF_SKELETON");
	bool light_ok = !only || strcmp(only, "regular"), regular_ok = !only || strcmp(only, "light");
	int err = -EOPNOTSUPP, lerr = 0;
	void *old;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (light_ok) {
		lerr = loaders[id].light(ml, out);
		if (!lerr) {
			out->light = true;
			snprintf(out->how, sizeof(out->how), "light skeleton: the kernel relocated it");
			return 0;
		}
		err = lerr;
		/* no privilege is no privilege for the regular skeleton either */
		if (lerr == -EPERM || lerr == -EACCES)
			return err;
	}
	if (!regular_ok)
		return err;
	/* libbpf's print callback and the captured message are process-wide:
	 * one regular load at a time (the DMA-BUF walks load from two threads) */
	pthread_mutex_lock(&regular_lock);
	old = ml_libbpf_quiet();
	err = loaders[id].regular(ml, out);
	ml_libbpf_restore(old);
	pthread_mutex_unlock(&regular_lock);
	if (!err)
		snprintf(out->how, sizeof(out->how), "regular skeleton: %s%s",
			 light_ok ? "the kernel could not run the light loader, " : "MEMLENS_BPF_SKELETON=regular",
			 light_ok ? strerror(-lerr) : "");
	return err;
}

void ml_prog_unload(struct ml_prog_loaded *p)
{
	if (p->skel)
		p->destroy(p->skel);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

int ml_prog_iter_link(const struct ml_prog_loaded *p, pid_t pid)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	union bpf_iter_link_info linfo;
	int fd;

	if (pid > 0) {
		memset(&linfo, 0, sizeof(linfo));
		linfo.task.pid = (uint32_t)pid;
		opts.iter_info = &linfo;
		opts.iter_info_len = sizeof(linfo);
	}
	fd = bpf_link_create(p->fd, 0, BPF_TRACE_ITER, &opts);
	return fd < 0 ? -errno : fd;
}

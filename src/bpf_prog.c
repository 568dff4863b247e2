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
#include <linux/capability.h>
#include "task_vma.skel.h"
#include "task_vma.lskel.h"
#include "task_vma_nopath.skel.h"
#include "task_vma_nopath.lskel.h"
#include "dmabuf.skel.h"
#include "dmabuf.lskel.h"
#include "task_file.skel.h"
#include "task_file.lskel.h"
#include "task_vma_dmabuf.skel.h"
#include "task_vma_dmabuf.lskel.h"
#include "task_mm.skel.h"
#include "task_mm.lskel.h"
#include "task_mm_procs.skel.h"
#include "task_mm_procs.lskel.h"

static const char *const prog_names[ML_PROG_MAX] = {
	[ML_PROG_TASK_VMA] = "task_vma",
	[ML_PROG_TASK_VMA_NOPATH] = "task_vma_nopath",
	[ML_PROG_DMABUF] = "dmabuf",
	[ML_PROG_TASK_FILE] = "task_file",
	[ML_PROG_TASK_VMA_DMABUF] = "task_vma_dmabuf",
	[ML_PROG_TASK_MM] = "task_mm",
	[ML_PROG_TASK_MM_PROCS] = "task_mm_procs",
};

const char *ml_prog_name(enum ml_prog id)
{
	return (unsigned)id < ML_PROG_MAX ? prog_names[id] : "?";
}

/* MEMLENS_TEST_BPF_REFUSE=NAME: the tests' way to have the verifier refuse
 * a program (a branch it otherwise prunes as dead code) */
static uint32_t test_refuse(enum ml_prog id)
{
	const char *e = getenv("MEMLENS_TEST_BPF_REFUSE");

	return e && !strcmp(e, prog_names[id]);
}

/* the possible CPUs (libbpf reads /sys/devices/system/cpu/possible); 1
 * when unknown: the counts then lack the other CPUs' parts, never more */
static uint32_t ml_possible_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? (uint32_t)n : 1;
}

/* task_vma reads the page size from .rodata and its walk controls from .bss */
#define TASK_VMA_SETUP(s) ((s)->rodata->page_size = (uint32_t)ml->page_size, \
			   (s)->rodata->test_refuse = test_refuse(ML_PROG_TASK_VMA))
#define TASK_VMA_NOPATH_SETUP(s) ((s)->rodata->page_size = (uint32_t)ml->page_size, \
				  (s)->rodata->test_refuse = test_refuse(ML_PROG_TASK_VMA_NOPATH))
#define TASK_VMA_CTL(s) (&(s)->bss->walk_ctl)
/* task_mm sums each counter's per-CPU parts over the possible CPUs */
#define TASK_MM_SETUP(s) ((s)->rodata->nr_cpus = ml_possible_cpus())
/* task_mm_procs' records map holds ml->task_mm_cap of them (0: the
 * object's own size, as a load not through counters_bpf_iter.c has it) */
static void procs_cap_l(struct task_mm_procs_lskel *s, uint32_t cap)
{
	if (cap)
		s->maps.recs.max_entries = cap;
}
static void procs_cap_r(struct task_mm_procs_bpf *s, uint32_t cap)
{
	if (cap)
		bpf_map__set_max_entries(s->maps.recs, cap);
}
#define TASK_MM_PROCS_SETUP(s) (TASK_MM_SETUP(s), \
				_Generic((s), struct task_mm_procs_lskel *: procs_cap_l, default: procs_cap_r)((s), ml->task_mm_cap))
#define NO_SETUP(s) ((void)(s))
#define NO_CTL(s) ((struct ml_walk_ctl *)NULL)
/* the paths map's fd, for emptying it */
#define TASK_VMA_PATHS_L(s) ((s)->maps.paths.map_fd)
#define TASK_VMA_PATHS_R(s) (bpf_map__fd((s)->maps.paths))
#define TASK_MM_RECS_L(s) ((s)->maps.recs.map_fd)
#define TASK_MM_RECS_R(s) (bpf_map__fd((s)->maps.recs))
#define NO_MAP(s) (-1)

/* one loader per skeleton kind and program: open, set up, load, take the fd */
#define LOADERS(name, prog, setup, ctl, paths_l, paths_r)                                                         \
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
		p->map_fd = paths_l(s);                                                       \
		p->skel = s;                                                                    \
		p->destroy = name##_light_destroy;                                              \
		return 0;                                                                       \
	}                                                                                       \
	static int name##_regular(struct memlens *ml, struct ml_prog_loaded *p, char *log,       \
				  size_t log_size)                                                      \
	{                                                                                       \
		/* libbpf loads again with a log into ours when the first load fails */         \
		LIBBPF_OPTS(bpf_object_open_opts, oo, .kernel_log_buf = log,                    \
			    .kernel_log_size = log_size);                                       \
		struct name##_bpf *s = name##_bpf__open_opts(log ? &oo : NULL);                 \
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
		p->map_fd = paths_r(s);                                                       \
		p->skel = s;                                                                    \
		p->destroy = name##_regular_destroy;                                            \
		return 0;                                                                       \
	}

LOADERS(task_vma, memlens_task_vma, TASK_VMA_SETUP, TASK_VMA_CTL, TASK_VMA_PATHS_L, TASK_VMA_PATHS_R)
LOADERS(task_vma_nopath, memlens_task_vma, TASK_VMA_NOPATH_SETUP, TASK_VMA_CTL, NO_MAP, NO_MAP)
LOADERS(dmabuf, memlens_dmabuf, NO_SETUP, NO_CTL, NO_MAP, NO_MAP)
LOADERS(task_file, memlens_dmabuf_fds, NO_SETUP, NO_CTL, NO_MAP, NO_MAP)
LOADERS(task_vma_dmabuf, memlens_dmabuf_maps, NO_SETUP, NO_CTL, NO_MAP, NO_MAP)
LOADERS(task_mm, memlens_task_mm, TASK_MM_SETUP, NO_CTL, NO_MAP, NO_MAP)
LOADERS(task_mm_procs, memlens_task_mm, TASK_MM_PROCS_SETUP, NO_CTL, TASK_MM_RECS_L, TASK_MM_RECS_R)

static const struct {
	int (*light)(struct memlens *ml, struct ml_prog_loaded *p);
	int (*regular)(struct memlens *ml, struct ml_prog_loaded *p, char *log, size_t log_size);
} loaders[ML_PROG_MAX] = {
	[ML_PROG_TASK_VMA] = { task_vma_light, task_vma_regular },
	[ML_PROG_TASK_VMA_NOPATH] = { task_vma_nopath_light, task_vma_nopath_regular },
	[ML_PROG_DMABUF] = { dmabuf_light, dmabuf_regular },
	[ML_PROG_TASK_FILE] = { task_file_light, task_file_regular },
	[ML_PROG_TASK_VMA_DMABUF] = { task_vma_dmabuf_light, task_vma_dmabuf_regular },
	[ML_PROG_TASK_MM] = { task_mm_light, task_mm_regular },
	[ML_PROG_TASK_MM_PROCS] = { task_mm_procs_light, task_mm_procs_regular },
};

static pthread_mutex_t regular_lock = PTHREAD_MUTEX_INITIALIZER;

bool ml_bpf_caps(char *missing, size_t len)
{
	uint64_t eff;
	int err = ml_caps_effective(&eff);
	bool bpf, perfmon;

	if (err) {
		snprintf(missing, len, "capget: %s", strerror(-err));
		return false;
	}
	if (ML_CAP(eff, CAP_SYS_ADMIN))
		return true;
	bpf = ML_CAP(eff, CAP_BPF);
	perfmon = ML_CAP(eff, CAP_PERFMON);
	snprintf(missing, len, "%s%s%s", bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "", perfmon ? "" : "CAP_PERFMON");
	return bpf && perfmon;
}

/* the verifier's reason: the log's last line that is not its statistics */
static void log_reason(const char *log, char *out, size_t len)
{
	const char *end = log + strnlen(log, ML_PROG_LOG), *s, *e;

	out[0] = 0;
	while (end > log) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		for (s = end; s > log && s[-1] != '\n'; s--)
			;
		e = end;
		end = s;
		if (e == s || !strncmp(s, "processed ", 10) || !strncmp(s, "verification time", 17) ||
		    !strncmp(s, "stack depth", 11) || !strncmp(s, "-- END", 6))
			continue;
		snprintf(out, len, "%.*s", (int)(e - s), s);
		return;
	}
}

void ml_prog_refusal(struct memlens *ml, enum ml_prog id, int err, const struct ml_prog_loaded *p, char *out,
		     size_t len)
{
	char missing[64], why[200];

	if (err == -ENOMEM) {
		snprintf(out, len, "out of memory");
		return;
	}
	if (!ml_bpf_caps(missing, sizeof(missing))) {
		snprintf(out, len, "loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): %s not held", missing);
		return;
	}
	log_reason(p->log, why, sizeof(why));
	if (why[0]) {
		snprintf(out, len, "the kernel's verifier refused %s: %s", prog_names[id], why);
		return;
	}
	if (err == -EPERM || err == -EACCES)
		snprintf(out, len, "the kernel refused %s (%s) with CAP_BPF and CAP_PERFMON held, and gave no verifier log: "
			 "kernel lockdown or an LSM?", prog_names[id], strerror(-err));
	else
		snprintf(out, len, "%s failed to load: %s%s%s", prog_names[id], strerror(-err),
			 ml_libbpf_last()[0] ? ": " : "", ml_libbpf_last());
	(void)ml;
}

void ml_prog_log_tail(struct memlens *ml, const struct ml_prog_loaded *p, int lines)
{
	const char *end = p->log + strnlen(p->log, ML_PROG_LOG), *s = end;

	if (s == p->log)
		return;
	while (s > p->log && lines >= 0)
		if (*--s == '\n' && s + 1 < end)
			lines--;
	ml_log(ml, MEMLENS_DEBUG, "the verifier's log, its end:\n%s%s", s == p->log ? "" : "...", s);
	if (end[-1] != '\n')
		ml_log(ml, MEMLENS_DEBUG, "\n");
}

/* errors that are the verifier's (or privilege's): a load with a log says which */
static bool refused(int err)
{
	return err == -EACCES || err == -EPERM || err == -EINVAL || err == -E2BIG || err == -ENOSPC;
}

/* the end of a log, from a line's start, into out (ML_PROG_LOG bytes) */
static void keep_tail(const char *log, char *out)
{
	size_t n = strnlen(log, ML_PROG_LOG_READ);
	const char *s = log;

	if (n >= ML_PROG_LOG) {
		s = log + n - (ML_PROG_LOG - 1);
		while (*s && *s != '\n')
			s++;
		s += *s == '\n';
	}
	snprintf(out, ML_PROG_LOG, "%s", s);
}

int ml_prog_load(struct memlens *ml, enum ml_prog id, struct ml_prog_loaded *out)
{
	const char *only = getenv("MEMLENS_BPF_SKELETON");
	bool light_ok = !only || strcmp(only, "regular"), regular_ok = !only || strcmp(only, "light");
	int err = -EOPNOTSUPP, lerr = 0;
	char *log = NULL;
	void *old;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->map_fd = -1;
	if (light_ok) {
		lerr = loaders[id].light(ml, out);
		if (!lerr) {
			out->light = true;
			snprintf(out->how, sizeof(out->how), "light skeleton: the kernel relocated it");
			return 0;
		}
		err = lerr;
		if (refused(lerr)) {
			char missing[64];

			/* no privilege is no privilege for the regular skeleton either */
			if (!ml_bpf_caps(missing, sizeof(missing)))
				return err;
			/* refused with the privilege: the regular skeleton
			 * loads it again, and its second try keeps the
			 * verifier's log (the light loader's own log holds only
			 * the loader's); a log only ever on failure: it costs
			 * every load it is asked for */
			log = calloc(1, ML_PROG_LOG_READ);
		}
	}
	if (!regular_ok) {
		free(log);
		return err;
	}
	/* libbpf's print callback and the captured message are process-wide:
	 * one regular load at a time (the DMA-BUF walks load from two threads) */
	pthread_mutex_lock(&regular_lock);
	old = ml_libbpf_quiet();
	err = loaders[id].regular(ml, out, log, log ? ML_PROG_LOG_READ : 0);
	ml_libbpf_restore(old);
	pthread_mutex_unlock(&regular_lock);
	if (err && log)
		keep_tail(log, out->log);
	free(log);
	if (!err)
		snprintf(out->how, sizeof(out->how), "regular skeleton: %s%s",
			 light_ok ? "the kernel could not run the light loader, " : "MEMLENS_BPF_SKELETON=regular",
			 light_ok ? strerror(-lerr) : "");
	else if (lerr)
		err = lerr;	/* the regular load's second try ends in ENOSPC when the log fills */
	return err;
}

void ml_prog_unload(struct ml_prog_loaded *p)
{
	if (p->skel)
		p->destroy(p->skel);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->map_fd = -1;
}

/* an iterator link of p; pid or tid > 0: the kernel walks that process or
 * that thread only */
static int iter_link(const struct ml_prog_loaded *p, pid_t pid, pid_t tid)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	union bpf_iter_link_info linfo;
	int fd;

	if (pid > 0 || tid > 0) {
		memset(&linfo, 0, sizeof(linfo));
		linfo.task.pid = pid > 0 ? (uint32_t)pid : 0;
		linfo.task.tid = tid > 0 ? (uint32_t)tid : 0;
		opts.iter_info = &linfo;
		opts.iter_info_len = sizeof(linfo);
	}
	fd = bpf_link_create(p->fd, 0, BPF_TRACE_ITER, &opts);
	return fd < 0 ? -errno : fd;
}

int ml_prog_iter_link(const struct ml_prog_loaded *p, pid_t pid)
{
	return iter_link(p, pid, 0);
}

int ml_prog_iter_link_tid(const struct ml_prog_loaded *p, pid_t tid)
{
	return iter_link(p, 0, tid);
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One BPF program, loaded once per context: by its light skeleton where the
 * kernel can run the loader program (it does the CO-RE relocations itself,
 * no vmlinux BTF parsed here: a few ms), else by the regular skeleton
 * (libbpf relocates against /sys/kernel/btf/vmlinux: tens of ms).
 */
#ifndef MEMLENS_BPF_PROG_H
#define MEMLENS_BPF_PROG_H

#include "core.h"
#include <linux/types.h>
#include "vma_record.h"

#define ML_PROG_LOG 4096		/* the end of a refused load's log kept */
#define ML_PROG_LOG_READ (1 << 20)	/* the log asked of the kernel */

enum ml_prog {
	ML_PROG_TASK_VMA,		/* iter/task_vma: VMA records, paths by bpf_d_path() */
	ML_PROG_TASK_VMA_NOPATH,	/* the same, paths asked for by userspace */
	ML_PROG_DMABUF,			/* iter/dmabuf: every DMA-BUF */
	ML_PROG_TASK_FILE,		/* iter/task_file: DMA-BUF fds */
	ML_PROG_TASK_VMA_DMABUF,	/* iter/task_vma: DMA-BUF mappings */
	ML_PROG_TASK_MM,		/* iter/task: every process's mm counters */
	ML_PROG_TASK_MM_PROCS,		/* the same by the open-coded task iterator (6.7+), into a map */
	ML_PROG_MAX
};

struct ml_prog_loaded {
	int fd;			/* the program; -1 when not loaded */
	struct ml_walk_ctl *walk_ctl;	/* ML_PROG_TASK_VMA's controls (its .bss), else NULL */
	int map_fd;		/* the map userspace empties or reads: ML_PROG_TASK_VMA's paths,
				 * ML_PROG_TASK_MM_PROCS' records; else -1 */
	bool light;		/* loaded by the light skeleton */
	char how[160];		/* which skeleton, and why not the light one */
	char log[ML_PROG_LOG];	/* a refused load: the verifier's log */
	void *skel;
	void (*destroy)(void *skel);
};

/* 0 and *out loaded, or -errno (the light loader's error when the regular
 * skeleton was not tried, else the regular one's).  MEMLENS_BPF_SKELETON=
 * regular (or light) in the environment allows only that kind: the tests
 * force the fallback with it. */
ML_HIDDEN int ml_prog_load(struct memlens *ml, enum ml_prog id, struct ml_prog_loaded *out);
ML_HIDDEN void ml_prog_unload(struct ml_prog_loaded *p);
ML_HIDDEN const char *ml_prog_name(enum ml_prog id);
/* whether the caller may load BPF (CAP_SYS_ADMIN, or CAP_BPF and
 * CAP_PERFMON, effective); if not, what is missing in missing */
ML_HIDDEN bool ml_bpf_caps(char *missing, size_t len);
/* why ml_prog_load() failed with err, in one line: a missing capability
 * (checked, not guessed from the errno), the verifier's own last word, or
 * the error */
ML_HIDDEN void ml_prog_refusal(struct memlens *ml, enum ml_prog id, int err, const struct ml_prog_loaded *p,
			       char *out, size_t len);
/* the end of a refused load's verifier log, at debug level (-v) */
ML_HIDDEN void ml_prog_log_tail(struct memlens *ml, const struct ml_prog_loaded *p, int lines);
/* an iterator link of the program, its fd or -errno; pid > 0: the kernel
 * walks only that process (link_info task.pid, 6.1+) */
ML_HIDDEN int ml_prog_iter_link(const struct ml_prog_loaded *p, pid_t pid);
/* the same for one thread (link_info task.tid, 6.1+): the kernel runs the
 * program once, on it */
ML_HIDDEN int ml_prog_iter_link_tid(const struct ml_prog_loaded *p, pid_t tid);

#endif

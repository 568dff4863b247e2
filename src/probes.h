/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The probes that live with the source whose interface they try (probe.c's table calls them). */
#ifndef MEMLENS_PROBES_H
#define MEMLENS_PROBES_H

#include "core.h"

/* vma_procmap_query.c */
ML_HIDDEN int ml_procmap_query_probe(struct memlens *ml, struct ml_probe *p);
/* vma_bpf_iter.c: loads iter/task_vma into ml->bpf */
ML_HIDDEN int ml_bpf_task_vma_probe(struct memlens *ml, struct ml_probe *p);
ML_HIDDEN int ml_bpf_iter_pid_probe(struct memlens *ml, struct ml_probe *p);
/* dmabuf_bpf_iter.c: loads the three DMA-BUF iterators into ml->dmabuf_bpf */
ML_HIDDEN int ml_dmabuf_bpf_probe(struct memlens *ml, struct ml_probe *p);

/* counters_bpf_iter.c: loads iter/task over the mm counters into ml->task_mm */
ML_HIDDEN int ml_bpf_task_mm_probe(struct memlens *ml, struct ml_probe *p);

/* what the probes loaded, freed with the context */
ML_HIDDEN void ml_bpf_free(struct ml_bpf *bpf);
ML_HIDDEN void ml_dmabuf_bpf_free(struct ml_dmabuf_bpf *d);
ML_HIDDEN void ml_task_mm_free(struct ml_task_mm *t);

#endif

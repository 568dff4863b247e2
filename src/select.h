/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one choice of source for a job (select.c). */
#ifndef MEMLENS_SELECT_H
#define MEMLENS_SELECT_H

#include "source.h"

/* the description of a source; NULL for AUTO or out of range */
ML_HIDDEN const struct ml_source *ml_source(enum memlens_source s);
ML_HIDDEN bool ml_source_serves(enum memlens_source s, enum memlens_job job);
/* the source for job: forced if usable (-EOPNOTSUPP if not), else the first
 * usable one in the job's order (the last one when none is); -EINVAL when
 * forced is not a source of job.  pin_dir: where DMA-BUF pins are, NULL default. */
ML_HIDDEN int ml_select(struct memlens *ml, enum memlens_job job, enum memlens_source forced, const char *pin_dir,
			const struct ml_source **out);
/* ml_select() among the sources that have none of the capabilities refuse
 * (ML_CAP_*): the build IDs of a file, not the kernel's; smaps' totals where
 * pagemap cannot be opened */
ML_HIDDEN int ml_select_caps(struct memlens *ml, enum memlens_job job, enum memlens_source forced, const char *pin_dir,
			     uint32_t refuse, const struct ml_source **out);
/* memlens__explain() with a pin dir and a buffer of the caller's */
ML_HIDDEN const char *ml_explain(struct memlens *ml, enum memlens_job job, enum memlens_source used, bool forced,
				 const char *pin_dir, char *buf, size_t len);

#endif

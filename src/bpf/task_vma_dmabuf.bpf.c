// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/task_vma over every process, keeping VMAs that map a DMA-BUF: the
 * map references of DMA-BUF accounting.  Kept apart from task_vma.bpf.c so
 * that it can be pinned on its own and its records stay small.
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "../dmabuf_record.h"
#include "pidns.h"
#include "dmabuf_file.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task_vma")
int memlens_dmabuf_maps(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct ml_dmabuf_map_rec r;
	__u64 ino, size = 0;

	/* most VMAs do not map a DMA-BUF: test before building a record */
	if (!task || !vma || !dmabuf_file(vma->vm_file, &ino, &size))
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	r.ino = ino;
	r.size = size;
	if (!dmabuf_task(task, &r.tgid, &r.tid, r.comm))
		return 0;
	r.start = vma->vm_start;
	r.end = vma->vm_end;
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task_vma")
int memlens_dmabuf_maps(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct ml_dmabuf_map_rec r;
	struct file *file;
	struct dma_buf *d;

	if (!task || !vma)
		return 0;
	file = vma->vm_file;
	if (!file || file->f_inode->i_sb->s_magic != ML_DMA_BUF_MAGIC)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	r.ino = file->f_inode->i_ino;
	d = file->private_data;
	if (d)
		bpf_probe_read_kernel(&r.size, sizeof(r.size), &d->size);
	r.start = vma->vm_start;
	r.end = vma->vm_end;
	r.tgid = task->tgid;
	r.tid = task->pid;
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->comm);
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/task_file (5.8+): one pass over every fd of every task, keeping the
 * DMA-BUF ones (the file's superblock is DMA_BUF_MAGIC).  The kernel visits a
 * thread only when its fd table differs from its leader's, so a record with
 * tid != tgid is a thread with a table of its own; shared tables are never
 * counted twice.
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "../dmabuf_record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task_file")
int memlens_dmabuf_fds(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct ml_dmabuf_fd_rec r;
	struct dma_buf *d;

	if (!task || !file)
		return 0;
	if (file->f_inode->i_sb->s_magic != ML_DMA_BUF_MAGIC)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	r.ino = file->f_inode->i_ino;
	d = file->private_data;
	if (d)
		bpf_probe_read_kernel(&r.size, sizeof(r.size), &d->size);
	r.tgid = task->tgid;
	r.tid = task->pid;
	r.fd = ctx->fd;
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->comm);
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

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
#include "pidns.h"
#include "dmabuf_file.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task_file")
int memlens_dmabuf_fds(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct ml_dmabuf_fd_rec r;
	__u64 ino, size = 0;

	/* most files are not DMA-BUFs: test before building a record */
	if (!task || !dmabuf_file(file, &ino, &size))
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	r.ino = ino;
	r.size = size;
	if (!dmabuf_task(task, &r.tgid, &r.tid, r.comm))
		return 0;
	r.fd = ctx->fd;
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

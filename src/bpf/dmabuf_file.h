/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by the iterators that keep only DMA-BUF files. */
#ifndef MEMLENS_BPF_DMABUF_FILE_H
#define MEMLENS_BPF_DMABUF_FILE_H

/* false unless file is a DMA-BUF (its superblock is DMA_BUF_MAGIC); then its
 * inode and the buffer's size */
static __always_inline bool dmabuf_file(struct file *file, __u64 *ino, __u64 *size)
{
	struct dma_buf *d;

	if (!file || file->f_inode->i_sb->s_magic != ML_DMA_BUF_MAGIC)
		return false;
	*ino = file->f_inode->i_ino;
	d = file->private_data;
	if (d)
		bpf_probe_read_kernel(size, sizeof(*size), &d->size);
	return true;
}

/* the task a record belongs to, numbered as the reader sees it (pidns.h);
 * false when the reader cannot see it.  Records are rare (DMA-BUF fds and
 * mappings only), so the reader's namespace is looked up for each: pinned
 * iterators are read by many readers, in any namespace. */
static __always_inline bool dmabuf_task(struct task_struct *task, __s32 *tgid, __s32 *tid, char comm[16])
{
	__u32 level;
	__u64 ns;

	reader_pidns(&level, &ns);
	if (!task_vpids(task, level, ns, tgid, tid))
		return false;
	bpf_probe_read_kernel_str(comm, 16, task->comm);
	return true;
}

#endif

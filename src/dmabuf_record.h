/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Fixed-size binary records of the DMA-BUF BPF iterators (bpf_seq_write),
 * shared by the BPF programs and userspace.
 */
#ifndef MEMLENS_DMABUF_RECORD_H
#define MEMLENS_DMABUF_RECORD_H

#define ML_DMABUF_NAME_LEN 32	/* DMA_BUF_NAME_LEN */
#define ML_DMA_BUF_MAGIC 0x444d4142UL	/* "DMAB", the dmabuf superblock */

/* iter/dmabuf: one per buffer in the system */
struct ml_dmabuf_buf_rec {
	__u64 ino;
	__u64 size;
	__u64 file_refs;	/* references to the buffer's struct file */
	char exp_name[ML_DMABUF_NAME_LEN];
	char name[ML_DMABUF_NAME_LEN];	/* as its owner set it, NUL-terminated */
};

/* iter/task_file: one per fd referring to a DMA-BUF, per task with its own fd table */
struct ml_dmabuf_fd_rec {
	__u64 ino;
	__u64 size;
	__s32 tgid;
	__s32 tid;
	__u32 fd;
	__u32 pad;
	char comm[16];
};

/* iter/task_vma: one per VMA mapping a DMA-BUF */
struct ml_dmabuf_map_rec {
	__u64 ino;
	__u64 size;
	__u64 start;
	__u64 end;
	__s32 tgid;
	__s32 tid;
	char comm[16];
};

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/dmabuf (Linux 6.16+): every DMA-BUF in the system, kernel-only ones
 * included, as struct ml_dmabuf_buf_rec.  The name is read without the
 * buffer's name_lock (a program cannot take it): bounded to DMA_BUF_NAME_LEN
 * and NUL-terminated, its bytes as the owner set them (a binary record needs
 * no sanitizing; output escapes them, as for every other source).
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "../dmabuf_record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline __u64 file_refs(struct file *f)
{
	long raw = 0;

	if (bpf_core_field_exists(struct file, f_ref)) {
		/* file_ref_t counts from 0 for one reference */
		bpf_core_read(&raw, sizeof(raw), &f->f_ref.refcnt.counter);
		return raw >= 0 ? (__u64)raw + 1 : 0;
	}
	bpf_core_read(&raw, sizeof(raw), &f->f_count.counter);
	return raw > 0 ? (__u64)raw : 0;
}

SEC("iter/dmabuf")
int memlens_dmabuf(struct bpf_iter__dmabuf *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct dma_buf *d = ctx->dmabuf;
	struct ml_dmabuf_buf_rec r;
	const char *p = 0;
	struct file *f = 0;

	if (!d)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	if (bpf_core_read(&r.size, sizeof(r.size), &d->size) || bpf_core_read(&f, sizeof(f), &d->file) || !f)
		return 0;
	BPF_CORE_READ_INTO(&r.ino, f, f_inode, i_ino);
	r.file_refs = file_refs(f);
	if (!bpf_core_read(&p, sizeof(p), &d->exp_name) && p)
		bpf_probe_read_kernel_str(r.exp_name, sizeof(r.exp_name), p);
	p = 0;
	if (!bpf_core_read(&p, sizeof(p), &d->name) && p) {
		bpf_probe_read_kernel_str(r.name, sizeof(r.name), p);
	}
	r.name[ML_DMABUF_NAME_LEN - 1] = 0;
	r.exp_name[ML_DMABUF_NAME_LEN - 1] = 0;
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

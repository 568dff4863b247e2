/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The binary record the iter/task_vma program writes with bpf_seq_write(),
 * shared by the BPF side and userspace.  A fixed header, then name_len bytes
 * of name (no NUL).  The name is variable-length because a path can be up to
 * PATH_MAX: fixed 4 KiB records would move 40 MB for a 10,000-VMA process.
 */
#ifndef MEMLENS_VMA_RECORD_H
#define MEMLENS_VMA_RECORD_H

#define ML_VMA_NAME_MAX 4096

enum ml_vma_name_kind {
	ML_NAME_NONE = 0,
	ML_NAME_PATH,		/* d_path() of vm_file, " (deleted)" included */
	ML_NAME_SPECIAL,	/* vm_special_mapping name: [vdso], [vvar], [uprobes] */
	ML_NAME_HEAP,
	ML_NAME_STACK,
	ML_NAME_ANON,		/* [anon:%s] */
	ML_NAME_ANON_SHMEM,	/* [anon_shmem:%s] */
	ML_NAME_VDSO_NOMM,	/* no vm_mm: [vdso] */
	ML_NAME_PATH_ERR,	/* d_path failed (e.g. name too long): take it from text */
};

struct ml_vma_rec {
	__u64 start;
	__u64 end;
	__u64 pgoff;		/* vm_pgoff << PAGE_SHIFT, 0 without file */
	__u64 ino;
	__u64 vm_flags;
	__u32 dev;		/* kernel dev_t: major << 20 | minor */
	__s32 tgid;
	__s32 tid;
	__u32 page_size;
	__u16 name_len;
	__u8 name_kind;
	__u8 pad[5];
};

#endif

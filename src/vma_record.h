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
#define ML_VMA_PATHS_MAX 8192	/* paths remembered by id in one walk */

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
	ML_NAME_PATH_REF,	/* the path of an earlier ML_NAME_PATH(_LATER) record: path_id */
	ML_NAME_PATH_LATER,	/* a file VMA without its name: file_key says which file (task_vma_nopath) */
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
	__u8 pad;
	/* ML_NAME_PATH: this path's id in the walk (0: none, not to be
	 * referred to); ML_NAME_PATH_REF: the id of the record that had it */
	__u32 path_id;
	/* ML_NAME_PATH_LATER: the file's dentry and mount, which name it the
	 * same in every VMA of the walk; 0 otherwise */
	__u64 file_key[2];
};

/* The walk's controls, in the program's .bss, set by userspace before each
 * read: a path crosses once per walk, later VMAs of the same file (same
 * dentry and mount, so the same d_path) refer to it by id */
struct ml_walk_ctl {
	__u32 target_tgid;	/* 0: every process; else only this one (reader's pid) */
	__u32 gen;		/* this walk: ids of other walks are stale */
	__u32 next_id;		/* the next path's id: 1 at the start of a walk */
	/* the program's own, untouched by userspace: the reader's pid
	 * namespace, looked up once per read session, and the last task's
	 * pids in it (a task's VMAs come one after another) */
	__u32 reader_level;
	__u64 session;
	__u64 reader_ns;
	__u64 last_task;	/* with its global tid: an address alone may be reused */
	__s32 last_gtid;
	__s32 last_tgid;
	__s32 last_tid;
	__u32 full;		/* the paths map refused an entry: userspace empties it */
};

#endif

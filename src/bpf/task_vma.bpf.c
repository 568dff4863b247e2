// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/task_vma: one struct ml_vma_rec (+ name bytes) per VMA, written with
 * bpf_seq_write() so userspace never parses kernel-printed text.  The name
 * follows the rules of get_vma_name() in fs/proc/task_mmu.c, so records agree
 * with /proc/<pid>/maps line for line.
 *
 * Built twice (the Makefile): task_vma calls bpf_d_path() on vma->vm_file,
 * which only kernels that treat vm_file as a trusted pointer accept (6.18.44
 * builds exist that refuse it); task_vma_nopath (ML_VMA_NO_D_PATH) sends every
 * file VMA as ML_NAME_PATH_LATER with its file's key (dentry and mount, as
 * the path cache below keys them) and no name: userspace asks the kernel for
 * the name of the first VMA of each key (PROCMAP_QUERY, else the maps text),
 * once per file per walk.  No map: nothing to create at load, no insert per
 * walk.  The keys are kernel addresses, for a caller that holds CAP_PERFMON
 * (it may read kernel memory); this program is never pinned for others.
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "../vma_record.h"
#include "pidns.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define VM_MAYSHARE	0x00000080UL
#define VM_HUGETLB	0x00400000UL

/* set by userspace before load */
const volatile __u32 page_size = 4096;
/* the tests' refused program (MEMLENS_TEST_BPF_REFUSE=task_vma): a branch the
 * verifier prunes as dead code unless this is set, and refuses when it is */
const volatile __u32 test_refuse = 0;
/* target_tgid: 0 for every process, set per walk when the kernel cannot
 * filter by link_info; gen and next_id: the walk's path ids */
struct ml_walk_ctl walk_ctl;

#ifndef ML_VMA_NO_D_PATH
/* the paths of this walk by (dentry, mount): d_path() of the same pair is the
 * same string, so a library mapped by 300 processes crosses once.  A stale
 * entry (another walk's gen) only costs its path being sent again.  Not
 * preallocated: an LRU of this size cost a third of a cold start filling its
 * free lists; a full map refuses an entry (walk_ctl.full), the path is sent
 * again at its next VMA and userspace empties the map before the next walk */
struct path_key {
	__u64 dentry;
	__u64 mnt;
};

struct path_val {
	__u32 gen;
	__u32 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, ML_VMA_PATHS_MAX);
	__type(key, struct path_key);
	__type(value, struct path_val);
} paths SEC(".maps");
#endif

struct scratch {
	struct ml_vma_rec rec;
	char name[ML_VMA_NAME_MAX];
};

ML_SCRATCH_MAP(struct scratch);

/* length of the vm_special_mapping name, or 0 */
static __always_inline long special_name(struct vm_area_struct *vma, char *buf)
{
	const char *name = 0;
	void *priv = vma->vm_private_data;
	long n;

	if (!priv || bpf_probe_read_kernel(&name, sizeof(name), priv) || !name)
		return 0;
	/* vm_private_data of a vm_special_mapping starts with its name; anything
	 * else that does not read as "[...]" is not one */
	n = bpf_probe_read_kernel_str(buf, 64, name);
	if (n <= 2 || buf[0] != '[')
		return 0;
	return n - 1;
}

static __always_inline int anon_name(struct vm_area_struct *vma, bool has_file, char *buf)
{
	struct anon_vma_name *an;
	long n;

	if (!bpf_core_type_exists(struct anon_vma_name) ||
	    !bpf_core_field_exists(struct vm_area_struct, anon_name))
		return -1;
	/* 5.17-6.0 kept anon_name in a union with shared.rb, valid without a file only */
	if (has_file && bpf_core_field_offset(struct vm_area_struct, anon_name) ==
			bpf_core_field_offset(struct vm_area_struct, shared))
		return -1;
	an = vma->anon_name;
	if (!an)
		return -1;
	n = bpf_probe_read_kernel_str(buf, 256, &an->name);
	return n > 0 ? n - 1 : -1;
}

SEC("iter/task_vma")
int memlens_task_vma(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct ml_vma_rec *r;
	struct scratch *s;
	struct file *file;
	struct mm_struct *mm;
#ifndef ML_VMA_NO_D_PATH
	struct path_key pk = {};
	struct path_val *pv;
#endif
	__u32 zero = 0;
	__s32 tgid, tid;
	long n;

	if (!task || !vma)
		return 0;
	/* pids as the reader sees them (pidns.h), once per task */
	if (walk_ctl.session != ctx->meta->session_id + 1) {
		__u32 level;
		__u64 ns;

		reader_pidns(&level, &ns);
		walk_ctl.reader_level = level;
		walk_ctl.reader_ns = ns;
		walk_ctl.session = ctx->meta->session_id + 1;
		walk_ctl.last_task = 0;
	}
	if (walk_ctl.last_task != (__u64)task || walk_ctl.last_gtid != task->pid) {
		if (!task_vpids(task, walk_ctl.reader_level, walk_ctl.reader_ns, &tgid, &tid))
			return 0;	/* not visible to the reader */
		walk_ctl.last_tgid = tgid;
		walk_ctl.last_tid = tid;
		walk_ctl.last_gtid = task->pid;
		walk_ctl.last_task = (__u64)task;
	}
	tgid = walk_ctl.last_tgid;
	tid = walk_ctl.last_tid;
	if (walk_ctl.target_tgid && tgid != (__s32)walk_ctl.target_tgid)
		return 0;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	r = &s->rec;
	__builtin_memset(r, 0, sizeof(*r));
	r->start = vma->vm_start;
	r->end = vma->vm_end;
	r->vm_flags = vma->vm_flags;
	r->tgid = tgid;
	r->tid = tid;
	r->page_size = page_size;

	file = vma->vm_file;
	mm = vma->vm_mm;
	if (file) {
		struct inode *inode = file->f_inode;

		r->pgoff = (__u64)vma->vm_pgoff * page_size;
		r->ino = inode->i_ino;
		r->dev = inode->i_sb->s_dev;
		if (r->vm_flags & VM_HUGETLB) {
			struct hugetlbfs_sb_info *sbi = inode->i_sb->s_fs_info;
			struct hstate *h = 0;
			unsigned int order = 0;

			if (sbi && !bpf_probe_read_kernel(&h, sizeof(h), &sbi->hstate) && h &&
			    !bpf_probe_read_kernel(&order, sizeof(order), &h->order) && order < 32)
				r->page_size = page_size << order;
		}
		n = anon_name(vma, true, s->name);
		if (n >= 0) {
			r->name_kind = ML_NAME_ANON_SHMEM;
		} else {
#ifdef ML_VMA_NO_D_PATH
			r->name_kind = ML_NAME_PATH_LATER;
			r->file_key[0] = (__u64)file->f_path.dentry;
			r->file_key[1] = (__u64)file->f_path.mnt;
			n = 0;
#else
			pk.dentry = (__u64)file->f_path.dentry;
			pk.mnt = (__u64)file->f_path.mnt;
			pv = bpf_map_lookup_elem(&paths, &pk);
			if (pv && pv->gen == walk_ctl.gen) {
				r->name_kind = ML_NAME_PATH_REF;
				r->path_id = pv->id;
				n = 0;
			} else if ((n = bpf_d_path(&file->f_path, s->name, sizeof(s->name))) > 0) {
				r->name_kind = ML_NAME_PATH;
				r->path_id = walk_ctl.next_id;
				n -= 1;
			} else {
				r->name_kind = ML_NAME_PATH_ERR;
				n = 0;
			}
#endif
		}
	} else if (vma->vm_ops && (n = special_name(vma, s->name)) > 0) {
		r->name_kind = ML_NAME_SPECIAL;
	} else if (!mm) {
		r->name_kind = ML_NAME_VDSO_NOMM;
		n = 0;
	} else if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk) {
		r->name_kind = ML_NAME_HEAP;
		n = 0;
	} else if (vma->vm_start <= mm->start_stack && vma->vm_end >= mm->start_stack) {
		r->name_kind = ML_NAME_STACK;
		n = 0;
	} else {
		n = anon_name(vma, false, s->name);
		if (n >= 0) {
			r->name_kind = ML_NAME_ANON;
		} else {
			r->name_kind = ML_NAME_NONE;
			n = 0;
		}
	}
	if (n < 0 || n >= ML_VMA_NAME_MAX)
		n = 0;
	r->name_len = n;
	if (test_refuse)	/* a size no map value has: "invalid access to map value" */
		bpf_seq_write(seq, s, 1 << 30);
	/* when the seq buffer is full, the kernel shows this VMA again in the
	 * next read: the id is taken only once its record went out whole */
	if (bpf_seq_write(seq, r, sizeof(*r)) ||
	    (n > 0 && bpf_seq_write(seq, s->name, n & (ML_VMA_NAME_MAX - 1))))
		return 0;
#ifndef ML_VMA_NO_D_PATH
	if (r->name_kind == ML_NAME_PATH && r->path_id) {
		struct path_val v = { .gen = walk_ctl.gen, .id = r->path_id };

		if (!bpf_map_update_elem(&paths, &pk, &v, BPF_ANY))
			walk_ctl.next_id++;
		else
			walk_ctl.full = 1;	/* the id is sent again with the next path */
	}
#endif
	return 0;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel types memlens's BPF programs read, reduced to the fields used.
 * preserve_access_index makes every access a CO-RE relocation that libbpf
 * resolves against the running kernel's BTF, so field offsets here do not
 * matter and this header never comes from the build machine's kernel.
 */
#ifndef MEMLENS_CORE_H
#define MEMLENS_CORE_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef int pid_t;
typedef __u32 dev_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
};

#define BPF_ANY 0
#define BPF_F_NO_PREALLOC (1U << 0)
#define BPF_F_MMAPABLE (1U << 10)

/* a per-CPU map of one value of type T, looked up at key 0 (the verifier
 * inlines that lookup); ML_SCRATCH_MAP: a program's room beyond the BPF
 * stack */
#define ML_PERCPU_MAP(name, T)                              \
	struct {                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);    \
		__uint(max_entries, 1);                     \
		__type(key, __u32);                         \
		__type(value, T);                           \
	} name SEC(".maps")
#define ML_SCRATCH_MAP(T) ML_PERCPU_MAP(scratch_map, T)

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct seq_file;

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
	void *s_fs_info;
};

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
};

struct dentry;
struct vfsmount;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

typedef struct {
	long counter;
} atomic_long_t;

/* 6.13+: file_ref_t, one reference stored as 0 */
typedef struct {
	atomic_long_t refcnt;
} file_ref_t;

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
	atomic_long_t f_count;	/* before 6.13 */
	file_ref_t f_ref;	/* 6.13+ */
};

struct mm_struct {
	unsigned long total_vm;
	unsigned long start_brk;
	unsigned long brk;
	unsigned long start_stack;
};

struct anon_vma_name {
	char name[0];
};

struct vm_special_mapping {
	const char *name;
};

struct vm_operations_struct;

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	const struct vm_operations_struct *vm_ops;
	unsigned long vm_pgoff;
	struct file *vm_file;
	void *vm_private_data;
	struct anon_vma_name *anon_name;
	struct {
		void *rb;
	} shared;
};

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct kernfs_node {
	__u64 id;		/* 5.5+: the node's inode number (64-bit ino_t) */
};

struct cgroup {
	struct kernfs_node *kn;
	int level;		/* 0: the hierarchy's root */
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

enum cgroup_subsys_id {
	memory_cgrp_id = 4,	/* its value is the running kernel's (bpf_core_enum_value) */
};

struct css_set {
	struct cgroup_subsys_state *subsys[1];	/* one per controller; indexed by hand */
	struct cgroup *dfl_cgrp;
};

struct task_struct {
	unsigned int flags;
	struct css_set *cgroups;
	__u64 start_boottime;
	pid_t pid;
	pid_t tgid;
	struct pid *thread_pid;
	struct task_struct *group_leader;
	struct mm_struct *mm;
	char comm[16];
};

struct dma_buf {
	unsigned long size;
	struct file *file;
	const char *exp_name;
	const char *name;
};

struct hstate {
	unsigned int order;
};

struct hugetlbfs_sb_info {
	struct hstate *hstate;
};

#pragma clang attribute pop

/*
 * The iterators' contexts, outside preserve_access_index: their layout is
 * the iterator ABI (DEFINE_BPF_ITER_FUNC: meta, then each argument in an
 * 8-byte slot), checked by the verifier at load, so they need no CO-RE
 * relocation.  Each relocated type costs the kernel a candidate search
 * through vmlinux BTF unless its 31-slot cache, keyed by a hash of the type
 * name, still holds it; bpf_iter__task_vma shares its slot with super_block,
 * so both were searched again at every load of the VMA walk.
 */
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__dmabuf {
	struct bpf_iter_meta *meta;
	struct dma_buf *dmabuf;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

struct bpf_iter__task_vma {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	struct vm_area_struct *vma;
};

#endif

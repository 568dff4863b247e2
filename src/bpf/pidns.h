/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pids as the reader sees them.  task->pid and task->tgid are numbers in the
 * initial pid namespace; a reader in a container knows its tasks by the
 * numbers of its own namespace (the kernel's task iterators already walk only
 * the tasks of the namespace of whoever opened the iterator).  The reader is
 * current: the process reading the iterator.  As task_pid_nr_ns() does: the
 * task's struct pid holds one number per namespace level, and the number at
 * the reader's level counts only if that level's namespace is the reader's.
 */
#ifndef MEMLENS_BPF_PIDNS_H
#define MEMLENS_BPF_PIDNS_H

#define ML_PIDNS_LEVEL_MAX 32	/* MAX_PID_NS_LEVEL */

/* the upid of pid at level; false when it has none there */
static __always_inline bool upid_at(struct pid *pid, __u32 level, struct upid *out)
{
	__u32 plevel = 0;

	if (!pid || bpf_core_read(&plevel, sizeof(plevel), &pid->level) || level > plevel ||
	    level >= ML_PIDNS_LEVEL_MAX)
		return false;
	return !bpf_probe_read_kernel(out, sizeof(*out),
				      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
					      level * bpf_core_type_size(struct upid));
}

/* the reader's namespace: its level and its address (0 at level 0, where
 * every task is visible and numbered as in task->pid) */
static __always_inline void reader_pidns(__u32 *level, __u64 *ns)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(cur, thread_pid);
	struct upid u = {};
	__u32 l = 0;

	/* locals only: callers pass stack or map memory, and one instruction
	 * may not dereference both */
	if (bpf_core_read(&l, sizeof(l), &pid->level) || !l || !upid_at(pid, l, &u))
		u.ns = 0;
	*level = l;
	*ns = (__u64)u.ns;
}

/* task's tgid and tid in the reader's namespace; false when the reader
 * cannot see the task (then nothing is to be emitted for it) */
static __always_inline bool task_vpids(struct task_struct *task, __u32 level, __u64 ns, __s32 *tgid, __s32 *tid)
{
	struct upid u = {}, g = {};

	if (!level) {
		/* read by helper: the compiler would otherwise fold this load and
		 * the one of the stack copy below into one instruction, which the
		 * verifier refuses (one load, two kinds of pointer) */
		BPF_CORE_READ_INTO(tgid, task, tgid);
		BPF_CORE_READ_INTO(tid, task, pid);
		return true;
	}
	if (!ns || !upid_at(BPF_CORE_READ(task, thread_pid), level, &u) || (__u64)u.ns != ns ||
	    !upid_at(BPF_CORE_READ(task, group_leader, thread_pid), level, &g) || (__u64)g.ns != ns)
		return false;
	*tgid = g.nr;
	*tid = u.nr;
	return true;
}

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The VMA jobs: the process handle, maps, find_vma, every process, who maps
 * what.  Each asks the selector for its source and calls it through its
 * description, then finishes records the same way whatever the source (the
 * gate VMA, build IDs).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>
#include "build_id.h"
#include "procfs.h"
#include "vma.h"
#include "vma_maps_text.h"

/* ---- process handle ---- */
struct memlens_proc *memlens__proc_open(struct memlens *ml, pid_t pid, const struct memlens_proc_opts *opts)
{
	enum memlens_source forced = OPTS_GET(opts, source, MEMLENS_SOURCE_AUTO);
	const struct ml_source *src;
	struct memlens_proc *proc;
	struct ml_proc_stat st;
	int err;

	if (!ml || pid < 0 || !OPTS_VALID(opts, memlens_proc_opts)) {
		errno = EINVAL;
		return NULL;
	}
	/* -EINVAL not a VMA source, -EOPNOTSUPP unusable */
	if (forced != MEMLENS_SOURCE_AUTO && (err = ml_select(ml, MEMLENS_JOB_WALK, forced, NULL, &src))) {
		errno = -err;
		return NULL;
	}
	proc = calloc(1, sizeof(*proc));
	if (!proc) {
		errno = ENOMEM;
		return NULL;
	}
	proc->ml = ml;
	proc->pid = pid ? pid : getpid();
	proc->source = forced;
	proc->pidfd = (int)syscall(SYS_pidfd_open, proc->pid, 0);
	err = 0;
	if (proc->pidfd < 0 && ml_err_ours(-errno)) {
		err = -errno;
	} else if (proc->pidfd < 0) {
		err = ml_proc_stat(proc->pid, &st);
		proc->start_time = st.start_time;
	}
	if (!err)
		err = ml_open_maps(proc->pid, &proc->maps_fd);
	/* the maps file pins the mm of the process that had the pid then */
	if (!err && ml_proc_reused(proc)) {
		close(proc->maps_fd);
		err = -ESRCH;
	}
	if (err) {
		if (proc->pidfd >= 0)
			close(proc->pidfd);
		free(proc);
		errno = err == -EPROTO ? ESRCH : -err;
		return NULL;
	}
	return proc;
}

/* the pidfd says exactly when the process the handle was opened on is gone
 * (while it is not, its pid is its own: no /proc read needed); the start time
 * (clock ticks) is the fallback where there is no pidfd (before 5.3, or a
 * thread id), and cannot tell a pid reused within the same tick */
bool ml_proc_reused(const struct memlens_proc *proc)
{
	struct pollfd p = { .fd = proc->pidfd, .events = POLLIN };
	struct ml_proc_stat st;

	if (proc->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return ml_proc_stat(proc->pid, &st) == 0 && st.start_time != proc->start_time;
}

void memlens_proc__close(struct memlens_proc *proc)
{
	if (!proc)
		return;
	close(proc->maps_fd);
	if (proc->pidfd >= 0)
		close(proc->pidfd);
	free(proc);
}

pid_t memlens_proc__pid(const struct memlens_proc *proc)
{
	return proc ? proc->pid : -1;
}

int memlens__comm(struct memlens *ml, pid_t pid, char comm[16])
{
	if (!ml || !comm || pid <= 0) {
		if (comm)
			comm[0] = 0;
		return ml_err(EINVAL);
	}
	ml_proc_comm(pid, comm);
	return comm[0] ? 0 : ml_err(ESRCH);
}

/* the active LSMs that can refuse a ptrace read, by lsm_list_modules()
 * (6.8+; include/uapi/linux/lsm.h ids), comma-separated; "" if unknown */
static void ptrace_lsms(char *out, size_t len)
{
	static const struct { uint64_t id; const char *name; } known[] = {
		{ 101, "selinux" }, { 102, "smack" }, { 103, "tomoyo" }, { 104, "apparmor" },
		{ 105, "yama" }, { 109, "bpf" }, { 110, "landlock" },
	};
	uint64_t ids[32];
	uint32_t size = sizeof(ids);
	long n;
	size_t o = 0;

	out[0] = 0;
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461	/* the same number on every architecture */
#endif
	n = syscall(__NR_lsm_list_modules, ids, &size, 0);
	for (long i = 0; i < n && i < 32; i++)
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (ids[i] == known[k].id && o < len)
				o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "", known[k].name);
}

const char *memlens__denied_reason(struct memlens *ml, pid_t pid)
{
	uint64_t eff;
	char lsms[160], path[64], *mine = NULL, *theirs = NULL;
	size_t l1 = 0, l2 = 0;
	bool other_ns = false;

	if (!ml)
		return "needs PTRACE_MODE_READ: same user, or CAP_SYS_PTRACE";
	if (ml_caps_effective(&eff) || !ML_CAP(eff, CAP_SYS_PTRACE)) {
		snprintf(ml->denied, sizeof(ml->denied), "needs PTRACE_MODE_READ: same user, or CAP_SYS_PTRACE");
		return ml->denied;
	}
	/* uid_map is readable without ptrace access: another one is another
	 * user namespace, whose processes our capabilities may not reach */
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		if (!ml_read_file("/proc/self/uid_map", &mine, &l1) && !ml_read_file(path, &theirs, &l2))
			other_ns = l1 != l2 || memcmp(mine, theirs, l1);
		free(mine);
		free(theirs);
	}
	ptrace_lsms(lsms, sizeof(lsms));
	if (other_ns)
		snprintf(ml->denied, sizeof(ml->denied),
			 "refused with CAP_SYS_PTRACE held: the process is in another user namespace%s%s%s",
			 lsms[0] ? ", or a security module refused (" : "", lsms, lsms[0] ? ")" : "");
	else
		snprintf(ml->denied, sizeof(ml->denied), "refused with CAP_SYS_PTRACE held: a security module decides%s%s%s",
			 lsms[0] ? " (active here: " : " (SELinux, AppArmor, Landlock, a BPF LSM...)", lsms,
			 lsms[0] ? ")" : "");
	return ml->denied;
}

int ml_proc_source(struct memlens_proc *proc, enum memlens_job job, bool build_ids, const struct ml_source **src,
		   struct ml_vma_req *req)
{
	int err = ml_select(proc->ml, job, proc->source, NULL, src);

	if (err)
		return err;
	*req = (struct ml_vma_req){ .ml = proc->ml, .pid = proc->pid, .maps_fd = proc->maps_fd };
	/* the kernel gives build IDs with the VMA: the build ID job's first choice */
	if (build_ids && ((*src)->caps & ML_CAP_VMA_BUILD_ID)) {
		const struct ml_source *bid;

		req->kernel_bid = ml_select(proc->ml, MEMLENS_JOB_BUILD_ID, MEMLENS_SOURCE_AUTO, NULL, &bid) == 0 &&
				  (bid->caps & ML_CAP_WITH_VMA);
	}
	return 0;
}

/* the first usable build-ID source that reads the file (the kernel's comes with the VMA) */
const struct ml_source *ml_file_build_id_source(struct memlens *ml)
{
	const struct ml_source *src = NULL;

	ml_select_caps(ml, MEMLENS_JOB_BUILD_ID, MEMLENS_SOURCE_AUTO, NULL, ML_CAP_WITH_VMA, &src);
	return src;
}

void ml_fill_build_ids(struct memlens *ml, struct memlens_vma_set *set, bool kernel_gave)
{
	const struct ml_source *how = NULL;

	for (size_t i = 0; i < set->n; i++) {
		struct memlens_vma *v = &set->v[i];

		if (!v->inode && !v->build_id_size && !strcmp(v->name, "[vdso]")) {
			ml_vdso_build_id(v);
			continue;
		}
		if (!v->inode || v->build_id_size || (kernel_gave && !v->build_id_err))
			continue;
		if (!how)
			how = ml_file_build_id_source(ml);
		ml_build_id_fill(ml, how, v);
	}
}

/* The gate VMA ([vsyscall]) is outside the mm's VMA tree: only the text file
 * shows it, the same in every 64-bit process: read once from our own. */
static void gate_probe(struct memlens *ml)
{
	struct memlens_vma_set *set;

	if (ml->gate_known)
		return;
	ml->gate_known = true;
	ml->gate.end = 0;
	set = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	if (!set)
		return;
	/* the gate area sits above the user address space, listed last */
	if (!ml_maps_text_read_pid(getpid(), set) && set->n && (set->v[set->n - 1].start >> 63)) {
		ml->gate = set->v[set->n - 1];
		snprintf(ml->gate_name, sizeof(ml->gate_name), "%s", ml->gate.name);
		ml->gate.name = ml->gate_name;
	}
	memlens_vma_set__free(set);
}

/* add the gate VMA after each process's VMAs, so every source agrees with the text */
static int add_gates(struct memlens *ml, struct memlens_vma_set *set)
{
	size_t k = 0, w;
	const char *name;
	int32_t next_pid = 0;

	gate_probe(ml);
	if (!ml->gate.end || !set->n)
		return 0;
	/* one gate row after each process's rows (the set is by pid): grow
	 * once, then move rows back from the end, gates in between */
	for (size_t i = 0; i < set->n; i++)
		k += i + 1 == set->n || set->v[i + 1].pid != set->v[i].pid;
	if (set->cap - set->n < k) {
		struct memlens_vma *v = reallocarray(set->v, set->n + k, sizeof(*v));

		if (!v)
			return -ENOMEM;
		set->v = v;
		set->cap = set->n + k;
	}
	name = ml_arena_strndup(&set->arena, ml->gate.name, strlen(ml->gate.name));
	if (!name)
		return -ENOMEM;
	w = set->n + k;
	for (size_t i = set->n; i-- > 0;) {
		int32_t pid = set->v[i].pid;

		if (i + 1 == set->n || next_pid != pid) {
			set->v[--w] = ml->gate;
			set->v[w].pid = pid;
			set->v[w].name = name;
		}
		set->v[--w] = set->v[i];
		next_pid = pid;
	}
	set->n += k;
	return 0;
}

static int walk_one(struct memlens_proc *proc, enum memlens_job job, bool build_ids, struct memlens_vma_set **out)
{
	const struct ml_source *src;
	struct memlens_vma_set *set;
	struct ml_vma_req req;
	int err;

	err = ml_proc_source(proc, job, build_ids, &src, &req);
	if (err)
		return err;
	set = ml_set_new(src->id);
	if (!set)
		return -ENOMEM;
	err = src->vma.walk(&req, set);
	if (!err && ((set->n == 0 && ml_pid_gone(proc->pid)) || ml_proc_reused(proc)))
		err = -ESRCH;
	if (!err && !(src->caps & ML_CAP_GATE_VMA))
		err = add_gates(proc->ml, set);
	if (err) {
		memlens_vma_set__free(set);
		return err;
	}
	if (build_ids)
		ml_fill_build_ids(proc->ml, set, req.kernel_bid);
	*out = set;
	return 0;
}

int memlens_proc__maps(struct memlens_proc *proc, const struct memlens_maps_opts *opts, struct memlens_vma_set **out)
{
	int err;

	if (!proc || !out || !OPTS_VALID(opts, memlens_maps_opts))
		return ml_err(EINVAL);
	err = walk_one(proc, MEMLENS_JOB_WALK, OPTS_GET(opts, build_ids, false), out);
	return err ? ml_err(err) : 0;
}

static bool vma_matches(const struct memlens_vma *v, uint32_t flags)
{
	uint32_t perms = flags & (MEMLENS_FIND_READABLE | MEMLENS_FIND_WRITABLE | MEMLENS_FIND_EXECUTABLE |
				  MEMLENS_FIND_SHARED);

	/* MEMLENS_FIND_* perms use the MEMLENS_VMA_* bit values */
	if ((v->flags & perms) != perms)
		return false;
	if ((flags & MEMLENS_FIND_FILE_BACKED) && !v->inode && !(v->dev_major | v->dev_minor))
		return false;
	return true;
}

bool ml_gate_covers(struct memlens *ml, uint64_t addr, uint32_t flags)
{
	gate_probe(ml);
	if (!ml->gate.end || addr >= ml->gate.end || !vma_matches(&ml->gate, flags))
		return false;
	return addr >= ml->gate.start || (flags & MEMLENS_FIND_COVERING_OR_NEXT);
}

/* sources without point queries: walk, then pick like the kernel would */
static int find_by_walk(struct memlens_proc *proc, uint64_t addr, uint32_t flags, struct memlens_vma_set *set)
{
	struct memlens_vma_set *all = NULL;
	int err = walk_one(proc, MEMLENS_JOB_QUERY, false, &all);

	for (size_t i = 0; !err && i < all->n; i++) {
		const struct memlens_vma *v = &all->v[i];

		if (v->end <= addr || !vma_matches(v, flags))
			continue;
		if (v->start > addr && !(flags & MEMLENS_FIND_COVERING_OR_NEXT))
			break;
		err = ml_set_push(set, v, v->name, strlen(v->name));
		memlens_vma_set__free(all);
		return err;
	}
	memlens_vma_set__free(all);
	return err ? err : -ENOENT;
}

int memlens_proc__find_vma(struct memlens_proc *proc, uint64_t addr, uint32_t flags, struct memlens_vma_set **out)
{
	bool bid = flags & MEMLENS_FIND_BUILD_ID;
	const struct ml_source *src;
	struct memlens_vma_set *set;
	struct ml_vma_req req;
	int err;

	if (!proc || !out)
		return ml_err(EINVAL);
	err = ml_proc_source(proc, MEMLENS_JOB_QUERY, bid, &src, &req);
	if (err)
		return ml_err(err);
	set = ml_set_new(src->id);
	if (!set)
		return ml_err(ENOMEM);
	if (src->vma.query) {
		struct memlens_vma v;
		char *name = malloc(4096);
		size_t len = 0;

		memset(&v, 0, sizeof(v));
		err = name ? src->vma.query(&req, addr, flags, &v, name, 4096, &len) : -ENOMEM;
		if (!err)
			err = ml_set_push_path(set, &v, name, len);
		free(name);
		if (err == -ENOENT && ml_gate_covers(proc->ml, addr, flags)) {
			struct memlens_vma g = proc->ml->gate;

			g.pid = proc->pid;
			err = ml_set_push(set, &g, g.name, strlen(g.name));
		}
	} else {
		err = find_by_walk(proc, addr, flags, set);
		req.kernel_bid = false;
	}
	if (!err && bid)
		ml_fill_build_ids(proc->ml, set, req.kernel_bid);
	if ((!err || err == -ENOENT) && ml_proc_reused(proc))
		err = -ESRCH;
	if (err) {
		memlens_vma_set__free(set);
		return ml_err(err);
	}
	*out = set;
	return 0;
}

/* ---- every process ---- */
static int cmp_pid_start(const void *a, const void *b)
{
	const struct memlens_vma *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* one process after another, through the process handle */
static int walk_each(struct memlens *ml, enum memlens_source source, bool build_ids, struct memlens_vma_set *set)
{
	MEMLENS_OPTS(memlens_proc_opts, popts, .source = source);
	MEMLENS_OPTS(memlens_maps_opts, mopts, .build_ids = build_ids);
	struct ml_pids pids;
	pid_t pid;
	int err = ml_pids_open(&pids);

	while (!err && (pid = ml_pids_next(&pids))) {
		struct memlens_vma_set *one = NULL;
		struct memlens_proc *proc = memlens__proc_open(ml, pid, &popts);
		int e = proc ? memlens_proc__maps(proc, &mopts, &one) : -errno;

		memlens_proc__close(proc);
		if (e == -ESRCH)
			set->exited++;
		else if (ml_err_ours(e))
			err = e;
		else if (e) {
			/* EACCES/EPERM mostly: PTRACE_MODE_READ */
			int32_t *u = ML_VEC_PUSH(set->unr, set->unreadable, set->unr_cap);

			if (u)
				*u = pid;
			else
				err = -ENOMEM;
		}
		for (size_t i = 0; !e && !err && i < one->n; i++)
			err = ml_set_push(set, &one->v[i], one->v[i].name, strlen(one->v[i].name));
		memlens_vma_set__free(one);
	}
	ml_pids_close(&pids);
	return err;
}

/* by pid, then address; a task iterator gives them in that order already
 * (tasks by id, a process's leader first, VMAs by address), and qsort's
 * merge buffer would be as large as the set */
static void sort_rows(struct memlens_vma_set *set)
{
	for (size_t i = 1; i < set->n; i++) {
		if (cmp_pid_start(&set->v[i - 1], &set->v[i]) > 0) {
			qsort(set->v, set->n, sizeof(*set->v), cmp_pid_start);
			return;
		}
	}
}

int memlens__maps_all(struct memlens *ml, const struct memlens_maps_all_opts *opts, struct memlens_vma_set **out)
{
	enum memlens_source forced = OPTS_GET(opts, source, MEMLENS_SOURCE_AUTO);
	bool build_ids = OPTS_GET(opts, build_ids, false);
	struct ml_vma_req req = { .ml = ml, .pid = 0, .maps_fd = -1 };
	const struct ml_source *src = NULL;
	struct memlens_vma_set *set;
	int err;

	if (!ml || !out || !OPTS_VALID(opts, memlens_maps_all_opts))
		return ml_err(EINVAL);
	err = ml_select(ml, MEMLENS_JOB_WALK_ALL, forced, NULL, &src);
	if (err)
		return ml_err(err);
	set = ml_set_new(src->id);
	if (!set)
		return ml_err(ENOMEM);
	if (ml->walk_all_rows) {
		size_t cap = ml->walk_all_rows + ml->walk_all_rows / 8 + 64;

		set->v = malloc(cap * sizeof(*set->v));
		set->cap = set->v ? cap : 0;
	}
	if (src->vma.all_in_one_pass) {
		err = src->vma.walk(&req, set);
		if (!err) {
			sort_rows(set);
			err = add_gates(ml, set);
		}
		if (!err && build_ids)
			ml_fill_build_ids(ml, set, false);
	} else {
		err = walk_each(ml, src->id, build_ids, set);
		if (!err)
			sort_rows(set);
	}
	if (err) {
		memlens_vma_set__free(set);
		return ml_err(err);
	}
	ml->walk_all_rows = set->n;
	*out = set;
	return 0;
}

int memlens__who_maps(struct memlens *ml, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
		      const struct memlens_who_maps_opts *opts, struct memlens_vma_set **out)
{
	struct memlens_vma_set *all = NULL, *set;
	int err;

	if (!ml || !out || !inode || !OPTS_VALID(opts, memlens_who_maps_opts))
		return ml_err(EINVAL);
	MEMLENS_OPTS(memlens_maps_all_opts, aopts, .source = OPTS_GET(opts, source, MEMLENS_SOURCE_AUTO));
	err = memlens__maps_all(ml, &aopts, &all);
	if (err)
		return err;
	set = ml_set_new(all->source);
	if (!set) {
		memlens_vma_set__free(all);
		return ml_err(ENOMEM);
	}
	set->exited = all->exited;
	/* the unreadable pids go with their count */
	set->unreadable = all->unreadable;
	set->unr = all->unr;
	set->unr_cap = all->unr_cap;
	all->unr = NULL;
	for (size_t i = 0; !err && i < all->n; i++) {
		const struct memlens_vma *v = &all->v[i];

		if (v->inode == inode && v->dev_major == dev_major && v->dev_minor == dev_minor)
			err = ml_set_push(set, v, v->name, strlen(v->name));
	}
	memlens_vma_set__free(all);
	if (err) {
		memlens_vma_set__free(set);
		return ml_err(err);
	}
	*out = set;
	return 0;
}

int memlens_vma__check_map_file(struct memlens *ml, const struct memlens_vma *v)
{
	char path[96];
	struct stat st;

	if (!ml || !v)
		return ml_err(EINVAL);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)v->pid, (unsigned long long)v->start,
		 (unsigned long long)v->end);
	/* stat follows the link to the mapped inode: the capability check of open */
	if (stat(path, &st))
		return ml_err(errno);
	if (st.st_ino != v->inode || major(st.st_dev) != v->dev_major || minor(st.st_dev) != v->dev_minor)
		return ml_err(ESTALE);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VMA sets and the process handle: picks a source per request (forced or the
 * best probed one), and finishes records the same way whatever the source
 * (gate VMA, build IDs).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "memlens_internal.h"

/* ---- arena ---- */
struct ml_arena_blk {
	struct ml_arena_blk *next;
	size_t used, cap;
	char data[];
};

/* blocks grow from 2 KiB to 64 KiB: small sets (a normalization's few VMAs)
 * stay small, big walks do not allocate per name */
#define ML_ARENA_BLK_MIN (2 * 1024)
#define ML_ARENA_BLK_MAX (64 * 1024)

const char *ml_arena_strndup(struct ml_arena *a, const char *s, size_t len)
{
	struct ml_arena_blk *b = a->head;
	char *p;

	if (len == 0)
		return "";
	if (!b || b->cap - b->used < len + 1) {
		size_t cap = b ? (b->cap * 2 > ML_ARENA_BLK_MAX ? ML_ARENA_BLK_MAX : b->cap * 2) : ML_ARENA_BLK_MIN;

		if (cap < len + 1)
			cap = len + 1;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = 0;
	b->used += len + 1;
	return p;
}

void ml_arena_free(struct ml_arena *a)
{
	struct ml_arena_blk *b = a->head, *n;

	for (; b; b = n) {
		n = b->next;
		free(b);
	}
	a->head = NULL;
}

/* ---- sets ---- */
struct memlens_vma_set *ml_set_new(enum memlens_backend backend)
{
	struct memlens_vma_set *s = calloc(1, sizeof(*s));

	if (s)
		s->backend = backend;
	return s;
}

int ml_set_push(struct memlens_vma_set *set, const struct memlens_vma *vma, const char *name, size_t name_len)
{
	struct memlens_vma *v;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;

		v = realloc(set->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	v = &set->v[set->n];
	*v = *vma;
	v->name = ml_arena_strndup(&set->arena, name ? name : "", name ? name_len : 0);
	if (!v->name)
		return -ENOMEM;
	set->n++;
	return 0;
}

int ml_set_push_path(struct memlens_vma_set *set, const struct memlens_vma *vma, const char *name, size_t len)
{
	char *esc;
	size_t o = 0;
	int err;

	/* maps text escapes '\n' in paths as \012 (seq_path); the binary sources do not */
	if (!memchr(name, '\n', len))
		return ml_set_push(set, vma, name, len);
	esc = malloc(len * 4);
	if (!esc)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\n') {
			memcpy(esc + o, "\\012", 4);
			o += 4;
		} else {
			esc[o++] = name[i];
		}
	}
	err = ml_set_push(set, vma, esc, o);
	free(esc);
	return err;
}

size_t memlens_vma_set__count(const struct memlens_vma_set *set)
{
	return set ? set->n : 0;
}

const struct memlens_vma *memlens_vma_set__get(const struct memlens_vma_set *set, size_t i)
{
	if (!set || i >= set->n) {
		errno = ERANGE;
		return NULL;
	}
	return &set->v[i];
}

enum memlens_backend memlens_vma_set__backend(const struct memlens_vma_set *set)
{
	return set ? set->backend : MEMLENS_BACKEND_AUTO;
}

void memlens_vma_set__free(struct memlens_vma_set *set)
{
	if (!set)
		return;
	ml_arena_free(&set->arena);
	free(set->v);
	free(set);
}

const char *memlens_vma__perms(const struct memlens_vma *vma, char buf[5])
{
	buf[0] = vma->flags & MEMLENS_VMA_READ ? 'r' : '-';
	buf[1] = vma->flags & MEMLENS_VMA_WRITE ? 'w' : '-';
	buf[2] = vma->flags & MEMLENS_VMA_EXEC ? 'x' : '-';
	buf[3] = vma->flags & MEMLENS_VMA_SHARED ? 's' : 'p';
	buf[4] = 0;
	return buf;
}

const char *memlens_vma__build_id_hex(const struct memlens_vma *vma, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!len)
		return buf;
	for (i = 0; i < vma->build_id_size && i < MEMLENS_BUILD_ID_MAX && 2 * i + 2 < len; i++) {
		buf[2 * i] = hex[vma->build_id[i] >> 4];
		buf[2 * i + 1] = hex[vma->build_id[i] & 15];
	}
	buf[2 * i] = 0;
	return buf;
}

/* ---- process handle ---- */
int ml_open_maps(pid_t pid, int *fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	return errno == ENOENT ? -ESRCH : -errno;
}

int ml_proc_stat(pid_t pid, char *state, unsigned long *flags)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	/* "pid (comm) S ppid pgrp session tty tpgid flags": comm may hold ')' */
	p = strrchr(buf, ')');
	*state = 0;
	*flags = 0;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) < 1)
		return -EPROTO;
	return 0;
}

/* 1 if the process is gone or a zombie (no memory left to look at) */
int ml_pid_gone(pid_t pid)
{
	unsigned long flags;
	char state;
	int err = ml_proc_stat(pid, &state, &flags);

	if (err == -ESRCH)
		return 1;
	return !err && (state == 'Z' || state == 'X');
}

struct memlens_proc *memlens__proc_open(struct memlens *ml, pid_t pid, const struct memlens_proc_opts *opts)
{
	enum memlens_backend b = OPTS_GET(opts, backend, MEMLENS_BACKEND_AUTO);
	struct memlens_proc *proc;
	int err;

	if (!ml || pid < 0 || (unsigned)b >= __MEMLENS_BACKEND_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (b != MEMLENS_BACKEND_AUTO && ml_backend_usable(ml, b)) {
		ml_log(ml, MEMLENS_WARN, "backend %s unavailable: %s\n", memlens_backend__name(b),
		       ml->probe[memlens_backend__iface(b)].reason);
		errno = EOPNOTSUPP;
		return NULL;
	}
	proc = calloc(1, sizeof(*proc));
	if (!proc) {
		errno = ENOMEM;
		return NULL;
	}
	proc->ml = ml;
	proc->pid = pid ? pid : getpid();
	proc->backend = b;
	err = ml_open_maps(proc->pid, &proc->maps_fd);
	if (err) {
		free(proc);
		errno = -err;
		return NULL;
	}
	return proc;
}

void memlens_proc__close(struct memlens_proc *proc)
{
	if (!proc)
		return;
	close(proc->maps_fd);
	free(proc);
}

pid_t memlens_proc__pid(const struct memlens_proc *proc)
{
	return proc ? proc->pid : -1;
}

static enum memlens_backend proc_backend(struct memlens_proc *proc, enum memlens_job job)
{
	if (proc->backend != MEMLENS_BACKEND_AUTO)
		return proc->backend;
	return memlens__pick_backend(proc->ml, job);
}

/* Fill build IDs of file-backed VMAs the source left without one. */
void ml_fill_build_ids(struct memlens *ml, struct memlens_vma_set *set, bool source_gave)
{
	for (size_t i = 0; i < set->n; i++) {
		struct memlens_vma *v = &set->v[i];

		if (!v->inode || v->build_id_size || (source_gave && !v->build_id_err))
			continue;
		ml_build_id_fill(ml, v->pid, v);
	}
}

/* The gate VMA ([vsyscall]) is outside the mm's VMA tree: only the text
 * file shows it.  Add it after each process's VMAs so every source agrees. */
static int add_gates(struct memlens *ml, struct memlens_vma_set **setp)
{
	struct memlens_vma_set *in = *setp, *out;
	struct memlens_vma g;
	int err = 0;

	ml_probe_gate(ml);
	if (!ml->gate.end || !in->n)
		return 0;
	out = ml_set_new(in->backend);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < in->n && !err; i++) {
		err = ml_set_push(out, &in->v[i], in->v[i].name, strlen(in->v[i].name));
		if (!err && (i + 1 == in->n || in->v[i + 1].pid != in->v[i].pid)) {
			g = ml->gate;
			g.pid = in->v[i].pid;
			err = ml_set_push(out, &g, g.name, strlen(g.name));
		}
	}
	if (err) {
		memlens_vma_set__free(out);
		return err;
	}
	memlens_vma_set__free(in);
	*setp = out;
	return 0;
}

static int walk_one(struct memlens_proc *proc, enum memlens_backend b, bool build_ids, struct memlens_vma_set **out)
{
	struct memlens *ml = proc->ml;
	struct memlens_vma_set *set = ml_set_new(b);
	bool kernel_bid = false;
	int err;

	if (!set)
		return -ENOMEM;
	switch (b) {
	case MEMLENS_BACKEND_IOCTL:
		kernel_bid = build_ids && memlens__probe(ml, MEMLENS_IFACE_PROCMAP_BUILD_ID) == 0;
		err = ml_pq_walk(proc, kernel_bid, set);
		break;
	case MEMLENS_BACKEND_BPF:
		err = ml_bpf_walk(ml, proc->pid, set);
		break;
	default:
		err = ml_maps_text_walk(proc, set);
		break;
	}
	/* a kernel thread has no mm: PROCMAP_QUERY says ESRCH, text is empty */
	if (err == -ESRCH && !ml_pid_gone(proc->pid))
		err = 0;
	if (!err && set->n == 0 && ml_pid_gone(proc->pid))
		err = -ESRCH;
	if (!err && b != MEMLENS_BACKEND_TEXT)
		err = add_gates(ml, &set);
	if (err) {
		memlens_vma_set__free(set);
		return err;
	}
	if (build_ids)
		ml_fill_build_ids(ml, set, kernel_bid);
	*out = set;
	return 0;
}

int memlens_proc__maps(struct memlens_proc *proc, const struct memlens_maps_opts *opts, struct memlens_vma_set **out)
{
	int err;

	if (!proc || !out)
		return ml_err(EINVAL);
	err = walk_one(proc, proc_backend(proc, MEMLENS_JOB_WALK), OPTS_GET(opts, build_ids, false), out);
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
	ml_probe_gate(ml);
	if (!ml->gate.end || addr >= ml->gate.end || !vma_matches(&ml->gate, flags))
		return false;
	return addr >= ml->gate.start || (flags & MEMLENS_FIND_COVERING_OR_NEXT);
}

int memlens_proc__find_vma(struct memlens_proc *proc, uint64_t addr, uint32_t flags, struct memlens_vma_set **out)
{
	struct memlens_vma_set *all = NULL, *set;
	enum memlens_backend b;
	int err = -ENOENT;

	if (!proc || !out)
		return ml_err(EINVAL);
	b = proc_backend(proc, MEMLENS_JOB_QUERY);
	set = ml_set_new(b);
	if (!set)
		return ml_err(ENOMEM);
	if (b == MEMLENS_BACKEND_IOCTL) {
		err = ml_pq_find(proc, addr, flags, set);
		if (err == -ENOENT && ml_gate_covers(proc->ml, addr, flags)) {
			struct memlens_vma g = proc->ml->gate;

			g.pid = proc->pid;
			err = ml_set_push(set, &g, g.name, strlen(g.name));
		}
		if (!err && (flags & MEMLENS_FIND_BUILD_ID))
			ml_fill_build_ids(proc->ml, set, memlens__probe(proc->ml, MEMLENS_IFACE_PROCMAP_BUILD_ID) == 0);
	} else {
		/* sources without point queries: walk, then pick like the kernel would */
		err = walk_one(proc, b, false, &all);
		for (size_t i = 0; !err && i < all->n; i++) {
			const struct memlens_vma *v = &all->v[i];

			if (v->end <= addr || !vma_matches(v, flags))
				continue;
			if (v->start > addr && !(flags & MEMLENS_FIND_COVERING_OR_NEXT))
				break;
			err = ml_set_push(set, v, v->name, strlen(v->name));
			if (!err && (flags & MEMLENS_FIND_BUILD_ID))
				ml_fill_build_ids(proc->ml, set, false);
			goto done;
		}
		if (!err)
			err = -ENOENT;
	}
done:
	memlens_vma_set__free(all);
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

int memlens__maps_all(struct memlens *ml, enum memlens_backend b, const struct memlens_maps_opts *opts,
		      struct memlens_vma_set **out, size_t *skipped)
{
	bool build_ids = OPTS_GET(opts, build_ids, false);
	struct memlens_vma_set *set;
	struct dirent *de;
	size_t nskip = 0;
	DIR *d;
	int err = 0;

	if (!ml || !out || (unsigned)b >= __MEMLENS_BACKEND_MAX)
		return ml_err(EINVAL);
	if (b == MEMLENS_BACKEND_AUTO)
		b = memlens__pick_backend(ml, MEMLENS_JOB_WALK_ALL);
	else if ((err = ml_backend_usable(ml, b)))
		return ml_err(EOPNOTSUPP);
	set = ml_set_new(b);
	if (!set)
		return ml_err(ENOMEM);
	if (b == MEMLENS_BACKEND_BPF) {
		err = ml_bpf_walk(ml, 0, set);
		if (!err) {
			qsort(set->v, set->n, sizeof(*set->v), cmp_pid_start);
			err = add_gates(ml, &set);
		}
		if (!err && build_ids)
			ml_fill_build_ids(ml, set, false);
		goto out;
	}
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		goto out;
	}
	while (!err && (de = readdir(d))) {
		MEMLENS_OPTS(memlens_proc_opts, popts, .backend = b);
		MEMLENS_OPTS(memlens_maps_opts, mopts, .build_ids = build_ids);
		struct memlens_vma_set *one = NULL;
		struct memlens_proc *proc;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		proc = memlens__proc_open(ml, pid, &popts);
		if (!proc || memlens_proc__maps(proc, &mopts, &one)) {
			nskip++;
			memlens_proc__close(proc);
			continue;
		}
		for (size_t i = 0; !err && i < one->n; i++)
			err = ml_set_push(set, &one->v[i], one->v[i].name, strlen(one->v[i].name));
		memlens_vma_set__free(one);
		memlens_proc__close(proc);
	}
	closedir(d);
	if (!err)
		qsort(set->v, set->n, sizeof(*set->v), cmp_pid_start);
out:
	if (err) {
		memlens_vma_set__free(set);
		return ml_err(err);
	}
	if (skipped)
		*skipped = nskip;
	*out = set;
	return 0;
}

int memlens__who_maps(struct memlens *ml, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
		      enum memlens_backend backend, struct memlens_vma_set **out, size_t *skipped)
{
	struct memlens_vma_set *all = NULL, *set;
	int err;

	if (!ml || !out || !inode)
		return ml_err(EINVAL);
	err = memlens__maps_all(ml, backend, NULL, &all, skipped);
	if (err)
		return err;
	set = ml_set_new(all->backend);
	if (!set) {
		memlens_vma_set__free(all);
		return ml_err(ENOMEM);
	}
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

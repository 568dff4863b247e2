// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF iter/task_vma (Linux 5.12+, CAP_BPF+CAP_PERFMON or root): the kernel
 * walks VMAs of one process (link_info task.pid, 6.1+) or of all of them in
 * one pass, and the program writes struct ml_vma_rec records.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probes.h"
#include "procfs.h"
#include "source.h"
#include "vma_maps_text.h"
#include "bpf_iter.h"
#include "vma_record.h"
#include "bpf_prog.h"

struct ml_bpf {
	struct ml_prog_loaded prog;
};

void ml_bpf_free(struct ml_bpf *bpf)
{
	if (!bpf)
		return;
	ml_prog_unload(&bpf->prog);
	free(bpf);
}

int ml_bpf_task_vma_probe(struct memlens *ml, struct ml_probe *p)
{
	struct ml_bpf *bpf = calloc(1, sizeof(*bpf));
	int err = bpf ? ml_prog_load(ml, ML_PROG_TASK_VMA, &bpf->prog) : -ENOMEM;

	if (!err) {
		ml->bpf = bpf;
		ml_probe_set(p, 0, "iter/task_vma program loaded (%s)", bpf->prog.how);
		return 0;
	}
	free(bpf);
	if (err == -ENOMEM)
		ml_probe_set(p, err, "out of memory");
	else if (err == -EPERM || err == -EACCES)
		ml_probe_set(p, err, "loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
	else if (ml->kver < ML_KVER(5, 12, 0))
		ml_probe_set(p, err, "kernel %s has no iter/task_vma (needs 5.12+)", ml->release);
	else
		ml_probe_set(p, err, "iter/task_vma program failed to load: %s%s%s", strerror(-err),
			     ml_libbpf_last()[0] ? ": " : "", ml_libbpf_last());
	return err;
}

int ml_bpf_iter_pid_probe(struct memlens *ml, struct ml_probe *p)
{
	int fd = ml_prog_iter_link(&ml->bpf->prog, getpid());

	if (fd < 0) {
		ml_probe_set(p, fd, "kernel %s cannot give task iterators a pid (6.1+): filtering in the program",
			     ml->release);
		return p->err;
	}
	close(fd);
	ml_probe_set(p, 0, "task iterators take a pid in link_info");
	return 0;
}

static const char *kind_name(const struct ml_vma_rec *r, const char *raw, char *buf, size_t len, size_t *out_len)
{
	switch (r->name_kind) {
	case ML_NAME_PATH:
	case ML_NAME_PATH_REF:
	case ML_NAME_SPECIAL:
		*out_len = r->name_len;
		return raw;
	case ML_NAME_HEAP:
		raw = "[heap]";
		break;
	case ML_NAME_STACK:
		raw = "[stack]";
		break;
	case ML_NAME_VDSO_NOMM:
		raw = "[vdso]";
		break;
	case ML_NAME_ANON:
	case ML_NAME_ANON_SHMEM:
		*out_len = (size_t)snprintf(buf, len, "[%s:%.*s]", r->name_kind == ML_NAME_ANON ? "anon" : "anon_shmem",
					    (int)r->name_len, raw);
		if (*out_len >= len)
			*out_len = len - 1;
		return buf;
	default:
		*out_len = 0;
		return "";
	}
	*out_len = strlen(raw);
	return raw;
}

/* Name of a VMA whose path the program could not get (longer than its buffer) */
static int text_name(pid_t pid, uint64_t start, struct memlens_vma_set *into, size_t idx)
{
	struct memlens_vma_set *t = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	int err;

	if (!t)
		return -ENOMEM;
	err = ml_maps_text_read_pid(pid, t);
	for (size_t i = 0; !err && i < t->n; i++) {
		if (t->v[i].start == start) {
			into->v[idx].name = ml_arena_strndup(&into->arena, t->v[i].name, strlen(t->v[i].name));
			if (!into->v[idx].name)
				err = -ENOMEM;
			break;
		}
	}
	memlens_vma_set__free(t);
	return err;
}

/* the walk's paths by id: ids come in order, 1, 2, ... */
struct path_ids {
	struct {
		const char *name;
		uint16_t len;
	} *v;
	size_t n, cap;
	struct ml_arena arena;
};

static int path_ids_add(struct path_ids *ids, uint32_t id, const char *name, uint16_t len)
{
	__typeof__(ids->v) e;

	if (id != ids->n + 1)
		return -EPROTO;
	e = ML_VEC_PUSH(ids->v, ids->n, ids->cap);
	if (!e)
		return -ENOMEM;
	e->name = ml_arena_strndup(&ids->arena, name, len);
	e->len = len;
	return e->name ? 0 : -ENOMEM;
}

static int path_ids_get(struct path_ids *ids, uint32_t id, const char **name, uint16_t *len)
{
	if (id == 0 || id > ids->n)
		return -EPROTO;
	*name = ids->v[id - 1].name;
	*len = ids->v[id - 1].len;
	return 0;
}

static int bpf_walk(const struct ml_vma_req *req, struct memlens_vma_set *set)
{
	struct memlens *ml = req->ml;
	pid_t pid = req->pid;
	bool by_link = pid && ml_has(ml, MEMLENS_IFACE_BPF_ITER_PID);
	int link = -1;
	struct ml_seen seen = { .cur_tid = -1 };
	struct ml_iter_rd rd = { .fd = -1 };
	struct ml_walk_ctl *ctl;
	struct path_ids ids = { 0 };
	char nbuf[300];
	bool skip_task;
	int fd = -1, err;

	if (!ml->bpf)
		return -EOPNOTSUPP;
	/* with link_info the kernel walks only this process (and resolves the pid
	 * in our pid namespace); without it the program filters on tgid */
	ctl = ml->bpf->prog.walk_ctl;
	ctl->target_tgid = by_link ? 0 : (uint32_t)pid;
	ctl->gen++;
	ctl->next_id = 1;
	link = ml_prog_iter_link(&ml->bpf->prog, by_link ? pid : 0);
	if (link < 0) {
		err = link;
		goto out;
	}
	fd = bpf_iter_create(link);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = ml_iter_rd_init(&rd, fd);
	while (!err) {
		struct ml_vma_rec r;
		struct memlens_vma v;
		const char *raw, *name;
		size_t name_len;

		err = ml_iter_rd_next(&rd, sizeof(r), &raw);
		if (err)
			break;
		memcpy(&r, raw, sizeof(r));
		err = ml_iter_rd_next(&rd, r.name_len, &raw);
		if (err) {
			err = err == 1 ? -EPROTO : err;
			break;
		}
		/* a path is sent once per walk, later VMAs refer to it by id */
		if (r.name_kind == ML_NAME_PATH && r.path_id)
			err = path_ids_add(&ids, r.path_id, raw, r.name_len);
		else if (r.name_kind == ML_NAME_PATH_REF)
			err = path_ids_get(&ids, r.path_id, &raw, &r.name_len);
		if (err)
			break;
		/* one record stream per task; a thread with its own fd table walks
		 * its process's mm again: keep the first task of each process */
		err = ml_seen_first_task(&seen, r.tgid, r.tid, &skip_task);
		if (err)
			break;
		if (skip_task)
			continue;
		memset(&v, 0, sizeof(v));
		v.start = r.start;
		v.end = r.end;
		v.offset = r.pgoff;
		v.inode = r.ino;
		v.dev_major = r.dev >> 20;
		v.dev_minor = r.dev & 0xfffff;
		v.flags = (r.vm_flags & 7) | (r.vm_flags & 0x80 ? MEMLENS_VMA_SHARED : 0);
		v.page_size = r.page_size;
		v.pid = pid ? pid : r.tgid;
		name = kind_name(&r, raw, nbuf, sizeof(nbuf), &name_len);
		if (r.name_kind == ML_NAME_PATH || r.name_kind == ML_NAME_PATH_REF)
			err = ml_set_push_path(set, &v, name, name_len);
		else
			err = ml_set_push(set, &v, name, name_len);
		if (!err && r.name_kind == ML_NAME_PATH_ERR)
			err = text_name(v.pid, v.start, set, set->n - 1);
	}
	if (err == 1)
		err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (link >= 0)
		close(link);
	ml_iter_rd_free(&rd);
	ml_arena_free(&ids.arena);
	free(ids.v);
	free(seen.bits);
	return err;
}

const struct ml_source ml_src_bpf_task_vma = {
	.id = MEMLENS_SOURCE_BPF_TASK_VMA,
	.name = "bpf",
	.iface = MEMLENS_IFACE_BPF_TASK_VMA,
	.also = MEMLENS_IFACE_BPF_ITER_PID,
	/* every process: one BPF pass beats a file per process */
	.rank = { [MEMLENS_JOB_WALK] = 2, [MEMLENS_JOB_QUERY] = 3, [MEMLENS_JOB_WALK_ALL] = 1 },
	.cost = { [MEMLENS_JOB_WALK] = "maps unreadable: the kernel walks the process for the BPF program",
		  [MEMLENS_JOB_WALK_ALL] = "one pass over every process: 2-2.5x cheaper than reading each maps file with the load, 3-5.5x once loaded" },
	.vma = { .walk = bpf_walk, .all_in_one_pass = true },
};

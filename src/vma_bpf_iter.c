// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF iter/task_vma (Linux 5.12+, CAP_BPF+CAP_PERFMON or root): the kernel
 * walks VMAs of one process (link_info task.pid, 6.1+) or of all of them in
 * one pass, and the program writes struct ml_vma_rec records.
 *
 * Two variants of the program, chosen once per context by the probe:
 * task_vma names files with bpf_d_path(), which needs a kernel that treats
 * vma->vm_file as trusted (some 6.18 builds do not); task_vma_nopath sends
 * each file's first VMA unnamed and the name is asked of the kernel here,
 * once per file per walk: PROCMAP_QUERY (6.11+; the name maps prints, the
 * overlayfs user path included), else the process's maps text.
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
#include "vma_procmap_query.h"
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

/* what each variant does, for the probe's reason */
static const char *variant_how(enum ml_prog v, bool pq)
{
	if (v == ML_PROG_TASK_VMA)
		return "paths by bpf_d_path() in the kernel";
	return pq ? "each file's path asked once per walk with PROCMAP_QUERY" :
		    "each file's path read once per walk from its process's maps";
}

int ml_bpf_task_vma_probe(struct memlens *ml, struct ml_probe *p)
{
	const char *force = getenv("MEMLENS_BPF_VMA_VARIANT");
	enum ml_prog order[2];
	char why[2][400] = { "", "" }, missing[64];
	int errs[2] = { 0, 0 }, n = 0;
	bool pq;
	struct ml_bpf *bpf;

	if (!ml_bpf_caps(missing, sizeof(missing))) {
		ml_probe_set(p, -EPERM, "loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): %s not held", missing);
		return p->err;
	}
	if (ml->kver < ML_KVER(5, 12, 0)) {
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s has no iter/task_vma (needs 5.12+)", ml->release);
		return p->err;
	}
	/* where PROCMAP_QUERY names files, the unnamed variant answers as maps
	 * does even for overlayfs files (whose vm_file is the backing file:
	 * bpf_d_path() names the lower layer); elsewhere bpf_d_path() first */
	pq = memlens__probe(ml, MEMLENS_IFACE_PROCMAP_QUERY) == 0;
	if (force && !strcmp(force, "d_path")) {
		order[n++] = ML_PROG_TASK_VMA;
	} else if (force && !strcmp(force, "nopath")) {
		order[n++] = ML_PROG_TASK_VMA_NOPATH;
	} else {
		order[n++] = pq ? ML_PROG_TASK_VMA_NOPATH : ML_PROG_TASK_VMA;
		order[n++] = pq ? ML_PROG_TASK_VMA : ML_PROG_TASK_VMA_NOPATH;
	}
	bpf = calloc(1, sizeof(*bpf));
	if (!bpf) {
		ml_probe_set(p, -ENOMEM, "out of memory");
		return p->err;
	}
	for (int i = 0; i < n; i++) {
		errs[i] = ml_prog_load(ml, order[i], &bpf->prog);
		if (!errs[i]) {
			ml->bpf = bpf;
			if (i)
				ml_probe_set(p, 0, "iter/task_vma program loaded (%s, %s; %s)", ml_prog_name(order[i]),
					     variant_how(order[i], pq), why[0]);
			else
				ml_probe_set(p, 0, "iter/task_vma program loaded (%s, %s; %s)%s", ml_prog_name(order[i]),
					     variant_how(order[i], pq), bpf->prog.how,
					     force ? ": MEMLENS_BPF_VMA_VARIANT" : "");
			return 0;
		}
		ml_prog_refusal(ml, order[i], errs[i], &bpf->prog, why[i], sizeof(why[i]));
		ml_log(ml, MEMLENS_DEBUG, "%s: %s\n", ml_prog_name(order[i]), why[i]);
		ml_prog_log_tail(ml, &bpf->prog, 12);
	}
	free(bpf);
	if (n == 2 && strcmp(why[0], why[1]))
		ml_probe_set(p, errs[0], "%s; %s", why[0], why[1]);
	else
		ml_probe_set(p, errs[0], "%s", why[0]);
	return p->err;
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
	case ML_NAME_PATH_LATER:
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

	if (id == ids->n && id) {
		/* the program could not remember the last id's path (its map
		 * full): nothing refers to it, and it is sent again for this one */
		e = &ids->v[id - 1];
	} else if (id != ids->n + 1) {
		return -EPROTO;
	} else {
		e = ML_VEC_PUSH(ids->v, ids->n, ids->cap);
		if (!e)
			return -ENOMEM;
	}
	e->len = len;
	e->name = ml_arena_strndup(&ids->arena, name, len);
	return e->name ? 0 : -ENOMEM;
}

/* task_vma_nopath's names of this walk by file key (dentry, mount): open
 * addressing, grown at half full */
struct fkeys {
	struct fkey {
		__u64 k[2];
		const char *name;	/* NULL: an empty slot */
		size_t len;
	} *t;
	size_t cap, n;
};

static size_t fkey_slot(const struct fkeys *f, const __u64 k[2])
{
	uint64_t h = (k[0] ^ (k[1] * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	size_t i = (size_t)(h ^ (h >> 29)) & (f->cap - 1);

	while (f->t[i].name && (f->t[i].k[0] != k[0] || f->t[i].k[1] != k[1]))
		i = (i + 1) & (f->cap - 1);
	return i;
}

static const struct fkey *fkey_get(const struct fkeys *f, const __u64 k[2])
{
	const struct fkey *e;

	if (!f->cap)
		return NULL;
	e = &f->t[fkey_slot(f, k)];
	return e->name ? e : NULL;
}

static int fkey_put(struct fkeys *f, struct ml_arena *arena, const __u64 k[2], const char *name, size_t len)
{
	struct fkey *e;

	if (2 * (f->n + 1) > f->cap) {
		struct fkeys g = { .cap = f->cap ? 2 * f->cap : 256 };

		g.t = calloc(g.cap, sizeof(*g.t));
		if (!g.t)
			return -ENOMEM;
		for (size_t i = 0; i < f->cap; i++)
			if (f->t[i].name)
				g.t[fkey_slot(&g, f->t[i].k)] = f->t[i];
		free(f->t);
		f->t = g.t;
		f->cap = g.cap;
	}
	e = &f->t[fkey_slot(f, k)];
	e->k[0] = k[0];
	e->k[1] = k[1];
	e->name = ml_arena_strndup(arena, name, len);
	e->len = len;
	if (!e->name)
		return -ENOMEM;
	f->n++;
	return 0;
}

/* task_vma_nopath's names, asked of the kernel for one VMA of each file:
 * PROCMAP_QUERY on the process's maps (kept open while its records come),
 * else its maps text (read once) */
struct asker {
	pid_t pid;
	int fd;
	bool own_fd;
	struct memlens_vma_set *text;
	char name[ML_PQ_NAME_MAX];
};

static void asker_reset(struct asker *a, pid_t pid)
{
	if (a->own_fd && a->fd >= 0)
		close(a->fd);
	memlens_vma_set__free(a->text);
	a->text = NULL;
	a->fd = -1;
	a->own_fd = false;
	a->pid = pid;
}

/* the name maps gives the VMA of r, in *name, *len: 0; -ESRCH: the process
 * is gone; -ENOENT: that VMA is not there any more (or is another file now) */
static int ask_name(const struct ml_vma_req *req, struct asker *a, const struct ml_vma_rec *r, pid_t pid,
		    const char **name, size_t *len)
{
	struct memlens_vma v;
	int err = -ENAMETOOLONG;

	if (a->pid != pid)
		asker_reset(a, pid);
	if (ml_has(req->ml, MEMLENS_IFACE_PROCMAP_QUERY)) {
		if (a->fd < 0 && req->maps_fd >= 0 && req->pid == pid) {
			a->fd = req->maps_fd;	/* the process handle's own */
		} else if (a->fd < 0) {
			err = ml_open_maps(pid, &a->fd);
			if (err)
				return err == -ESRCH || err == -ENOENT ? -ESRCH : err;
			a->own_fd = true;
		}
		memset(&v, 0, sizeof(v));
		err = ml_procmap_query_vma(a->fd, r->start, &v, a->name, sizeof(a->name), len);
		if (!err) {
			if (v.start != r->start || v.inode != r->ino || v.dev_major != r->dev >> 20 ||
			    v.dev_minor != (r->dev & 0xfffff))
				return -ENOENT;
			*name = a->name;
			return 0;
		}
		if (err == -ESRCH || err == -ENOENT)
			return ml_pid_gone(pid) ? -ESRCH : -ENOENT;
		if (err != -ENAMETOOLONG)
			return err;
	}
	/* no PROCMAP_QUERY, or a name longer than PATH_MAX: the text */
	if (!a->text) {
		a->text = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
		if (!a->text)
			return -ENOMEM;
		err = ml_maps_text_read_pid(pid, a->text);
		if (err) {
			memlens_vma_set__free(a->text);
			a->text = NULL;
			return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
		}
	}
	for (size_t i = 0; i < a->text->n; i++) {
		const struct memlens_vma *t = &a->text->v[i];

		if (t->start == r->start) {
			if (t->inode != r->ino)
				return -ENOENT;
			/* the text's '\n' is \012 already: pushed as it is */
			*name = t->name;
			*len = strlen(t->name);
			return 1;
		}
	}
	return -ENOENT;
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
	struct fkeys fkeys = { 0 };
	struct asker *ask = NULL;
	char nbuf[300];
	bool skip_task;
	int32_t drop_tgid = -1, cur_tgid = -1;
	size_t task_first = 0;
	int fd = -1, err;

	if (!ml->bpf)
		return -EOPNOTSUPP;
	/* with link_info the kernel walks only this process (and resolves the pid
	 * in our pid namespace); without it the program filters on tgid */
	ctl = ml->bpf->prog.walk_ctl;
	if (ctl->full && ml->bpf->prog.map_fd >= 0) {
		/* the last walk filled the paths map (entries of many walks,
		 * stale ones included): emptied, the cache starts over */
		uint8_t key[16], next[16];

		while (!bpf_map_get_next_key(ml->bpf->prog.map_fd, NULL, next)) {
			memcpy(key, next, sizeof(key));
			if (bpf_map_delete_elem(ml->bpf->prog.map_fd, key))
				break;
		}
		ctl->full = 0;
	}
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
		if (skip_task || r.tgid == drop_tgid)
			continue;
		if (r.tgid != cur_tgid) {
			cur_tgid = r.tgid;
			task_first = set->n;
		}
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
		if (r.name_kind == ML_NAME_PATH_LATER) {
			/* a file named earlier in the walk, or asked for now with this VMA */
			const struct fkey *fk = fkey_get(&fkeys, r.file_key);
			int got;

			if (fk) {
				err = ml_set_push_path(set, &v, fk->name, fk->len);
				if (err)
					break;
				continue;
			}
			if (!ask) {
				ask = malloc(sizeof(*ask));
				if (!ask) {
					err = -ENOMEM;
					break;
				}
				ask->fd = -1;
				ask->own_fd = false;
				ask->text = NULL;
				ask->pid = -1;
			}
			got = ask_name(req, ask, &r, v.pid, &name, &name_len);
			if (got == -ENOENT)
				continue;	/* unmapped since the kernel's walk: not there now */
			if (got == -ESRCH) {
				/* gone since the kernel's walk: as if it had
				 * exited before (one process: no such process) */
				if (pid) {
					err = -ESRCH;
					break;
				}
				set->n = task_first;
				set->exited++;
				drop_tgid = r.tgid;
				continue;
			}
			if (got < 0) {
				err = got;
				break;
			}
			/* the ioctl's name is raw as d_path's; the text's has
			 * its '\n' as \012 already, and so no '\n' to escape */
			err = fkey_put(&fkeys, &ids.arena, r.file_key, name, name_len);
			if (!err)
				err = ml_set_push_path(set, &v, name, name_len);
			if (err)
				break;
			continue;
		}
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
	if (ask) {
		asker_reset(ask, -1);
		free(ask);
	}
	ml_arena_free(&ids.arena);
	free(ids.v);
	free(fkeys.t);
	free(seen.bits);
	return err;
}

const struct ml_source ml_src_bpf_task_vma = {
	.id = MEMLENS_SOURCE_BPF_TASK_VMA,
	.name = "bpf",
	.iface = MEMLENS_IFACE_BPF_TASK_VMA,
	.also = MEMLENS_IFACE_BPF_ITER_PID,
	/* every process: one BPF pass beats a file per process */
	.cost = { [MEMLENS_JOB_WALK] = "maps unreadable: the kernel walks the process for the BPF program",
		  [MEMLENS_JOB_WALK_ALL] = "one pass over every process: 2-2.5x cheaper than reading each maps file with the load, 3-5.5x once loaded" },
	.vma = { .walk = bpf_walk, .all_in_one_pass = true },
};

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
#include "memlens_internal.h"
#include "vma_record.h"
#include "task_vma.skel.h"

struct ml_bpf {
	struct task_vma_bpf *skel;
};

void ml_bpf_free(struct ml_bpf *bpf)
{
	if (!bpf)
		return;
	task_vma_bpf__destroy(bpf->skel);
	free(bpf);
}

/* libbpf's print callback is process-wide: install ours only while loading,
 * keep the last line for the probe's reason, and never print. */
static __thread char libbpf_last[160];

static int libbpf_capture(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char line[160];
	size_t n;

	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strcspn(line, "\n");
	line[n] = 0;
	if (n)
		memcpy(libbpf_last, line, n + 1);
	return 0;
}

void *ml_libbpf_quiet(void)
{
	libbpf_last[0] = 0;
	return (void *)libbpf_set_print(libbpf_capture);
}

void ml_libbpf_restore(void *old)
{
	libbpf_set_print((libbpf_print_fn_t)old);
}

int ml_bpf_probe(struct memlens *ml, struct ml_probe *p)
{
	libbpf_print_fn_t old;
	struct task_vma_bpf *skel;
	int err;

	if (memlens__probe(ml, MEMLENS_IFACE_BTF)) {
		ml_probe_set(p, -EOPNOTSUPP, "%s", ml->probe[MEMLENS_IFACE_BTF].reason);
		return p->err;
	}
	libbpf_last[0] = 0;
	old = libbpf_set_print(libbpf_capture);
	skel = task_vma_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	skel->rodata->page_size = (uint32_t)ml->page_size;
	err = task_vma_bpf__load(skel);
out:
	libbpf_set_print(old);
	if (!err) {
		ml->bpf = calloc(1, sizeof(*ml->bpf));
		if (!ml->bpf) {
			task_vma_bpf__destroy(skel);
			ml_probe_set(p, -ENOMEM, "out of memory");
			return p->err;
		}
		ml->bpf->skel = skel;
		ml_probe_set(p, 0, "iter/task_vma program loaded");
		return 0;
	}
	task_vma_bpf__destroy(skel);
	if (err == -EPERM || err == -EACCES)
		ml_probe_set(p, err, "loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
	else if (ml->kver < ML_KVER(5, 12, 0))
		ml_probe_set(p, err, "kernel %s has no iter/task_vma (needs 5.12+)", ml->release);
	else
		ml_probe_set(p, err, "iter/task_vma program failed to load: %s%s%s", strerror(-err),
			     libbpf_last[0] ? ": " : "", libbpf_last);
	return err;
}

static struct bpf_link *attach(struct ml_bpf *bpf, pid_t pid, bool by_link)
{
	union bpf_iter_link_info linfo;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);

	if (by_link) {
		memset(&linfo, 0, sizeof(linfo));
		linfo.task.pid = pid;
		opts.link_info = &linfo;
		opts.link_info_len = sizeof(linfo);
	}
	return bpf_program__attach_iter(bpf->skel->progs.memlens_task_vma, &opts);
}

int ml_bpf_iter_pid_probe(struct memlens *ml, struct ml_probe *p)
{
	struct bpf_link *link;
	libbpf_print_fn_t old;

	if (memlens__probe(ml, MEMLENS_IFACE_BPF_TASK_VMA)) {
		ml_probe_set(p, -EOPNOTSUPP, "%s", ml->probe[MEMLENS_IFACE_BPF_TASK_VMA].reason);
		return p->err;
	}
	old = libbpf_set_print(libbpf_capture);
	link = attach(ml->bpf, getpid(), true);
	libbpf_set_print(old);
	if (!link) {
		ml_probe_set(p, -errno, "kernel %s cannot give task iterators a pid (6.1+): filtering in the program",
			     ml->release);
		return p->err;
	}
	bpf_link__destroy(link);
	ml_probe_set(p, 0, "task iterators take a pid in link_info");
	return 0;
}

static const char *kind_name(const struct ml_vma_rec *r, const char *raw, char *buf, size_t len, size_t *out_len)
{
	switch (r->name_kind) {
	case ML_NAME_PATH:
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
	struct memlens_vma_set *t = ml_set_new(MEMLENS_BACKEND_TEXT);
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

/* true if tgid was already marked; marks it */
static int seen_test_set(struct ml_seen *s, int32_t tgid, bool *was)
{
	size_t need = (size_t)tgid + 1;

	if (need > s->nbits) {
		size_t nbits = need * 2;
		uint8_t *b = realloc(s->bits, (nbits + 7) / 8);

		if (!b)
			return -ENOMEM;
		memset(b + (s->nbits + 7) / 8, 0, (nbits + 7) / 8 - (s->nbits + 7) / 8);
		s->bits = b;
		s->nbits = nbits;
	}
	*was = s->bits[tgid / 8] & (1u << (tgid % 8));
	s->bits[tgid / 8] |= (uint8_t)(1u << (tgid % 8));
	return 0;
}

int ml_seen_first_task(struct ml_seen *s, int32_t tgid, int32_t tid, bool *skip)
{
	int err = 0;

	if (tid != s->cur_tid) {
		s->cur_tid = tid;
		err = seen_test_set(s, tgid, &s->skip);
	}
	*skip = s->skip;
	return err;
}

int ml_bpf_walk(struct memlens *ml, pid_t pid, struct memlens_vma_set *set)
{
	bool by_link = pid && memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_PID) == 0;
	struct bpf_link *link = NULL;
	struct ml_seen seen = { .cur_tid = -1 };
	char *buf = NULL, nbuf[300];
	bool skip_task;
	size_t len = 0, off = 0;
	int fd = -1, err;

	err = memlens__probe(ml, MEMLENS_IFACE_BPF_TASK_VMA);
	if (err)
		return err;
	/* with link_info the kernel walks only this process (and resolves the pid
	 * in our pid namespace); without it the program filters on tgid */
	ml->bpf->skel->bss->target_tgid = by_link ? 0 : (uint32_t)pid;
	link = attach(ml->bpf, pid, by_link);
	if (!link) {
		err = -errno;
		goto out;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = ml_read_file_fd(fd, &buf, &len);
	if (err)
		goto out;
	while (!err && len - off >= sizeof(struct ml_vma_rec)) {
		struct ml_vma_rec r;
		struct memlens_vma v;
		const char *raw, *name;
		size_t name_len;

		memcpy(&r, buf + off, sizeof(r));
		off += sizeof(r);
		if (r.name_len > len - off) {
			err = -EPROTO;
			break;
		}
		raw = buf + off;
		off += r.name_len;
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
		err = r.name_kind == ML_NAME_PATH ? ml_set_push_path(set, &v, name, name_len)
						  : ml_set_push(set, &v, name, name_len);
		if (!err && r.name_kind == ML_NAME_PATH_ERR)
			err = text_name(v.pid, v.start, set, set->n - 1);
	}
	if (!err && off != len)
		err = -EPROTO;
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	free(buf);
	free(seen.bits);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DMA-BUF accounting from BPF iterators: iter/dmabuf (every buffer, 6.16+),
 * iter/task_file (fds) and iter/task_vma (mappings), each a pass over the
 * whole system.  Read from pins in bpffs when present (readers then need only
 * read permission on the pins, as Android does), else from programs loaded
 * here (CAP_BPF + CAP_PERFMON).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dmabuf_internal.h"
#include "dmabuf_record.h"
#include "dmabuf.skel.h"
#include "task_file.skel.h"
#include "task_vma_dmabuf.skel.h"

static const char *const pin_names[3] = { "dmabuf_buffers", "dmabuf_fds", "dmabuf_maps" };

struct loaded {
	struct dmabuf_bpf *bufs;
	struct task_file_bpf *fds;
	struct task_vma_dmabuf_bpf *maps;
	struct bpf_link *links[3];
};

static void unload(struct loaded *l)
{
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(l->links[i]);
	dmabuf_bpf__destroy(l->bufs);
	task_file_bpf__destroy(l->fds);
	task_vma_dmabuf_bpf__destroy(l->maps);
	memset(l, 0, sizeof(*l));
}

static int load(struct loaded *l)
{
	void *old = ml_libbpf_quiet();
	int err = 0;

	memset(l, 0, sizeof(*l));
	l->bufs = dmabuf_bpf__open_and_load();
	l->fds = l->bufs ? task_file_bpf__open_and_load() : NULL;
	l->maps = l->fds ? task_vma_dmabuf_bpf__open_and_load() : NULL;
	if (!l->maps)
		err = -errno;
	if (!err) {
		l->links[0] = bpf_program__attach_iter(l->bufs->progs.memlens_dmabuf, NULL);
		l->links[1] = bpf_program__attach_iter(l->fds->progs.memlens_dmabuf_fds, NULL);
		l->links[2] = bpf_program__attach_iter(l->maps->progs.memlens_dmabuf_maps, NULL);
		for (int i = 0; i < 3 && !err; i++)
			if (!l->links[i])
				err = -errno;
	}
	ml_libbpf_restore(old);
	if (err) {
		unload(l);
		return err ? err : -EINVAL;
	}
	return 0;
}

static bool pins_readable(const char *dir)
{
	char path[512];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		if (access(path, R_OK))
			return false;
	}
	return true;
}

int ml_dmabuf_bpf_probe(struct memlens *ml, const char *pin_dir, char *why, size_t len)
{
	struct loaded l;
	int err;

	if (pins_readable(pin_dir)) {
		snprintf(why, len, "pinned iterators in %s", pin_dir);
		return 0;
	}
	err = memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF);
	if (err) {
		snprintf(why, len, "%s", memlens__probe_reason(ml, MEMLENS_IFACE_BPF_ITER_DMABUF));
		return err;
	}
	err = load(&l);
	unload(&l);
	if (err == -EPERM || err == -EACCES)
		snprintf(why, len, "loading BPF needs CAP_BPF and CAP_PERFMON (or root), and no pins in %s", pin_dir);
	else if (err)
		snprintf(why, len, "DMA-BUF iterators failed to load: %s", strerror(-err));
	else
		snprintf(why, len, "iter/dmabuf, iter/task_file and iter/task_vma loaded");
	return err;
}

static int read_iter(int fd, char **buf, size_t *len)
{
	int err = ml_read_file_fd(fd, buf, len);

	close(fd);
	return err;
}

static int open_iter(struct loaded *l, const char *pin_dir, int i)
{
	char path[512];
	int fd;

	if (!l) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pin_names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	fd = bpf_iter_create(bpf_link__fd(l->links[i]));
	return fd < 0 ? -errno : fd;
}

int ml_dmabuf_bpf_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw)
{
	struct loaded l, *lp = NULL;
	struct ml_seen seen = { .cur_tid = -1 };
	bool skip_task;
	char *buf[3] = { NULL };
	size_t len[3] = { 0 };
	int err = 0, fd;

	(void)ml;
	if (!pins_readable(pin_dir)) {
		err = load(&l);
		if (err)
			return err;
		lp = &l;
	}
	/* fds and maps before buffers: a buffer freed in between is then
	 * missing from the list rather than shown as kernel-only */
	for (int i = 2; i >= 0 && !err; i--) {
		fd = open_iter(lp, pin_dir, i);
		err = fd < 0 ? fd : read_iter(fd, &buf[i], &len[i]);
	}
	for (size_t o = 0; !err && o + sizeof(struct ml_dmabuf_buf_rec) <= len[0]; o += sizeof(struct ml_dmabuf_buf_rec)) {
		struct ml_dmabuf_buf_rec r;
		struct ml_dbuf *b = ML_PUSH(raw, bufs, nbufs, capbufs);

		if (!b) {
			err = -ENOMEM;
			break;
		}
		memcpy(&r, buf[0] + o, sizeof(r));
		b->ino = r.ino;
		b->size = r.size;
		b->file_refs = r.file_refs;
		memcpy(b->exp, r.exp_name, sizeof(r.exp_name));
		memcpy(b->name, r.name, sizeof(r.name));
		b->exp[sizeof(b->exp) - 1] = 0;
	}
	for (size_t o = 0; !err && o + sizeof(struct ml_dmabuf_fd_rec) <= len[1]; o += sizeof(struct ml_dmabuf_fd_rec)) {
		struct ml_dmabuf_fd_rec r;
		struct ml_dfd *f = ML_PUSH(raw, fds, nfds, capfds);

		if (!f) {
			err = -ENOMEM;
			break;
		}
		memcpy(&r, buf[1] + o, sizeof(r));
		f->tgid = r.tgid;
		f->tid = r.tid;
		f->fd = r.fd;
		f->ino = r.ino;
		f->size = r.size;
		memcpy(f->comm, r.comm, 16);
		f->comm[15] = 0;
	}
	for (size_t o = 0; !err && o + sizeof(struct ml_dmabuf_map_rec) <= len[2]; o += sizeof(struct ml_dmabuf_map_rec)) {
		struct ml_dmabuf_map_rec r;
		struct ml_dmap *m;

		memcpy(&r, buf[2] + o, sizeof(r));
		err = ml_seen_first_task(&seen, r.tgid, r.tid, &skip_task);
		if (err)
			break;
		if (skip_task)
			continue;	/* the same mm again, through a thread with its own fd table */
		m = ML_PUSH(raw, maps, nmaps, capmaps);
		if (!m) {
			err = -ENOMEM;
			break;
		}
		m->tgid = r.tgid;
		m->ino = r.ino;
		m->size = r.size;
		memcpy(m->comm, r.comm, 16);
		m->comm[15] = 0;
	}
	if (!err && (len[0] % sizeof(struct ml_dmabuf_buf_rec) || len[1] % sizeof(struct ml_dmabuf_fd_rec) ||
		     len[2] % sizeof(struct ml_dmabuf_map_rec)))
		err = -EPROTO;
	if (!err)
		raw->system_list = "bpf";
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	free(seen.bits);
	if (lp)
		unload(lp);
	return err;
}

int memlens__bpf_pin(struct memlens *ml, const char *dir)
{
	struct loaded l;
	char path[512];
	int err;

	if (!ml)
		return ml_err(EINVAL);
	dir = dir ? dir : MEMLENS_PIN_DIR;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return ml_err(errno);
	err = load(&l);
	for (int i = 0; i < 3 && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		unlink(path);
		err = bpf_link__pin(l.links[i], path);
		if (!err && chmod(path, 0444))
			err = -errno;
	}
	unload(&l);	/* the pins keep links and programs alive */
	if (err) {
		memlens__bpf_unpin(ml, dir);
		return ml_err(err);
	}
	chmod(dir, 0755);
	return 0;
}

int memlens__bpf_unpin(struct memlens *ml, const char *dir)
{
	char path[512];
	int err = 0;

	(void)ml;
	dir = dir ? dir : MEMLENS_PIN_DIR;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(dir) && errno != ENOENT && !err)
		err = -errno;
	return err ? ml_err(err) : 0;
}

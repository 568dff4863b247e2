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
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf_iter.h"
#include "dmabuf_raw.h"
#include "probes.h"
#include "procfs.h"
#include "dmabuf_record.h"
#include "bpf_prog.h"

static const char *const pin_names[3] = { "dmabuf_buffers", "dmabuf_fds", "dmabuf_maps" };
static const enum ml_prog progs[3] = { ML_PROG_DMABUF, ML_PROG_TASK_FILE, ML_PROG_TASK_VMA_DMABUF };

struct ml_dmabuf_bpf {
	struct ml_prog_loaded progs[3];
	int links[3];		/* iterator links, read and pinned */
};

static void unload(struct ml_dmabuf_bpf *l)
{
	for (int i = 0; i < 3; i++) {
		if (l->links[i] >= 0)
			close(l->links[i]);
		l->links[i] = -1;
		ml_prog_unload(&l->progs[i]);
	}
}

/* program i and its iterator link, unless already there */
static int load_one(struct memlens *ml, struct ml_dmabuf_bpf *l, int i)
{
	int err;

	if (l->links[i] >= 0)
		return 0;
	err = ml_prog_load(ml, progs[i], &l->progs[i]);
	if (err)
		return err;
	l->links[i] = ml_prog_iter_link(&l->progs[i], 0);
	if (l->links[i] < 0) {
		err = l->links[i];
		ml_prog_unload(&l->progs[i]);
		l->links[i] = -1;
	}
	return err;
}

/* the fd and mapping walks' programs: loaded the first time a buffer exists
 * (a system without DMA-BUFs never loads them), or to be pinned */
int ml_dmabuf_bpf_load_walks(struct memlens *ml, struct ml_dmabuf_bpf *l)
{
	int err = 0;

	for (int i = 1; i < 3 && !err; i++)
		err = load_one(ml, l, i);
	return err;
}

/*
 * The pin directory and its pins belong to whoever may write them: the
 * directory must be on bpffs, owned by root (or us), writable by no one
 * else, and reached without following a symlink; each pin must be a regular
 * bpffs entry opened without following one.  A name that is a symlink to
 * /dev/zero, a FIFO, or a plain file of forged records is refused.
 */
#define ML_BPF_FS_MAGIC 0xcafe4a11

static int open_pin_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sf;
	struct stat st;

	if (dfd < 0)	/* a symlink or a file where the directory should be is not ours */
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	if (fstat(dfd, &st) || fstatfs(dfd, &sf) || (uint32_t)sf.f_type != ML_BPF_FS_MAGIC ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(dfd);
		return -EPERM;
	}
	return dfd;
}

static int open_pin(int dfd, int i)
{
	int fd = openat(dfd, pin_names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static void close_pins(int fds[3])
{
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* the three pins of dir, each open (an iterator of its own): 0 when all are
 * there and ours; dfdp, when given, keeps the directory open (a pin read
 * twice is opened again from it) */
static int open_pins(const char *dir, int fds[3], int *dfdp)
{
	int dfd = open_pin_dir(dir), err = dfd < 0 ? dfd : 0;

	for (int i = 0; i < 3; i++)
		fds[i] = -1;
	for (int i = 0; !err && i < 3; i++) {
		fds[i] = open_pin(dfd, i);
		err = fds[i] < 0 ? fds[i] : 0;
	}
	if (!err && dfdp)
		*dfdp = dfd;
	else if (dfd >= 0)
		close(dfd);
	if (err)
		close_pins(fds);
	return err;
}

void ml_dmabuf_bpf_free(struct ml_dmabuf_bpf *l)
{
	if (!l)
		return;
	unload(l);
	free(l);
}

/* loads iter/dmabuf once per context (the job reads it); the fd and mapping
 * walks' programs come when a buffer exists (ml_dmabuf_bpf_load_walks) */
int ml_dmabuf_bpf_probe(struct memlens *ml, struct ml_probe *p)
{
	struct ml_dmabuf_bpf *l = calloc(1, sizeof(*l));
	int err;

	if (!l) {
		ml_probe_set(p, -ENOMEM, "out of memory");
		return p->err;
	}
	for (int i = 0; i < 3; i++)
		l->links[i] = -1;
	err = load_one(ml, l, 0);
	if (err) {
		char why[400];

		/* a missing capability, checked; else the verifier's word, or the error */
		ml_prog_refusal(ml, progs[0], err, &l->progs[0], why, sizeof(why));
		ml_prog_log_tail(ml, &l->progs[0], 12);
		free(l);
		ml_probe_set(p, err, "%s", why);
		return err;
	}
	ml->dmabuf_bpf = l;
	ml_probe_set(p, 0, "iter/dmabuf loaded (%s); iter/task_file and iter/task_vma load when a buffer exists",
		     l->progs[0].how);
	return 0;
}

int ml_dmabuf_pins_check(const char *dir)
{
	int fds[3], err = open_pins(dir, fds, NULL);

	if (!err)
		close_pins(fds);
	return err;
}

/* pins readable in pin_dir: usable without loading anything */
static int pins_ready(struct memlens *ml, const char *pin_dir, char *why, size_t len)
{
	int err = ml_dmabuf_pins_check(pin_dir);

	(void)ml;
	if (!err) {
		snprintf(why, len, "pinned iterators in %s", pin_dir);
		return 0;
	}
	snprintf(why, len, "no readable pins in %s (%s)", pin_dir,
		 err == -EPERM ? "not a pin directory" : strerror(-err));
	return -ENOENT;
}

static int read_iter(int fd, char **buf, size_t *len)
{
	int err = ml_read_file_fd(fd, buf, len);

	close(fd);
	return err;
}

/* the three iterators' record streams (buffers, fds, maps) into raw; a stream
 * that is not a whole number of records is -EPROTO, and so is a task id out
 * of range (a pin is read as root: its bytes are checked like any input) */
int ml_dmabuf_records_parse(char *const buf[3], const size_t len[3], struct ml_dmabuf_raw *raw)
{
	struct ml_seen seen = { .cur_tid = -1 };
	bool skip_task;
	int err = 0;

	for (size_t o = 0; !err && o + sizeof(struct ml_dmabuf_buf_rec) <= len[0]; o += sizeof(struct ml_dmabuf_buf_rec)) {
		struct ml_dmabuf_buf_rec r;
		struct ml_dbuf *b = ML_VEC_PUSH(raw->bufs, raw->nbufs, raw->capbufs);

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
		struct ml_dfd *f = ML_VEC_PUSH(raw->fds, raw->nfds, raw->capfds);

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
		m = ML_VEC_PUSH(raw->maps, raw->nmaps, raw->capmaps);
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
	free(seen.bits);
	return err;
}

/* one pass of iterator i: of the loaded link, or of its pin (the one
 * open_pins opened, then a fresh one from the pin directory dfd) */
static int read_pass(const struct ml_dmabuf_bpf *lp, int dfd, int pins[3], int i, char **buf, size_t *len)
{
	int fd = lp ? bpf_iter_create(lp->links[i]) : pins[i] >= 0 ? pins[i] : open_pin(dfd, i);

	if (!lp)
		pins[i] = -1;	/* read_iter closes it */
	if (fd < 0)
		return lp ? -errno : fd;
	free(*buf);
	*buf = NULL;
	*len = 0;
	return read_iter(fd, buf, len);
}

/* one of the two whole-system walks (fds, or mappings): its program loaded
 * when not yet, then one pass */
struct walk_job {
	struct memlens *ml;
	struct ml_dmabuf_bpf *lp;	/* NULL: read the pin */
	int dfd, *pins, i, err;
	char *buf;
	size_t len;
};

static void *walk_job_run(void *p)
{
	struct walk_job *j = p;

	j->err = j->lp ? load_one(j->ml, j->lp, j->i) : 0;
	if (!j->err)
		j->err = read_pass(j->lp, j->dfd, j->pins, j->i, &j->buf, &j->len);
	return NULL;
}

/* the fd walk and the mapping walk share nothing (their own program, link
 * and buffer each): the fd walk, its load included, runs on a helper thread
 * where there is one (ml_helper_start) while this one does the mapping walk,
 * so the two cost what the longer one costs */
static int run_walks(struct memlens *ml, struct ml_dmabuf_bpf *lp, int dfd, int pins[3], char *buf[3], size_t len[3])
{
	struct walk_job fds = { .ml = ml, .lp = lp, .dfd = dfd, .pins = pins, .i = 1 }, maps = fds;
	pthread_t t;
	bool helper;

	maps.i = 2;
	helper = !ml->dmabuf_walks_one_thread && ml->threads != 1 && ml_helper_start(&t, walk_job_run, &fds);
	walk_job_run(&maps);
	if (helper)
		pthread_join(t, NULL);
	else
		walk_job_run(&fds);
	buf[1] = fds.buf;
	len[1] = fds.len;
	buf[2] = maps.buf;
	len[2] = maps.len;
	return maps.err ? maps.err : fds.err;
}

static int bpf_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw)
{
	struct ml_dmabuf_bpf *lp = NULL;
	char *buf[3] = { NULL };
	size_t len[3] = { 0 };
	int err, pins[3], dfd = -1;

	/* the pins when they are there, else the programs the probe loaded */
	if (open_pins(pin_dir, pins, &dfd)) {
		lp = ml->dmabuf_bpf;
		if (!lp)
			return -EOPNOTSUPP;
	}
	/* the buffers first: where the kernel has none, no process holds
	 * one and the two whole-system walks are skipped */
	err = read_pass(lp, dfd, pins, 0, &buf[0], &len[0]);
	if (!err && (len[0] >= sizeof(struct ml_dmabuf_buf_rec) || ml->dmabuf_walks_never_skipped)) {
		/* fds and maps, then the buffers again: a buffer freed in
		 * between is then missing from the list rather than shown as
		 * kernel-only (an iterator walks when it is read) */
		err = run_walks(ml, lp, dfd, pins, buf, len);
		if (!err)
			err = read_pass(lp, dfd, pins, 0, &buf[0], &len[0]);
	} else if (!err) {
		raw->walks_skipped = true;
	}
	if (!lp)
		close_pins(pins);	/* the walks' pins when skipped */
	if (dfd >= 0)
		close(dfd);
	if (!err)
		err = ml_dmabuf_records_parse(buf, len, raw);
	if (!err)
		raw->system_list = "bpf";
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	return err;
}

const struct ml_source ml_src_dmabuf_bpf = {
	.id = MEMLENS_SOURCE_DMABUF_BPF,
	.name = "bpf",
	.iface = MEMLENS_IFACE_BPF_DMABUF,
	.also = -1,
	.caps = ML_CAP_PINS,
	.cost = { [MEMLENS_JOB_DMABUF] = "the buffer list, then only where a buffer exists the fd and mapping passes at once, instead of a readlink of every fd: with buffers 8-11x cheaper than the procfs scan with the loads, 15-20x through pins; with none ~70x" },
	.ready = pins_ready,
	.dmabuf = { .collect = bpf_collect },
};

/* pin the loaded links as pin_names in dir (memlens__bpf_pin() in dmabuf.c):
 * the pins get mode and gid, the directory 0700 plus search for the group or
 * others when they may read the pins; made private before anything is pinned */
int ml_dmabuf_bpf_pin(struct memlens *ml, struct ml_dmabuf_bpf *l, const char *dir, mode_t mode, gid_t gid)
{
	mode_t dmode = 0700 | (mode & 040 ? 050 : 0) | (mode & 04 ? 05 : 0);
	char path[512];
	int err = 0, dfd, fd;

	err = ml_dmabuf_bpf_load_walks(ml, l);
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	/* someone else's directory (or a symlink, or not bpffs) is not ours to fill */
	dfd = open_pin_dir(dir);
	if (dfd < 0)
		return dfd;
	if (fchmod(dfd, 0700) || fchown(dfd, (uid_t)-1, gid))
		err = -errno;
	/* the pins keep links and programs alive after the context is freed */
	for (int i = 0; i < 3 && !err; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, pin_names[i]);
		unlinkat(dfd, pin_names[i], 0);
		err = bpf_obj_pin(l->links[i], path) ? -errno : 0;
		fd = err ? -1 : open_pin(dfd, i);
		if (!err && (fd < 0 || fchown(fd, (uid_t)-1, gid) || fchmod(fd, mode)))
			err = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
	}
	if (!err && fchmod(dfd, dmode))
		err = -errno;
	close(dfd);
	return err;
}

int ml_dmabuf_bpf_unpin(const char *dir)
{
	struct stat st;
	int err = 0, dfd;

	/* only our pins, in a directory that is a pin directory: never files elsewhere */
	dfd = open_pin_dir(dir);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	for (int i = 0; i < 3; i++) {
		if (fstatat(dfd, pin_names[i], &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!S_ISREG(st.st_mode) || unlinkat(dfd, pin_names[i], 0))
			err = S_ISREG(st.st_mode) ? -errno : -EPERM;
	}
	close(dfd);
	if (!err && rmdir(dir) && errno != ENOENT && errno != ENOTEMPTY)
		err = -errno;
	return err;
}

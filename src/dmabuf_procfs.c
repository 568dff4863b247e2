// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DMA-BUF holders from procfs, what PTRACE_MODE_READ allows: for every
 * process, fds whose link names a DMA-BUF (/dmabuf:NAME, or anon_inode:dmabuf
 * before 5.3) with their fdinfo (ino, size, exp_name, name), threads whose fd
 * table is their own (kcmp KCMP_FILES) likewise, and /dmabuf: lines of maps.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "dmabuf_raw.h"
#include "procfs.h"
#include "stall.h"
#include "vma_maps_text.h"

/*
 * dma_buf_show_fdinfo(): the generic pos/flags/mnt_id/ino lines, then
 * size, count, exp_name, and last "name:\t%s\n" with the name as its owner
 * set it, newlines included.  So each key counts at its first line only, and
 * the name is everything after "name:\t" but the final newline: a name
 * carrying "\nsize:\t..." cannot change the size.
 */
/* the decimal number at [p, end): strtoull would read past end, which need
 * not be a NUL (the buffer is len bytes); saturates instead of wrapping */
static uint64_t dec_u64(const char *p, const char *end)
{
	uint64_t v = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++)
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(*p - '0');
	return v;
}

void ml_dmabuf_fdinfo_parse(const char *buf, size_t len, struct ml_dfd *r)
{
	const char *p = buf, *end = buf + len;
	bool seen_ino = false, seen_size = false, seen_exp = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(le - p)), *v;
		size_t klen;

		if (!colon) {
			p = nl ? nl + 1 : end;
			continue;
		}
		klen = (size_t)(colon - p);
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		if (klen == 4 && !memcmp(p, "name", 4)) {
			const char *ne = end > v && end[-1] == '\n' ? end - 1 : end;
			size_t n = (size_t)(ne - v) < sizeof(r->name) - 1 ? (size_t)(ne - v) : sizeof(r->name) - 1;

			memcpy(r->name, v, n);
			r->name[n] = 0;
			break;	/* the last line: what follows is the name's */
		}
		if (klen == 3 && !memcmp(p, "ino", 3) && !seen_ino) {
			r->ino = dec_u64(v, le);
			seen_ino = true;
		} else if (klen == 4 && !memcmp(p, "size", 4) && !seen_size) {
			r->size = dec_u64(v, le);
			seen_size = true;
		} else if (klen == 8 && !memcmp(p, "exp_name", 8) && !seen_exp) {
			size_t n = (size_t)(le - v) < sizeof(r->exp) - 1 ? (size_t)(le - v) : sizeof(r->exp) - 1;

			memcpy(r->exp, v, n);
			r->exp[n] = 0;
			seen_exp = true;
		}
		p = nl ? nl + 1 : end;
	}
}

static void read_fdinfo(int dirfd, const char *fdname, struct ml_dfd *r)
{
	char buf[1024];
	int fd = openat(dirfd, fdname, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0)
		ml_dmabuf_fdinfo_parse(buf, (size_t)n, r);
}

/* fds of one fd table: /proc/<pid>/fd or /proc/<pid>/task/<tid>/fd */
static int scan_fds(const char *base, int tgid, int tid, const char *comm, struct ml_dmabuf_raw *raw)
{
	char path[128], target[128];
	struct dirent *de;
	int infofd, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/fd", base);
	d = opendir(path);
	if (!d)
		return -errno;
	snprintf(path, sizeof(path), "%s/fdinfo", base);
	infofd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (!err && (de = readdir(d))) {
		ssize_t n;
		struct ml_dfd *r;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!ml_name_is_dmabuf(target))
			continue;
		r = ML_VEC_PUSH(raw->fds, raw->nfds, raw->capfds);
		if (!r) {
			err = -ENOMEM;
			break;
		}
		r->tgid = tgid;
		r->tid = tid;
		r->fd = (uint32_t)strtoul(de->d_name, NULL, 10);
		memcpy(r->comm, comm, 16);
		if (infofd >= 0)
			read_fdinfo(infofd, de->d_name, r);
		/* fdinfo has no ino: line before 5.14: the buffer's inode from
		 * the file the fd names (gone: closed since the readlink) */
		if (!r->ino) {
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
				r->ino = st.st_ino;
		}
		if (!r->ino)	/* closed between readlink and fdinfo */
			raw->nfds--;
	}
	if (infofd >= 0)
		close(infofd);
	closedir(d);
	return err;
}

/* maps takes the process's mmap lock before 6.17 (per-VMA locks since):
 * a process that parks it (stall.h) would hold up every holder's answer,
 * so it is read in a watched thread and a stalled process is named among
 * those whose mappings could not be read */
static int scan_maps(struct memlens *ml, int pid, const char *comm, struct ml_dmabuf_raw *raw)
{
	struct memlens_vma_set *set = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	char path[64], *buf;
	size_t len;
	int err;

	if (!set)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	err = ml_read_bounded(ml, pid, path, &buf, &len);
	if (!err) {
		err = ml_maps_text_parse(buf, len, pid, set);
		free(buf);
	} else if (err == -ETIMEDOUT) {
		int32_t *u = ML_VEC_PUSH(raw->unreadable, raw->nunreadable, raw->capunreadable);

		err = u ? 0 : -ENOMEM;
		if (u)
			*u = pid;
	}
	for (size_t i = 0; !err && i < set->n; i++) {
		struct ml_dmap *m;

		if (!ml_name_is_dmabuf(set->v[i].name))
			continue;
		m = ML_VEC_PUSH(raw->maps, raw->nmaps, raw->capmaps);
		if (!m) {
			err = -ENOMEM;
			break;
		}
		m->tgid = pid;
		m->ino = set->v[i].inode;
		m->size = set->v[i].end - set->v[i].start;
		memcpy(m->comm, comm, 16);
	}
	memlens_vma_set__free(set);
	return err;
}

/* threads whose fd table is not their process's */
static int scan_threads(int pid, const char *comm, struct ml_dmabuf_raw *raw)
{
	char path[96];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		pid_t tid = ml_parse_pid(de->d_name);
		long same;

		if (tid <= 0 || tid == pid)
			continue;
		same = syscall(SYS_kcmp, pid, tid, KCMP_FILES, 0, 0);
		if (same != 1 && same != 2)	/* 0: shared table; -1: cannot tell */
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
		err = scan_fds(path, pid, tid, comm, raw);
		if (err == -ENOENT || err == -EACCES || err == -EPERM)
			err = 0;
	}
	closedir(d);
	return err;
}

static int procfs_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw)
{
	struct ml_pids pids;
	pid_t pid;
	int err;

	(void)pin_dir;
	ml_reader_begin(ml);	/* one reader thread for every process's maps */
	err = ml_pids_open(&pids);
	while (!err && (pid = ml_pids_next(&pids))) {
		char base[64], comm[16];
		int e;

		snprintf(base, sizeof(base), "/proc/%d", pid);
		ml_proc_comm(pid, comm);
		e = scan_fds(base, pid, pid, comm, raw);
		/* kernel threads have no fd table of their own to hold a buffer in */
		if ((e == -EACCES || e == -EPERM) && !ml_pid_is_kthread(pid)) {
			int32_t *u = ML_VEC_PUSH(raw->unreadable, raw->nunreadable, raw->capunreadable);

			if (!u) {
				err = -ENOMEM;
				break;
			}
			*u = pid;
			continue;
		}
		if (e == -EACCES || e == -EPERM)
			continue;
		if (e == -ENOENT || e == -ESRCH) {
			raw->exited++;
			continue;
		}
		if (e) {
			err = e;
			break;
		}
		err = scan_threads(pid, comm, raw);
		if (!err) {
			e = scan_maps(ml, pid, comm, raw);
			if (ml_err_ours(e))
				err = e;
		}
	}
	ml_pids_close(&pids);
	ml_reader_end(ml);
	return err;
}

const struct ml_source ml_src_dmabuf_procfs = {
	.id = MEMLENS_SOURCE_DMABUF_PROCFS,
	.name = "procfs",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
	.dmabuf = { .collect = procfs_collect },
};

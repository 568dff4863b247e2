// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DMA-BUF accounting against a scenario built from real buffers
 * (/dev/dma_heap/system and /dev/udmabuf), every size distinct:
 *   A  2 pages  shared by fork (P and its child C1)
 *   B  3 pages  passed by SCM_RIGHTS to an unrelated process U (P keeps it)
 *   C  4 pages  dup'ed three times in P (4 fds), named with a newline and a
 *               forged "size:" line after it (a name is any bytes its owner picks)
 *   D  5 pages  mapped by P, its fd closed (map-only)
 *   E  6 pages  held by a thread of P with its own fd table
 *   F  7 pages  held by nobody but the kernel (its last fd in flight in an
 *               SCM_RIGHTS message never received)
 * while other processes allocate buffers and exit during the scans.  The
 * expected refs, Rss, Pss, nr_procs and kernel-only list are computed here
 * and every available source must give exactly them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memlens.h"
#include "tap.h"

static long pg;
/* C's name: fdinfo puts it on a line of its own, and a parser that splits
 * fdinfo at newlines reads a 1 TiB buffer */
#define DUP3_NAME "dup3\nsize:\t1099511627776"
static int heap = -1, udma = -1;

static int alloc_buf(bool use_udmabuf, long pages, const char *name)
{
	int fd;

	if (use_udmabuf) {
		int memfd = memfd_create(name, MFD_ALLOW_SEALING);
		struct udmabuf_create c = { .memfd = (__u32)memfd, .flags = UDMABUF_FLAGS_CLOEXEC,
					    .size = (__u64)(pages * pg) };

		if (memfd < 0 || ftruncate(memfd, pages * pg) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
			return -1;
		fd = ioctl(udma, UDMABUF_CREATE, &c);
		close(memfd);
	} else {
		struct dma_heap_allocation_data d = { .len = (__u64)(pages * pg), .fd_flags = O_RDWR | O_CLOEXEC };

		fd = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -1 : (int)d.fd;
	}
	if (fd >= 0)
		ioctl(fd, DMA_BUF_SET_NAME_B, name);
	return fd;
}

static uint64_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static int send_fd(int sock, int fd)
{
	char c = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd = -1;

	if (recvmsg(sock, &m, 0) == 1 && CMSG_FIRSTHDR(&m))
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	return fd;
}

/* the scenario as the test knows it */
struct scen {
	pid_t p, c1, u, tid;
	uint64_t ino[6];	/* A..F */
	long pages[6];
	int report[2], go[2];
	pthread_t th;
	int e_fd;
};

static int thread_pipe[2];

static void *own_table(void *arg)
{
	int fd;
	uint64_t ino;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)arg;
	unshare(CLONE_FILES);
	/* a table of its own, copied from P's while P had no DMA-BUF fd yet */
	fd = alloc_buf(true, 6, "thread-own");
	ino = ino_of(fd);
	if (write(thread_pipe[1], &tid, sizeof(tid)) < 0 || write(thread_pipe[1], &ino, sizeof(ino)) < 0)
		return NULL;
	pause();
	return NULL;
}

/* P: builds A..F, reports inos and pids on report[1], waits for go[0] to close */
static void run_p(int report, int go)
{
	int sv[2], kv[2], a, b, c, d, f;
	uint64_t r[8];
	pid_t u, c1, tid;
	pthread_t th;
	void *map;
	char x;

	/* U first: unrelated to the buffers, it gets B over a socket */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		_exit(1);
	u = fork();
	if (u == 0) {
		int fd = recv_fd(sv[1]);

		(void)fd;
		while (read(go, &x, 1) > 0)
			;
		_exit(0);
	}
	if (pipe(thread_pipe) || pthread_create(&th, NULL, own_table, NULL))
		_exit(1);
	if (read(thread_pipe[0], &tid, sizeof(tid)) != sizeof(tid) || read(thread_pipe[0], &r[4], 8) != 8)
		_exit(1);
	a = alloc_buf(false, 2, "fork-shared");
	c1 = fork();
	if (c1 == 0) {
		while (read(go, &x, 1) > 0)
			;
		_exit(0);
	}
	b = alloc_buf(true, 3, "scm-passed");
	send_fd(sv[0], b);
	c = alloc_buf(false, 4, DUP3_NAME);
	for (int i = 0; i < 3; i++)
		if (dup(c) < 0)
			_exit(1);
	d = alloc_buf(false, 5, "map-only");
	map = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
	if (map == MAP_FAILED)
		_exit(1);
	memset(map, 1, 5 * pg);
	r[3] = ino_of(d);
	close(d);
	f = alloc_buf(false, 7, "kernel-only");
	r[5] = ino_of(f);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, kv) || send_fd(kv[0], f))
		_exit(1);
	close(f);	/* only the message in kv's queue holds F now */
	r[0] = ino_of(a);
	r[1] = ino_of(b);
	r[2] = ino_of(c);
	r[6] = (uint64_t)u | (uint64_t)c1 << 32;
	r[7] = (uint64_t)tid;
	if (write(report, r, sizeof(r)) != sizeof(r))
		_exit(1);
	while (read(go, &x, 1) > 0)
		;
	kill(u, SIGKILL);
	kill(c1, SIGKILL);
	waitpid(u, NULL, 0);
	waitpid(c1, NULL, 0);
	_exit(0);
}

static int scen_start(struct scen *s)
{
	uint64_t r[8];

	if (pipe(s->report) || pipe(s->go))
		return -1;
	s->p = fork();
	if (s->p == 0) {
		close(s->report[0]);
		close(s->go[1]);
		run_p(s->report[1], s->go[0]);
	}
	close(s->report[1]);
	close(s->go[0]);
	if (read(s->report[0], r, sizeof(r)) != sizeof(r))
		return -1;
	for (int i = 0; i < 6; i++) {
		s->ino[i] = r[i];
		s->pages[i] = i + 2;
	}
	s->u = (pid_t)(r[6] & 0xffffffff);
	s->c1 = (pid_t)(r[6] >> 32);
	s->tid = (pid_t)r[7];
	return 0;
}

static void scen_stop(struct scen *s)
{
	close(s->go[1]);
	waitpid(s->p, NULL, 0);
}

/* processes that allocate a buffer and exit, again and again, while scans run */
static pid_t churn_start(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;) {
			pid_t c = fork();

			if (c == 0) {
				int fd = alloc_buf(false, 1, "churn");
				void *m = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);

				(void)m;
				usleep(2000);
				_exit(0);
			}
			waitpid(c, NULL, 0);
		}
	}
	return pid;
}

static const struct memlens_dmabuf_buf *find_buf(const struct memlens_dmabuf *d, uint64_t ino)
{
	for (size_t i = 0; i < memlens_dmabuf__buf_count(d); i++)
		if (memlens_dmabuf__buf(d, i)->ino == ino)
			return memlens_dmabuf__buf(d, i);
	return NULL;
}

/* refs of holder (pid, tid) to buffer ino; -1 if the holder has none */
static void refs_of(const struct memlens_dmabuf *d, pid_t pid, pid_t tid, uint64_t ino, unsigned *fd, unsigned *map)
{
	*fd = *map = 0;
	for (size_t i = 0; i < memlens_dmabuf__ref_count(d); i++) {
		const struct memlens_dmabuf_ref *r = memlens_dmabuf__ref(d, i);
		const struct memlens_dmabuf_holder *h = memlens_dmabuf__holder(d, r->holder);

		if (h->pid == pid && h->tid == tid && memlens_dmabuf__buf(d, r->buf)->ino == ino) {
			*fd = r->fd_refs;
			*map = r->map_refs;
		}
	}
}

static const struct memlens_dmabuf_proc *find_proc(const struct memlens_dmabuf *d, pid_t pid)
{
	for (size_t i = 0; i < memlens_dmabuf__proc_count(d); i++)
		if (memlens_dmabuf__proc(d, i)->pid == pid)
			return memlens_dmabuf__proc(d, i);
	return NULL;
}

static void check_source(struct memlens *ml, const struct scen *s, enum memlens_source src, const char *pin_dir)
{
	static const char *const names[6] = { "fork-shared", "scm-passed", DUP3_NAME, "map-only", "thread-own", "kernel-only" };
	static const char *const exporters[6] = { "system", "udmabuf", "system", "system", "udmabuf", "system" };
	static const unsigned nr_procs[6] = { 2, 2, 1, 1, 1, 0 };
	/* fd and map refs of P, C1, U, P's thread, per buffer */
	static const unsigned want[4][6][2] = {
		{ { 1, 0 }, { 1, 0 }, { 4, 0 }, { 0, 1 }, { 0, 0 }, { 0, 0 } },	/* P */
		{ { 1, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },	/* C1 */
		{ { 0, 0 }, { 1, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },	/* U */
		{ { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 1, 0 }, { 0, 0 } },	/* thread */
	};
	const char *sn = memlens_source__name(src);
	pid_t who[4][2] = { { s->p, 0 }, { s->c1, 0 }, { s->u, 0 }, { s->p, s->tid } };
	MEMLENS_OPTS(memlens_dmabuf_opts, o, .source = src, .pin_dir = pin_dir);
	struct memlens_dmabuf *d = NULL;
	uint64_t sz[6], rss_p = 0, pss_p = 0;
	int err = memlens__dmabuf(ml, &o, &d), bad = 0;
	size_t pfds = 0, tfds = 0;

	if (!ok(err == 0, "%s: scan (err %d)", sn, err))
		return;
	printf("# %s: %s; system list from %s\n", sn, memlens_dmabuf__source_reason(d), memlens_dmabuf__system_list(d));
	for (int i = 0; i < 6; i++) {
		const struct memlens_dmabuf_buf *b = find_buf(d, s->ino[i]);

		sz[i] = (uint64_t)(s->pages[i] * pg);
		if (!ok(b != NULL, "%s: buffer %s (ino %llu) listed", sn, names[i], (unsigned long long)s->ino[i]))
			continue;
		is_u64(b->size, sz[i], "%s: %s size", sn, names[i]);
		is_str(b->exporter, exporters[i], "%s: %s exporter", sn, names[i]);
		is_str(b->name, names[i], "%s: %s name", sn, names[i]);
		is_u64(b->nr_procs, nr_procs[i], "%s: %s nr_procs", sn, names[i]);
		ok(b->kernel_only == (i == 5), "%s: %s kernel_only=%d", sn, names[i], b->kernel_only);
	}
	for (int h = 0; h < 4; h++)
		for (int i = 0; i < 6; i++) {
			unsigned fd, map;

			refs_of(d, who[h][0], who[h][1], s->ino[i], &fd, &map);
			if (fd != want[h][i][0] || map != want[h][i][1]) {
				bad++;
				printf("#   holder %d/%d buffer %s: want fd %u map %u, got fd %u map %u\n", who[h][0],
				       who[h][1], names[i], want[h][i][0], want[h][i][1], fd, map);
			}
		}
	ok(!bad, "%s: fd and map refs of P, its child, the unrelated receiver and P's own-table thread", sn);
	for (int i = 0; i < 5; i++) {
		rss_p += sz[i];
		pss_p += sz[i] / nr_procs[i];
	}
	{
		const struct memlens_dmabuf_proc *p = find_proc(d, s->p), *c1 = find_proc(d, s->c1), *u = find_proc(d, s->u);

		is_u64(p ? p->rss : 0, rss_p, "%s: P Rss (A+B+C+D+E)", sn);
		is_u64(p ? p->pss : 0, pss_p, "%s: P Pss (A/2+B/2+C+D+E)", sn);
		is_u64(c1 ? c1->rss : 0, sz[0], "%s: child Rss", sn);
		is_u64(c1 ? c1->pss : 0, sz[0] / 2, "%s: child Pss", sn);
		is_u64(u ? u->rss : 0, sz[1], "%s: receiver Rss", sn);
		is_u64(u ? u->pss : 0, sz[1] / 2, "%s: receiver Pss", sn);
	}
	for (size_t i = 0; i < memlens_dmabuf__fd_count(d); i++) {
		const struct memlens_dmabuf_fd *f = memlens_dmabuf__fd(d, i);
		const struct memlens_dmabuf_holder *h = memlens_dmabuf__holder(d, f->holder);

		pfds += h->pid == s->p && h->tid == 0;
		tfds += h->pid == s->p && h->tid == s->tid;
	}
	is_u64(pfds, 6, "%s: per-task fd view: P's table has 6 fds (A, B, C x4)", sn);
	is_u64(tfds, 1, "%s: per-task fd view: the thread's own table has 1 (E)", sn);
	memlens_dmabuf__free(d);
}

/* the set of scenario buffers each source lists, and debugfs's */
static void check_sets_agree(struct memlens *ml, const struct scen *s)
{
	char line[512];
	int found[6] = { 0 }, all = 1;
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");

	if (!f) {
		skip("no debugfs bufinfo: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long size, ino;
		char exp[64];

		if (sscanf(line, "%llu %*x %*x %*d %63s %llu", &size, exp, &ino) == 3)
			for (int i = 0; i < 6; i++)
				found[i] |= ino == s->ino[i];
	}
	fclose(f);
	for (int i = 0; i < 6; i++)
		all &= found[i];
	ok(all, "debugfs bufinfo lists the six scenario buffers, the kernel-only one included");
	(void)ml;
}

static int run_cli(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, len - 1, p) : 0;
	int rc = p ? pclose(p) : -1;

	out[n] = 0;
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void check_cli(const struct scen *s, const char *bin, const char *src)
{
	char cmd[512], out[65536], want[128];
	uint64_t rss = 0, pss = 0;
	int rc;

	for (int i = 0; i < 5; i++) {
		uint64_t sz = (uint64_t)((i + 2) * pg);

		rss += sz;
		pss += i < 2 ? sz / 2 : sz;
	}
	snprintf(cmd, sizeof(cmd), "%s dmabuf %d -s %s 2>/dev/null", bin, s->p, src);
	rc = run_cli(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "%13llu kB %13llu kB", (unsigned long long)rss / 1024, (unsigned long long)pss / 1024);
	ok(rc == 0 && strstr(out, "PROCESS TOTAL") && strstr(strstr(out, "PROCESS TOTAL"), want),
	   "cli -s %s: dmabuf_dump layout, P's PROCESS TOTAL is Rss %llu kB Pss %llu kB", src,
	   (unsigned long long)rss / 1024, (unsigned long long)pss / 1024);
	ok(strstr(out, "dmabuf total:") && strstr(out, "kernel_rss:"), "cli -s %s: closing dmabuf total line", src);
	snprintf(cmd, sizeof(cmd), "%s dmabuf --buffers -s %s -J 2>/dev/null | jq -r '.buffers[] | select(.inode==%llu) | \"\\(.name)|\\(.size)\"'",
		 bin, src, (unsigned long long)s->ino[2]);
	rc = run_cli(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "dup3\\x0asize:\\x091099511627776|%llu\n", (unsigned long long)(4 * pg));
	is_str(out, want, "cli -s %s: C's name with a newline: escaped whole, its real size", src);
	snprintf(cmd, sizeof(cmd), "%s dmabuf --kernel-only -s %s -r -n -o INODE 2>/dev/null", bin, src);
	rc = run_cli(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "%llu\n", (unsigned long long)s->ino[5]);
	ok(rc == 0 && strstr(out, want), "cli -s %s: --kernel-only lists F", src);
	snprintf(cmd, sizeof(cmd), "%s dmabuf --all-refs -s %s --json 2>/dev/null | jq -r '.refs[] | select(.pid==%d and .tid==%d) | \"\\(.inode) \\(.fd_refs)\"'",
		 bin, src, s->p, s->tid);
	rc = run_cli(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "%llu 1\n", (unsigned long long)s->ino[4]);
	ok(rc == 0 && !strcmp(out, want), "cli -s %s: -a --json has the thread's own-table ref to E", src);
	snprintf(cmd, sizeof(cmd), "%s dmabuf --buffers -s %s --csv 2>/dev/null | grep -c ',map-only,'", bin, src);
	rc = run_cli(cmd, out, sizeof(out));
	ok(rc == 0 && atoi(out) == 1, "cli -s %s: -b --csv has the map-only buffer once", src);
	snprintf(cmd, sizeof(cmd), "%s dmabuf --fds -s %s -r -n -o PID,TID,INODE 2>/dev/null | grep -c '^%d 0 %llu$'", bin, src,
		 s->p, (unsigned long long)s->ino[2]);
	rc = run_cli(cmd, out, sizeof(out));
	ok(atoi(out) == 4, "cli -s %s: --fds repeats C's inode for each of its 4 fds", src);
}

/* pinned iterators read by nobody (in the pins' group) give the same
 * numbers; someone outside the group cannot read them */
static void check_pins(const struct scen *s, const char *bin)
{
	char cmd[1024], out[4096], dir[] = "/sys/fs/bpf/memlens-test";
	int rc;

	snprintf(cmd, sizeof(cmd), "%s bpf pin %s --group nogroup 2>&1", bin, dir);
	rc = run_cli(cmd, out, sizeof(out));
	if (!ok(rc == 0, "memlens bpf pin %s (%s)", dir, out))
		return;
	snprintf(cmd, sizeof(cmd),
		 "d=$(mktemp -d); cp %s $d/; chmod 755 $d $d/memlens; /usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups "
		 "--inh-caps=-all --bounding-set=-all $d/memlens dmabuf -s bpf --pin-dir %s --all-refs -r -n -o PID,TID,INODE,FD_REFS,MAP_REFS "
		 "2>&1; rm -rf $d", bin, dir);
	rc = run_cli(cmd, out, sizeof(out));
	{
		char want[128];

		snprintf(want, sizeof(want), "%d 0 %llu 4 0", s->p, (unsigned long long)s->ino[2]);
		if (!ok(rc == 0 && strstr(out, want), "nobody reads the pins: P's 4 fds on C (%s)", want)) {
			for (char *c = out; *c; c++)
				if (*c == '\n')
					*c = '|';
			printf("#   rc %d, got: %s\n", rc, out);
			snprintf(cmd, sizeof(cmd), "ls -la %s /sys/fs/bpf 2>&1; for f in %s/*; do /usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all cat $f | wc -c; cat $f | wc -c; done 2>&1", dir, dir);
			run_cli(cmd, out, sizeof(out));
			for (char *c = out; *c; c++)
				if (*c == '\n')
					*c = '|';
			printf("#   %s\n", out);
		}
		snprintf(want, sizeof(want), "%d %d %llu 1 0", s->p, s->tid, (unsigned long long)s->ino[4]);
		ok(strstr(out, want) != NULL, "nobody reads the pins: the thread's ref to E");
	}
	snprintf(cmd, sizeof(cmd),
		 "d=$(mktemp -d); cp %s $d/; chmod 755 $d $d/memlens; /usr/bin/setpriv --reuid=nobody --regid=12345 --clear-groups "
		 "--inh-caps=-all --bounding-set=-all $d/memlens dmabuf --pin-dir %s 2>&1; echo rc $?; rm -rf $d", bin, dir);
	run_cli(cmd, out, sizeof(out));
	ok(strstr(out, "Permission denied") && strstr(out, "rc 1") && !strstr(out, "dmabuf-test"),
	   "outside the pins' group: refused, nothing shown (%.200s)", out);
	snprintf(cmd, sizeof(cmd), "%s bpf unpin %s 2>&1 && ! test -e %s", bin, dir, dir);
	ok(run_cli(cmd, out, sizeof(out)) == 0, "memlens bpf unpin leaves nothing behind");
	/* no pins, no privilege: procfs, and it names what it could not read */
	snprintf(cmd, sizeof(cmd),
		 "d=$(mktemp -d); cp %s $d/; chmod 755 $d $d/memlens; /usr/bin/setpriv --reuid=nobody --regid=nogroup "
		 "--clear-groups --inh-caps=-all --bounding-set=-all $d/memlens dmabuf 2>&1 >/dev/null; rm -rf $d",
		 bin);
	run_cli(cmd, out, sizeof(out));
	{
		char want[64];

		snprintf(want, sizeof(want), " %d", s->p);
		ok(strstr(out, "source procfs") && strstr(out, "could not be read") && strstr(out, want),
		   "nobody without pins: procfs source, and P named among the processes it could not read");
	}
}

/* Inside a new pid namespace with its own /proc: its init (pid 1) allocates a
 * buffer, its child (pid 2) inherits the fd and maps it.  Read from inside,
 * every source must name exactly pids 1 and 2 (the fd of each, the mapping of
 * 2), and no holder of the scenario outside (P and the others, which the
 * namespace cannot see).  The inner process reports "1|text" or "0|text"
 * lines over a pipe; they become TAP lines here. */
static void pidns_inner(int out)
{
	int go[2], fd;
	uint64_t ino;
	pid_t z;
	char x;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mount("proc", "/proc", "proc", 0, NULL)) {
		dprintf(out, "0|mount a /proc of the new pid namespace: %s\n", strerror(errno));
		return;
	}
	fd = alloc_buf(false, 9, "in-pidns");
	if (fd < 0 || pipe(go)) {
		dprintf(out, "0|a buffer in the pid namespace: %s\n", strerror(errno));
		return;
	}
	ino = ino_of(fd);
	z = fork();
	if (z == 0) {
		void *m = mmap(NULL, 9 * pg, PROT_READ, MAP_SHARED, fd, 0);

		close(go[1]);
		if (m == MAP_FAILED)
			_exit(1);
		while (read(go[0], &x, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	usleep(100000);	/* z maps it */
	dprintf(out, "%d|inside, the holders are pid 1 (this process, getpid %d) and pid 2 (its child, %d)\n",
		getpid() == 1 && z == 2, (int)getpid(), (int)z);
	for (int src = MEMLENS_SOURCE_DMABUF_BPF; src <= MEMLENS_SOURCE_DMABUF_PROCFS; src++) {
		struct memlens *ml = memlens__new(NULL);
		MEMLENS_OPTS(memlens_dmabuf_opts, o, .source = (enum memlens_source)src);
		struct memlens_dmabuf *d = NULL;
		const char *sn = memlens_source__name((enum memlens_source)src);
		unsigned f1, m1, f2, m2;
		size_t outside = 0;

		if (src == MEMLENS_SOURCE_DMABUF_BPF && memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF)) {
			memlens__free(ml);
			continue;
		}
		int err = memlens__dmabuf(ml, &o, &d);

		if (err) {
			dprintf(out, "0|%s: DMA-BUF scan inside the pid namespace: %s\n", sn, strerror(-err));
			memlens__free(ml);
			continue;
		}
		refs_of(d, 1, 0, ino, &f1, &m1);
		refs_of(d, 2, 0, ino, &f2, &m2);
		for (size_t i = 0; i < memlens_dmabuf__holder_count(d); i++) {
			const struct memlens_dmabuf_holder *h = memlens_dmabuf__holder(d, i);

			outside += h->pid != 1 && h->pid != 2;
		}
		dprintf(out, "%d|%s inside a pid namespace: pid 1 holds the buffer by 1 fd (got %u fd, %u map), pid 2 by 1 fd and 1 mapping (got %u, %u)\n",
			f1 == 1 && m1 == 0 && f2 == 1 && m2 == 1, sn, f1, m1, f2, m2);
		dprintf(out, "%d|%s inside a pid namespace: no holder from outside it (%zu other holders of %zu)\n",
			outside == 0, sn, outside, memlens_dmabuf__holder_count(d));
		memlens_dmabuf__free(d);
		memlens__free(ml);
	}
	close(go[1]);
	waitpid(z, NULL, 0);
}

static void check_pidns(void)
{
	char line[512];
	int rep[2];
	pid_t x;
	FILE *f;
	int n = 0;

	if (pipe(rep))
		return;
	x = fork();
	if (x == 0) {
		pid_t y;

		close(rep[0]);
		if (unshare(CLONE_NEWPID | CLONE_NEWNS)) {
			dprintf(rep[1], "0|unshare a pid and mount namespace: %s\n", strerror(errno));
			_exit(0);
		}
		y = fork();	/* the namespace's init */
		if (y == 0) {
			pidns_inner(rep[1]);
			_exit(0);
		}
		waitpid(y, NULL, 0);
		_exit(0);
	}
	close(rep[1]);
	f = fdopen(rep[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		ok(line[0] == '1', "%s", line + 2);
		n++;
	}
	if (f)
		fclose(f);
	waitpid(x, NULL, 0);
	ok(n >= 3, "the pid namespace case reported (%d lines: the holders, then two per source)", n);
}

/*
 * Where the kernel has no DMA-BUF, the BPF source reads iter/dmabuf alone and
 * skips the fd and mapping walks (their programs are not even loaded); it
 * must say so, and only then.  Run on the context before the scenario's
 * buffers exist: the scenario's check then needs the walks loaded later, in
 * the same context (the exporter's case).
 */
static void check_no_buffer_skip(struct memlens *ml, bool want_none)
{
	MEMLENS_OPTS(memlens_dmabuf_opts, o, .source = MEMLENS_SOURCE_DMABUF_BPF);
	struct memlens_dmabuf *d = NULL;
	const char *why;
	size_t n;

	if (memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF)) {
		unavailable("bpf_iter_dmabuf", "no-buffer shortcut: %s", memlens__probe_reason(ml, MEMLENS_IFACE_BPF_ITER_DMABUF));
		return;
	}
	if (!ok(memlens__dmabuf(ml, &o, &d) == 0, "bpf source before any buffer exists"))
		return;
	n = memlens_dmabuf__buf_count(d);
	why = memlens_dmabuf__source_reason(d);
	printf("# %zu buffers; %s\n", n, why);
	if (want_none)
		is_u64(n, 0, "no buffer listed (no process holds one: no exporter, or none made yet)");
	ok((n == 0) == (strstr(why, "fds and mappings were not walked") != NULL),
	   "the walks are skipped exactly when no buffer exists (%zu buffers)", n);
	memlens_dmabuf__free(d);
}

int main(void)
{
	const char *expect = getenv("MEMLENS_EXPECT_EXPORTER");
	const char *b = getenv("MEMLENS_BUILD");
	char bin[512];
	struct memlens *ml = memlens__new(NULL);
	struct scen s;
	pid_t churn;

	pg = sysconf(_SC_PAGESIZE);
	snprintf(bin, sizeof(bin), "%s/memlens", b ? b : "build");
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udma = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (heap < 0 || udma < 0) {
		char out[4096];
		int rc;

		snprintf(out, sizeof(out), "%s dmabuf 2>&1", bin);
		rc = run_cli(out, out, sizeof(out));
		ok(rc == 0 && strstr(out, "no DMA-BUF exporter"), "without exporters memlens dmabuf says so and exits 0");
		check_no_buffer_skip(ml, false);
		if (expect && !strcmp(expect, "yes"))
			ok(0, "this kernel should have /dev/dma_heap/system and /dev/udmabuf");
		else
			unavailable("dmabuf_exporter", "no DMA-BUF exporter here: the scenario runs in the VM guests");
		memlens__free(ml);
		return tap_done();
	}
	check_no_buffer_skip(ml, true);
	if (!ok(scen_start(&s) == 0, "scenario built: P %d, child %d, receiver %d, thread %d", s.p, s.c1, s.u, s.tid))
		return tap_done();
	churn = churn_start();
	for (int src = MEMLENS_SOURCE_DMABUF_BPF; src <= MEMLENS_SOURCE_DMABUF_PROCFS; src++) {
		char why[64];

		if (src == MEMLENS_SOURCE_DMABUF_BPF && memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF)) {
			snprintf(why, sizeof(why), "%s", memlens__probe_reason(ml, MEMLENS_IFACE_BPF_ITER_DMABUF));
			unavailable("bpf_dmabuf", "bpf source: %s", why);
			continue;
		}
		check_source(ml, &s, (enum memlens_source)src, NULL);
		if (src == MEMLENS_SOURCE_DMABUF_BPF) {
			/* on one CPU the fd and mapping walks run one after
			 * the other, with no helper thread: same records */
			cpu_set_t all, one;

			if (sched_getaffinity(0, sizeof(all), &all) == 0 && CPU_COUNT(&all) > 1) {
				CPU_ZERO(&one);
				CPU_SET(sched_getcpu(), &one);
				if (ok(sched_setaffinity(0, sizeof(one), &one) == 0, "bpf source again, bound to one CPU"))
					check_source(ml, &s, (enum memlens_source)src, NULL);
				sched_setaffinity(0, sizeof(all), &all);
			} else {
				skip("one CPU only: the walks always run one after the other here");
			}
		}
		check_cli(&s, bin, memlens_source__name((enum memlens_source)src));
	}
	{
		/* the snapshot's DMA-BUF columns come from the same accounting */
		MEMLENS_OPTS(memlens_snapshot_opts, so, .dmabuf = true);
		struct memlens_snapshot *snap = NULL;
		uint64_t rss = 0, pss = 0;
		bool found = false;

		for (int i = 0; i < 5; i++) {
			uint64_t sz = (uint64_t)((i + 2) * pg);

			rss += sz;
			pss += i < 2 ? sz / 2 : sz;
		}
		if (ok(memlens__snapshot(ml, &so, &snap) == 0, "snapshot with DMA-BUF columns (source %s)",
		       memlens_source__name(memlens_snapshot__dmabuf_source(snap))))
			for (size_t i = 0; i < memlens_snapshot__count(snap); i++) {
				const struct memlens_proc_usage *u = memlens_snapshot__get(snap, i);

				if (u->pid == s.p) {
					found = true;
					is_u64(u->dmabuf_rss, rss, "snapshot: P's DMA-BUF Rss");
					is_u64(u->dmabuf_pss, pss, "snapshot: P's DMA-BUF Pss");
				}
			}
		ok(found, "snapshot has a row for P");
		memlens_snapshot__free(snap);
	}
	kill(churn, SIGKILL);
	waitpid(churn, NULL, 0);
	check_sets_agree(ml, &s);
	check_pidns();
	if (memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF) == 0)
		check_pins(&s, bin);
	scen_stop(&s);
	memlens__free(ml);
	return tap_done();
}

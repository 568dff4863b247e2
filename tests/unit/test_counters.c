// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cheap tier (job "counters") against the kernel's own numbers, read
 * here from /proc/<pid>/status and stat with sscanf, never through memlens:
 * children that stop after building a known picture (private anonymous
 * memory with threads, shared anonymous and memfd memory, a file's pages, a
 * comm with bytes that are not UTF-8 and parentheses), one zombie, and
 * memlens__snapshot(.counters_only) from each source, forced: every field of
 * every child's row (rss, rss_anon, rss_file, rss_shmem, swap, vss, comm,
 * start_time, flags), one row per process, none for the zombie.
 *
 * Where status itself shows the percpu counters' lagging count (6.2 to
 * 6.15) the BPF pass, which sums their per-CPU parts, may differ from it by
 * the kernel's batch per CPU; everywhere else the figures are equal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memlens.h"
#include "tap.h"

#define MB (1UL << 20)
#define NKIDS 4

static const char weird_comm[] = "a) b\xff(c";

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
}

/* child k's picture, then a byte on the pipe, then stopped */
static void child(int k, int wfd, const char *file)
{
	volatile char sum = 0;
	char *p;
	int fd;

	switch (k) {
	case 0:	/* private anonymous, and threads: still one process */
		p = mmap(NULL, 24 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch(p, 24 * MB);
		for (int i = 0; i < 3; i++) {
			pthread_t t;

			pthread_create(&t, NULL, sleeper, NULL);
		}
		break;
	case 1:	/* shared anonymous and a memfd: shmem */
		p = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		touch(p, 16 * MB);
		fd = memfd_create("ml-counters", 0);
		if (fd >= 0 && ftruncate(fd, 8 * MB) == 0) {
			p = mmap(NULL, 8 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			touch(p, 8 * MB);
		}
		break;
	case 2:	/* a file's pages, read */
		fd = open(file, O_RDONLY);
		p = mmap(NULL, 12 * MB, PROT_READ, MAP_PRIVATE, fd, 0);
		for (size_t i = 0; p != MAP_FAILED && i < 12 * MB; i += 4096)
			sum += p[i];
		break;
	case 3:	/* a name that is hostile to parsers */
		prctl(PR_SET_NAME, weird_comm);
		p = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch(p, 4 * MB);
		break;
	}
	(void)sum;
	if (write(wfd, "x", 1) != 1)
		_exit(1);
	raise(SIGSTOP);
	for (;;)
		pause();
}

struct truth {
	unsigned long long rss, anon, file, shmem, swap, vss, start;
	char comm[64];
	bool has_vm;
};

/* status's kB lines and stat's name and start, as the kernel wrote them */
static int read_truth(pid_t pid, struct truth *t)
{
	char path[64], line[512], buf[4096];
	unsigned long long v;
	FILE *f;
	char *open_p, *close_p, *s;
	int fd;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
			t->rss = v * 1024, t->has_vm = true;
		else if (sscanf(line, "RssAnon: %llu kB", &v) == 1)
			t->anon = v * 1024;
		else if (sscanf(line, "RssFile: %llu kB", &v) == 1)
			t->file = v * 1024;
		else if (sscanf(line, "RssShmem: %llu kB", &v) == 1)
			t->shmem = v * 1024;
		else if (sscanf(line, "VmSwap: %llu kB", &v) == 1)
			t->swap = v * 1024;
		else if (sscanf(line, "VmSize: %llu kB", &v) == 1)
			t->vss = v * 1024;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -1;
	snprintf(t->comm, sizeof(t->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	/* starttime is field 22: the 20th after the name */
	s = close_p + 2;
	for (int i = 0; i < 19 && s; i++)
		s = strchr(s, ' ') ? strchr(s, ' ') + 1 : NULL;
	return s && sscanf(s, "%llu", &t->start) == 1 ? 0 : -1;
}

/* how far the BPF pass may be from status on this kernel, bytes per counter:
 * 0 where status sums the per-CPU parts (6.16+) or there are none (before
 * 6.2); else the kernel's batch (max(32, 2 * online CPUs)) per possible CPU */
static unsigned long long tolerance(void)
{
	struct utsname u;
	int a = 0, b = 0;
	long on = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	long batch = 2 * on > 32 ? 2 * on : 32;

	uname(&u);
	sscanf(u.release, "%d.%d", &a, &b);
	if (a * 100 + b < 602 || a * 100 + b >= 616)
		return 0;
	return (unsigned long long)batch * (unsigned long long)conf * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static bool near(unsigned long long got, unsigned long long want, unsigned long long tol)
{
	return got <= want + tol && want <= got + tol;
}

/* a tmpfs file's pages are shmem (the guests' root is one), else file pages */
static bool on_tmpfs;

static void check_source(struct memlens *ml, enum memlens_source src, const char *variant, const pid_t *kids,
			 pid_t zombie)
{
	char name[64];
	int32_t pids[NKIDS + 1];
	/* every process, not a list of pids: a pid not in the pass would be
	 * read from status, and a pass that lost the children would pass */
	MEMLENS_OPTS(memlens_snapshot_opts, o, .counters_only = true, .counters_source = src);
	struct memlens_snapshot *s = NULL;
	unsigned long long tol = src == MEMLENS_SOURCE_COUNTERS_BPF ? tolerance() : 0;
	char e1[256], e2[256];
	int err;

	snprintf(name, sizeof(name), "%s%s%s", memlens_source__name(src), variant ? " " : "", variant ? variant : "");
	memcpy(pids, kids, sizeof(*kids) * NKIDS);
	pids[NKIDS] = zombie;
	if (memlens__source_usable(ml, src)) {
		unavailable(variant && !strncmp(variant, "procs", 5) ? "bpf_task_mm_procs" : "bpf_task_mm",
			    "counters source %s: %s", name, memlens__source_reason(ml, src));
		return;
	}
	/* the variant asked for is the one loaded */
	if (variant)
		ok(strstr(memlens__source_reason(ml, src), !strncmp(variant, "procs", 5) ? "(task_mm_procs" : "(task_mm:") != NULL,
		   "%s: the variant loaded: %s", name, memlens__source_reason(ml, src));
	err = memlens__snapshot(ml, &o, &s);
	if (!ok(err == 0, "%s: the snapshot of the counters answers (%d)", name, err))
		return;
	is_u64(memlens_snapshot__counters_source(s), src, "%s: the snapshot says which source its rows came from", name);
	{
		int rows[NKIDS + 1] = { 0 };

		for (size_t i = 0; i < memlens_snapshot__count(s); i++)
			for (int k = 0; k <= NKIDS; k++)
				rows[k] += memlens_snapshot__get(s, i)->pid == pids[k];
		for (int k = 0; k < NKIDS; k++)
			is_u64(rows[k], 1, "%s: one row for child %d, threads or not", name, k);
		is_u64(rows[NKIDS], 0, "%s: none for the zombie", name);
	}
	for (int k = 0; k < NKIDS; k++) {
		const struct memlens_proc_usage *r = NULL;
		struct truth t;

		for (size_t i = 0; i < memlens_snapshot__count(s); i++)
			if (memlens_snapshot__get(s, i)->pid == kids[k])
				r = memlens_snapshot__get(s, i);
		if (!ok(r != NULL, "%s: child %d (pid %d) has a row", name, k, (int)kids[k]) ||
		    !ok(read_truth(kids[k], &t) == 0 && t.has_vm, "%s: child %d: its status and stat read", name, k))
			continue;
		ok(r->flags == MEMLENS_USAGE_F_COUNTERS, "%s: child %d: flagged counters only (0x%x)", name, k, r->flags);
		if (!ok(near(r->rss_anon, t.anon, tol), "%s: child %d: rss_anon %llu, status RssAnon %llu (within %llu)",
			name, k, (unsigned long long)r->rss_anon, t.anon, tol))
			continue;
		ok(near(r->rss_file, t.file, tol), "%s: child %d: rss_file %llu, status RssFile %llu", name, k,
		   (unsigned long long)r->rss_file, t.file);
		ok(near(r->rss_shmem, t.shmem, tol), "%s: child %d: rss_shmem %llu, status RssShmem %llu", name, k,
		   (unsigned long long)r->rss_shmem, t.shmem);
		ok(near(r->rss, t.rss, 3 * tol), "%s: child %d: rss %llu, status VmRSS %llu", name, k,
		   (unsigned long long)r->rss, t.rss);
		ok(r->rss == r->rss_anon + r->rss_file + r->rss_shmem, "%s: child %d: rss is anon + file + shmem", name, k);
		ok(near(r->swap, t.swap, tol), "%s: child %d: swap %llu, status VmSwap %llu", name, k,
		   (unsigned long long)r->swap, t.swap);
		is_u64(r->vss, t.vss, "%s: child %d: vss, status VmSize", name, k);
		is_u64(r->start_time, t.start, "%s: child %d: start_time, stat's starttime", name, k);
		ok(!strcmp(r->comm, t.comm), "%s: child %d: comm '%s', stat's '%s'", name, k,
		   tap_esc(r->comm, e1, sizeof(e1)), tap_esc(t.comm, e2, sizeof(e2)));
		/* the picture each child built is in its kind's counter: nine
		 * tenths of it at least (before 6.2 each thread keeps up to 64
		 * faults' worth of its counts to itself, in status too) */
		if (k == 0)
			ok(r->rss_anon >= 24 * MB * 9 / 10, "%s: child 0: its 24 MiB of anonymous memory in rss_anon", name);
		if (k == 1)
			ok(r->rss_shmem >= 24 * MB * 9 / 10, "%s: child 1: its 16 MiB shared and 8 MiB memfd in rss_shmem", name);
		/* a tmpfs file's pages are shmem (the guests' /tmp) */
		if (k == 2)
			ok((on_tmpfs ? r->rss_shmem : r->rss_file) >= 12 * MB * 9 / 10,
			   "%s: child 2: its 12 MiB file in %s (file %llu, shmem %llu)", name,
			   on_tmpfs ? "rss_shmem (the file is on tmpfs)" : "rss_file",
			   (unsigned long long)r->rss_file, (unsigned long long)r->rss_shmem);
		if (k == 3)
			ok(!strcmp(r->comm, weird_comm), "%s: child 3: the hostile name, byte for byte", name);
	}
	memlens_snapshot__free(s);
}

int main(void)
{
	struct memlens *ml = memlens__new(NULL);
	char file[64] = "/var/tmp/memlens-counters-XXXXXX", c;
	pid_t kids[NKIDS], zombie;
	int pfd[2], fd;
	static char block[MB];

	fd = mkstemp(file);
	if (fd < 0) {	/* the guests have no /var/tmp */
		snprintf(file, sizeof(file), "/tmp/memlens-counters-XXXXXX");
		fd = mkstemp(file);
	}
	ok(fd >= 0, "a 12 MiB file to map: %s", file);
	memset(block, 'f', sizeof(block));
	{
		int i = 0;

		while (fd >= 0 && i < 12 && write(fd, block, sizeof(block)) == (ssize_t)sizeof(block))
			i++;
		ok(i == 12, "... 12 MiB written to it (%d)", i);
	}
	if (fd >= 0) {
		struct statfs sf;

		on_tmpfs = fstatfs(fd, &sf) == 0 && sf.f_type == 0x01021994;	/* TMPFS_MAGIC */
		close(fd);
	}
	if (pipe(pfd))
		return 1;
	for (int k = 0; k < NKIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			close(pfd[0]);
			child(k, pfd[1], file);
		}
	}
	zombie = fork();
	if (zombie == 0)
		_exit(0);
	close(pfd[1]);
	for (int k = 0; k < NKIDS; k++)
		if (read(pfd[0], &c, 1) != 1)
			break;
	/* all stopped, the zombie dead: nothing moves while we look */
	for (int k = 0; k < NKIDS; k++) {
		int st;

		waitpid(kids[k], &st, WUNTRACED);
	}
	{
		siginfo_t si;

		waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT);
	}
	check_source(ml, MEMLENS_SOURCE_COUNTERS_PROCFS, NULL, kids, zombie);
	check_source(ml, MEMLENS_SOURCE_COUNTERS_BPF, NULL, kids, zombie);
	/* each variant of the pass, forced (a context of its own: the probe
	 * reads MEMLENS_BPF_MM_VARIANT) */
	for (int v = 0; v < 3; v++) {
		const char *variant = v == 1 ? "iter" : "procs";
		struct memlens *mv;

		setenv("MEMLENS_BPF_MM_VARIANT", variant, 1);
		/* v 2: the open-coded walk's map starts with room for 16
		 * records, fewer than there are processes (the children, the
		 * newest, are past its end): the pass makes room and runs again */
		if (v == 2)
			setenv("MEMLENS_TEST_MM_CAP", "16", 1);
		mv = memlens__new(NULL);
		check_source(mv, MEMLENS_SOURCE_COUNTERS_BPF, v == 2 ? "procs, its map outgrown" : variant, kids, zombie);
		memlens__free(mv);
		unsetenv("MEMLENS_BPF_MM_VARIANT");
		unsetenv("MEMLENS_TEST_MM_CAP");
	}
	/* AUTO: the best usable one, said */
	{
		MEMLENS_OPTS(memlens_snapshot_opts, o, .counters_only = true, .pids = kids, .npids = NKIDS);
		struct memlens_snapshot *s = NULL;
		enum memlens_source want = memlens__source_usable(ml, MEMLENS_SOURCE_COUNTERS_BPF) == 0 ?
						   MEMLENS_SOURCE_COUNTERS_BPF : MEMLENS_SOURCE_COUNTERS_PROCFS;

		if (ok(memlens__snapshot(ml, &o, &s) == 0, "auto: the snapshot answers"))
			is_u64(memlens_snapshot__counters_source(s), want, "auto: the pass where it loads, else status");
		memlens_snapshot__free(s);
	}
	/* a snapshot with rollups and no budget needs no counters' source */
	{
		MEMLENS_OPTS(memlens_snapshot_opts, o, .pids = kids, .npids = 1);
		struct memlens_snapshot *s = NULL;

		if (ok(memlens__snapshot(ml, &o, &s) == 0, "rollups: the snapshot answers"))
			is_u64(memlens_snapshot__counters_source(s), MEMLENS_SOURCE_AUTO,
			       "rollups only: no counters' source used");
		memlens_snapshot__free(s);
	}
	for (int k = 0; k < NKIDS; k++) {
		kill(kids[k], SIGKILL);
		waitpid(kids[k], NULL, 0);
	}
	waitpid(zombie, NULL, 0);
	unlink(file);
	memlens__free(ml);
	return tap_done();
}

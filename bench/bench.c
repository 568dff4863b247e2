// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens benchmarks: the seeds' comparisons, side by side in one run.
 *   bench normalize   ~650-VMA target, batches of ~3200 addresses (~460 distinct)
 *   bench symbolize   the same shape in real files: function, line, inlined calls, beside eu-addr2line --pid
 *   bench walk        every VMA of every process, 300 processes
 *   bench dmabuf      DMA-BUF accounting, 200 processes x 64 fds
 *   bench cli         each command once as a whole process, beside its peer
 *   bench load        cold load of each BPF program, both skeleton kinds
 *   bench fleet       the exporter beside prometheus-process-exporter, 2,000 and 10,000 processes
 *   bench counters    every process's mm counters, 10,000 processes: the BPF pass beside statm and status
 *   bench peer NAME   (internal) one run of a peer tool: maps_all, dmabuf, rollup
 * Results: tables on stdout and bench/results/<name>.json: {"machine": {...},
 * "benches": [{"id", "title", "results": [{"id", "name", "median_us", ...}]}]}
 * BENCH_ROUNDS=N changes the rounds; BENCH_ONLY=id[,id] runs only those
 * contenders (the others show as failed), e.g. under perf record.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memlens.h"
#include "../src/uapi/procmap_query.h"
#include "../src/bpf_prog.h"
#include "bench.h"
#include "floor.lskel.h"
#include <spawn.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>

extern char **environ;

static int ROUNDS = 11;
static const char *BUILD = "build";

/* ---- target processes ---- */

/* a process mapping nfiles copies of an ELF, each as r--, r-x, r--, rw- like a
 * library; returns its pid, the r-x ranges in ex[] */
static pid_t target_start(int nfiles, uint64_t (*ex)[2], int *hold)
{
	char dir[] = "/tmp/memlens-bench-XXXXXX", path[600], src[512];
	int p[2], go[2];
	pid_t pid;

	if (!mkdtemp(dir) || pipe(p) || pipe(go))
		return -1;
	snprintf(src, sizeof(src), "%s/tests/mapper", BUILD);
	pid = fork();
	if (pid == 0) {
		char x;

		close(go[1]);
		for (int i = 0; i < nfiles; i++) {
			char cmd[1300];
			int fd;

			snprintf(path, sizeof(path), "%s/lib%03d.so", dir, i);
			snprintf(cmd, sizeof(cmd), "cp %s %s", src, path);
			if (system(cmd))
				_exit(1);
			fd = open(path, O_RDONLY);
			/* four segments; gaps keep them from merging */
			char *base = mmap(NULL, 9 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			static const int prot[4] = { PROT_READ, PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE };
			for (int s = 0; s < 4; s++)
				if (mmap(base + (2 * s) * 4096, 4096, prot[s], MAP_PRIVATE | MAP_FIXED, fd, s * 4096) == MAP_FAILED)
					_exit(1);
			munmap(base + 7 * 4096, 2 * 4096);
			for (int s = 0; s < 3; s++)
				munmap(base + (2 * s + 1) * 4096, 4096);
			uint64_t r[2] = { (uint64_t)(uintptr_t)(base + 2 * 4096), (uint64_t)(uintptr_t)(base + 3 * 4096) };
			if (write(p[1], r, sizeof(r)) != sizeof(r))
				_exit(1);
			close(fd);
		}
		while (read(go[0], &x, 1) > 0)
			;
		snprintf(path, sizeof(path), "rm -rf %s", dir);
		if (system(path))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	for (int i = 0; i < nfiles; i++)
		if (read(p[0], ex[i], sizeof(ex[i])) != sizeof(ex[i]))
			return -1;
	close(p[0]);
	*hold = go[1];
	return pid;
}

static void target_stop(pid_t pid, int hold)
{
	close(hold);
	waitpid(pid, NULL, 0);
}

/* ---- normalization ---- */
struct norm_arg {
	pid_t pid;
	uint64_t *addrs;
	size_t n;
	uint64_t *touch;	/* one address per distinct VMA touched */
	size_t ntouch;
	bool bid;
	enum memlens_source backend;
	struct memlens *ml;
	const char *cli;
	char addr_file[64];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the seed's baseline: fscanf every line of maps, match sorted addresses */
static int run_fscanf(void *p)
{
	struct norm_arg *a = p;
	uint64_t *s = malloc(a->n * sizeof(*s)), start, end, off, ino, sum = 0;
	char path[64], perms[8], name[4096];
	unsigned maj, min;
	size_t i = 0;
	FILE *f;

	memcpy(s, a->addrs, a->n * sizeof(*s));
	qsort(s, a->n, sizeof(*s), cmp_u64);
	snprintf(path, sizeof(path), "/proc/%d/maps", a->pid);
	f = fopen(path, "r");
	if (!f) {
		free(s);
		return -errno;
	}
	while (fscanf(f, "%lx-%lx %s %lx %x:%x %lu%[^\n]\n", &start, &end, perms, &off, &maj, &min, &ino, name) >= 7) {
		while (i < a->n && s[i] < start)
			i++;
		while (i < a->n && s[i] < end)
			sum += s[i++] - start + off;
	}
	fclose(f);
	free(s);
	return sum ? 0 : -EINVAL;
}

static int run_lib(void *p)
{
	struct norm_arg *a = p;
	MEMLENS_OPTS(memlens_proc_opts, po, .source = a->backend);
	MEMLENS_OPTS(memlens_normalize_opts, no, .build_ids = a->bid);
	struct memlens_proc *proc;
	struct memlens_norm *norm = NULL;
	int err;

	if (!a->ml)
		a->ml = memlens__new(NULL);	/* kept across batches, as a profiler would */
	proc = memlens__proc_open(a->ml, a->pid, &po);
	if (!proc)
		return -errno;
	err = memlens_proc__normalize(proc, a->addrs, a->n, &no, &norm);
	memlens_norm__free(norm);
	memlens_proc__close(proc);
	return err;
}

static int run_cli(void *p)
{
	struct norm_arg *a = p;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s query %d %s -r -n -o FILE_OFFSET < %s > /dev/null", a->cli, a->pid,
		 a->bid ? "" : "--no-build-id", a->addr_file);
	return system(cmd) ? -EIO : 0;
}

/* the floor: open, one bare ioctl per distinct VMA touched, close */
static int run_floor(void *p)
{
	struct norm_arg *a = p;
	char path[64], name[4096];
	unsigned char bid[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", a->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < a->ntouch; i++) {
		struct procmap_query q = { .size = sizeof(q), .query_addr = a->touch[i],
					   .vma_name_addr = (uintptr_t)name, .vma_name_size = sizeof(name) };

		if (a->bid) {
			q.build_id_addr = (uintptr_t)bid;
			q.build_id_size = sizeof(bid);
		}
		if (ioctl(fd, PROCMAP_QUERY, &q)) {
			close(fd);
			return -errno;
		}
	}
	close(fd);
	return 0;
}

static uint64_t rnd(void)
{
	static uint64_t x = 88172645463325252ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* one shape: NADDR addresses (NDISTINCT distinct) in the r-x VMAs of ntouch
 * of the target's files, with and without build IDs */
static void normalize_shape(FILE *out, pid_t pid, uint64_t (*ex)[2], int nfiles, size_t nvmas, int ntouch,
			    const char *shape)
{
	enum { NDISTINCT = 464, NADDR = 3244 };
	uint64_t distinct[NDISTINCT], addrs[NADDR], touch[100];
	struct norm_arg args[8];
	struct contender c[8];
	struct result res[8];
	char cli[600], title[200], id[64];
	int n, fd;

	for (int i = 0; i < ntouch; i++)
		touch[i] = ex[i * nfiles / ntouch][0];
	for (int i = 0; i < NDISTINCT; i++) {
		uint64_t *r = ex[(i % ntouch) * nfiles / ntouch];

		distinct[i] = r[0] + rnd() % (r[1] - r[0]);
	}
	for (int i = 0; i < NADDR; i++)
		addrs[i] = distinct[rnd() % NDISTINCT];
	fd = open("/tmp/memlens-bench-addrs", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < NADDR; i++)
		dprintf(fd, "%llx\n", (unsigned long long)addrs[i]);
	close(fd);
	snprintf(cli, sizeof(cli), "%s/memlens", BUILD);
	for (int bid = 0; bid < 2; bid++) {
		struct { const char *id, *name; int (*run)(void *); enum memlens_source b; } k[] = {
			{ "baseline", "fscanf /proc/pid/maps (seed baseline)", run_fscanf, 0 },
			{ "text", "memlens library, text source", run_lib, MEMLENS_SOURCE_MAPS_TEXT },
			{ "ioctl", "memlens library, PROCMAP_QUERY", run_lib, MEMLENS_SOURCE_PROCMAP_QUERY },
			{ "cli_query", "memlens query CLI (fork+exec), PROCMAP_QUERY", run_cli, 0 },
			{ "floor", "floor: bare ioctls + open/close", run_floor, 0 },
		};

		n = 0;
		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			if (bid && k[i].run == run_fscanf)
				continue;	/* the seed's baseline has no build IDs */
			struct norm_arg *a = &args[n];

			memset(a, 0, sizeof(*a));
			a->pid = pid, a->addrs = addrs, a->n = NADDR, a->touch = touch, a->ntouch = (size_t)ntouch;
			a->bid = bid, a->backend = k[i].b, a->cli = cli;
			snprintf(a->addr_file, sizeof(a->addr_file), "/tmp/memlens-bench-addrs");
			c[n] = (struct contender){ k[i].id, k[i].name, k[i].run, a, k[i].run == run_cli ? 20 : 200 };
			n++;
		}
		snprintf(title, sizeof(title), "normalize, %s shape, %s build IDs: %d addresses (%d distinct) in %d r-x VMAs of %zu, per batch",
			 shape, bid ? "with" : "without", NADDR, NDISTINCT, ntouch, nvmas);
		snprintf(id, sizeof(id), "normalize_%s%s", shape, bid ? "_buildid" : "");
		bench_run(title, c, n, ROUNDS, res);
		bench_print(stdout, title, res, n, bid ? "memlens library, text source" : "fscanf /proc/pid/maps (seed baseline)",
			    "floor: bare ioctls + open/close");
		bench_json(out, id, title, res, n);
	}
	unlink("/tmp/memlens-bench-addrs");
}

static int bench_normalize(FILE *out)
{
	/* 154 libraries of 4 VMAs and the process's own: ~655 VMAs, as in the
	 * PROCMAP_QUERY thread's benchmark */
	enum { NFILES = 154 };
	static uint64_t ex[NFILES][2];
	int hold;
	pid_t pid = target_start(NFILES, ex, &hold);
	size_t nvmas = 0;
	struct memlens *ml = memlens__new(NULL);

	if (pid < 0)
		return -1;
	{
		struct memlens_proc *p = memlens__proc_open(ml, pid, NULL);
		struct memlens_vma_set *set = NULL;

		if (p && !memlens_proc__maps(p, NULL, &set))
			nvmas = memlens_vma_set__count(set);
		memlens_vma_set__free(set);
		memlens_proc__close(p);
	}
	/* the seed's: every address in 5 r-x VMAs; spread: over 100 of them */
	normalize_shape(out, pid, ex, NFILES, nvmas, 5, "seed");
	normalize_shape(out, pid, ex, NFILES, nvmas, 100, "spread");
	memlens__free(ml);
	target_stop(pid, hold);
	return 0;
}

/* ---- symbolization ---- */
struct sym_arg {
	pid_t pid;
	const uint64_t *addrs;
	size_t n;
	/* fresh: sets of n addresses, a new one each batch (set % nsets) */
	const uint64_t *sets;
	size_t nsets, set;
	bool keep;		/* the context kept across batches (warm), or a new one each (cold) */
	struct memlens *ml;
	const char *cmd;	/* a process to run instead */
};

static int run_symbolize(void *p)
{
	struct sym_arg *a = p;
	MEMLENS_OPTS(memlens_normalize_opts, no, .build_ids = true, .elf_vaddr = true);
	MEMLENS_OPTS(memlens_symbolize_opts, so, .inlines = true);
	struct memlens_norm *norm = NULL;
	struct memlens_syms *syms = NULL;
	struct memlens_proc *proc;
	int err;

	if (!a->ml)
		a->ml = memlens__new(NULL);
	proc = memlens__proc_open(a->ml, a->pid, NULL);
	if (!proc)
		return -errno;
	err = memlens_proc__normalize(proc, a->sets ? a->sets + a->set++ % a->nsets * a->n : a->addrs, a->n, &no, &norm);
	if (!err)
		err = memlens_norm__symbolize(proc, norm, &so, &syms);
	if (!err && !a->sets && memlens_syms__get(syms, 0)->err)
		err = -ENOENT;	/* the first address is a function's: an answer must come */
	memlens_syms__free(syms);
	memlens_norm__free(norm);
	memlens_proc__close(proc);
	if (!a->keep) {
		memlens__free(a->ml);
		a->ml = NULL;
	}
	return err;
}

static int run_cmd(void *p)
{
	return system(((struct sym_arg *)p)->cmd) ? -EIO : 0;
}

/* the seed's shape (3244 addresses, 464 distinct, in 5 r-x VMAs) in real
 * files: memlens's own binary (a process blocked reading addresses), libc,
 * libdw, libelf and libbpf as its loader mapped them */
static int bench_symbolize(FILE *out)
{
	enum { NDISTINCT = 464, NADDR = 3244, NFILES = 5 };
	/* by the start of their file names: libdw.so.1 maps libdw-0.188.so */
	static const char *const want[NFILES] = { "memlens", "libc.so", "libdw", "libelf", "libbpf.so" };
	enum { NSETS = 64 };
	uint64_t ex[NFILES][2] = { { 0 } }, distinct[NDISTINCT], addrs[NADDR], *sets;
	char cmd[600], eu[700], mine[700], title[200], path[64], line[4600];
	struct sym_arg args[5];
	struct contender c[5];
	struct result res[5];
	int in[2], fd;
	pid_t pid;
	FILE *f;

	if (pipe(in))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		close(in[1]);
		snprintf(cmd, sizeof(cmd), "%s/memlens", BUILD);
		execl(cmd, "memlens", "query", "self", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	usleep(200000);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8], name[4096] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %4095s", &lo, &hi, perms, name) < 3 || perms[2] != 'x')
			continue;
		const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

		for (int i = 0; i < NFILES; i++)
			if (!ex[i][0] && !strncmp(base, want[i], strlen(want[i])))
				ex[i][0] = lo, ex[i][1] = hi;
	}
	if (f)
		fclose(f);
	for (int i = 0; i < NFILES; i++)
		if (!ex[i][0]) {
			fprintf(stderr, "bench symbolize: no r-x mapping of %s\n", want[i]);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
	/* the first distinct address: the start of a function (memlens's main) */
	for (int i = 0; i < NDISTINCT; i++) {
		uint64_t *r = ex[i % NFILES];

		distinct[i] = r[0] + rnd() % (r[1] - r[0]);
	}
	{
		MEMLENS_OPTS(memlens_normalize_opts, no, .elf_vaddr = true);
		struct memlens *ml = memlens__new(NULL);
		struct memlens_proc *p = memlens__proc_open(ml, pid, NULL);
		struct memlens_norm *norm = NULL;
		struct memlens_syms *syms = NULL;

		/* start the batch on an address with a symbol (libc's first
		 * symbolized one), so the rows can tell an answer was made */
		if (p && !memlens_proc__normalize(p, distinct, NDISTINCT, &no, &norm) &&
		    !memlens_norm__symbolize(p, norm, NULL, &syms))
			for (int i = 0; i < NDISTINCT; i++)
				if (!memlens_syms__get(syms, (size_t)i)->err) {
					uint64_t t = distinct[0];

					distinct[0] = distinct[i], distinct[i] = t;
					break;
				}
		memlens_syms__free(syms);
		memlens_norm__free(norm);
		memlens_proc__close(p);
		memlens__free(ml);
	}
	addrs[0] = distinct[0];
	for (int i = 1; i < NADDR; i++)
		addrs[i] = distinct[rnd() % NDISTINCT];
	/* the same shape, other addresses: what a warm context answers without
	 * its memo (every address new to it, the files parsed) */
	sets = malloc(NSETS * NADDR * sizeof(*sets));
	if (!sets)
		return -1;
	for (int k = 0; k < NSETS; k++) {
		uint64_t d[NDISTINCT];

		for (int i = 0; i < NDISTINCT; i++) {
			uint64_t *r = ex[i % NFILES];

			d[i] = r[0] + rnd() % (r[1] - r[0]);
		}
		for (int i = 0; i < NADDR; i++)
			sets[k * NADDR + i] = d[rnd() % NDISTINCT];
	}
	fd = open("/tmp/memlens-bench-symaddrs", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < NADDR; i++)
		dprintf(fd, "%llx\n", (unsigned long long)addrs[i]);
	close(fd);
	/* eu-addr2line -i exits 1 when an address has no DWARF scope (the
	 * stripped libraries' addresses): 2 and up is a failure */
	snprintf(eu, sizeof(eu), "eu-addr2line --pid=%d -S -f -i $(sed s/^/0x/ /tmp/memlens-bench-symaddrs) > /dev/null 2>&1; [ $? -le 1 ]",
		 pid);
	snprintf(mine, sizeof(mine), "%s/memlens symbolize %d --inlines -r -n -o SYMBOL,LINE,FUNC,INLINES < /tmp/memlens-bench-symaddrs > /dev/null",
		 BUILD, pid);
	memset(args, 0, sizeof(args));
	for (int i = 0; i < 5; i++)
		args[i] = (struct sym_arg){ .pid = pid, .addrs = addrs, .n = NADDR, .keep = i == 2 || i == 4 };
	args[4].sets = sets, args[4].nsets = NSETS;
	args[0].cmd = eu;
	args[3].cmd = mine;
	c[0] = (struct contender){ "eu_addr2line", "eu-addr2line --pid -S -f -i (fork+exec; baseline)", run_cmd, &args[0], 3 };
	c[1] = (struct contender){ "cold", "memlens library, cold: a new context each batch", run_symbolize, &args[1], 5 };
	c[2] = (struct contender){ "warm", "memlens library, warm: the context kept", run_symbolize, &args[2], 50 };
	c[3] = (struct contender){ "cli_symbolize", "memlens symbolize --inlines CLI (fork+exec)", run_cmd, &args[3], 3 };
	c[4] = (struct contender){ "warm_new", "memlens library, warm, new addresses each batch", run_symbolize, &args[4], 20 };
	snprintf(title, sizeof(title),
		 "symbolize (function+offset, line, inlined calls): %d addresses (%d distinct) in %d r-x VMAs of real files, per batch",
		 NADDR, NDISTINCT, NFILES);
	bench_run(title, c, 5, ROUNDS, res);
	bench_print(stdout, title, res, 5, "eu-addr2line --pid -S -f -i (fork+exec; baseline)", NULL);
	bench_json(out, "symbolize", title, res, 5);
	free(sets);
	close(in[1]);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink("/tmp/memlens-bench-symaddrs");
	return 0;
}

/* ---- whole-system VMA walk ---- */
struct walk_arg {
	enum memlens_source b;
	bool keep;		/* context (and its loaded BPF program) kept across walks */
	struct memlens *ml;
	const char *skeleton;	/* MEMLENS_BPF_SKELETON for this contender, or NULL */
	const char *variant;	/* MEMLENS_BPF_VMA_VARIANT for this contender, or NULL */
};

static int run_walk(void *p)
{
	struct walk_arg *a = p;
	struct memlens *ml;

	if (a->skeleton)
		setenv("MEMLENS_BPF_SKELETON", a->skeleton, 1);
	else
		unsetenv("MEMLENS_BPF_SKELETON");
	if (a->variant)
		setenv("MEMLENS_BPF_VMA_VARIANT", a->variant, 1);
	else
		unsetenv("MEMLENS_BPF_VMA_VARIANT");
	ml = a->ml ? a->ml : memlens__new(NULL);
	struct memlens_vma_set *set = NULL;
	MEMLENS_OPTS(memlens_maps_all_opts, ao, .source = a->b);
	int err = memlens__maps_all(ml, &ao, &set);

	memlens_vma_set__free(set);
	if (a->keep)
		a->ml = ml;
	else
		memlens__free(ml);
	return err;
}

static int run_pmap(void *p)
{
	(void)p;
	return system("for d in /proc/[0-9]*; do pmap -q ${d#/proc/}; done > /dev/null 2>&1") ? -EIO : 0;
}

static pid_t *spawn_idle(int n)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	char path[600];

	snprintf(path, sizeof(path), "%s/tests/mapper", BUILD);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int fd = open("/dev/null", O_RDONLY);

			dup2(fd, 0);
			/* a real program's address space, then sleep */
			execl("/bin/sleep", "sleep", "600", (char *)NULL);
			_exit(1);
		}
	}
	return pids;
}

static void kill_all(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
}

static int count_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	if (d)
		closedir(d);
	return n;
}

/* ---- the floor of a BPF pass: the kernel's walks with empty programs ---- */
static struct floor_lskel *floor_skel;
static int floor_links[2] = { -1, -1 };	/* fds, VMAs */

/* load the empty programs once and link them (as pins would be): 0 or -errno */
static int floor_load(void)
{
	if (floor_skel)
		return 0;
	floor_skel = floor_lskel__open_and_load();
	if (!floor_skel)
		return -errno ? -errno : -EINVAL;
	floor_links[0] = bpf_link_create(floor_skel->progs.floor_fds.prog_fd, 0, BPF_TRACE_ITER, NULL);
	floor_links[1] = bpf_link_create(floor_skel->progs.floor_vmas.prog_fd, 0, BPF_TRACE_ITER, NULL);
	return floor_links[0] < 0 || floor_links[1] < 0 ? -errno : 0;
}

static void floor_unload(void)
{
	for (int i = 0; i < 2; i++)
		if (floor_links[i] >= 0)
			close(floor_links[i]);
	floor_links[0] = floor_links[1] = -1;
	floor_lskel__destroy(floor_skel);
	floor_skel = NULL;
}

/* one pass of floor iterator i */
static int floor_pass(int i)
{
	char buf[4096];
	int fd = bpf_iter_create(floor_links[i]);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

static void *floor_fds_thread(void *p)
{
	*(int *)p = floor_pass(0);
	return NULL;
}

/* one pass of the iterators arg names: "fds+vmas" or "vmas"; "fds||vmas":
 * the two walks at once, the fd walk on a helper placed as memlens places
 * its own (ml_helper_start), one after the other where there is none */
static int run_floor_walk(void *p)
{
	pthread_t t;
	int err = 0, terr = 0;

	if (!strcmp(p, "fds||vmas") && ml_helper_start(&t, floor_fds_thread, &terr)) {
		err = floor_pass(1);
		pthread_join(t, NULL);
		return err ? err : terr;
	}
	for (int i = strcmp(p, "vmas") ? 0 : 1; i < 2 && !err; i++)
		err = floor_pass(i);
	return err;
}

static int bench_walk(FILE *out)
{
	int extra = 300 - count_procs();
	pid_t *pids = spawn_idle(extra > 0 ? extra : 0);
	/* the BPF rows: the variant the probe picks (bpf_*), then each variant
	 * forced (a variant this kernel refuses: "failed") */
	struct walk_arg a[9] = { { MEMLENS_SOURCE_BPF_TASK_VMA, true, NULL, NULL, NULL },
				 { MEMLENS_SOURCE_MAPS_TEXT, true, NULL, NULL, NULL },
				 { MEMLENS_SOURCE_PROCMAP_QUERY, true, NULL, NULL, NULL },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, false, NULL, NULL, NULL },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, false, NULL, "regular", NULL },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, true, NULL, NULL, "nopath" },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, false, NULL, NULL, "nopath" },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, true, NULL, NULL, "d_path" },
				 { MEMLENS_SOURCE_BPF_TASK_VMA, false, NULL, NULL, "d_path" } };
	struct contender c[11] = {
		{ "peer_pmap", "pmap per process (procps)", run_pmap, NULL, 1 },
		{ "text", "memlens text source, every /proc/pid/maps", run_walk, &a[1], 10 },
		{ "ioctl", "memlens PROCMAP_QUERY, per process", run_walk, &a[2], 10 },
		{ "bpf_loaded", "memlens BPF task_vma, one pass (loaded)", run_walk, &a[0], 10 },
		{ "bpf_oneshot", "memlens BPF task_vma, load + one pass", run_walk, &a[3], 10 },
		{ "bpf_oneshot_regular", "same, regular skeleton (the fallback)", run_walk, &a[4], 10 },
		{ "bpf_loaded_nopath", "task_vma_nopath forced, loaded (paths by PROCMAP_QUERY)", run_walk, &a[5], 10 },
		{ "bpf_oneshot_nopath", "task_vma_nopath forced, load + one pass", run_walk, &a[6], 10 },
		{ "bpf_loaded_d_path", "task_vma (bpf_d_path) forced, loaded", run_walk, &a[7], 10 },
		{ "bpf_oneshot_d_path", "task_vma (bpf_d_path) forced, load + one pass", run_walk, &a[8], 10 },
		{ "floor", "floor: the kernel's VMA walk, empty program", run_floor_walk, "vmas", 10 },
	};
	struct result res[11];
	char title[160];
	int nc = floor_load() ? 10 : 11;

	usleep(200000);
	snprintf(title, sizeof(title), "whole-system VMA walk: %d processes", count_procs());
	bench_run(title, c, nc, ROUNDS, res);
	bench_print(stdout, title, res, nc, "memlens text source, every /proc/pid/maps",
		    nc == 11 ? "floor: the kernel's VMA walk, empty program" : NULL);
	bench_json(out, "walk_all", title, res, nc);
	kill_all(pids, extra > 0 ? extra : 0);
	return 0;
}

/* ---- DMA-BUF accounting: 200 processes x 64 fds ---- */
struct dmabuf_arg {
	enum memlens_source src;
	const char *pin_dir;
	const char *skeleton;	/* MEMLENS_BPF_SKELETON for this contender, or NULL */
	bool walks;		/* walk fds and mappings even when no buffer exists */
	bool one_thread;	/* ... one after the other, no helper thread */
};

/* what dmabuf_dump does: readdir /proc, readlink every fd, fdinfo of DMA-BUF fds, parse maps */
static int run_dmabuf_dump(void *p)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t found = 0;

	(void)p;
	while (d && (de = readdir(d))) {
		char path[300], target[256], line[512];
		/* lp below: /proc/ + d_name + /fdinfo/ + d_name */
		struct dirent *fe;
		DIR *fd;
		FILE *m;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fd = opendir(path);
		while (fd && (fe = readdir(fd))) {
			char lp[600];
			ssize_t n;

			snprintf(lp, sizeof(lp), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			n = readlink(lp, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = 0;
				if (!strncmp(target, "/dmabuf:", 8) || !strcmp(target, "anon_inode:dmabuf")) {
					FILE *fi;

					snprintf(lp, sizeof(lp), "/proc/%s/fdinfo/%s", de->d_name, fe->d_name);
					fi = fopen(lp, "r");
					while (fi && fgets(line, sizeof(line), fi))
						;
					if (fi)
						fclose(fi);
					found++;
				}
			}
		}
		if (fd)
			closedir(fd);
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		m = fopen(path, "r");
		while (m && fgets(line, sizeof(line), m))
			found += strstr(line, "/dmabuf:") != NULL;
		if (m)
			fclose(m);
	}
	if (d)
		closedir(d);
	return 0;
}

static int run_memlens_dmabuf(void *p)
{
	struct dmabuf_arg *a = p;
	struct memlens *ml;
	MEMLENS_OPTS(memlens_dmabuf_opts, o, .source = a->src, .pin_dir = a->pin_dir);
	struct memlens_dmabuf *d = NULL;
	int err;

	if (a->skeleton)
		setenv("MEMLENS_BPF_SKELETON", a->skeleton, 1);
	ml = memlens__new(NULL);
	if (ml) {
		ml->dmabuf_walks_never_skipped = a->walks;
		ml->dmabuf_walks_one_thread = a->one_thread;
	}
	err = memlens__dmabuf(ml, &o, &d);

	memlens_dmabuf__free(d);
	memlens__free(ml);
	return err;
}

static int bench_dmabuf(FILE *out)
{
	/* host: 200 x 64 fds (finding the DMA-BUF fds among all fds);
	 * BENCH_DMABUF_SHARED=N (the VM guest): N processes sharing 32 real buffers */
	int shared = getenv("BENCH_DMABUF_SHARED") ? atoi(getenv("BENCH_DMABUF_SHARED")) : 0;
	int NPROC = shared ? shared : 200, NFD = shared ? 32 : 64, bufs[32];
	pid_t *pids = calloc((size_t)NPROC, sizeof(*pids));
	char fs[] = "/tmp/memlens-bpffs-XXXXXX", pins[64];
	bool mounted = mkdtemp(fs) && mount("bpf", fs, "bpf", 0, NULL) == 0;
	struct dmabuf_arg a[7] = { { MEMLENS_SOURCE_DMABUF_PROCFS, NULL, NULL, false, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, NULL, NULL, false, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, NULL, NULL, true, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, NULL, "regular", true, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, pins, NULL, false, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, pins, NULL, true, false },
				   { MEMLENS_SOURCE_DMABUF_BPF, pins, NULL, true, true } };
	/* without a buffer anywhere (this host) the BPF source reads the
	 * buffer list and stops: the _walks rows force the fd and mapping
	 * walks, what every scan costs once a buffer exists */
	struct contender all[8] = {
		{ "baseline", "dmabuf_dump-style: readlink every fd, fdinfo, maps", run_dmabuf_dump, NULL, 5 },
		{ "procfs", "memlens dmabuf, procfs source", run_memlens_dmabuf, &a[0], 5 },
		{ "bpf_oneshot", "memlens dmabuf, BPF (loads what it needs)", run_memlens_dmabuf, &a[1], 5 },
		{ "bpf_oneshot_walks", "same, fd and mapping walks forced (loads three programs)", run_memlens_dmabuf, &a[2], 5 },
		{ "bpf_oneshot_regular", "same, walks forced, regular skeletons (the fallback)", run_memlens_dmabuf, &a[3], 5 },
		{ "pins", "memlens dmabuf, BPF through pins", run_memlens_dmabuf, &a[4], 5 },
		{ "pins_walks", "same, fd and mapping walks forced", run_memlens_dmabuf, &a[5], 5 },
		{ "pins_walks_one_thread", "same, the two walks one after the other (no helper thread)", run_memlens_dmabuf, &a[6], 5 },
	}, c[10];
	struct memlens *ml = memlens__new(NULL);
	int heap = open("/dev/dma_heap/system", O_RDONLY), nc = 0;
	bool have_iter, have_pins;
	struct result res[10];
	char title[200], floor_name[120] = "";

	for (int b = 0; shared && heap >= 0 && b < 32; b++) {
		struct { uint64_t len; uint32_t fd, fd_flags; uint64_t heap_flags; } d = { (b + 1) * 4096, 0, O_RDWR, 0 };

		bufs[b] = ioctl(heap, 0xc0184800, &d) ? -1 : (int)d.fd;	/* DMA_HEAP_IOCTL_ALLOC */
	}
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0 && shared) {
			/* all 32 buffers by fd (inherited), one of them mapped too */
			if (heap >= 0 && bufs[i % 32] >= 0)
				mmap(NULL, 4096, PROT_READ, MAP_SHARED, bufs[i % 32], 0);
			pause();
			_exit(0);
		}
		if (pids[i] == 0) {
			/* 64 fds: files, pipes, sockets; a DMA-BUF among them when there is an exporter */
			for (int k = 0; k < NFD / 2; k++) {
				int pp[2];

				if (pipe(pp))
					break;
			}
			if (heap >= 0 && i % 4 == 0) {
				struct { uint64_t len; uint32_t fd, fd_flags; uint64_t heap_flags; } d = { 4096, 0, O_RDWR, 0 };

				ioctl(heap, 0xc0184800, &d);	/* DMA_HEAP_IOCTL_ALLOC */
			}
			pause();
			_exit(0);
		}
	}
	/* pins in a private bpffs, unmounted at the end */
	snprintf(pins, sizeof(pins), "%s/memlens", fs);
	have_iter = memlens__probe(ml, MEMLENS_IFACE_BPF_ITER_DMABUF) == 0;
	have_pins = have_iter && mounted && memlens__bpf_pin(ml, pins, NULL) == 0;
	for (int i = 0; i < 8; i++) {
		const struct dmabuf_arg *x = all[i].arg;

		/* no iter/dmabuf: procfs against the baseline only; with
		 * buffers (the guest) the walks run anyway */
		if (i >= 2 && (!have_iter || (x->pin_dir && !have_pins) || (shared && x->walks && !x->skeleton && !x->one_thread)))
			continue;
		c[nc++] = all[i];
	}
	/* memlens runs the fd and VMA walks at once where it has two CPUs:
	 * the floor is then the two empty walks at once */
	if (have_iter && !floor_load()) {
		c[nc++] = (struct contender){ "floor_sequential", "the kernel's fd and VMA walks one after the other, empty programs",
					      run_floor_walk, "fds+vmas", 5 };
		c[nc++] = (struct contender){ "floor_parallel", "the same two walks at once on two threads",
					      run_floor_walk, "fds||vmas", 5 };
	}
	usleep(200000);
	if (shared)
		snprintf(title, sizeof(title), "DMA-BUF accounting, all processes: %d processes, %d sharing %d real buffers (fds and a mapping each)",
			 count_procs(), NPROC, NFD);
	else
		snprintf(title, sizeof(title), "DMA-BUF accounting, all processes: %d processes, %d holding %d fds each%s",
			 count_procs(), NPROC, NFD, heap >= 0 ? ", every 4th a DMA-BUF" : " (no DMA-BUF exporter)");
	bench_run(title, c, nc, ROUNDS, res);
	/* the floor is the cheaper of the two (where two vCPUs share one
	 * host thread, as under single-threaded TCG, the parallel one is not) */
	for (int i = 0, fl = -1; i < nc; i++) {
		if (strncmp(res[i].id, "floor_", 6) || res[i].failed)
			continue;
		if (fl >= 0 && res[i].median_us >= res[fl].median_us)
			continue;
		if (fl >= 0)
			res[fl].id = c[fl].id;
		fl = i;
		res[i].id = "floor";
		snprintf(floor_name, sizeof(floor_name), "%s", res[i].name);
	}
	bench_print(stdout, title, res, nc, "dmabuf_dump-style: readlink every fd, fdinfo, maps", floor_name);
	bench_json(out, "dmabuf_all", title, res, nc);
	memlens__bpf_unpin(ml, pins);
	if (mounted)
		umount(fs);
	rmdir(fs);
	memlens__free(ml);
	kill_all(pids, NPROC);
	return 0;
}

/* ---- one-shot CLI: each command as a whole process, beside its peer ---- */
struct spawn_arg {
	const char *argv[12];
	const char *env;	/* NAME=value added to the environment, or NULL */
};

/* fork+exec, stdout and stderr to /dev/null, wait: the whole process */
static int run_spawn(void *p)
{
	struct spawn_arg *a = p;
	posix_spawn_file_actions_t fa;
	char *envp[256];
	int n = 0, st;
	pid_t pid;

	if (a->env)
		envp[n++] = (char *)a->env;
	for (char **e = environ; *e && n < 255; e++)
		envp[n++] = *e;
	envp[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, a->argv[0], &fa, NULL, (char **)a->argv, envp)) {
		posix_spawn_file_actions_destroy(&fa);
		return -errno;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* one scrape of a running exporter: an HTTP/1.0 GET /metrics, read to the end */
static int run_scrape(void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*(int *)p),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text\r\n\r\n";
	char buf[65536];
	size_t total = 0;
	ssize_t r;
	bool ok = false;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write(fd, req, sizeof(req) - 1) < 0) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (!total)
			ok = r >= 12 && !memcmp(buf, "HTTP/1.", 7) && !memcmp(buf + 8, " 200", 4);
		total += (size_t)r;
	}
	close(fd);
	return ok && total > 100 ? 0 : -EIO;
}

/* memlens exporter on a loopback port the kernel picks: its pid, *port set */
static pid_t exporter_start(const char *cli, int *port)
{
	int pfd[2];
	pid_t pid;
	char line[256];
	FILE *f;

	*port = 0;
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execl(cli, cli, "exporter", "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlens: exporter: serving http://127.0.0.1:%d/", port) == 1)
			break;
	if (f)
		fclose(f);
	return pid;
}

/* a kB field of /proc/PID/status ("VmHWM", "VmRSS"), or -1 */
static long vm_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static long vm_hwm_kb(pid_t pid) { return vm_status_kb(pid, "VmHWM"); }
static long vm_rss_kb(pid_t pid) { return vm_status_kb(pid, "VmRSS"); }

/* the peers, run as `bench peer NAME` so that they too are whole processes */
static int peer_maps_all(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], buf[65536];

	while (d && (de = readdir(d))) {
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		fd = open(path, O_RDONLY);
		/* and printed, as cat would */
		for (ssize_t got; fd >= 0 && (got = read(fd, buf, sizeof(buf))) > 0;)
			if (write(1, buf, (size_t)got) != got)
				break;
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	return 0;
}

/* procrank's loop: smaps_rollup of every process, then meminfo */
static int peer_rollup(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], line[256];
	unsigned long long pss = 0, v;

	while (d && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/smaps_rollup", de->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Pss: %llu", &v) == 1)
				pss += v;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	{
		FILE *f = fopen("/proc/meminfo", "r");

		while (f && fgets(line, sizeof(line), f))
			;
		if (f)
			fclose(f);
	}
	printf("%llu\n", pss);
	return 0;
}

static int peer(const char *name)
{
	if (!strcmp(name, "maps_all"))
		return peer_maps_all();
	if (!strcmp(name, "dmabuf"))
		return run_dmabuf_dump(NULL);
	if (!strcmp(name, "rollup"))
		return peer_rollup();
	fprintf(stderr, "bench peer: maps_all | dmabuf | rollup\n");
	return 2;
}

static int bench_cli(FILE *out)
{
	enum { NFILES = 154 };
	static uint64_t ex[NFILES][2];
	int extra = 300 - count_procs() - 1, hold, n = 0;
	pid_t *pids = spawn_idle(extra > 0 ? extra : 0), target = target_start(NFILES, ex, &hold);
	char cli[600], self[600], pid_s[16], addr_s[32], title[200];
	static char fs[] = "/tmp/memlens-bpffs-XXXXXX", pins[64];
	static struct spawn_arg a[24];
	struct contender c[24];
	struct result res[24];
	struct memlens *ml = memlens__new(NULL);
	bool mounted, pinned;
	static int port;
	pid_t exporter;

	if (target < 0)
		return -1;
	/* the DMA-BUF iterators pinned once (memlens bpf pin), as a low-memory
	 * handler would run: in a private bpffs, unmounted at the end */
	mounted = mkdtemp(fs) && mount("bpf", fs, "bpf", 0, NULL) == 0;
	snprintf(pins, sizeof(pins), "%s/memlens", fs);
	pinned = mounted && !memlens__bpf_pin(ml, pins, NULL);
	snprintf(cli, sizeof(cli), "%s/memlens", BUILD);
	snprintf(self, sizeof(self), "%s/bench/bench", BUILD);
	snprintf(pid_s, sizeof(pid_s), "%d", target);
	snprintf(addr_s, sizeof(addr_s), "%llx", (unsigned long long)ex[0][0] + 16);
#define CLI(i, nm, ...) do { a[n] = (struct spawn_arg){ { __VA_ARGS__, NULL }, NULL }; \
		c[n] = (struct contender){ i, nm, run_spawn, &a[n], 5 }; n++; } while (0)
	CLI("cli_maps", "memlens maps PID (~655 VMAs)", cli, "maps", pid_s);
	CLI("peer_maps", "pmap PID (procps)", "/usr/bin/pmap", pid_s);
	CLI("cli_query", "memlens query PID ADDR", cli, "query", pid_s, addr_s);
	CLI("peer_query", "cat /proc/PID/maps", "/bin/cat", "/proc/self/maps");
	CLI("cli_maps_all", "memlens maps --all", cli, "maps", "--all");
	CLI("cli_maps_all_text", "memlens maps --all -s text", cli, "maps", "--all", "-s", "text");
	CLI("cli_maps_all_bpf", "memlens maps --all -s bpf", cli, "maps", "--all", "-s", "bpf");
	CLI("peer_maps_all", "every /proc/PID/maps read (cat)", self, "peer", "maps_all");
	CLI("cli_who_maps", "memlens who-maps --shared", cli, "who-maps", "--shared");
	CLI("cli_who_maps_text", "memlens who-maps --shared -s text", cli, "who-maps", "--shared", "-s", "text");
	CLI("cli_dmabuf", "memlens dmabuf", cli, "dmabuf");
	CLI("cli_dmabuf_procfs", "memlens dmabuf -s procfs", cli, "dmabuf", "-s", "procfs");
	CLI("cli_dmabuf_bpf", "memlens dmabuf -s bpf", cli, "dmabuf", "-s", "bpf");
	CLI("peer_dmabuf", "dmabuf_dump-style scan", self, "peer", "dmabuf");
	CLI("cli_snapshot", "memlens snapshot", cli, "snapshot");
	CLI("peer_snapshot", "procrank-style smaps_rollup loop", self, "peer", "rollup");
	if (pinned) {
		CLI("cli_dmabuf_pins", "memlens dmabuf --pin-dir (pinned)", cli, "dmabuf", "--pin-dir", pins);
		CLI("cli_snapshot_pins", "memlens snapshot --pin-dir (pinned)", cli, "snapshot", "--pin-dir", pins);
		CLI("cli_snapshot_no_dmabuf", "memlens snapshot --no-dmabuf", cli, "snapshot", "--no-dmabuf");
	}
	CLI("cli_features", "memlens features", cli, "features");
	/* a scrape of a warm exporter, beside the one-shot a cron job would run */
	CLI("cli_snapshot_om", "memlens snapshot --openmetrics", cli, "snapshot", "--openmetrics");
	exporter = exporter_start(cli, &port);
	if (exporter > 0 && port > 0)
		c[n++] = (struct contender){ "exporter_scrape", "memlens exporter: one scrape (warm, HTTP)", run_scrape, &port, 5 };
#undef CLI
	/* peer_query reads the target's maps, not the cat's own */
	{
		static char maps[64];

		snprintf(maps, sizeof(maps), "/proc/%d/maps", target);
		a[3].argv[1] = maps;
	}
	usleep(200000);
	snprintf(title, sizeof(title), "one-shot CLI, whole processes: %d processes", count_procs());
	bench_run(title, c, n, ROUNDS, res);
	bench_print(stdout, title, res, n, NULL, NULL);
	bench_json(out, "cli_oneshot", title, res, n);
	{
		/* each command against its peer and its forced sources: x = how many times faster */
		static const char *const pairs[][2] = {
			{ "cli_maps", "peer_maps" }, { "cli_query", "peer_query" },
			{ "cli_maps_all", "peer_maps_all" }, { "cli_maps_all", "cli_maps_all_text" },
			{ "cli_maps_all", "cli_maps_all_bpf" }, { "cli_who_maps", "peer_maps_all" },
			{ "cli_who_maps", "cli_who_maps_text" }, { "cli_dmabuf", "peer_dmabuf" },
			{ "cli_dmabuf", "cli_dmabuf_procfs" }, { "cli_dmabuf", "cli_dmabuf_bpf" },
			{ "cli_snapshot", "peer_snapshot" }, { "cli_dmabuf_pins", "peer_dmabuf" },
			{ "cli_snapshot_pins", "peer_snapshot" }, { "cli_snapshot_no_dmabuf", "peer_snapshot" },
			{ "exporter_scrape", "cli_snapshot_om" }, { "exporter_scrape", "peer_snapshot" },
		};

		printf("%-22s %-22s %10s\n", "command", "against", "x faster");
		for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
			const struct result *x = NULL, *y = NULL;

			for (int i = 0; i < n; i++) {
				if (!strcmp(res[i].id, pairs[k][0]))
					x = &res[i];
				if (!strcmp(res[i].id, pairs[k][1]))
					y = &res[i];
			}
			if (x && y && !x->failed && !y->failed)
				printf("%-22s %-22s %10.2f\n", pairs[k][0], pairs[k][1], y->median_us / x->median_us);
		}
	}
	if (exporter > 0) {
		printf("exporter: peak RSS %ld kB after every scrape of the bench\n", vm_hwm_kb(exporter));
		kill(exporter, SIGTERM);
		waitpid(exporter, NULL, 0);
	}
	target_stop(target, hold);
	kill_all(pids, extra > 0 ? extra : 0);
	if (pinned)
		memlens__bpf_unpin(ml, pins);
	if (mounted)
		umount(fs);
	rmdir(fs);
	memlens__free(ml);
	return 0;
}

/* ---- cold load of each BPF program ---- */
struct load_arg {
	enum ml_prog prog;
	const char *skeleton;
};

static int run_load(void *p)
{
	struct load_arg *a = p;
	static struct memlens *ml;
	struct ml_prog_loaded l;
	int err;

	setenv("MEMLENS_BPF_SKELETON", a->skeleton, 1);
	if (!ml)
		ml = memlens__new(NULL);
	err = ml_prog_load(ml, a->prog, &l);
	if (!err)
		ml_prog_unload(&l);
	return err;
}

/* prometheus-process-exporter (Debian's), grouping by {{.Comm}} as its
 * users do, on a loopback port found free: its pid, or -1 (not installed) */
static pid_t peer_exporter_start(int *port, char *cfg, size_t cfglen)
{
	static const char pe[] = "/usr/bin/prometheus-process-exporter";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char listen[64];
	int fd, cfd;
	pid_t pid;

	*port = 0;
	if (access(pe, X_OK))
		return -1;
	snprintf(cfg, cfglen, "/tmp/memlens-bench-pe-XXXXXX");
	cfd = mkstemp(cfg);
	if (cfd < 0 || dprintf(cfd, "process_names:\n  - name: \"{{.Comm}}\"\n    cmdline: ['.+']\n") < 0)
		return -1;
	close(cfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	close(fd);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(pe, pe, "-config.path", cfg, "-web.listen-address", listen, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && run_scrape(port); i++)	/* up once it answers */
		usleep(100000);
	return pid;
}


/*
 * The exporter at fleet scale (issue 25): 2,000 and 10,000 processes (idle
 * sleeps forked here), one scrape of memlens exporter against one of
 * prometheus-process-exporter, both warm, side by side in one run.  The
 * results' maxrss_kb is the exporter's own peak (VmHWM), not the scraper's.
 * Then 10,000 scrapes of memlens at the machine's own process count: its
 * RSS after the first 100 and after all of them.
 */
static int bench_fleet(FILE *out)
{
	static const int sizes[] = { 2000, 10000 };
	char cli[600], cfg[64], title[200];
	static int mport, pport;

	snprintf(cli, sizeof(cli), "%s/memlens", BUILD);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int extra = sizes[k] - count_procs();
		pid_t *pids = spawn_idle(extra > 0 ? extra : 0);
		pid_t me = exporter_start(cli, &mport), pe = peer_exporter_start(&pport, cfg, sizeof(cfg));
		struct contender c[2];
		struct result res[2];
		int n = 0;

		usleep(500000);
		if (me > 0 && mport > 0)
			c[n++] = (struct contender){ "memlens_scrape", "memlens exporter: one scrape", run_scrape, &mport, 3 };
		if (pe > 0 && pport > 0)
			c[n++] = (struct contender){ "peer_scrape", "prometheus-process-exporter (by comm): one scrape",
						     run_scrape, &pport, 3 };
		snprintf(title, sizeof(title), "exporter scrape, %d processes (maxrss: the exporter's own peak)",
			 count_procs());
		bench_run(title, c, n, ROUNDS > 5 ? 5 : ROUNDS, res);
		for (int i = 0; i < n; i++) {
			pid_t x = !strcmp(res[i].id, "memlens_scrape") ? me : pe;

			res[i].maxrss_kb = vm_hwm_kb(x);
			printf("  %s: RSS %ld kB after its scrapes, peak %ld kB\n", res[i].id, vm_rss_kb(x), res[i].maxrss_kb);
		}
		bench_print(stdout, title, res, n, n == 2 ? "peer_scrape" : NULL, NULL);
		bench_json(out, sizes[k] == 2000 ? "fleet_2000" : "fleet_10000", title, res, n);
		if (n == 2 && !res[0].failed && !res[1].failed)
			printf("  memlens: %.1fx faster, %.2fx the RSS (%ld kB against %ld kB)\n\n",
			       res[1].median_us / res[0].median_us, (double)res[0].maxrss_kb / (double)res[1].maxrss_kb,
			       res[0].maxrss_kb, res[1].maxrss_kb);
		if (me > 0) {
			kill(me, SIGTERM);
			waitpid(me, NULL, 0);
		}
		if (pe > 0) {
			kill(pe, SIGTERM);
			waitpid(pe, NULL, 0);
			unlink(cfg);
		}
		kill_all(pids, extra > 0 ? extra : 0);
	}
	{
		/* the exporter's RSS over 10,000 scrapes */
		pid_t me = exporter_start(cli, &mport);
		long after100 = -1, after = -1;
		struct result r[1] = { { "memlens_rss_flat", "memlens exporter: RSS after 100 and after 10,000 scrapes", 0, 0, 0,
					 0, 0 } };
		double t0 = now_us();
		int fails = 0;

		for (int i = 0; me > 0 && i < 10000; i++) {
			fails += run_scrape(&mport) != 0;
			if (i == 99)
				after100 = vm_rss_kb(me);
		}
		after = vm_rss_kb(me);
		r[0].median_us = (now_us() - t0) / 10000;
		r[0].min_us = (double)after100;
		r[0].max_us = (double)after;
		r[0].maxrss_kb = vm_hwm_kb(me);
		r[0].failed = fails || me <= 0;
		printf("exporter RSS over 10,000 scrapes (%d processes, %d failed): %ld kB after 100, %ld kB after 10,000, "
		       "peak %ld kB; %.1f ms a scrape\n\n", count_procs(), fails, after100, after, r[0].maxrss_kb,
		       r[0].median_us / 1000);
		bench_json(out, "fleet_rss_flat", "exporter RSS over 10,000 scrapes (min_us: kB after 100, max_us: kB after "
			   "10,000; median_us: one scrape)", r, 1);
		if (me > 0) {
			kill(me, SIGTERM);
			waitpid(me, NULL, 0);
		}
	}
	return 0;
}

static int bench_load(FILE *out)
{
	static const char *const kinds[2] = { "light", "regular" };
	static struct load_arg a[ML_PROG_MAX * 2];
	static char ids[ML_PROG_MAX * 2][48], names[ML_PROG_MAX * 2][80];
	struct spawn_arg feat = { { NULL, "features", NULL }, NULL };
	struct contender c[ML_PROG_MAX * 2 + 1];
	struct result res[ML_PROG_MAX * 2 + 1];
	char cli[600];
	int n = 0;

	for (int pr = 0; pr < ML_PROG_MAX; pr++) {
		for (int k = 0; k < 2; k++, n++) {
			a[n] = (struct load_arg){ (enum ml_prog)pr, kinds[k] };
			snprintf(ids[n], sizeof(ids[n]), "%s_%s", ml_prog_name((enum ml_prog)pr), kinds[k]);
			snprintf(names[n], sizeof(names[n]), "load + unload %s, %s skeleton", ml_prog_name((enum ml_prog)pr), kinds[k]);
			c[n] = (struct contender){ ids[n], names[n], run_load, &a[n], 5 };
		}
	}
	snprintf(cli, sizeof(cli), "%s/memlens", BUILD);
	feat.argv[0] = cli;
	c[n++] = (struct contender){ "cli_features", "memlens features (whole process)", run_spawn, &feat, 5 };
	bench_run("cold load of each BPF program", c, n, ROUNDS, res);
	bench_print(stdout, "cold load of each BPF program", res, n, NULL, NULL);
	bench_json(out, "bpf_load", "cold load of each BPF program", res, n);
	return 0;
}

/* ---- the cheap tier: every process's mm counters ---- */

/* the baseline: statm of every process in /proc, read as a tool would */
static int run_statm_all(void *p)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], buf[256];
	int n = 0;

	(void)p;
	while (d && (de = readdir(d))) {
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/statm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n += read(fd, buf, sizeof(buf)) > 0;
		close(fd);
	}
	if (d)
		closedir(d);
	return d && n ? 0 : -EIO;
}

/* memlens__snapshot(.counters_only) from one source, the context (and so
 * the BPF program) kept across iterations as the exporter keeps it; variant:
 * the BPF pass's (MEMLENS_BPF_MM_VARIANT at the context's probe) */
struct counters_arg {
	enum memlens_source src;
	const char *variant;
	struct memlens *ml;
};

static int run_counters(void *p)
{
	struct counters_arg *a = p;
	MEMLENS_OPTS(memlens_snapshot_opts, o, .counters_only = true, .counters_source = a->src);
	struct memlens_snapshot *s = NULL;
	int err;

	if (!a->ml) {
		if (a->variant)
			setenv("MEMLENS_BPF_MM_VARIANT", a->variant, 1);
		a->ml = memlens__new(NULL);
		/* the probe (and the program's load) now, not in a round */
		memlens__source_usable(a->ml, a->src);
		unsetenv("MEMLENS_BPF_MM_VARIANT");
	}
	err = memlens__snapshot(a->ml, &o, &s);
	if (!err && memlens_snapshot__count(s) < 100)
		err = -EIO;
	memlens_snapshot__free(s);
	return err;
}

static int bench_counters(FILE *out)
{
	static struct counters_arg procfs = { MEMLENS_SOURCE_COUNTERS_PROCFS, NULL, NULL },
				   procs = { MEMLENS_SOURCE_COUNTERS_BPF, "procs", NULL },
				   iter = { MEMLENS_SOURCE_COUNTERS_BPF, "iter", NULL };
	int extra = 10000 - count_procs();
	pid_t *pids = spawn_idle(extra > 0 ? extra : 0);
	struct contender c[] = {
		{ "statm", "statm of every process (open, read, close each)", run_statm_all, NULL, 5 },
		{ "snapshot_procfs", "snapshot -o PID,COMM,RSS,SWAP,VSS from status (procfs)", run_counters, &procfs, 5 },
		{ "snapshot_bpf", "snapshot -o PID,COMM,RSS,SWAP,VSS from the BPF pass (open-coded walk, 6.7+)",
		  run_counters, &procs, 5 },
		{ "snapshot_bpf_iter", "snapshot -o PID,COMM,RSS,SWAP,VSS from the BPF pass (the kernel's task walk)",
		  run_counters, &iter, 5 },
	};
	struct result res[4];
	char title[160];

	usleep(300000);
	snprintf(title, sizeof(title), "every process's mm counters, %d processes", count_procs());
	bench_run(title, c, 4, ROUNDS, res);
	bench_print(stdout, title, res, 4, "statm", NULL);
	bench_json(out, "counters_10000", title, res, 4);
	if (!res[0].failed && !res[2].failed)
		printf("  the BPF pass: %.1fx faster than statm for each, %.1fx faster than status\n",
		       res[0].median_us / res[2].median_us, res[1].median_us / res[2].median_us);
	if (!res[0].failed && !res[3].failed)
		printf("  the BPF pass by the kernel's task walk (before 6.7): %.1fx faster than statm for each\n\n",
		       res[0].median_us / res[3].median_us);
	kill_all(pids, extra > 0 ? extra : 0);
	return 0;
}

/* what the numbers were measured on */
static void machine_json(FILE *f)
{
	struct utsname u;
	char line[512], model[256] = "";
	long mem_kb = 0;
	FILE *c = fopen("/proc/cpuinfo", "r");
	time_t t = time(NULL);
	char date[32];

	while (c && fgets(line, sizeof(line), c))
		if (!model[0] && sscanf(line, "model name : %255[^\n]", model) == 1)
			break;
	if (c)
		fclose(c);
	c = fopen("/proc/meminfo", "r");
	while (c && fgets(line, sizeof(line), c) && sscanf(line, "MemTotal: %ld", &mem_kb) != 1)
		;
	if (c)
		fclose(c);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(f, "{\n  \"machine\": {\"kernel\": ");
	bench_json_str(f, u.release);
	fprintf(f, ", \"arch\": ");
	bench_json_str(f, u.machine);
	fprintf(f, ", \"cpu\": ");
	bench_json_str(f, model);
	fprintf(f, ", \"cpus\": %ld, \"mem_kb\": %ld, \"rounds\": %d, \"date\": \"%s\"},\n  \"benches\": [",
		sysconf(_SC_NPROCESSORS_ONLN), mem_kb, ROUNDS, date);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	char path[300];
	FILE *out;

	if (!strcmp(what, "peer"))
		return argc > 2 ? peer(argv[2]) : 2;
	if (getenv("MEMLENS_BUILD"))
		BUILD = getenv("MEMLENS_BUILD");
	if (getenv("BENCH_ROUNDS"))
		ROUNDS = atoi(getenv("BENCH_ROUNDS"));
	mkdir("bench", 0755);
	mkdir("bench/results", 0755);
	snprintf(path, sizeof(path), "bench/results/%s.json", what);
	out = fopen(path, "w");
	if (!out)
		out = stderr;
	printf("memlens benchmarks: kernel and machine: ");
	fflush(stdout);
	if (system("uname -r | tr '\\n' ' '; nproc | tr '\\n' ' '; echo cores"))
		return 1;
	machine_json(out);
	if (!strcmp(what, "all") || !strcmp(what, "normalize"))
		bench_normalize(out);
	if (!strcmp(what, "all") || !strcmp(what, "symbolize"))
		bench_symbolize(out);
	if (!strcmp(what, "all") || !strcmp(what, "walk"))
		bench_walk(out);
	if (!strcmp(what, "all") || !strcmp(what, "dmabuf"))
		bench_dmabuf(out);
	if (!strcmp(what, "all") || !strcmp(what, "cli"))
		bench_cli(out);
	if (!strcmp(what, "all") || !strcmp(what, "load"))
		bench_load(out);
	if (!strcmp(what, "all") || !strcmp(what, "fleet"))
		bench_fleet(out);
	if (!strcmp(what, "all") || !strcmp(what, "counters"))
		bench_counters(out);
	fprintf(out, "\n  ]\n}\n");
	if (out != stderr)
		fclose(out);
	floor_unload();
	return 0;
}

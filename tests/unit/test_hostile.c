// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Files a hostile target controls, read by root's memlens for build IDs:
 *  - a mapped ELF the target truncates and restores while it is read: no
 *    SIGBUS (this test process would die of it), answers or clean errors;
 *  - a sparse 1 GiB "ELF" whose note segment and note section cover it all:
 *    no build ID, and the reader's peak RSS grows by less than 16 MiB;
 *  - a target in a chroot whose mapped file's path, seen from its root,
 *    is a symlink to a file outside: the build-ID reader through
 *    /proc/<pid>/root does not open it (inotify sees no open), while a plain
 *    mapping still gets the same build ID as through map_files;
 *  - a pid that exits and comes back as another process (ns_last_pid): a
 *    handle opened on the first never answers for the second, whatever the
 *    source: ESRCH;
 *  - 10^6 addresses on query's standard input: every one answered, and the
 *    peak RSS is the same as for 10^3 (within 4 MiB) and under 48 MiB.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "build_id.h"
#include "select.h"
#include "tap.h"

static char dir[] = "/tmp/memlens-hostile-XXXXXX";

static int copy_self(const char *dst, char **data, size_t *len)
{
	int in = open("/proc/self/exe", O_RDONLY), out;
	struct stat st;
	char *buf;

	if (in < 0 || fstat(in, &st))
		return -1;
	buf = malloc((size_t)st.st_size);
	if (!buf || read(in, buf, (size_t)st.st_size) != st.st_size)
		return -1;
	close(in);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf, (size_t)st.st_size) != st.st_size)
		return -1;
	close(out);
	if (data) {
		*data = buf;
		*len = (size_t)st.st_size;
	} else {
		free(buf);
	}
	return 0;
}

static long vm_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* a child that maps path and then, if trunc, truncates and restores it forever */
static pid_t mapper(const char *path, const char *data, size_t len, bool trunc, const char *chroot_to)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive a test that died */
		fd = open(path, O_RDWR);
		void *p = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || (chroot_to && (chroot(chroot_to) || chdir("/"))))
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			if (!trunc) {
				pause();
				continue;
			}
			if (ftruncate(fd, 0) || pwrite(fd, data, len, 0) != (ssize_t)len)
				_exit(1);
		}
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		return -1;
	}
	close(pfd[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* the child's VMA of a file, as maps text shows it to us */
static int find_vma(struct memlens *ml, pid_t pid, const char *suffix, struct memlens_vma *out, char *name, size_t nlen)
{
	MEMLENS_OPTS(memlens_proc_opts, po, .source = MEMLENS_SOURCE_MAPS_TEXT);
	struct memlens_proc *p = memlens__proc_open(ml, pid, &po);
	struct memlens_vma_set *set = NULL;
	int err = -ENOENT;

	if (!p || memlens_proc__maps(p, NULL, &set)) {
		memlens_proc__close(p);
		return -ESRCH;
	}
	for (size_t i = 0; i < memlens_vma_set__count(set); i++) {
		const struct memlens_vma *v = memlens_vma_set__get(set, i);
		size_t n = strlen(v->name), s = strlen(suffix);

		if (n >= s && !strcmp(v->name + n - s, suffix)) {
			*out = *v;
			snprintf(name, nlen, "%s", v->name);
			out->name = name;
			err = 0;
			break;
		}
	}
	memlens_vma_set__free(set);
	memlens_proc__close(p);
	return err;
}

static void check_truncating(void)
{
	char path[128], *data;
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	size_t len;
	int answered = 0, errors = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/trunc.so", dir);
	if (!ok(copy_self(path, &data, &len) == 0, "an ELF the target owns"))
		return;
	pid = mapper(path, data, len, true, NULL);
	if (!ok(pid > 0, "the target maps it and truncates and restores it in a loop"))
		return;
	for (int i = 0; i < 3000; i++) {
		uint32_t size = 0;
		int fd = open(path, O_RDONLY | O_NONBLOCK);
		int err = fd < 0 ? -errno : ml_elf_build_id_fd(fd, id, &size);

		if (fd >= 0)
			close(fd);
		if (err == 0 && size)
			answered++;
		else
			errors++;
	}
	ok(1, "3000 reads of its build ID while it changes size: no SIGBUS (%d answered, %d clean errors)", answered,
	   errors);
	stop(pid);
	free(data);
}

static void check_sparse(void)
{
	const uint64_t gib = 1ULL << 30;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	Elf64_Shdr sh[2];
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	uint32_t size = 0;
	char path[128];
	long before, after;
	int fd, err;

	snprintf(path, sizeof(path), "%s/sparse.so", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	eh.e_shoff = 2048;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 2;
	eh.e_ehsize = sizeof(eh);
	ph.p_type = PT_NOTE;
	ph.p_offset = 4096;
	ph.p_filesz = gib - 4096;
	ph.p_align = 4;
	memset(sh, 0, sizeof(sh));
	sh[1].sh_type = SHT_NOTE;
	sh[1].sh_offset = 4096;
	sh[1].sh_size = gib - 4096;
	sh[1].sh_addralign = 4;
	if (!ok(fd >= 0 && ftruncate(fd, (off_t)gib) == 0 && pwrite(fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
		pwrite(fd, &ph, sizeof(ph), sizeof(eh)) == sizeof(ph) && pwrite(fd, sh, sizeof(sh), 2048) == sizeof(sh),
		"a sparse 1 GiB ELF whose note segment and note section cover it"))
		return;
	before = vm_hwm_kb();
	err = ml_elf_build_id_fd(fd, id, &size);
	after = vm_hwm_kb();
	ok(err == -ENOENT, "no build ID in a gigabyte of zero notes (%d)", err);
	if (!ok(before > 0 && after - before < 16 * 1024, "reading it grows peak RSS by less than 16 MiB (%ld kB)",
		after - before))
		printf("#   VmHWM %ld kB before, %ld kB after\n", before, after);
	close(fd);
	unlink(path);
}

static void check_chroot_symlink(void)
{
	char lib[128], canary[256], inner[512], link[768], name[4200], name2[4200];
	struct memlens_vma v, v2;
	struct memlens *ml, *ml2;
	char *data, evbuf[4096];
	size_t len;
	pid_t pid, pid2;
	int in;

	if (geteuid() != 0) {
		skip("chroot of a hostile target needs root");
		return;
	}
	snprintf(lib, sizeof(lib), "%s/lib.so", dir);
	snprintf(canary, sizeof(canary), "%s/canary", dir);
	snprintf(inner, sizeof(inner), "%s%s", dir, dir);	/* where the target's root puts our path */
	snprintf(link, sizeof(link), "%s/lib.so", inner);
	in = open(canary, O_WRONLY | O_CREAT, 0600);
	if (in >= 0)
		close(in);
	snprintf(link, sizeof(link), "mkdir -p %s", inner);
	if (!ok(copy_self(lib, &data, &len) == 0 && in >= 0 && system(link) == 0, "a target's file, and a canary outside its root"))
		return;
	snprintf(link, sizeof(link), "%s/lib.so", inner);
	/* seen from inside the target's root, the path maps names is a symlink
	 * out of it, absolute: resolved from the opener's root */
	ok(symlink(canary, link) == 0, "the target plants %s -> %s", link, canary);
	pid = mapper(lib, data, len, false, dir);
	if (!ok(pid > 0, "the target maps it and chroots into %s", dir))
		return;
	ml = memlens__new(NULL);
	ml2 = memlens__new(NULL);
	if (ok(find_vma(ml, pid, "/lib.so", &v, name, sizeof(name)) == 0, "its mapping: %s", name)) {
		int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		ssize_t n;

		ok(ifd >= 0 && inotify_add_watch(ifd, canary, IN_OPEN) >= 0, "watching the canary for opens");
		v.build_id_size = 0;
		ml_build_id_fill(ml, ml_source(MEMLENS_SOURCE_PROC_ROOT), &v);
		n = read(ifd, evbuf, sizeof(evbuf));
		ok(n < 0 && errno == EAGAIN, "the build-ID reader through /proc/<pid>/root did not open the canary");
		is_u64(v.build_id_size, 0, "... and gives no build ID for a path that is now a symlink");
		close(ifd);
	}
	stop(pid);
	/* the same kind of mapping without tricks: the same build ID both ways */
	pid2 = mapper(lib, data, len, false, NULL);
	if (ok(pid2 > 0 && find_vma(ml, pid2, "/lib.so", &v2, name2, sizeof(name2)) == 0, "a plain target mapping it")) {
		struct memlens_vma a = v2, b = v2;
		char ha[80], hb[80];

		ml_build_id_fill(ml, ml_source(MEMLENS_SOURCE_PROC_ROOT), &a);
		ml_build_id_fill(ml2, ml_source(MEMLENS_SOURCE_MAP_FILES), &b);
		ok(a.build_id_size > 0, "its build ID through /proc/<pid>/root (%s)", memlens_vma__build_id_hex(&a, ha, sizeof(ha)));
		is_str(memlens_vma__build_id_hex(&a, ha, sizeof(ha)), memlens_vma__build_id_hex(&b, hb, sizeof(hb)),
		       "... equals the one through map_files");
	}
	if (pid2 > 0)
		stop(pid2);
	memlens__free(ml);
	memlens__free(ml2);
	unlink(link);
	free(data);
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* a handle opened on a process must never answer for the next one with its pid */
static void check_pid_reuse(void)
{
	enum memlens_source srcs[8];
	size_t ns = memlens_job__sources(MEMLENS_JOB_WALK, srcs, 8);
	struct memlens_proc *h[8] = { NULL };
	struct memlens *ml = memlens__new(NULL);
	pid_t a = sleeper(), b = -1;
	char buf[32];
	int fd;

	if (access("/proc/sys/kernel/ns_last_pid", W_OK)) {
		skip("pid reuse: /proc/sys/kernel/ns_last_pid not writable (root, CONFIG_CHECKPOINT_RESTORE)");
		stop(a);
		memlens__free(ml);
		return;
	}
	for (size_t i = 0; i < ns && i < 8; i++) {
		MEMLENS_OPTS(memlens_proc_opts, po, .source = srcs[i]);

		if (memlens__source_usable(ml, srcs[i]) == 0)
			h[i] = memlens__proc_open(ml, a, &po);
	}
	stop(a);
	/* ask the kernel for the same pid again: the next pid after a - 1 */
	for (int tries = 0; tries < 100 && b != a; tries++) {
		if (b > 0)
			stop(b);
		fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
		snprintf(buf, sizeof(buf), "%d", a - 1);
		if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		b = sleeper();
	}
	if (b != a) {
		skip("pid reuse: pid %d did not come back (another process took it)", a);
	} else {
		for (size_t i = 0; i < ns && i < 8; i++) {
			struct memlens_vma_set *set = NULL;
			struct memlens_usage_set *us = NULL;
			struct memlens_pages *pg = NULL;
			const char *sn = memlens_source__name(srcs[i]);
			int err;

			if (!h[i])
				continue;
			err = memlens_proc__maps(h[i], NULL, &set);
			ok(err == -ESRCH, "pid %d reused: %s maps through the old handle is ESRCH (%d, %zu VMAs)", a, sn, err,
			   memlens_vma_set__count(set));
			memlens_vma_set__free(set);
			set = NULL;
			err = memlens_proc__find_vma(h[i], (uint64_t)(uintptr_t)&check_pid_reuse, 0, &set);
			ok(err == -ESRCH, "pid %d reused: %s find_vma is ESRCH (%d)", a, sn, err);
			memlens_vma_set__free(set);
			err = memlens_proc__smaps(h[i], &us);
			ok(err == -ESRCH, "pid %d reused: smaps through the old handle is ESRCH (%d)", a, err);
			memlens_usage_set__free(us);
			err = memlens_proc__pages(h[i], NULL, &pg);
			ok(err == -ESRCH, "pid %d reused: pages through the old handle is ESRCH (%d)", a, err);
			memlens_pages__free(pg);
		}
	}
	if (b > 0)
		stop(b);
	for (size_t i = 0; i < 8; i++)
		memlens_proc__close(h[i]);
	memlens__free(ml);
}

/* memlens query PID -r -n -o MAPPED < in > out; its peak RSS in KiB, -1 if it failed */
static long query_rss(const char *in, const char *out)
{
	char exe[4096], pid[16];
	const char *b = getenv("MEMLENS_BUILD");
	struct rusage ru;
	int status;
	pid_t c;

	snprintf(exe, sizeof(exe), "%s/memlens", b ? b : "build");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	c = fork();
	if (c == 0) {
		int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0)
			_exit(127);
		/* ASan keeps freed memory in a quarantine of up to 256 MiB: without
		 * it the sanitizer build's RSS is bounded like the normal build's */
		setenv("ASAN_OPTIONS", "quarantine_size_mb=0:detect_leaks=1", 1);
		execl(exe, exe, "query", pid, "-r", "-n", "-o", "MAPPED", (char *)NULL);
		_exit(127);
	}
	if (c < 0 || wait4(c, &status, 0, &ru) != c || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return ru.ru_maxrss;
}

/* n addresses, every other one in this process's text, the others below
 * mmap_min_addr (never mapped); the answers must say so, in order */
static void check_query_stream(void)
{
	static const size_t ns[2] = { 1000, 1000000 };
	char in[256], out[256], line[64];
	uintptr_t text = (uintptr_t)&check_query_stream;
	long rss[2];

	snprintf(in, sizeof(in), "%s/addrs", dir);
	snprintf(out, sizeof(out), "%s/answers", dir);
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(in, "w");
		size_t rows = 0, right = 0;

		for (size_t i = 0; f && i < ns[k]; i++)
			fprintf(f, "%lx\n", i % 2 ? (unsigned long)(i % 0x8000) : (unsigned long)text);
		if (!f || fclose(f)) {
			ok(0, "query stream: cannot write %s", in);
			return;
		}
		rss[k] = query_rss(in, out);
		f = fopen(out, "r");
		while (f && fgets(line, sizeof(line), f)) {
			right += !strcmp(line, rows % 2 ? "no\n" : "yes\n");
			rows++;
		}
		if (f)
			fclose(f);
		ok(rss[k] > 0 && rows == ns[k] && right == rows,
		   "query: %zu addresses on standard input, %zu answered, %zu right (exit %s)", ns[k], rows, right,
		   rss[k] > 0 ? "0" : "non-zero");
	}
	ok(rss[0] > 0 && rss[1] > 0 && rss[1] - rss[0] < 4096 && rss[1] < 48 * 1024,
	   "query: peak RSS %ld KiB for 10^6 addresses, %ld KiB for 10^3 (bounds: +4 MiB, 48 MiB)", rss[1], rss[0]);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	check_truncating();
	check_sparse();
	check_chroot_symlink();
	check_pid_reuse();
	check_query_stream();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return tap_done();
}

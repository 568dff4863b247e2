// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pages and memory use against the kernel's own numbers:
 * --pages: a 2 MiB-aligned 8 MiB region, MADV_HUGEPAGE on its first half (its
 * VMA starting 64 KiB below the boundary) and
 * MADV_NOHUGEPAGE on the second, all touched: the THP ranges equal smaps'
 * AnonHugePages and the PMD-sized runs of pagemap + kpageflags read here;
 * a hugetlb page is hugetlb, not THP.  smaps: every field of every VMA equals
 * an sscanf reading of /proc/<pid>/smaps.  snapshot: Rss/Pss/Swap of stopped
 * processes equal their smaps_rollup, a fork storm neither crashes it nor
 * leaves rows for processes that were gone; the OpenMetrics output passes a
 * strict parser.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memlens.h"
#include "tap.h"

#define MB (1UL << 20)

static uint64_t smaps_field_sum(uint64_t lo, uint64_t hi, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long s, e;
	bool in = false;
	uint64_t sum = 0, v;
	size_t kl = strlen(key);

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s >= lo && e <= hi;
		else if (in && !strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%lu", &v) == 1)
			sum += v;
	}
	if (f)
		fclose(f);
	return sum * 1024;
}

/* PMD-sized huge runs in [lo, hi) by reading pagemap and kpageflags ourselves */
static uint64_t pagemap_huge_bytes(uint64_t lo, uint64_t hi, int *err)
{
	int pm = open("/proc/self/pagemap", O_RDONLY), kpf = open("/proc/kpageflags", O_RDONLY);
	uint64_t total = 0, e[512], fl;
	long pg = sysconf(_SC_PAGESIZE);

	*err = pm < 0 || kpf < 0;
	for (uint64_t a = lo; !*err && a < hi; a += 512 * (uint64_t)pg) {
		bool huge = true;

		if (pread(pm, e, sizeof(e), (off_t)(a / (uint64_t)pg * 8)) != sizeof(e)) {
			*err = 1;
			break;
		}
		for (int i = 0; i < 512 && huge; i++)
			huge = (e[i] >> 63) && (e[i] & ((1ULL << 55) - 1)) == (e[0] & ((1ULL << 55) - 1)) + (uint64_t)i;
		if (huge && pread(kpf, &fl, 8, (off_t)((e[0] & ((1ULL << 55) - 1)) * 8)) == 8 && (fl & (1ULL << 22)))
			total += 512 * (uint64_t)pg;
	}
	if (pm >= 0)
		close(pm);
	if (kpf >= 0)
		close(kpf);
	return total;
}

static void check_pages(struct memlens *ml)
{
	char *raw = mmap(NULL, 12 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* the THP half's VMA starts 64 KiB below a 2 MiB boundary: huge pages
	 * are found by address-space alignment, not from the VMA's start */
	uint64_t lo = ((uintptr_t)raw + 64 * 1024 + 2 * MB - 1) & ~(2 * MB - 1), hi = lo + 8 * MB;
	uint64_t want_thp, pm_thp;
	void *ht;
	int err;

	madvise((void *)(lo - 64 * 1024), 4 * MB + 64 * 1024, MADV_HUGEPAGE);
	madvise((void *)(lo + 4 * MB), 4 * MB, MADV_NOHUGEPAGE);
	memset((void *)lo, 1, 8 * MB);
	ht = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (ht != MAP_FAILED)
		memset(ht, 1, 2 * MB);
	want_thp = smaps_field_sum(lo - 64 * 1024, hi, "AnonHugePages");
	pm_thp = pagemap_huge_bytes(lo, hi, &err);
	printf("# THP in the region: smaps AnonHugePages %llu bytes, pagemap+kpageflags %llu%s\n",
	       (unsigned long long)want_thp, (unsigned long long)pm_thp, err ? " (unreadable)" : "");
	for (int src = MEMLENS_SOURCE_PAGEMAP_SCAN; src <= MEMLENS_SOURCE_PAGEMAP; src++) {
		MEMLENS_OPTS(memlens_pages_opts, po, .source = src);
		const char *sn = memlens_source__name(src);
		struct memlens_proc *p = memlens__proc_open(ml, 0, NULL);
		struct memlens_pages *pg = NULL;
		uint64_t thp = 0, thp_2nd = 0, present = 0, hugetlb = 0, hugetlb_thp = 0;

		err = memlens_proc__pages(p, &po, &pg);
		memlens_proc__close(p);
		if (src == MEMLENS_SOURCE_PAGEMAP_SCAN && err == -EOPNOTSUPP) {
			unavailable("pagemap_scan", "%s: kernel has no PAGEMAP_SCAN (6.7+)", sn);
			continue;
		}
		if (!ok(err == 0, "%s: pages of our own process (err %d)", sn, err))
			continue;
		for (size_t i = 0; i < memlens_pages__count(pg); i++) {
			const struct memlens_page_range *r = memlens_pages__get(pg, i);
			uint64_t s = r->start < lo ? lo : r->start, e = r->end > hi ? hi : r->end;

			if (s < e) {
				if (r->flags & MEMLENS_PAGE_PRESENT)
					present += e - s;
				if (r->flags & MEMLENS_PAGE_THP)
					thp += e - s;
				if ((r->flags & MEMLENS_PAGE_THP) && e > lo + 4 * MB)
					thp_2nd += e - (s > lo + 4 * MB ? s : lo + 4 * MB);
			}
			if (ht != MAP_FAILED && r->start < (uintptr_t)ht + 2 * MB && r->end > (uintptr_t)ht) {
				hugetlb += r->flags & MEMLENS_PAGE_HUGETLB ? 2 * MB : 0;
				hugetlb_thp += r->flags & MEMLENS_PAGE_THP;
			}
		}
		is_u64(present, 8 * MB, "%s: the whole touched region is present", sn);
		if (!memlens_pages__knows_huge(pg)) {
			skip("%s: huge pages unknown: %s", sn, memlens_pages__reason(pg));
		} else {
			is_u64(thp, want_thp, "%s: THP ranges add up to smaps AnonHugePages", sn);
			if (!err)
				is_u64(thp, pm_thp, "%s: THP ranges equal pagemap+kpageflags PMD runs", sn);
			is_u64(thp_2nd, 0, "%s: no THP in the MADV_NOHUGEPAGE half", sn);
			if (ht != MAP_FAILED)
				ok(hugetlb == 2 * MB && !hugetlb_thp, "%s: the hugetlb page is hugetlb, not THP", sn);
			else
				skip("%s: no hugetlb page to be had (nr_hugepages)", sn);
		}
		memlens_pages__free(pg);
	}
	if (want_thp == 0)
		printf("# the kernel gave no THP to the MADV_HUGEPAGE half (fragmented memory, or THP off)\n");
	munmap(raw, 12 * MB);
	if (ht != MAP_FAILED)
		munmap(ht, 2 * MB);
}

/* every smaps field of every VMA of a stopped child against sscanf */
static void check_smaps(struct memlens *ml)
{
	pid_t pid = fork();
	struct memlens_usage_set *set = NULL;
	struct memlens_proc *p;
	char path[64], line[512], why[300] = "";
	size_t i = (size_t)-1, checked = 0;
	int bad = 0;
	FILE *f;

	if (pid == 0) {
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(1);
	}
	usleep(100000);
	kill(pid, SIGSTOP);
	p = memlens__proc_open(ml, pid, NULL);
	/* Pss and Shared/Private of pages shared with other processes (libc,
	 * [vdso]) move whenever another process maps or unmaps them, and on a
	 * busy machine that is every moment: those fields are compared in the
	 * VMAs nothing shares (both reads say Shared_Clean + Shared_Dirty = 0),
	 * every other field in every VMA.  The names are this test's own (the
	 * enum's order, from memlens.h), not the library's table. */
	for (int attempt = 0; attempt < 5; attempt++) {
	static const char *const names[__MEMLENS_USAGE_MAX] = {
		"Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
		"Referenced", "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
		"Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked", "KSM",
	};
	static const bool moves[__MEMLENS_USAGE_MAX] = {
		[MEMLENS_USAGE_PSS] = 1, [MEMLENS_USAGE_PSS_DIRTY] = 1, [MEMLENS_USAGE_SHARED_CLEAN] = 1,
		[MEMLENS_USAGE_SHARED_DIRTY] = 1, [MEMLENS_USAGE_PRIVATE_CLEAN] = 1, [MEMLENS_USAGE_PRIVATE_DIRTY] = 1,
		[MEMLENS_USAGE_SWAP_PSS] = 1,
	};
	long long ref[__MEMLENS_USAGE_MAX];
	size_t unshared = 0;

	bad = 0;
	checked = 0;
	i = (size_t)-1;
	memlens_usage_set__free(set);
	set = NULL;
	if (memlens_proc__smaps(p, &set))
		break;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (set && f && fgets(line, sizeof(line), f) && !bad) {
		unsigned long s, e;
		char key[64];
		unsigned long long v;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			i++;
			for (int fi = 0; fi < __MEMLENS_USAGE_MAX; fi++)
				ref[fi] = -1;
			if (i >= memlens_usage_set__count(set) || memlens_usage_set__get(set, i)->vma.start != s) {
				bad = 1;
				snprintf(why, sizeof(why), "VMA %zu at %lx", i, s);
			}
			continue;
		}
		if (sscanf(line, "%63[^:]: %llu kB", key, &v) == 2) {
			for (int fi = 0; fi < __MEMLENS_USAGE_MAX; fi++)
				if (!strcmp(key, names[fi]))
					ref[fi] = (long long)v;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			/* the VMA's last line: its fields are all read */
			const struct memlens_vma_usage *u = memlens_usage_set__get(set, i);
			bool shared = ref[MEMLENS_USAGE_SHARED_CLEAN] + ref[MEMLENS_USAGE_SHARED_DIRTY] > 0 ||
				      u->kb[MEMLENS_USAGE_SHARED_CLEAN] + u->kb[MEMLENS_USAGE_SHARED_DIRTY] > 0;
			char *vf = line + 8;

			unshared += !shared;
			for (int fi = 0; fi < __MEMLENS_USAGE_MAX && !bad; fi++) {
				if (ref[fi] < 0 || (shared && moves[fi]))
					continue;
				checked++;
				if (u->kb[fi] != (uint64_t)ref[fi]) {
					bad = 1;
					snprintf(why, sizeof(why), "VMA %zu %s: smaps %lld, memlens %llu", i, names[fi], ref[fi],
						 (unsigned long long)u->kb[fi]);
				}
			}
			vf += strspn(vf, " ");
			vf[strcspn(vf, "\n")] = 0;
			while (*vf && vf[strlen(vf) - 1] == ' ')
				vf[strlen(vf) - 1] = 0;
			if (strcmp(vf, u->vm_flags)) {
				bad = 1;
				snprintf(why, sizeof(why), "VMA %zu VmFlags '%s' vs '%s'", i, vf, u->vm_flags);
			}
		}
	}
	if (f)
		fclose(f);
	if (!bad && unshared < 3) {
		bad = 1;
		snprintf(why, sizeof(why), "only %zu VMAs nothing shares", unshared);
	}
	if (!bad)
		break;
	}
	ok(p && set != NULL, "smaps of a stopped child");
	if (!ok(!bad && checked > 100 && i + 1 == memlens_usage_set__count(set),
		"smaps: %zu fields of %zu VMAs equal /proc/%d/smaps", checked, i + 1, pid))
		printf("#   %s\n", why);
	memlens_usage_set__free(set);
	memlens_proc__close(p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Rss, Pss, Swap and SwapPss of /proc/<pid>/smaps_rollup, read here (not
 * through memlens' parser), in bytes; 0 or -1 */
static int rollup_here(pid_t pid, unsigned long long v[4])
{
	static const char *const keys[4] = { "Rss:", "Pss:", "Swap:", "SwapPss:" };
	char path[64], line[256];
	int got = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (int k = 0; k < 4; k++) {
			unsigned long long kb;
			size_t l = strlen(keys[k]);

			if (!strncmp(line, keys[k], l) && sscanf(line + l, "%llu", &kb) == 1) {
				v[k] = kb * 1024;
				got |= 1 << k;
			}
		}
	}
	fclose(f);
	return got == 15 ? 0 : -1;
}

static void compare_rows(struct memlens *ml, const pid_t *kids, int n)
{
	MEMLENS_OPTS(memlens_snapshot_opts, o, .dmabuf = true);
	struct memlens_snapshot *s = NULL;
	unsigned long long (*before)[4] = calloc((size_t)n, sizeof(*before)), (*after)[4] = calloc((size_t)n, sizeof(*after));
	int bad = 0, found = 0, still = 0;
	char why[300] = "";

	/* Pss moves whenever any process maps or unmaps a page these share
	 * (libc): each figure is read here before and after the snapshot and
	 * memlens' must lie between the two (equal them where they agree).  A
	 * figure that moved away and back between the reads fails one try: a
	 * wrong answer fails all ten */
	for (int attempt = 0; attempt < 10; attempt++) {
	bad = found = still = 0;
	memlens_snapshot__free(s);
	s = NULL;
	for (int k = 0; k < n; k++)
		if (rollup_here(kids[k], before[k]))
			bad = 1;
	if (memlens__snapshot(ml, &o, &s))
		s = NULL;
	for (int k = 0; k < n; k++)
		if (rollup_here(kids[k], after[k]))
			bad = 1;
	if (bad)
		snprintf(why, sizeof(why), "a stopped child's smaps_rollup could not be read here");
	for (size_t i = 0; s && i < memlens_snapshot__count(s); i++) {
		const struct memlens_proc_usage *u = memlens_snapshot__get(s, i);

		for (int k = 0; k < n; k++) {
			unsigned long long got[4];

			if (u->pid != kids[k])
				continue;
			found++;
			got[0] = u->rss, got[1] = u->pss, got[2] = u->swap, got[3] = u->swap_pss;
			still += !memcmp(before[k], after[k], sizeof(before[k]));
			for (int f = 0; f < 4; f++) {
				unsigned long long lo = before[k][f] < after[k][f] ? before[k][f] : after[k][f];
				unsigned long long hi = before[k][f] < after[k][f] ? after[k][f] : before[k][f];

				if (got[f] < lo || got[f] > hi) {
					bad = 1;
					snprintf(why, sizeof(why), "pid %d: field %d is %llu, smaps_rollup said %llu then %llu",
						 u->pid, f, got[f], before[k][f], after[k][f]);
				}
			}
			/* Vss and the name, against statm and comm read here */
			{
				char path[64], comm[64] = "";
				unsigned long long pages = 0;
				FILE *f;

				snprintf(path, sizeof(path), "/proc/%d/statm", u->pid);
				f = fopen(path, "r");
				if (!f || fscanf(f, "%llu", &pages) != 1)
					pages = ~0ULL;
				if (f)
					fclose(f);
				snprintf(path, sizeof(path), "/proc/%d/comm", u->pid);
				f = fopen(path, "r");
				if (!f || !fgets(comm, sizeof(comm), f))
					comm[0] = 0;
				if (f)
					fclose(f);
				comm[strcspn(comm, "\n")] = 0;
				if (u->vss != pages * (unsigned long long)sysconf(_SC_PAGESIZE) || strcmp(u->comm, comm)) {
					bad = 1;
					snprintf(why, sizeof(why), "pid %d: vss %llu/%llu comm '%s'/'%s'", u->pid,
						 (unsigned long long)u->vss, pages * (unsigned long long)sysconf(_SC_PAGESIZE),
						 u->comm, comm);
				}
			}
		}
	}
	printf("# %d of %d stopped processes held still through the snapshot\n", still, n);
	if (!bad && found == n)
		break;
	}
	free(before);
	free(after);
	if (!ok(s != NULL, "snapshot of a quiet system"))
		return;
	{
		/* rows read by two threads come back merged: sorted by
		 * pid, each process once */
		int order = 1;

		for (size_t i = 1; i < memlens_snapshot__count(s); i++)
			order &= memlens_snapshot__get(s, i - 1)->pid < memlens_snapshot__get(s, i)->pid;
		ok(order, "snapshot: %zu rows in pid order, none twice", memlens_snapshot__count(s));
	}
	if (!ok(found == n && !bad, "snapshot: Rss, Pss, Swap and SwapPss of %d stopped processes within their smaps_rollup read before and after (equal where those agree), Vss statm, COMM comm", found))
		printf("#   %s\n", why);
	ok(memlens_snapshot__mem_total(s) > 0 && memlens_snapshot__mem_available(s) > 0, "snapshot: MemTotal and MemAvailable");
	memlens_snapshot__free(s);
}

static void check_snapshot(struct memlens *ml)
{
	/* enough processes that a second thread reads half of them */
	enum { N = 40 };
	pid_t kids[N], storm, dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	/* programs of their own (no pages shared copy-on-write with us), stopped */
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			execl("/bin/sleep", "sleep", "1000", (char *)NULL);
			_exit(1);
		}
	}
	usleep(200000);
	for (int i = 0; i < N; i++)
		kill(kids[i], SIGSTOP);
	usleep(50000);
	compare_rows(ml, kids, N);
	{
		/* on one CPU the processes are read on this thread alone */
		cpu_set_t all, one;

		if (sched_getaffinity(0, sizeof(all), &all) == 0 && CPU_COUNT(&all) > 1) {
			CPU_ZERO(&one);
			CPU_SET(sched_getcpu(), &one);
			if (ok(sched_setaffinity(0, sizeof(one), &one) == 0, "snapshot again, bound to one CPU"))
				compare_rows(ml, kids, N);
			sched_setaffinity(0, sizeof(all), &all);
		} else {
			skip("one CPU only: a snapshot reads every process on one thread here");
		}
	}
	storm = fork();
	if (storm == 0) {
		for (;;) {
			pid_t c = fork();

			if (c == 0)
				_exit(0);
			if (c > 0)
				waitpid(c, NULL, 0);
		}
	}
	for (int round = 0; round < 3; round++) {
		MEMLENS_OPTS(memlens_snapshot_opts, o, .dmabuf = true);
		struct memlens_snapshot *s = NULL;
		int err = memlens__snapshot(ml, &o, &s), deadrow = 0, zero = 0;

		if (!ok(err == 0, "snapshot %d during a fork storm (%zu rows, %zu exited mid-snapshot)", round,
			memlens_snapshot__count(s), memlens_snapshot__exited(s)))
			continue;
		for (size_t i = 0; i < memlens_snapshot__count(s); i++) {
			deadrow |= memlens_snapshot__get(s, i)->pid == dead;
			zero += !memlens_snapshot__get(s, i)->rss;
		}
		ok(!deadrow && !zero, "snapshot %d: no row for an exited process, none without memory", round);
		memlens_snapshot__free(s);
	}
	kill(storm, SIGKILL);
	waitpid(storm, NULL, 0);
	for (int i = 0; i < N; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
}

/* OpenMetrics text format, strictly: families of TYPE/UNIT/HELP then samples
 * of that family only, label values quoted and escaped, "# EOF" last */
static int om_check(const char *text, char *why, size_t len)
{
	char fam[128] = "", line[1024];
	const char *p = text;
	bool eof = false;
	int samples = 0, ln = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");

		if (p[n] != '\n' || n >= sizeof(line))
			return snprintf(why, len, "line %d not terminated or too long", ln + 1), 0;
		memcpy(line, p, n);
		line[n] = 0;
		p += n + 1;
		ln++;
		if (eof)
			return snprintf(why, len, "line %d after # EOF", ln), 0;
		if (!strcmp(line, "# EOF")) {
			eof = true;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128], type[32];

			if (sscanf(line + 7, "%127s %31s", name, type) != 2 || strcmp(type, "gauge"))
				return snprintf(why, len, "line %d: bad TYPE", ln), 0;
			snprintf(fam, sizeof(fam), "%s", name);
			continue;
		}
		if (!strncmp(line, "# UNIT ", 7) || !strncmp(line, "# HELP ", 7)) {
			if (strncmp(line + 7, fam, strlen(fam)) || line[7 + strlen(fam)] != ' ')
				return snprintf(why, len, "line %d: metadata for another family", ln), 0;
			continue;
		}
		/* sample: name{label="value",...} number */
		{
			const char *q = line;
			char *end;

			if (strncmp(q, fam, strlen(fam)) || !fam[0])
				return snprintf(why, len, "line %d: sample outside its family", ln), 0;
			q += strlen(fam);
			if (*q == '{') {
				q++;
				while (*q != '}') {
					if (!isalpha((unsigned char)*q) && *q != '_')
						return snprintf(why, len, "line %d: bad label name", ln), 0;
					while (isalnum((unsigned char)*q) || *q == '_')
						q++;
					if (q[0] != '=' || q[1] != '"')
						return snprintf(why, len, "line %d: bad label", ln), 0;
					q += 2;
					while (*q && *q != '"') {
						if (*q == '\\' && (q[1] == '\\' || q[1] == '"' || q[1] == 'n'))
							q++;
						else if (*q == '\\')
							return snprintf(why, len, "line %d: bad escape", ln), 0;
						q++;
					}
					if (*q != '"')
						return snprintf(why, len, "line %d: unterminated value", ln), 0;
					q++;
					if (*q == ',')
						q++;
					else if (*q != '}')
						return snprintf(why, len, "line %d: expected , or }", ln), 0;
				}
				q++;
			}
			if (*q != ' ')
				return snprintf(why, len, "line %d: no value", ln), 0;
			strtod(q + 1, &end);
			if (end == q + 1 || *end)
				return snprintf(why, len, "line %d: bad value", ln), 0;
			samples++;
		}
	}
	if (!eof)
		return snprintf(why, len, "no # EOF"), 0;
	return samples;
}

static void check_openmetrics(void)
{
	const char *b = getenv("MEMLENS_BUILD");
	char cmd[512], why[200] = "";
	static char out[1 << 20];
	size_t n;
	FILE *p;
	int samples;

	snprintf(cmd, sizeof(cmd), "%s/memlens snapshot --openmetrics", b ? b : "build");
	p = popen(cmd, "r");
	n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = 0;
	ok(p && pclose(p) == 0, "snapshot --openmetrics exits 0");
	samples = om_check(out, why, sizeof(why));
	if (!ok(samples > 10, "OpenMetrics output passes a strict parser (%d samples)", samples))
		printf("#   %s\n", why);
	ok(strstr(out, "memlens_process_memory_bytes{pid=\"") && strstr(out, "memtype=\"pss\"}"),
	   "process-exporter-style names: memlens_process_memory_bytes{pid,comm,memtype}");
	/* the checker itself rejects what it should */
	ok(!om_check("# TYPE a gauge\na{x=\"1} 2\n# EOF\n", why, sizeof(why)) &&
	   !om_check("# TYPE a gauge\na 2\n", why, sizeof(why)) && !om_check("b 1\n# EOF\n", why, sizeof(why)),
	   "the OpenMetrics checker rejects broken input");
}

/* a key of /proc/self/smaps_rollup in kB, read here; -1 if absent */
static long long rollup_key(const char *key)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long long v = -1;
	size_t kl = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoll(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void ksm_write(const char *name, const char *v)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0)
			printf("# cannot write %s: %s\n", path, strerror(errno));
		close(fd);
	}
}

static void ksm_read(const char *name, char *v, size_t len)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, v, len - 1) : -1;
	v[n > 0 ? n : 0] = 0;
	v[strcspn(v, "\n")] = 0;
	if (fd >= 0)
		close(fd);
}

/*
 * KSM: 128 pages of one content made mergeable and ksmd run fast until
 * smaps_rollup says all 512 kB are KSM pages; ksmd stopped (they stay
 * merged), then memlens' KSM field of smaps and smaps_rollup and the
 * snapshot's ksm equal what the kernel printed.  The kernel prints KSM from
 * 6.6; ksmd's settings are put back.
 */
static void check_ksm(struct memlens *ml)
{
	const size_t len = 128 * 4096;
	char run[16], scan[16], sleep_ms[16];
	struct memlens_usage_set *one = NULL, *set = NULL;
	struct memlens_snapshot *s = NULL;
	struct memlens_proc *p;
	long long want = -1;
	uint64_t vma_ksm = UINT64_MAX;
	char *m;

	if (rollup_key("KSM") < 0 || access("/sys/kernel/mm/ksm/run", W_OK)) {
		skip("KSM: %s", rollup_key("KSM") < 0 ? "this kernel prints no KSM in smaps (before 6.6, or CONFIG_KSM off)" :
			 "/sys/kernel/mm/ksm/run is not writable here (not root, or no KSM)");
		return;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ok(m != MAP_FAILED && !madvise(m, len, MADV_MERGEABLE), "KSM: 512 kB made mergeable")) {
		printf("#   %s\n", strerror(errno));
		return;
	}
	memset(m, 0x5a, len);
	ksm_read("run", run, sizeof(run));
	ksm_read("pages_to_scan", scan, sizeof(scan));
	ksm_read("sleep_millisecs", sleep_ms, sizeof(sleep_ms));
	ksm_write("pages_to_scan", "10000");
	ksm_write("sleep_millisecs", "1");
	ksm_write("run", "1");
	/* ksmd merges in its time, slower in an emulated guest */
	for (int i = 0; i < 600 && want < 512; i++) {
		usleep(100 * 1000);
		want = rollup_key("KSM");
	}
	ksm_write("run", "0");	/* merged pages stay merged */
	want = rollup_key("KSM");
	if (ok(want == 512, "KSM: ksmd merged the 128 pages within 60 s (smaps_rollup says %lld kB)", want)) {
		is_u64(memlens__rollup(ml, getpid(), &one) ? UINT64_MAX : memlens_usage_set__get(one, 0)->kb[MEMLENS_USAGE_KSM],
		       (uint64_t)want, "KSM: memlens__rollup's KSM is smaps_rollup's");
		p = memlens__proc_open(ml, getpid(), NULL);
		if (p && memlens_proc__smaps(p, &set))
			set = NULL;
		for (size_t i = 0; i < memlens_usage_set__count(set); i++)
			if (memlens_usage_set__get(set, i)->vma.start == (uintptr_t)m)
				vma_ksm = memlens_usage_set__get(set, i)->kb[MEMLENS_USAGE_KSM];
		is_u64(vma_ksm, 512, "KSM: the region's smaps record says 512 kB");
		int32_t self = getpid();
		MEMLENS_OPTS(memlens_snapshot_opts, so, .pids = &self, .npids = 1);
		int err = memlens__snapshot(ml, &so, &s);

		is_u64(err || memlens_snapshot__count(s) != 1 ? UINT64_MAX : memlens_snapshot__get(s, 0)->ksm,
		       (uint64_t)want * 1024, "KSM: the snapshot's ksm in bytes (err %d, %zu rows)", err,
		       memlens_snapshot__count(s));
		memlens_snapshot__free(s);
		memlens_usage_set__free(set);
		memlens_usage_set__free(one);
		memlens_proc__close(p);
	}
	ksm_write("pages_to_scan", scan);
	ksm_write("sleep_millisecs", sleep_ms);
	ksm_write("run", run);
	munmap(m, len);
}

int main(void)
{
	struct memlens *ml = memlens__new(NULL);

	check_pages(ml);
	check_smaps(ml);
	check_snapshot(ml);
	check_openmetrics();
	check_ksm(ml);
	memlens__free(ml);
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMA engine against real processes: tests/helpers/mapper builds known
 * mappings; every available source must give the same records, equal to what
 * the helper built and to an independent sscanf reading of /proc/<pid>/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "memlens.h"
#include "tap.h"
#include "mapper_client.h"

/* the VMA sources, as the library lists them for a walk; the text file, the
 * reference the others are held against, comes last */
static enum memlens_source backends[8];
static int NB;

static struct memlens_vma_set *walk(struct memlens *ml, pid_t pid, enum memlens_source b, bool bid, int *err)
{
	MEMLENS_OPTS(memlens_proc_opts, po, .source = b);
	MEMLENS_OPTS(memlens_maps_opts, mo, .build_ids = bid);
	struct memlens_vma_set *set = NULL;
	struct memlens_proc *p = memlens__proc_open(ml, pid, &po);

	if (!p) {
		*err = -errno;
		return NULL;
	}
	*err = memlens_proc__maps(p, &mo, &set);
	memlens_proc__close(p);
	return set;
}

static bool usable(struct memlens *ml, enum memlens_source b)
{
	return memlens__probe(ml, memlens_source__iface(b)) == 0;
}

/* field by field; says the first difference */
static int same_vma(const struct memlens_vma *a, const struct memlens_vma *b, char *why, size_t len)
{
#define F(f) if (a->f != b->f) { snprintf(why, len, #f ": 0x%llx vs 0x%llx at 0x%llx", \
				   (unsigned long long)a->f, (unsigned long long)b->f, (unsigned long long)a->start); return 0; }
	F(start) F(end) F(flags) F(offset) F(dev_major) F(dev_minor) F(inode) F(pid)
#undef F
	if (strcmp(a->name, b->name)) {
		snprintf(why, len, "name '%s' vs '%s' at 0x%llx", a->name, b->name, (unsigned long long)a->start);
		return 0;
	}
	if (a->page_size && b->page_size && a->page_size != b->page_size) {
		snprintf(why, len, "page_size %u vs %u at 0x%llx", a->page_size, b->page_size, (unsigned long long)a->start);
		return 0;
	}
	return 1;
}

static int same_set(const struct memlens_vma_set *a, const struct memlens_vma_set *b, char *why, size_t len)
{
	size_t n = memlens_vma_set__count(a);

	if (n != memlens_vma_set__count(b)) {
		snprintf(why, len, "%zu vs %zu records", n, memlens_vma_set__count(b));
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!same_vma(memlens_vma_set__get(a, i), memlens_vma_set__get(b, i), why, len))
			return 0;
	return 1;
}

static void check_sources_agree(struct memlens *ml, pid_t pid, const char *what)
{
	struct memlens_vma_set *ref, *s;
	char why[600] = "";
	int err;

	ref = walk(ml, pid, MEMLENS_SOURCE_MAPS_TEXT, false, &err);
	if (!ok(ref != NULL, "%s: text source walks (err %d)", what, err))
		return;
	for (int i = 0; i < NB - 1; i++) {
		if (!usable(ml, backends[i])) {
			unavailable(memlens_iface__name(memlens_source__iface(backends[i])), "%s: %s unavailable: %s", what,
				    memlens_source__name(backends[i]),
				    memlens__probe_reason(ml, memlens_source__iface(backends[i])));
			continue;
		}
		s = walk(ml, pid, backends[i], false, &err);
		if (ok(s != NULL, "%s: %s source walks (err %d)", what, memlens_source__name(backends[i]), err) &&
		    !ok(same_set(s, ref, why, sizeof(why)), "%s: %s records equal text records (%zu VMAs)", what,
			memlens_source__name(backends[i]), memlens_vma_set__count(ref)))
			printf("#   %s\n", why);
		memlens_vma_set__free(s);
	}
	memlens_vma_set__free(ref);
}

/* An independent reading of /proc/<pid>/maps with sscanf. */
/* the rows of pid in set (in order) equal an sscanf reading of /proc/pid/maps,
 * field by field: ground truth read without any of memlens's parsers */
static int equals_maps_text(const struct memlens_vma_set *set, pid_t pid, char *why, size_t len)
{
	char path[64], line[8192];
	size_t i = 0, rows = 0;
	int bad = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return 0;
	}
	while (!bad && fgets(line, sizeof(line), f)) {
		struct memlens_vma r = { 0 };
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perms[5];
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &n) < 7) {
			snprintf(why, len, "sscanf failed on '%s'", line);
			bad = 1;
			break;
		}
		r.start = s, r.end = e, r.offset = off, r.dev_major = maj, r.dev_minor = min, r.inode = ino;
		r.pid = pid;
		r.flags = (perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2 | (perms[3] == 's') << 3;
		r.name = line + n;
		while (i < memlens_vma_set__count(set) && memlens_vma_set__get(set, i)->pid != pid)
			i++;
		if (i >= memlens_vma_set__count(set)) {
			snprintf(why, len, "no record for '%s'", line);
			bad = 1;
		} else if (!same_vma(memlens_vma_set__get(set, i), &r, why, len)) {
			bad = 1;
		}
		i++;
		rows++;
	}
	fclose(f);
	for (; !bad && i < memlens_vma_set__count(set); i++) {
		if (memlens_vma_set__get(set, i)->pid == pid) {
			snprintf(why, len, "a record after the last of %zu lines", rows);
			bad = 1;
		}
	}
	if (!bad && rows == 0) {
		snprintf(why, len, "%s is empty", path);
		bad = 1;
	}
	return !bad;
}

static void check_reference_parser(struct memlens *ml, pid_t pid)
{
	struct memlens_vma_set *set;
	char path[64], line[8192], why[600] = "";
	size_t i = 0;
	int err, bad = 0;
	FILE *f;

	set = walk(ml, pid, MEMLENS_SOURCE_MAPS_TEXT, false, &err);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!ok(set && f, "reference parser: open maps and walk"))
		goto out;
	while (fgets(line, sizeof(line), f)) {
		struct memlens_vma r = { 0 };
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perms[5];
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &n) < 7) {
			bad = 1;
			snprintf(why, sizeof(why), "sscanf failed on '%s'", line);
			break;
		}
		r.start = s, r.end = e, r.offset = off, r.dev_major = maj, r.dev_minor = min, r.inode = ino;
		r.pid = pid;
		r.flags = (perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2 | (perms[3] == 's') << 3;
		r.name = line + n;
		if (i >= memlens_vma_set__count(set) || !same_vma(memlens_vma_set__get(set, i), &r, why, sizeof(why))) {
			bad = 1;
			break;
		}
		i++;
	}
	if (!bad && i != memlens_vma_set__count(set)) {
		bad = 1;
		snprintf(why, sizeof(why), "%zu lines, %zu records", i, memlens_vma_set__count(set));
	}
	if (!ok(!bad, "text source equals an sscanf reading of /proc/%d/maps line for line", pid))
		printf("#   %s\n", why);
out:
	if (f)
		fclose(f);
	memlens_vma_set__free(set);
}

static const struct memlens_vma *covering(const struct memlens_vma_set *set, uint64_t addr)
{
	for (size_t i = 0; i < memlens_vma_set__count(set); i++) {
		const struct memlens_vma *v = memlens_vma_set__get(set, i);

		if (addr >= v->start && addr < v->end)
			return v;
	}
	return NULL;
}

static void check_expected(struct memlens *ml, const struct mapper *m)
{
	static const struct { const char *key; const char *suffix; const char *perms; uint64_t off; const char *kind; } files[] = {
		{ "file", "", "r--p", 4096, "file" },
		{ "ro_shared_file", "", "r--s", 4096, "file" },
		{ "deleted", " (deleted)", "rw-s", 4096, "deleted" },
		{ "space_file", "", "r--p", 4096, "file" },
		{ "nl_file", "", "r-xp", 4096, "file" },
	};

	for (int b = 0; b < NB; b++) {
		const char *bn = memlens_source__name(backends[b]);
		const struct memlens_vma *v;
		struct memlens_vma_set *set;
		char perms[5], want[600];
		int err, i;

		if (!usable(ml, backends[b]))
			continue;
		set = walk(ml, m->pid, backends[b], false, &err);
		if (!ok(set != NULL, "%s: walk for expectations", bn))
			continue;
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
			i = mapper_find(m, files[k].key);
			v = i >= 0 ? covering(set, m->e[i].addr) : NULL;
			if (!ok(v != NULL, "%s: %s mapping found", bn, files[k].key))
				continue;
			snprintf(want, sizeof(want), "%s%s", m->e[i].path, files[k].suffix);
			is_str(v->name, want, "%s: %s name", bn, files[k].key);
			is_u64(v->inode, m->e[i].ino, "%s: %s inode", bn, files[k].key);
			is_u64(v->offset, files[k].off, "%s: %s file offset", bn, files[k].key);
			is_str(memlens_vma__perms(v, perms), files[k].perms, "%s: %s perms", bn, files[k].key);
			is_u64(v->end - v->start, 8192, "%s: %s size", bn, files[k].key);
			is_str(memlens_vma__kind(v), files[k].kind, "%s: %s kind", bn, files[k].key);
		}
		i = mapper_find(m, "memfd");
		v = covering(set, m->e[i].addr);
		if (ok(v != NULL, "%s: memfd mapping found", bn)) {
			is_str(v->name, "/memfd:mapper-memfd (deleted)", "%s: memfd name", bn);
			ok(v->flags & MEMLENS_VMA_SHARED, "%s: memfd mapping shared", bn);
			is_str(memlens_vma__kind(v), "memfd", "%s: memfd kind", bn);
		}
		i = mapper_find(m, "shm");
		v = covering(set, m->e[i].addr);
		if (ok(v != NULL, "%s: shared anonymous mapping found", bn)) {
			is_str(v->name, "/dev/zero (deleted)", "%s: shared anonymous name", bn);
			ok(v->flags & MEMLENS_VMA_SHARED && v->inode, "%s: shared anonymous is shared with a shmem inode", bn);
			is_str(memlens_vma__kind(v), "shm", "%s: shared anonymous kind", bn);
		}
		if ((i = mapper_find(m, "anon_named")) >= 0) {
			v = covering(set, m->e[i].addr);
			is_str(v ? v->name : NULL, "[anon:mapper name]", "%s: PR_SET_VMA_ANON_NAME name", bn);
		} else {
			skip("%s: kernel refuses PR_SET_VMA_ANON_NAME (CONFIG_ANON_VMA_NAME off)", bn);
		}
		if ((i = mapper_find(m, "hugetlb")) >= 0) {
			v = covering(set, m->e[i].addr);
			if (backends[b] == MEMLENS_SOURCE_MAPS_TEXT)
				ok(v && v->page_size == 0, "%s: text does not claim a page size", bn);
			else
				is_u64(v ? v->page_size : 0, 2 << 20, "%s: hugetlb VMA has 2 MB kernel pages", bn);
		} else {
			skip("%s: no hugetlb page could be had (nr_hugepages)", bn);
		}
		i = mapper_find(m, "main");
		v = covering(set, m->e[i].addr);
		ok(v && strstr(v->name, "tests/mapper") && (v->flags & MEMLENS_VMA_EXEC), "%s: main() in the mapper's r-x text", bn);
		for (const char *const *sp = (const char *const[]){ "[heap]", "[stack]", "[vdso]", NULL }; *sp; sp++) {
			int found = 0;

			for (size_t j = 0; j < memlens_vma_set__count(set); j++)
				found |= !strcmp(memlens_vma_set__get(set, j)->name, *sp);
			ok(found, "%s: %s present", bn, *sp);
		}
		memlens_vma_set__free(set);
	}
}

static uint64_t rnd(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* point queries: ioctl against the generic walk-and-pick, many addresses and filters */
static void check_find(struct memlens *ml, const struct mapper *m)
{
	MEMLENS_OPTS(memlens_proc_opts, pq, .source = MEMLENS_SOURCE_PROCMAP_QUERY);
	MEMLENS_OPTS(memlens_proc_opts, pt, .source = MEMLENS_SOURCE_MAPS_TEXT);
	struct memlens_proc *q, *t;
	struct memlens_vma_set *all;
	int err, mism = 0, tried = 0;
	char why[600] = "";

	if (!usable(ml, MEMLENS_SOURCE_PROCMAP_QUERY)) {
		unavailable("procmap_query", "find_vma: PROCMAP_QUERY unavailable: %s",
			    memlens__probe_reason(ml, MEMLENS_IFACE_PROCMAP_QUERY));
		return;
	}
	q = memlens__proc_open(ml, m->pid, &pq);
	t = memlens__proc_open(ml, m->pid, &pt);
	all = walk(ml, m->pid, MEMLENS_SOURCE_MAPS_TEXT, false, &err);
	if (!ok(q && t && all, "find_vma: open"))
		goto out;
	for (int i = 0; i < 400 && !mism; i++) {
		const struct memlens_vma *v = memlens_vma_set__get(all, rnd() % memlens_vma_set__count(all));
		uint64_t addr = i % 3 == 0 ? v->start : i % 3 == 1 ? v->end : v->start + rnd() % (v->end - v->start);
		uint32_t flags = (uint32_t)(rnd() & 0x3f);
		struct memlens_vma_set *a = NULL, *b = NULL;
		int ea, eb;

		if (v->start >> 63)
			continue;	/* the gate VMA is not in the mm: ioctl never sees it */
		ea = memlens_proc__find_vma(q, addr, flags, &a);
		eb = memlens_proc__find_vma(t, addr, flags, &b);
		tried++;
		if (ea != eb) {
			mism = 1;
			snprintf(why, sizeof(why), "addr 0x%" PRIx64 " flags 0x%x: ioctl %d, text %d", addr, flags, ea, eb);
		} else if (!ea && !same_set(a, b, why, sizeof(why))) {
			mism = 1;
		}
		memlens_vma_set__free(a);
		memlens_vma_set__free(b);
	}
	if (!ok(!mism && tried > 300, "find_vma: ioctl point queries equal the text walk for %d address/filter pairs", tried))
		printf("#   %s\n", why);
	{
		struct memlens_vma_set *r = NULL;

		ok(memlens_proc__find_vma(q, 0, 0, &r) == -ENOENT, "find_vma: exact query at 0 is ENOENT");
		memlens_vma_set__free(r);
		r = NULL;
		err = memlens_proc__find_vma(q, 0, MEMLENS_FIND_COVERING_OR_NEXT | MEMLENS_FIND_FILE_BACKED |
						       MEMLENS_FIND_EXECUTABLE, &r);
		ok(!err && strstr(memlens_vma_set__get(r, 0)->name, "tests/mapper"),
		   "find_vma: first executable file-backed VMA from 0 is the mapper's text");
		memlens_vma_set__free(r);
	}
out:
	memlens_vma_set__free(all);
	memlens_proc__close(q);
	memlens_proc__close(t);
}

static struct memlens_norm *normalize(struct memlens *ml, pid_t pid, enum memlens_source b, const uint64_t *a, size_t n,
				      bool bid, int *err)
{
	MEMLENS_OPTS(memlens_proc_opts, po, .source = b);
	MEMLENS_OPTS(memlens_normalize_opts, no, .build_ids = bid);
	struct memlens_norm *norm = NULL;
	struct memlens_proc *p = memlens__proc_open(ml, pid, &po);

	if (!p) {
		*err = -errno;
		return NULL;
	}
	*err = memlens_proc__normalize(p, a, n, &no, &norm);
	memlens_proc__close(p);
	return norm;
}

/* every address of a batch normalized in pid by each source against ref */
static void check_norm_against(struct memlens *ml, pid_t pid, const struct memlens_vma_set *ref, const uint64_t *addrs,
			       size_t n, const char *what)
{
	int err;

	for (int b = 0; b < NB; b++) {
		struct memlens_norm *norm;
		size_t bad = 0, mapped = 0;
		char why[300] = "";

		if (!usable(ml, backends[b]))
			continue;
		norm = normalize(ml, pid, backends[b], addrs, n, false, &err);
		if (!ok(norm != NULL, "normalize %zu addresses with %s%s (err %d)", n, memlens_source__name(backends[b]), what, err))
			continue;
		for (size_t i = 0; i < n && !bad; i++) {
			const struct memlens_norm_addr *a = memlens_norm__get(norm, i);
			const struct memlens_vma *want = covering(ref, addrs[i]), *got;

			got = a->vma >= 0 ? memlens_vma_set__get(memlens_norm__vmas(norm), (size_t)a->vma) : NULL;
			if (a->addr != addrs[i] || !want != !got ||
			    (want && (got->start != want->start || a->file_offset != addrs[i] - want->start + want->offset))) {
				bad++;
				snprintf(why, sizeof(why), "address %zu 0x%" PRIx64 ": want %s, got %s off 0x%" PRIx64, i, addrs[i],
					 want ? want->name : "unmapped", got ? got->name : "unmapped", a->file_offset);
			}
			mapped += want != NULL;
		}
		if (!ok(!bad, "normalize with %s%s: each of %zu addresses (%zu mapped) gets its covering VMA and file offset, in input order",
			memlens_source__name(backends[b]), what, n, mapped))
			printf("#   %s\n", why);
		memlens_norm__free(norm);
	}
}

static void check_normalize(struct memlens *ml, const struct mapper *m, size_t n)
{
	struct memlens_vma_set *ref;
	uint64_t *addrs = malloc(n * sizeof(*addrs));
	int err;

	ref = walk(ml, m->pid, MEMLENS_SOURCE_MAPS_TEXT, false, &err);
	if (!ok(ref && addrs, "normalize: reference walk"))
		goto out;
	/* half inside VMAs (executable ones first), half anywhere, plus edges */
	for (size_t i = 0; i < n; i++) {
		const struct memlens_vma *v = memlens_vma_set__get(ref, rnd() % memlens_vma_set__count(ref));

		if (i % 2 || (v->start >> 63))
			addrs[i] = rnd() & 0x7fffffffffffULL;
		else
			addrs[i] = v->start + rnd() % (v->end - v->start);
	}
	addrs[0] = 0;
	addrs[1] = m->e[mapper_find(m, "main")].addr;
	/* one unmapped page asked mid-page first, then below and above (a gap
	 * learned from an address does not cover the bytes before it), and the
	 * first and last bytes of a VMA, twice */
	{
		const struct memlens_vma *v = memlens_vma_set__get(ref, 0);
		uint64_t gap = 0x10000;

		addrs[2] = gap + 100, addrs[3] = gap + 50, addrs[4] = gap + 4095, addrs[5] = gap;
		addrs[6] = v->end - 1, addrs[7] = v->start, addrs[8] = v->end - 1, addrs[9] = v->end;
		/* a high VMA, then one below it learned after (the intervals
		 * known so far shift), then the high one again */
		size_t nv = memlens_vma_set__count(ref);
		addrs[10] = memlens_vma_set__get(ref, nv - 2)->start;
		addrs[11] = memlens_vma_set__get(ref, nv / 2)->start;
		addrs[12] = memlens_vma_set__get(ref, nv - 2)->start + 1;
	}
	check_norm_against(ml, m->pid, ref, addrs, n, "");
	if (n <= 4000) {
		/* the same addresses in another process, in the same context
		 * (a profiler's): nothing a batch of the first taught may
		 * answer for the second, whose layout differs */
		pid_t other = fork();
		struct memlens_vma_set *ref2;

		if (other == 0) {
			pause();
			_exit(0);
		}
		ref2 = walk(ml, other, MEMLENS_SOURCE_MAPS_TEXT, false, &err);
		if (ok(ref2 != NULL, "normalize: reference walk of a second process"))
			check_norm_against(ml, other, ref2, addrs, n, " (second process, same context)");
		memlens_vma_set__free(ref2);
		kill(other, SIGKILL);
		waitpid(other, NULL, 0);
	}
out:
	free(addrs);
	memlens_vma_set__free(ref);
}

/* Build IDs: the kernel's (PROCMAP_QUERY) equal ours read from the ELF file. */
/*
 * Every VMA's edges, for every source: start - 1, start, end - 1 and end.
 * Normalization against the VMA covering each address in /proc/<pid>/maps as
 * sscanf reads it here; point queries, exact and covering-or-next, against
 * the same list (the [vsyscall] gate VMA included: maps text lists it, no mm
 * holds it, every source answers it as text does).
 */
static void check_edges(struct memlens *ml, const struct mapper *m)
{
	struct { uint64_t s, e; } vm[4096];
	size_t nv = 0, n = 0;
	uint64_t *addrs;
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", m->pid);
	f = fopen(path, "r");
	while (f && nv < 4096 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &vm[nv].s, &vm[nv].e) == 2)
			nv++;
	if (f)
		fclose(f);
	addrs = malloc(4 * nv * sizeof(*addrs));
	if (!ok(nv > 10 && addrs, "edges: %zu VMAs read from maps here", nv)) {
		free(addrs);
		return;
	}
	for (size_t i = 0; i < nv; i++) {
		if (vm[i].s)
			addrs[n++] = vm[i].s - 1;
		addrs[n++] = vm[i].s;
		addrs[n++] = vm[i].e - 1;
		addrs[n++] = vm[i].e;
	}
	for (int b = 0; b < NB; b++) {
		const char *bn = memlens_source__name(backends[b]);
		MEMLENS_OPTS(memlens_proc_opts, po, .source = backends[b]);
		struct memlens_proc *p;
		struct memlens_norm *norm;
		size_t bad_n = 0, bad_f = 0, asked = 0;
		char why_n[300] = "", why_f[300] = "";
		int err;

		if (!usable(ml, backends[b]))
			continue;
		norm = normalize(ml, m->pid, backends[b], addrs, n, false, &err);
		for (size_t i = 0; norm && i < n; i++) {
			const struct memlens_norm_addr *a = memlens_norm__get(norm, i);
			const struct memlens_vma *got = a->vma >= 0 ?
				memlens_vma_set__get(memlens_norm__vmas(norm), (size_t)a->vma) : NULL;
			size_t k = 0;

			while (k < nv && !(addrs[i] >= vm[k].s && addrs[i] < vm[k].e))
				k++;
			if ((k < nv) != (got != NULL) || (got && (got->start != vm[k].s || got->end != vm[k].e))) {
				if (!bad_n++)
					snprintf(why_n, sizeof(why_n), "0x%" PRIx64 ": want %s, got %s", addrs[i],
						 k < nv ? "a VMA" : "unmapped", got ? got->name : "unmapped");
			}
		}
		if (!ok(norm && !bad_n, "edges: normalize with %s: each VMA's start - 1, start, end - 1, end (%zu addresses)", bn, n))
			printf("#   %s\n", why_n);
		memlens_norm__free(norm);
		/* point queries: exact, and covering-or-next */
		p = memlens__proc_open(ml, m->pid, &po);
		for (size_t i = 0; p && i < n; i++) {
			for (int next = 0; next < 2; next++) {
				struct memlens_vma_set *r = NULL;
				size_t k = 0;
				int e;

				while (k < nv && addrs[i] >= vm[k].e)
					k++;
				if (!next && k < nv && addrs[i] < vm[k].s)
					k = nv;	/* exact: in a gap there is none */
				e = memlens_proc__find_vma(p, addrs[i], next ? MEMLENS_FIND_COVERING_OR_NEXT : 0, &r);
				asked++;
				if ((k < nv) != !e || (!e && (memlens_vma_set__get(r, 0)->start != vm[k].s ||
							     memlens_vma_set__get(r, 0)->end != vm[k].e))) {
					if (!bad_f++)
						snprintf(why_f, sizeof(why_f), "0x%" PRIx64 " %s: want %s, got %d %" PRIx64, addrs[i],
							 next ? "covering-or-next" : "exact", k < nv ? "a VMA" : "none", e,
							 e ? 0 : memlens_vma_set__get(r, 0)->start);
				}
				memlens_vma_set__free(r);
			}
		}
		if (!ok(p && !bad_f, "edges: find_vma with %s at every edge, exact and covering-or-next (%zu queries)", bn, asked))
			printf("#   %s\n", why_f);
		memlens_proc__close(p);
	}
	free(addrs);
}

static void check_build_ids(struct memlens *ml, const struct mapper *m)
{
	struct memlens_vma_set *a = NULL, *b = NULL;
	size_t with = 0, bad = 0;
	char why[300] = "";
	int err;

	if (!usable(ml, MEMLENS_SOURCE_PROCMAP_QUERY) || memlens__probe(ml, MEMLENS_IFACE_PROCMAP_BUILD_ID)) {
		unavailable("procmap_query_build_id", "build IDs: kernel gives none: %s",
			    memlens__probe_reason(ml, MEMLENS_IFACE_PROCMAP_BUILD_ID));
		return;
	}
	a = walk(ml, m->pid, MEMLENS_SOURCE_PROCMAP_QUERY, true, &err);
	b = walk(ml, m->pid, MEMLENS_SOURCE_MAPS_TEXT, true, &err);
	if (!ok(a && b && memlens_vma_set__count(a) == memlens_vma_set__count(b), "build IDs: walks"))
		goto out;
	for (size_t i = 0; i < memlens_vma_set__count(a); i++) {
		const struct memlens_vma *x = memlens_vma_set__get(a, i), *y = memlens_vma_set__get(b, i);
		char hx[80], hy[80];

		if (x->build_id_size)
			with++;
		if (x->build_id_size != y->build_id_size || memcmp(x->build_id, y->build_id, x->build_id_size)) {
			bad++;
			snprintf(why, sizeof(why), "%s: kernel %s, ELF %s (err %d)", x->name,
				 memlens_vma__build_id_hex(x, hx, sizeof(hx)), memlens_vma__build_id_hex(y, hy, sizeof(hy)),
				 y->build_id_err);
		}
	}
	if (!ok(!bad && with >= 2, "build IDs from PROCMAP_QUERY equal ELF notes read by memlens (%zu VMAs with one)", with))
		printf("#   %s\n", why);
out:
	memlens_vma_set__free(a);
	memlens_vma_set__free(b);
}

static void check_errors(struct memlens *ml)
{
	struct mapper m;
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	{
		struct memlens_proc *p = memlens__proc_open(ml, dead, NULL);
		int e = errno;

		ok(p == NULL && e == ESRCH, "open of an exited pid: ESRCH (got %d)", e);
		memlens_proc__close(p);
	}
	for (int b = 0; b < NB; b++) {
		MEMLENS_OPTS(memlens_proc_opts, po, .source = backends[b]);
		struct memlens_proc *p;

		if (!usable(ml, backends[b]))
			continue;
		if (!ok(mapper_start(&m, NULL) == 0, "%s: start a mapper that will exit", memlens_source__name(backends[b])))
			continue;
		p = memlens__proc_open(ml, m.pid, &po);
		if (!ok(p != NULL, "%s: open", memlens_source__name(backends[b]))) {
			mapper_stop(&m);
			continue;
		}
		kill(m.pid, SIGKILL);
		mapper_stop(&m);
		{
			struct memlens_vma_set *s = NULL;
			struct memlens_norm *n = NULL;
			uint64_t addr = 0x1000;

			ok(memlens_proc__maps(p, NULL, &s) == -ESRCH, "%s: walk of a process that exited after open: ESRCH",
			   memlens_source__name(backends[b]));
			ok(memlens_proc__normalize(p, &addr, 1, NULL, &n) == -ESRCH,
			   "%s: normalize on a process that exited: ESRCH", memlens_source__name(backends[b]));
			memlens_vma_set__free(s);
			memlens_norm__free(n);
		}
		memlens_proc__close(p);
	}
}

static void check_maps_all(struct memlens *ml, const struct mapper *m)
{
	for (int b = 0; b < NB; b++) {
		struct memlens_vma_set *all = NULL, *one, *mine;
		MEMLENS_OPTS(memlens_maps_all_opts, ao, .source = backends[b]);
		char why[600] = "";
		int err;

		if (!usable(ml, backends[b]))
			continue;
		err = memlens__maps_all(ml, &ao, &all);
		one = walk(ml, m->pid, backends[b], false, &err);
		if (!ok(all && one, "%s: every process walked (%zu VMAs, %zu exited, %zu unreadable)",
			memlens_source__name(backends[b]), memlens_vma_set__count(all), memlens_vma_set__exited(all),
			memlens_vma_set__unreadable(all)))
			goto next;
		mine = NULL;
		{
			/* the mapper's records, cut out of the whole-system set */
			extern struct memlens_vma_set *ml_set_new(enum memlens_source);
			extern int ml_set_push(struct memlens_vma_set *, const struct memlens_vma *, const char *, size_t);

			mine = ml_set_new(backends[b]);
			for (size_t i = 0; i < memlens_vma_set__count(all); i++) {
				const struct memlens_vma *v = memlens_vma_set__get(all, i);

				if (v->pid == m->pid)
					ml_set_push(mine, v, v->name, strlen(v->name));
			}
		}
		if (!ok(same_set(mine, one, why, sizeof(why)), "%s: the mapper's VMAs in the whole-system walk equal its own walk",
			memlens_source__name(backends[b])))
			printf("#   %s\n", why);
		memlens_vma_set__free(mine);
next:
		memlens_vma_set__free(all);
		memlens_vma_set__free(one);
	}
}

/* every source's whole-system walk, the rows of a process with thousands of
 * distinct files (each in two VMAs) and of its child that shares them, against
 * /proc/<pid>/maps read here: a path the BPF walk sent once and referred to
 * later, across records, processes and the ends of the iterator's reads.
 * 8,300 files: more than the BPF program remembers in a walk (8,192), so its
 * map fills, paths are sent again, and the BPF source walks twice in this
 * context, the second after emptying the full map */
static void check_maps_all_files(struct memlens *ml, const char *dir)
{
	const char *args[] = { "--dir", dir, "--files", "8300", "--children", "1", NULL };
	struct mapper m;
	pid_t child = 0;

	if (!ok(mapper_start(&m, args) == 0, "mapper with 8,300 files and a child started"))
		return;
	for (int i = 0; i < m.n; i++)
		if (!strcmp(m.e[i].key, "child"))
			child = (pid_t)strtol(m.e[i].rest, NULL, 10);
	for (int b = 0; b < NB; b++) {
		int rounds = backends[b] == MEMLENS_SOURCE_BPF_TASK_VMA ? 2 : 1;

		if (!usable(ml, backends[b]))
			continue;
		for (int r = 1; r <= rounds; r++) {
			struct memlens_vma_set *all = NULL;
			MEMLENS_OPTS(memlens_maps_all_opts, ao, .source = backends[b]);
			char why[600] = "";
			int err;

			err = memlens__maps_all(ml, &ao, &all);
			if (!ok(err == 0, "%s: whole-system walk %d with 8,300 files: %d", memlens_source__name(backends[b]), r, err))
				continue;
			if (!ok(equals_maps_text(all, m.pid, why, sizeof(why)),
				"%s: whole-system walk %d: the 8,300-file process equals its maps text, field by field",
				memlens_source__name(backends[b]), r))
				printf("#   %s\n", why);
			if (!ok(child > 0 && equals_maps_text(all, child, why, sizeof(why)),
				"%s: whole-system walk %d: its child (the same files) equals its maps text",
				memlens_source__name(backends[b]), r))
				printf("#   %s\n", why);
			memlens_vma_set__free(all);
		}
	}
	mapper_stop(&m);
}

int main(void)
{
	MEMLENS_OPTS(memlens_opts, o);
	struct memlens *ml = memlens__new(&o);
	struct mapper m, many;
	const char *args[] = { "--vmas", "10000", NULL };
	char dir[] = "/tmp/memlens-test-XXXXXX";
	const char *dargs[3] = { "--dir", NULL, NULL };

	if (!ml || !mkdtemp(dir))
		return 1;
	dargs[1] = dir;
	NB = (int)memlens_job__sources(MEMLENS_JOB_WALK, backends, 8);
	/* by cost: a whole walk reads the text file first (docs/benchmarks.md) */
	if (!ok(NB >= 2 && NB <= 8 && backends[0] == MEMLENS_SOURCE_MAPS_TEXT,
		"the library lists %d VMA sources for a walk, the text file first", NB))
		return tap_done();
	for (int b = 0; b < NB; b++)
		printf("# %s: %s\n", memlens_source__name(backends[b]),
		       memlens__probe_reason(ml, memlens_source__iface(backends[b])));
	if (!ok(mapper_start(&m, dargs) == 0, "mapper started"))
		return tap_done();
	check_sources_agree(ml, m.pid, "mapper");
	check_reference_parser(ml, m.pid);
	check_expected(ml, &m);
	check_find(ml, &m);
	check_edges(ml, &m);
	check_normalize(ml, &m, 4000);
	check_normalize(ml, &m, 100000);
	check_build_ids(ml, &m);
	check_maps_all(ml, &m);
	mapper_stop(&m);
	check_maps_all_files(ml, dir);

	if (ok(mapper_start(&many, args) == 0, "mapper with 10,000 extra VMAs started")) {
		check_sources_agree(ml, many.pid, "10,000-VMA process");
		check_reference_parser(ml, many.pid);
		mapper_stop(&many);
	}
	check_errors(ml);
	memlens__free(ml);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			return 1;
	}
	return tap_done();
}

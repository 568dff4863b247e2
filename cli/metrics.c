// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The metric families memlens exposes, written from one collection (a
 * snapshot with cgroups, and a DMA-BUF accounting): by `memlens exporter`
 * on every scrape and by `memlens snapshot --openmetrics` once.  Two
 * formats: OpenMetrics 1.0 and Prometheus text 0.0.4 (no UNIT lines, no
 * "# EOF", a counter's TYPE names its _total sample).  Label values are
 * names their owners chose: escaped to printable UTF-8 (cli_escape), then
 * backslash, quote and newline escaped as both formats want.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include <malloc.h>
#include "metrics.h"
#include "quantity.h"
#include "group.h"

/* label values cut in this collection (metrics_write's, on its thread) */
static __thread size_t labels_cut;

static void label(FILE *f, const char *name, const char *value, bool first)
{
	size_t len = 4 * strlen(value) + 1;
	char *safe = malloc(len);

	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	if (safe) {
		cli_escape(value, safe, len);
		/* bounded: a 4 KB cgroup path of bytes that escape to 4 each
		 * would be 16 KB in every series it labels.  Cut on a UTF-8
		 * character's start, marked with an ellipsis, counted */
		if (strlen(safe) > METRICS_LABEL_MAX) {
			size_t cut = METRICS_LABEL_MAX;

			while (cut && ((unsigned char)safe[cut] & 0xc0) == 0x80)
				cut--;
			/* nor inside an escape of ours (\xHH, \\) */
			for (size_t k = cut >= 3 ? cut - 3 : 0; k < cut; k++)
				if (safe[k] == '\\') {
					cut = k;
					break;
				}
			strcpy(safe + cut, "\xe2\x80\xa6");	/* U+2026 */
			labels_cut++;
		}
	}
	for (const char *s = safe ? safe : ""; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
	free(safe);
}

static void family(FILE *f, const struct metrics_in *in, const char *name, const char *type, const char *unit,
		   const char *help)
{
	bool counter = !strcmp(type, "counter");

	/* Prometheus text names a counter's family by its sample (..._total) */
	fprintf(f, "# TYPE %s%s %s\n", name, counter && !in->openmetrics ? "_total" : "", type);
	if (in->openmetrics && unit)
		fprintf(f, "# UNIT %s %s\n", name, unit);
	fprintf(f, "# HELP %s%s %s\n", name, counter && !in->openmetrics ? "_total" : "", help);
}

/* the memtypes are the quantities' (quantity.h); groups carry the summed
 * ones only (VSS is a process's: a sum of address-space sizes means nothing) */

/* the ranking key: PSS, or for a process never walked (over budget, its
 * PSS unknown) its RSS, the most its PSS can be: a huge process the budget
 * cut is still among the top ones, not last */
static uint64_t rank(const struct memlens_proc_usage *u)
{
	return !(u->flags & MEMLENS_USAGE_F_ROLLUP) && !u->pss ? u->rss : u->pss;
}

static int cmp_pss(const void *a, const void *b)
{
	uint64_t x = rank(*(const struct memlens_proc_usage *const *)a);
	uint64_t y = rank(*(const struct memlens_proc_usage *const *)b);

	return x > y ? -1 : x < y;
}

static void cgroup_labels(FILE *f, const struct memlens_proc_usage *u, bool first)
{
	label(f, "cgroup", !u ? METRICS_OTHER : u->cgroup ? u->cgroup : "", first);
	label(f, "container", u ? u->container : "", false);
	label(f, "pod", u ? u->pod : "", false);
}

static int cmp_exporter_name(const void *a, const void *b)
{
	const struct memlens_dmabuf_buf *x = *(const struct memlens_dmabuf_buf *const *)a;
	const struct memlens_dmabuf_buf *y = *(const struct memlens_dmabuf_buf *const *)b;
	int c = strcmp(x->exporter, y->exporter);

	return c ? c : strcmp(x->name, y->name);
}

static void dmabuf_families(FILE *f, const struct metrics_in *in)
{
	const struct memlens_dmabuf *d = in->dmabuf;
	size_t nb = memlens_dmabuf__buf_count(d), nk = 0;
	uint64_t kbytes = 0;
	const struct memlens_dmabuf_buf **by = malloc((nb ? nb : 1) * sizeof(*by));

	if (!by)
		return;
	for (size_t i = 0; i < nb; i++) {
		by[i] = memlens_dmabuf__buf(d, i);
		if (by[i]->kernel_only) {
			nk++;
			kbytes += by[i]->size;
		}
	}
	/* per exporter and name: sort by the pair, sum runs */
	qsort(by, nb, sizeof(*by), cmp_exporter_name);
	for (int pass = 0; pass < 2; pass++) {
		family(f, in, pass ? "memlens_dmabuf_buffers" : "memlens_dmabuf_buffer_bytes", "gauge", pass ? NULL : "bytes",
		       pass ? "DMA-BUF buffers in the system, by exporter and buffer name." :
			      "Size of the DMA-BUF buffers in the system, by exporter and buffer name.");
		for (size_t i = 0; i < nb;) {
			size_t j = i;
			uint64_t sum = 0;

			for (; j < nb && !strcmp(by[j]->exporter, by[i]->exporter) && !strcmp(by[j]->name, by[i]->name); j++)
				sum += by[j]->size;
			fprintf(f, "%s{", pass ? "memlens_dmabuf_buffers" : "memlens_dmabuf_buffer_bytes");
			label(f, "exporter", by[i]->exporter, true);
			label(f, "name", by[i]->name, false);
			fprintf(f, "} %llu\n", (unsigned long long)(pass ? j - i : sum));
			i = j;
		}
	}
	family(f, in, "memlens_dmabuf_kernel_only_bytes", "gauge", "bytes",
	       "Size of the DMA-BUF buffers no process holds by fd or mapping (held by the kernel or in flight).");
	fprintf(f, "memlens_dmabuf_kernel_only_bytes %llu\n", (unsigned long long)kbytes);
	family(f, in, "memlens_dmabuf_kernel_only_buffers", "gauge", NULL, "DMA-BUF buffers no process holds.");
	fprintf(f, "memlens_dmabuf_kernel_only_buffers %zu\n", nk);
	free(by);
}

/* a group's labels: its cgroup (with its container and pod) or its comm;
 * the sum past --top-groups is "(other)" (no cgroup path reads so; a
 * command name may, and is then summed with it by a reader, as any two
 * series of one name are) */
static void group_labels(FILE *f, const struct proc_group *g, const struct memlens_proc_usage *const *rows,
			 bool by_cgroup)
{
	const struct memlens_proc_usage *u = g->other ? NULL : rows[g->first];

	if (by_cgroup)
		cgroup_labels(f, u, true);
	else
		label(f, "comm", u ? u->comm : METRICS_OTHER, true);
}

/* memlens_{cgroup,comm}_memory_bytes and _processes: the processes summed by
 * cgroup or command name, the largest --top-groups by PSS */
static void group_families(FILE *f, const struct metrics_in *in, const struct memlens_proc_usage *const *rows,
			   const char **keys, size_t n, bool by_cgroup)
{
	const char *name = by_cgroup ? "memlens_cgroup" : "memlens_comm";
	struct proc_group *g = NULL;
	size_t ng = 0;

	for (size_t i = 0; i < n; i++)
		keys[i] = by_cgroup ? (rows[i]->cgroup ? rows[i]->cgroup : "") : rows[i]->comm;
	if (!proc_group(rows, keys, n, &g, &ng) && in->top_groups && ng > in->top_groups) {
		proc_group_sort(g, ng, Q_PSS);
		proc_group_cap(g, &ng, in->top_groups);
	}
	family(f, in, by_cgroup ? "memlens_cgroup_memory_bytes" : "memlens_comm_memory_bytes", "gauge", "bytes",
	       by_cgroup ? "Memory of the processes of a cgroup, by type (smaps_rollup; DMA-BUF held by fd or mapping)." :
			   "Memory of the processes of a command name, by type.");
	for (size_t i = 0; i < ng; i++)
		for (int k = 0; k < Q_N; k++) {
			if (!quantities[k].summed)
				continue;
			fprintf(f, "%s_memory_bytes{", name);
			group_labels(f, &g[i], rows, by_cgroup);
			fprintf(f, ",memtype=\"%s\"} %llu\n", quantities[k].memtype, (unsigned long long)g[i].v[k]);
		}
	family(f, in, by_cgroup ? "memlens_cgroup_processes" : "memlens_comm_processes", "gauge", NULL,
	       by_cgroup ? "Processes in a cgroup." : "Processes with a command name.");
	for (size_t i = 0; i < ng; i++) {
		fprintf(f, "%s_processes{", name);
		group_labels(f, &g[i], rows, by_cgroup);
		fprintf(f, "} %zu\n", g[i].n);
	}
	free(g);
}

/* the index of pid's row in the snapshot (its rows are in pid order) */
static size_t snap_index(const struct memlens_snapshot *s, int32_t pid)
{
	size_t lo = 0, hi = memlens_snapshot__count(s);

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (memlens_snapshot__get(s, mid)->pid <= pid)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* memlens_process_memory_bytes: the top N by PSS, or all */
static void process_family(FILE *f, const struct metrics_in *in, const struct memlens_proc_usage **rows, size_t n)
{
	size_t top = in->per_process ? n : in->top < n ? in->top : n;

	qsort(rows, n, sizeof(*rows), cmp_pss);
	family(f, in, "memlens_process_memory_bytes", "gauge", "bytes",
	       in->per_process ? "Memory of a process, by type." : "Memory of a process, by type: the top processes by PSS.");
	for (size_t i = 0; i < top; i++)
		for (int k = 0; k < Q_N; k++) {
			/* RSS's split where the counters were read (not: unknown, no series) */
			if (quantities[k].split && !(rows[i]->flags & MEMLENS_USAGE_F_COUNTERS))
				continue;
			fprintf(f, "memlens_process_memory_bytes{pid=\"%d\",", rows[i]->pid);
			label(f, "comm", rows[i]->comm, true);
			cgroup_labels(f, rows[i], false);
			fprintf(f, ",memtype=\"%s\"} %llu\n", quantities[k].memtype, (unsigned long long)quantity_get(rows[i], k));
		}
	if (!in->ages)
		return;
	family(f, in, "memlens_process_pss_age_seconds", "gauge", "seconds",
	       "How old the process's smaps_rollup figures (pss, uss, swap_pss, ksm) are: 0 read by this collection, "
	       "more when served from an earlier read (a large process, or the scrape's budget spent), "
	       "-1 never read.");
	for (size_t i = 0; i < top; i++) {
		fprintf(f, "memlens_process_pss_age_seconds{pid=\"%d\",", rows[i]->pid);
		label(f, "comm", rows[i]->comm, true);
		cgroup_labels(f, rows[i], false);
		fprintf(f, "} %.3f\n", in->ages[snap_index(in->snap, rows[i]->pid)]);
	}
}

/* the system's memory, the collection's processes, sources and cut labels */
static void system_families(FILE *f, const struct metrics_in *in, size_t n)
{
	family(f, in, "memlens_system_memory_bytes", "gauge", "bytes", "System memory from /proc/meminfo.");
	fprintf(f, "memlens_system_memory_bytes{memtype=\"total\"} %llu\n",
		(unsigned long long)memlens_snapshot__mem_total(in->snap));
	fprintf(f, "memlens_system_memory_bytes{memtype=\"available\"} %llu\n",
		(unsigned long long)memlens_snapshot__mem_available(in->snap));
	family(f, in, "memlens_processes", "gauge", NULL,
	       "Processes seen by the collection: read, unreadable (no permission), exited while it ran, "
	       "stalled (its mmap lock held past the stall timeout).");
	fprintf(f, "memlens_processes{state=\"read\"} %zu\n", n);
	fprintf(f, "memlens_processes{state=\"unreadable\"} %zu\n", memlens_snapshot__unreadable(in->snap));
	fprintf(f, "memlens_processes{state=\"exited\"} %zu\n", memlens_snapshot__exited(in->snap));
	fprintf(f, "memlens_processes{state=\"stalled\"} %zu\n", memlens_snapshot__stalled(in->snap));
	if (in->ages) {
		family(f, in, "memlens_pss_processes", "gauge", NULL,
		       "Processes by where their pss, uss and swap_pss came from: read (smaps_rollup in this "
		       "collection), cached (an earlier read: large, or the budget spent), missing (the budget "
		       "spent before any read: counted in rss and swap only).");
		fprintf(f, "memlens_pss_processes{state=\"read\"} %zu\n", in->pss_read);
		fprintf(f, "memlens_pss_processes{state=\"cached\"} %zu\n", in->pss_cached);
		fprintf(f, "memlens_pss_processes{state=\"missing\"} %zu\n", in->pss_missing);
		family(f, in, "memlens_scrape_budget_seconds", "gauge", "seconds",
		       "Time this collection had for smaps_rollup reads (the scrape's timeout, less a margin).");
		fprintf(f, "memlens_scrape_budget_seconds %.3f\n", in->budget_seconds);
	}
	family(f, in, "memlens_source_info", "gauge", NULL, "The source each job used in this collection (always 1).");
	fprintf(f, "memlens_source_info{job=\"dmabuf\",source=\"%s\"} 1\n",
		in->dmabuf ? memlens_source__name(memlens_dmabuf__source(in->dmabuf)) : "none");
	family(f, in, "memlens_label_values_truncated", "gauge", NULL,
	       "Label values of this collection cut to " METRICS_LABEL_MAX_S " bytes (marked with a trailing U+2026).");
	fprintf(f, "memlens_label_values_truncated %zu\n", labels_cut);
}

/* the process_* families of every Prometheus client library, same names,
 * types and help (client_golang's process collector) */
static void process_families(FILE *f, const struct metrics_in *in, const struct metrics_self *p)
{
	family(f, in, "process_cpu_seconds", "counter", "seconds", "Total user and system CPU time spent in seconds.");
	fprintf(f, "process_cpu_seconds_total %.6f\n", p->cpu_seconds);
	family(f, in, "process_resident_memory_bytes", "gauge", "bytes", "Resident memory size in bytes.");
	fprintf(f, "process_resident_memory_bytes %llu\n", p->rss);
	family(f, in, "process_virtual_memory_bytes", "gauge", "bytes", "Virtual memory size in bytes.");
	fprintf(f, "process_virtual_memory_bytes %llu\n", p->vss);
	family(f, in, "process_open_fds", "gauge", NULL, "Number of open file descriptors.");
	fprintf(f, "process_open_fds %ld\n", p->open_fds);
	family(f, in, "process_max_fds", "gauge", NULL, "Maximum number of open file descriptors.");
	fprintf(f, "process_max_fds %ld\n", p->max_fds);
	family(f, in, "process_start_time_seconds", "gauge", "seconds",
	       "Start time of the process since unix epoch in seconds.");
	fprintf(f, "process_start_time_seconds %.2f\n", p->start_time);
}

/* the exporter's own families */
static void self_families(FILE *f, const struct metrics_in *in)
{
	family(f, in, "memlens_scrape_duration_seconds", "gauge", "seconds", "Time this collection took.");
	fprintf(f, "memlens_scrape_duration_seconds %.6f\n", in->scrape_seconds);
	family(f, in, "memlens_scrape_errors", "counter", NULL, "Collections that failed since the exporter started.");
	fprintf(f, "memlens_scrape_errors_total %llu\n", (unsigned long long)in->scrape_errors);
	family(f, in, "memlens_collections", "counter", NULL,
	       "Collections since the exporter started (parallel scrapes share one).");
	fprintf(f, "memlens_collections_total %llu\n", (unsigned long long)in->collections);
	family(f, in, "memlens_exporter_heap_bytes", "gauge", "bytes",
	       "Heap the exporter holds allocated after this collection (malloc'd and not freed).");
	fprintf(f, "memlens_exporter_heap_bytes %llu\n", in->heap_bytes);
	family(f, in, "memlens_build_info", "gauge", NULL,
	       "The memlens version, the commit it was built from and the kernel it runs on (always 1).");
	fprintf(f, "memlens_build_info{version=\"%d.%d.%d\",", MEMLENS_VERSION_MAJOR, MEMLENS_VERSION_MINOR,
		MEMLENS_VERSION_PATCH);
	label(f, "revision", in->proc && in->proc->revision ? in->proc->revision : "unknown", true);
	label(f, "kernel", in->proc && in->proc->kernel ? in->proc->kernel : "", false);
	fputs("} 1\n", f);
	if (in->proc && in->proc->process)
		process_families(f, in, in->proc);
}

int metrics_write(FILE *f, const struct metrics_in *in)
{
	size_t n = memlens_snapshot__count(in->snap);
	const struct memlens_proc_usage **rows = calloc(n ? n : 1, sizeof(*rows));
	const char **keys = calloc(n ? n : 1, sizeof(*keys));

	if (!rows || !keys) {
		free(rows);
		free(keys);
		return -ENOMEM;
	}
	/* the DMA-BUF figures are the snapshot's own join (memlens__snapshot
	 * with .dmabuf), the buffers in->dmabuf its kept pass */
	for (size_t i = 0; i < n; i++)
		rows[i] = in->rows ? in->rows[i] : memlens_snapshot__get(in->snap, i);
	labels_cut = 0;
	group_families(f, in, rows, keys, n, true);
	group_families(f, in, rows, keys, n, false);
	process_family(f, in, rows, n);
	free(keys);
	free(rows);
	if (in->dmabuf)
		dmabuf_families(f, in);
	system_families(f, in, n);
	if (in->self)
		self_families(f, in);
	if (in->openmetrics)
		fputs("# EOF\n", f);
	return ferror(f) ? -EIO : 0;
}

/* the sanitizers' allocator count, where the build has them */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

unsigned long long cli_heap_bytes(void)
{
	struct mallinfo2 mi;

	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	mi = mallinfo2();
	return (unsigned long long)mi.uordblks + mi.hblkhd;
}

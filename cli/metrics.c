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

/* one process, its DMA-BUF figures merged in */
struct row {
	const struct memlens_proc_usage *u;
	uint64_t v[Q_N];
};

static int cmp_pss(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->v[Q_PSS] > y->v[Q_PSS] ? -1 : x->v[Q_PSS] < y->v[Q_PSS];
}

/* groups: rows sharing a key (the cgroup, or the comm) */
struct grp {
	const struct row *first;	/* its labels */
	size_t n;
	uint64_t v[Q_N];
};

static int cmp_grp_pss(const void *a, const void *b)
{
	const struct grp *x = a, *y = b;

	return x->v[Q_PSS] > y->v[Q_PSS] ? -1 : x->v[Q_PSS] < y->v[Q_PSS];
}

/* more than max groups: the max largest by PSS, the rest summed into one
 * more, whose first is NULL: labelled "(other)" (no cgroup path reads so;
 * a command name may, and is then summed with it by a reader, as any two
 * series of one name are) */
static void cap_groups(struct grp *g, size_t *ng, size_t max)
{
	if (!max || *ng <= max)
		return;
	qsort(g, *ng, sizeof(*g), cmp_grp_pss);
	for (size_t i = max; i < *ng; i++) {
		if (i == max) {
			g[max] = g[i];
			g[max].first = NULL;
			continue;
		}
		g[max].n += g[i].n;
		for (int m = 0; m < Q_N; m++)
			g[max].v[m] += g[i].v[m];
	}
	*ng = max + 1;
}

/* rows summed by key (the cgroup, or the comm): groups in key order */
static struct grp *group(struct row *rows, size_t n, bool by_cgroup, size_t *ng)
{
	const char **keys = malloc((n ? n : 1) * sizeof(*keys));
	size_t *order = NULL, *starts = NULL;
	struct grp *g = NULL;

	*ng = 0;
	for (size_t i = 0; keys && i < n; i++)
		keys[i] = by_cgroup ? (rows[i].u->cgroup ? rows[i].u->cgroup : "") : rows[i].u->comm;
	if (keys && !cli_group(keys, n, &order, &starts, ng))
		g = calloc(*ng ? *ng : 1, sizeof(*g));
	for (size_t k = 0; g && k < *ng; k++) {
		g[k].first = &rows[order[starts[k]]];
		g[k].n = starts[k + 1] - starts[k];
		for (size_t i = starts[k]; i < starts[k + 1]; i++)
			for (int m = 0; m < Q_N; m++)
				g[k].v[m] += rows[order[i]].v[m];
	}
	free(order);
	free(starts);
	free(keys);
	if (!g)
		*ng = 0;
	return g;
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

int metrics_write(FILE *f, const struct metrics_in *in)
{
	size_t n = memlens_snapshot__count(in->snap), ng;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	struct grp *g;
	size_t top;

	if (!rows)
		return -ENOMEM;
	/* the DMA-BUF figures are the snapshot's own join (memlens__snapshot
	 * with .dmabuf), the buffers in->dmabuf its kept pass */
	for (size_t i = 0; i < n; i++) {
		const struct memlens_proc_usage *u = memlens_snapshot__get(in->snap, i);

		rows[i].u = u;
		for (int q = 0; q < Q_N; q++)
			rows[i].v[q] = quantity_get(u, q);
	}

	/* by cgroup (its container and pod as labels) */
	labels_cut = 0;
	g = group(rows, n, true, &ng);
	if (g)
		cap_groups(g, &ng, in->top_groups);
	family(f, in, "memlens_cgroup_memory_bytes", "gauge", "bytes",
	       "Memory of the processes of a cgroup, by type (smaps_rollup; DMA-BUF held by fd or mapping).");
	for (size_t i = 0; g && i < ng; i++)
		for (int k = 0; k < Q_N; k++) {
			if (!quantities[k].summed)
				continue;
			fputs("memlens_cgroup_memory_bytes{", f);
			cgroup_labels(f, g[i].first ? g[i].first->u : NULL, true);
			fprintf(f, ",memtype=\"%s\"} %llu\n", quantities[k].memtype, (unsigned long long)g[i].v[k]);
		}
	family(f, in, "memlens_cgroup_processes", "gauge", NULL, "Processes in a cgroup.");
	for (size_t i = 0; g && i < ng; i++) {
		fputs("memlens_cgroup_processes{", f);
		cgroup_labels(f, g[i].first ? g[i].first->u : NULL, true);
		fprintf(f, "} %zu\n", g[i].n);
	}
	free(g);
	/* by command name */
	g = group(rows, n, false, &ng);
	if (g)
		cap_groups(g, &ng, in->top_groups);
	family(f, in, "memlens_comm_memory_bytes", "gauge", "bytes", "Memory of the processes of a command name, by type.");
	for (size_t i = 0; g && i < ng; i++)
		for (int k = 0; k < Q_N; k++) {
			if (!quantities[k].summed)
				continue;
			fputs("memlens_comm_memory_bytes{", f);
			label(f, "comm", g[i].first ? g[i].first->u->comm : METRICS_OTHER, true);
			fprintf(f, ",memtype=\"%s\"} %llu\n", quantities[k].memtype, (unsigned long long)g[i].v[k]);
		}
	family(f, in, "memlens_comm_processes", "gauge", NULL, "Processes with a command name.");
	for (size_t i = 0; g && i < ng; i++) {
		fputs("memlens_comm_processes{", f);
		label(f, "comm", g[i].first ? g[i].first->u->comm : METRICS_OTHER, true);
		fprintf(f, "} %zu\n", g[i].n);
	}
	free(g);
	/* per process: the top N by PSS, or all */
	qsort(rows, n, sizeof(*rows), cmp_pss);
	top = in->per_process ? n : in->top < n ? in->top : n;
	family(f, in, "memlens_process_memory_bytes", "gauge", "bytes",
	       in->per_process ? "Memory of a process, by type." : "Memory of a process, by type: the top processes by PSS.");
	for (size_t i = 0; i < top; i++)
		for (int k = 0; k < Q_N; k++) {
			fprintf(f, "memlens_process_memory_bytes{pid=\"%d\",", rows[i].u->pid);
			label(f, "comm", rows[i].u->comm, true);
			cgroup_labels(f, rows[i].u, false);
			fprintf(f, ",memtype=\"%s\"} %llu\n", quantities[k].memtype, (unsigned long long)rows[i].v[k]);
		}
	free(rows);
	if (in->dmabuf)
		dmabuf_families(f, in);
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
	family(f, in, "memlens_source_info", "gauge", NULL, "The source each job used in this collection (always 1).");
	fprintf(f, "memlens_source_info{job=\"dmabuf\",source=\"%s\"} 1\n",
		in->dmabuf ? memlens_source__name(memlens_dmabuf__source(in->dmabuf)) : "none");
	family(f, in, "memlens_label_values_truncated", "gauge", NULL,
	       "Label values of this collection cut to " METRICS_LABEL_MAX_S " bytes (marked with a trailing U+2026).");
	fprintf(f, "memlens_label_values_truncated %zu\n", labels_cut);
	if (in->self) {
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
		family(f, in, "memlens_build_info", "gauge", NULL, "The memlens version (always 1).");
		fprintf(f, "memlens_build_info{version=\"%d.%d.%d\"} 1\n", MEMLENS_VERSION_MAJOR, MEMLENS_VERSION_MINOR,
			MEMLENS_VERSION_PATCH);
	}
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

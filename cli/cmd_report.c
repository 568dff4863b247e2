// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens report --html FILE [INPUT]: one self-contained page to look at
 * (report_html.c draws it).  Live, it takes a snapshot (the process list,
 * cgroups, the DMA-BUF pass) and reads each process's smaps: the treemap's
 * leaves are its mappings, grouped by object, sized by Pss; a process's
 * PSS is the sum of its leaves (what smaps_rollup sums, read once).  From
 * a `snapshot -J` file it shows what the document holds: each process
 * whole, the kernel-only buffers; from a stream, the last document and the
 * growth of the top growers over all of them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memlens_cli.h"
#include "diff_doc.h"
#include "proc_view.h"
#include "report.h"

struct report_args {
	const char *html, *input;
	size_t top_maps;	/* mappings named per process, the rest summed per kind */
	bool dmabuf;
	struct proc_filters f;	/* live: --pid, --comm, --user; memlens itself never */
};

static void help(void)
{
	printf("Usage: memlens report --html FILE [INPUT] [options]\n\n"
	       "One self-contained HTML page (no network when viewed): a treemap of memory by\n"
	       "cgroup, process and mapping, sized by PSS and coloured by kind; the DMA-BUF\n"
	       "buffers and their holders; for a stream, the growth of the top growers.\n"
	       "Without INPUT, from this machine now (each process's smaps is read); with\n"
	       "INPUT, from a `snapshot -J` file or `snapshot --watch -J` stream (- for\n"
	       "standard input). FILE - writes to standard output. docs/report.md says how to\n"
	       "read each view.\n\n"
	       "      --html FILE    write the page to FILE\n"
	       "      --top-maps N   mappings named in each process (default 8; the rest\n"
	       "                     summed by kind)\n"
	       "      --no-dmabuf    without the DMA-BUF pass\n"
	       "      --pid LIST     live: only these processes (comma-separated)\n"
	       "      --comm LIST    live: only commands matching these patterns (fnmatch)\n"
	       "      --user LIST    live: only processes of these users (names or uids)\n"
	       "  -v, --verbose      say where the figures came from\n"
	       "  -h, --help         this help\n");
}

static int parse_opts(struct cli *cli, int argc, char **argv, struct report_args *a)
{
	enum { OPT_HTML = 256, OPT_TOP_MAPS, OPT_NO_DMABUF, OPT_PID, OPT_COMM, OPT_USER };
	static const struct option longopts[] = {
		{ "html", required_argument, NULL, OPT_HTML },
		{ "top-maps", required_argument, NULL, OPT_TOP_MAPS },
		{ "no-dmabuf", no_argument, NULL, OPT_NO_DMABUF },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "user", required_argument, NULL, OPT_USER },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_HTML: a->html = optarg; break;
		case OPT_TOP_MAPS:
			errno = 0;
			a->top_maps = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-' || a->top_maps > 1000) {
				cli_err("--top-maps %s: a number up to 1000", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NO_DMABUF: a->dmabuf = false; break;
		case OPT_PID:
		case OPT_COMM:
		case OPT_USER:
			if (proc_filters_parse(&a->f, c == OPT_PID ? PF_PID : c == OPT_COMM ? PF_COMM : PF_USER, optarg))
				return EXIT_USAGE;
			break;
		case 'v': cli->verbose++; break;
		case 'h': help(); return EXIT_OK;
		default: cli_try_help(cli); return EXIT_USAGE;
		}
	}
	if (!a->html) {
		cli_err("report needs --html FILE (the page to write; - for standard output)");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		cli_err("report takes one INPUT (a snapshot -J file or stream), or none for this machine now");
		return EXIT_USAGE;
	}
	a->input = optind < argc ? argv[optind] : NULL;
	if (a->input && proc_filters_any(&a->f)) {
		cli_err("--pid, --comm and --user choose from this machine now: not with INPUT");
		return EXIT_USAGE;
	}
	if (a->input && !strcmp(a->input, "-") && !strcmp(a->html, "-")) {
		cli_err("INPUT and --html cannot both be standard input and output");
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- live: the snapshot, then each process's mappings ---- */

/* a process's mappings of one object: its kind, its name, its Pss */
struct group {
	enum report_kind kind;
	const char *name;	/* the VMA's, in the smaps set */
	uint64_t bytes;
};

static enum report_kind vma_kind(const struct memlens_vma *v)
{
	const char *k = memlens_vma__kind(v);

	if (!strcmp(k, "file") || !strcmp(k, "deleted"))
		return RK_FILE;
	if (!strcmp(k, "memfd") || !strcmp(k, "shm") || !strcmp(k, "sysv"))
		return RK_SHMEM;
	if (!strcmp(k, "dmabuf"))
		return RK_DMABUF;
	return RK_ANON;
}

static int cmp_group_name(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->name, y->name);
}

static int cmp_group_bytes(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->bytes != y->bytes ? (x->bytes > y->bytes ? -1 : 1) : cmp_group_name(a, b);
}

/* p's leaves from its smaps: the top_maps largest objects by name, the rest
 * one leaf per kind; 0, -ENOMEM */
static int leaves_from_smaps(struct report_proc *p, const struct memlens_usage_set *set, size_t top_maps)
{
	static const char *const rest[RK_N] = { "other anonymous", "other files", "other shared memory",
						"other DMA-BUF mappings", "" };
	size_t n = memlens_usage_set__count(set), ng = 0;
	struct group *g = calloc(n ? n : 1, sizeof(*g));
	uint64_t other[RK_N] = { 0 };
	int err = 0;

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct memlens_vma_usage *u = memlens_usage_set__get(set, i);

		g[ng++] = (struct group){ vma_kind(&u->vma), u->vma.name[0] ? u->vma.name : "[anon]",
					  u->kb[MEMLENS_USAGE_PSS] * 1024 };
	}
	/* one group per object: sorted by name, runs summed */
	qsort(g, ng, sizeof(*g), cmp_group_name);
	n = ng;
	ng = 0;
	for (size_t i = 0; i < n; i++) {
		if (ng && !cmp_group_name(&g[ng - 1], &g[i]))
			g[ng - 1].bytes += g[i].bytes;
		else
			g[ng++] = g[i];
	}
	qsort(g, ng, sizeof(*g), cmp_group_bytes);
	for (size_t i = 0; !err && i < ng; i++) {
		char name[4 * 4096 + 1];

		if (!g[i].bytes)
			break;
		if (i >= top_maps) {
			other[g[i].kind] += g[i].bytes;
			continue;
		}
		err = report_add_leaf(p, g[i].kind, cli_escape(g[i].name, name, sizeof(name)), g[i].bytes);
	}
	for (int k = 0; !err && k < RK_N; k++)
		if (other[k])
			err = report_add_leaf(p, (enum report_kind)k, rest[k], other[k]);
	free(g);
	return err;
}

static int gather_live(struct cli *cli, const struct report_args *a, struct report *r)
{
	MEMLENS_OPTS(memlens_snapshot_opts, so, .dmabuf = a->dmabuf, .keep_dmabuf = a->dmabuf, .cgroups = true,
		     .counters_only = true, .owner = a->f.nuids > 0, .pids = a->f.npids ? a->f.pids : NULL,
		     .npids = a->f.npids);
	struct proc_order order = { .by = BY_PID };
	struct proc_view v = { 0 };
	struct memlens_snapshot *s = NULL;
	size_t exited = 0, cgcap = 0;
	char *cg = NULL;
	int err = memlens__snapshot(cli->ml, &so, &s);

	if (err) {
		cli_err("snapshot failed: %s", strerror(-err));
		return -EIO;
	}
	err = report_set_meta(r, s, "memlens report", "this machine, live: each process's smaps");
	if (!err)
		err = proc_view_select(&v, s, &a->f, &order);
	r->unread = v.nunr;
	for (size_t i = 0; !err && i < v.shown; i++) {
		const struct memlens_proc_usage *u = v.rows[i];
		struct memlens_usage_set *set = NULL;
		struct memlens_proc *proc;
		struct report_proc *p;

		proc = memlens__proc_open(cli->ml, u->pid, NULL);
		err = proc ? memlens_proc__smaps(proc, &set) : -errno;
		memlens_proc__close(proc);
		if (err == -ESRCH || err == -ENOENT) {
			exited++;	/* gone since the snapshot */
			err = 0;
			continue;
		}
		if (err) {
			r->unread++;	/* denied, or stalled */
			err = 0;
			continue;
		}
		p = report_add_proc(r, u->pid, CLI_SAFE(u->comm), report_esc(u->cgroup ? u->cgroup : "", &cg, &cgcap));
		err = p ? leaves_from_smaps(p, set, a->top_maps) : -ENOMEM;
		if (!err && u->dmabuf_pss)
			err = report_add_leaf(p, RK_DMABUF, "DMA-BUF buffers", u->dmabuf_pss);
		memlens_usage_set__free(set);
	}
	if (!err && a->dmabuf && memlens_snapshot__dmabuf(s)) {
		r->has_dmabuf = true;
		err = report_add_dmabuf(r, memlens_snapshot__dmabuf(s));
	}
	if (cli->verbose)
		cli_err("report: %zu processes, %zu exited during it, %zu unreadable; DMA-BUF: %s", r->nproc, exited,
			r->unread, r->has_dmabuf ? memlens_source__name(memlens_snapshot__dmabuf_source(s)) : "none");
	proc_view_free(&v);
	memlens_snapshot__free(s);
	free(cg);
	return err;
}

/* ---- from documents ---- */

static int gather_docs(const struct report_args *a, struct report *r)
{
	struct doc *d = NULL;
	size_t n = 0;
	int err = doc_read_stream(a->input, &d, &n);

	if (!err)
		err = report_from_docs(r, d, n);
	for (size_t i = 0; i < n; i++)
		doc_free(&d[i]);
	free(d);
	return err;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	struct report_args a = { .top_maps = 8, .dmabuf = true, .f.self = getpid() };
	struct report r = { 0 };
	FILE *f = NULL;
	int rc = parse_opts(cli, argc, argv, &a), err;

	if (rc >= 0) {
		proc_filters_free(&a.f);
		return rc;
	}
	err = a.input ? gather_docs(&a, &r) : gather_live(cli, &a, &r);
	if (!err) {
		f = strcmp(a.html, "-") ? fopen(a.html, "we") : stdout;
		if (!f) {
			err = -errno;
			cli_err("%s: %s", a.html, strerror(errno));
		}
	}
	if (!err) {
		err = report_html(&r, f);
		if ((f != stdout ? fclose(f) : fflush(f)) && !err)
			err = -EIO;
		if (err)
			cli_err("%s: %s", a.html, strerror(-err));
	}
	report_free(&r);
	proc_filters_free(&a.f);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens maps: one VMA per row. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

static struct colinfo cols[OUT_MAX_COLS];
static size_t ncols;

static void help(bool smaps, bool pages);

/* exactly show_map_vma()'s layout, so the output diffs against /proc/<pid>/maps */
static void print_proc_maps(const struct memlens_vma *v)
{
	char perms[5];
	int n;

	n = printf("%08llx-%08llx %s %08llx %02x:%02x %llu ", (unsigned long long)v->start,
		   (unsigned long long)v->end, memlens_vma__perms(v, perms), (unsigned long long)v->offset,
		   v->dev_major, v->dev_minor, (unsigned long long)v->inode);
	if (v->name[0])
		printf("%*s%s", n < 73 ? 73 - n : 0, "", v->name);
	putchar('\n');
}

static int render(struct cli *cli, const struct memlens_vma_set *set, bool build_ids, bool all, bool proc_maps)
{
	char defaults[128], doc[160];
	struct out o;
	int err;

	if (proc_maps) {
		for (size_t i = 0; i < memlens_vma_set__count(set); i++)
			print_proc_maps(memlens_vma_set__get(set, i));
		return 0;
	}
	snprintf(defaults, sizeof(defaults), "%sSTART,END,PERMS,OFFSET,DEV,INODE,NAME%s", all ? "PID," : "",
		 build_ids ? ",BUILDID" : "");
	/* a document says whose rows they are, and how they were read */
	snprintf(doc, sizeof(doc), "%s,PID,SIZE,PAGESIZE,SOURCE", defaults);
	ncols = vma_columns(cols, NULL, 0);
	err = out_init_doc(&o, cli, "maps", cols, ncols, defaults, doc);
	for (size_t i = 0; !err && i < memlens_vma_set__count(set); i++)
		vma_columns_fill(cli, &o, out_line(&o), memlens_vma_set__get(set, i), memlens_vma_set__source(set));
	if (!err)
		err = out_print(&o);
	out_free(&o);
	return err;
}

/* --smaps: pmap -X's columns, the smaps keys as column names, sizes as every size */
enum { S_SIZE = VCOL_NCOLS, S_FIELD0, S_THP = S_FIELD0 + __MEMLENS_USAGE_MAX, S_VMFLAGS, S_NCOLS };

/* the VMA columns, then --smaps': Size, the smaps keys, THPeligible, VmFlags */
static size_t smaps_columns(void)
{
	static struct colinfo extra[S_NCOLS - VCOL_NCOLS];

	extra[S_SIZE - VCOL_NCOLS] = (struct colinfo){ "Size", 6, 0, OUT_NUM, "END - START" };
	for (int f = 0; f < __MEMLENS_USAGE_MAX; f++)
		extra[S_FIELD0 + f - VCOL_NCOLS] = (struct colinfo){ memlens_usage_field__name(f), 6, 0, OUT_NUM,
								     "as smaps (bytes with -b and in JSON)" };
	extra[S_THP - VCOL_NCOLS] = (struct colinfo){ "THPeligible", 2, 0, OUT_NUM, "THP eligible (1/0)" };
	extra[S_VMFLAGS - VCOL_NCOLS] = (struct colinfo){ "VmFlags", 20, 0, OUT_TEXT, "VmFlags" };
	return vma_columns(cols, extra, S_NCOLS - VCOL_NCOLS);
}

static int render_smaps(struct cli *cli, const struct memlens_usage_set *set, const char *defaults)
{
	uint64_t total[__MEMLENS_USAGE_MAX + 1] = { 0 }, present = 0;	/* bytes; [MAX]: Size */
	struct out o;
	int err;

	ncols = smaps_columns();
	err = out_init(&o, cli, "smaps", cols, ncols, defaults);
	for (size_t i = 0; !err && i < memlens_usage_set__count(set); i++) {
		const struct memlens_vma_usage *u = memlens_usage_set__get(set, i);
		struct out_row *ln = out_line(&o);

		vma_columns_fill(cli, &o, ln, &u->vma, MEMLENS_SOURCE_AUTO);
		out_set_size(&o, ln, S_SIZE, u->vma.end - u->vma.start);
		total[__MEMLENS_USAGE_MAX] += u->vma.end - u->vma.start;
		present |= u->present;
		for (int f = 0; f < __MEMLENS_USAGE_MAX; f++)
			if (u->present & (1ULL << f)) {
				out_set_size(&o, ln, S_FIELD0 + f, u->kb[f] * 1024);
				total[f] += u->kb[f] * 1024;
			}
		if (u->thp_eligible >= 0)
			out_set(&o, ln, S_THP, "%d", u->thp_eligible);
		out_set(&o, ln, S_VMFLAGS, "%s", u->vm_flags);
	}
	/* pmap -X's totals: for people a TOTAL row (labelled in START or NAME
	 * when shown), in JSON the document's "total" (the smaps keys, bytes) */
	if (!err) {
		static const int labels[] = { VCOL_START, VCOL_NAME };
		struct out_row *t = out_total(&o, labels, 2, "total");

		out_set_size(&o, t, S_SIZE, total[__MEMLENS_USAGE_MAX]);
		out_set_size(&o, t, VCOL_SIZE, total[__MEMLENS_USAGE_MAX]);
		for (int f = 0; f < __MEMLENS_USAGE_MAX; f++)
			if (present & (1ULL << f))
				out_set_size(&o, t, S_FIELD0 + f, total[f]);
		err = out_print(&o);
	}
	out_free(&o);
	return err;
}

enum { P_START, P_END, P_SIZE, P_PRESENT, P_SWAPPED, P_FILE, P_HUGE, P_NAME, P_NCOLS };
static const struct colinfo pcols[] = {
	[P_START] = { "START", 14, 0, OUT_TEXT, "range start (hex)" },
	[P_END] = { "END", 14, 0, OUT_TEXT, "range end (hex)" },
	[P_SIZE] = { "SIZE", 8, 0, OUT_NUM, "END - START" },
	[P_PRESENT] = { "PRESENT", 3, 0, OUT_BOOL, "in RAM" },
	[P_SWAPPED] = { "SWAPPED", 3, 0, OUT_BOOL, "in swap" },
	[P_FILE] = { "FILE", 3, 0, OUT_BOOL, "file page or shared anonymous" },
	[P_HUGE] = { "HUGE", 7, 0, OUT_TEXT, "thp, hugetlb, no, or unknown" },
	[P_NAME] = { "NAME", 0.3, OUT_FL_NOEXTREMES, OUT_TEXT, "the VMA's name (ranges are cut at VMA edges)" },
};

static int pages(struct cli *cli, struct memlens_proc *proc, const char *src_name)
{
	MEMLENS_OPTS(memlens_pages_opts, po);
	struct memlens_pages *pg = NULL;
	struct memlens_vma_set *vmas = NULL;
	struct out o;
	int err;

	if (src_name && memlens_source__parse(MEMLENS_JOB_PAGES, src_name, &po.source)) {
		char names[128];

		cli_err("unknown pages source '%s' (%s)", src_name, cli_job_sources(MEMLENS_JOB_PAGES, ", ", names, sizeof(names)));
		return EXIT_USAGE;
	}
	err = memlens_proc__pages(proc, &po, &pg);
	if (err) {
		if (err == -EOPNOTSUPP)
			cli_err("pages source %s unavailable: %s", src_name, memlens__source_reason(cli->ml, po.source));
		else
			cli_err_pid(cli, memlens_proc__pid(proc), err);
		return EXIT_RUNTIME;
	}
	if (memlens_pages__source(pg) == MEMLENS_SOURCE_SMAPS || !memlens_pages__knows_huge(pg) || cli->verbose)
		cli_err("pages from %s: %s", memlens_source__name(memlens_pages__source(pg)), memlens_pages__reason(pg));
	if (memlens_pages__source(pg) == MEMLENS_SOURCE_SMAPS) {
		struct memlens_usage_set *set = NULL;

		memlens_pages__free(pg);
		if (memlens_proc__smaps(proc, &set))
			return EXIT_RUNTIME;
		err = render_smaps(cli, set, "START,END,Rss,Swap,AnonHugePages,Private_Hugetlb,Shared_Hugetlb,NAME");
		memlens_usage_set__free(set);
		return err ? EXIT_RUNTIME : EXIT_OK;
	}
	err = out_init(&o, cli, "pages", pcols, P_NCOLS, "START,END,SIZE,PRESENT,SWAPPED,FILE,HUGE,NAME");
	if (!err && out_has(&o, P_NAME)) {
		/* the VMAs after the ranges: a VMA gone since has no name here */
		MEMLENS_OPTS(memlens_maps_opts, mo);

		if (memlens_proc__maps(proc, &mo, &vmas))
			vmas = NULL;
	}
	for (size_t i = 0, vi = 0; !err && i < memlens_pages__count(pg); i++) {
		const struct memlens_page_range *r = memlens_pages__get(pg, i);
		uint64_t start = r->start, end = r->end;
		const struct memlens_vma *v = NULL;
		struct out_row *ln;

	next_piece:
		/* the VMA that holds start, and the range cut at its end */
		while (vi < memlens_vma_set__count(vmas) && memlens_vma_set__get(vmas, vi)->end <= start)
			vi++;
		v = vi < memlens_vma_set__count(vmas) ? memlens_vma_set__get(vmas, vi) : NULL;
		if (v && v->start > start)
			v = NULL;
		end = v && v->end < r->end ? v->end : r->end;
		ln = out_line(&o);
		out_set(&o, ln, P_START, "0x%llx", (unsigned long long)start);
		out_set(&o, ln, P_END, "0x%llx", (unsigned long long)end);
		out_set_size(&o, ln, P_SIZE, end - start);
		out_set(&o, ln, P_NAME, "%s", v ? v->name : "");
		out_set(&o, ln, P_PRESENT, "%s", r->flags & MEMLENS_PAGE_PRESENT ? "yes" : "no");
		out_set(&o, ln, P_SWAPPED, "%s", r->flags & MEMLENS_PAGE_SWAPPED ? "yes" : "no");
		out_set(&o, ln, P_FILE, "%s", r->flags & MEMLENS_PAGE_FILE ? "yes" : "no");
		out_set(&o, ln, P_HUGE, "%s", !memlens_pages__knows_huge(pg) ? "unknown" : r->flags & MEMLENS_PAGE_THP ? "thp" :
					       r->flags & MEMLENS_PAGE_HUGETLB ? "hugetlb" : "no");
		if (end < r->end) {
			start = end;
			goto next_piece;
		}
	}
	memlens_vma_set__free(vmas);
	if (!err)
		err = out_print(&o);
	out_free(&o);
	memlens_pages__free(pg);
	return err ? EXIT_RUNTIME : EXIT_OK;
}

struct maps_args {
	bool build_ids, all, proc_maps, smaps, pages;
	const char *pages_src;
	pid_t pid;
};

/* options and the PID: -1 go on, else the exit code (--help, a usage error said) */
static int parse_opts(struct cli *cli, int argc, char **argv, struct maps_args *a)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "build-id", no_argument, NULL, 'B' },
		{ "all", no_argument, NULL, 'a' },
		{ "proc-maps", no_argument, NULL, 'm' },
		{ "smaps", no_argument, NULL, 'X' },
		{ "pages", no_argument, NULL, 'P' },
		{ "pages-source", required_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "BamXP", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': a->build_ids = true; break;
		case 'a': a->all = true; break;
		case 'm': a->proc_maps = true; break;
		case 'X': a->smaps = true; break;
		case 'P': a->pages = true; break;
		case 'Q': a->pages_src = optarg; a->pages = true; break;
		case 'h': help(a->smaps, a->pages); return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_WALK, c, optarg))
				return EXIT_USAGE;
		}
	}
	if ((a->smaps && a->pages) || (a->all && (a->smaps || a->pages)) ||
	    (a->proc_maps && (a->smaps || a->pages || cli_document(cli)))) {
		cli_err("choose one view: --smaps, --pages, --proc-maps (not with -J), or --all");
		return EXIT_USAGE;
	}
	if (a->all ? optind != argc : optind + 1 != argc) {
		cli_err(a->all ? "maps --all takes no PID" : "maps needs one PID (or 'self')");
		return EXIT_USAGE;
	}
	if (!a->all && cli_parse_pid(argv[optind], &a->pid)) {
		cli_err("'%s': not a pid", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* --smaps: pmap -X */
static int smaps_view(struct cli *cli, struct memlens_proc *proc)
{
	struct memlens_usage_set *us = NULL;
	int err = memlens_proc__smaps(proc, &us), rc;

	if (err) {
		cli_err_pid(cli, memlens_proc__pid(proc), err);
		return EXIT_RUNTIME;
	}
	err = render_smaps(cli, us, "START,PERMS,Size,Rss,Pss,Pss_Dirty,Shared_Clean,Shared_Dirty,"
				    "Private_Clean,Private_Dirty,Anonymous,AnonHugePages,Swap,SwapPss,"
				    "Locked,THPeligible,NAME");
	rc = err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
	memlens_usage_set__free(us);
	return rc;
}

/* --all: every process's VMAs; NULL (said) on failure */
static struct memlens_vma_set *walk_all(struct cli *cli, const struct maps_args *a)
{
	MEMLENS_OPTS(memlens_maps_all_opts, aopts, .source = cli->source, .build_ids = a->build_ids);
	struct memlens_vma_set *set = NULL;
	int err = memlens__maps_all(cli->ml, &aopts, &set);

	if (err == -EOPNOTSUPP || err == -EINVAL)
		cli_err_open(cli, 0, err);
	else if (err)
		cli_err("cannot walk all processes: %s", strerror(-err));
	else
		cli_say_skipped(cli, set);
	return err ? NULL : set;
}

/* one process's VMAs (or its --smaps or --pages view, rendered: *rc) */
static struct memlens_vma_set *walk_one(struct cli *cli, const struct maps_args *a, struct memlens_proc **proc, int *rc)
{
	MEMLENS_OPTS(memlens_proc_opts, popts, .source = cli->source);
	MEMLENS_OPTS(memlens_maps_opts, mopts, .build_ids = a->build_ids);
	struct memlens_vma_set *set = NULL;
	int err;

	*rc = EXIT_RUNTIME;
	*proc = memlens__proc_open(cli->ml, a->pid, &popts);
	if (!*proc) {
		cli_err_open(cli, a->pid, -errno);
		return NULL;
	}
	if (a->smaps || a->pages) {
		*rc = a->pages ? pages(cli, *proc, a->pages_src) : smaps_view(cli, *proc);
		return NULL;
	}
	err = memlens_proc__maps(*proc, &mopts, &set);
	if (err)
		cli_err_pid(cli, memlens_proc__pid(*proc), err);
	return err ? NULL : set;
}

int cmd_maps(struct cli *cli, int argc, char **argv)
{
	struct maps_args a = { 0 };
	struct memlens_vma_set *set;
	struct memlens_proc *proc = NULL;
	int err, rc = parse_opts(cli, argc, argv, &a);

	if (rc >= 0)
		return rc;
	rc = EXIT_RUNTIME;
	set = a.all ? walk_all(cli, &a) : walk_one(cli, &a, &proc, &rc);
	if (set) {
		if (cli->verbose)
			cli_say_source(cli, memlens_vma_set__source(set), a.all ? MEMLENS_JOB_WALK_ALL : MEMLENS_JOB_WALK,
				       memlens_vma_set__count(set));
		err = render(cli, set, a.build_ids, a.all, a.proc_maps);
		rc = err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
	}
	memlens_vma_set__free(set);
	memlens_proc__close(proc);
	return rc;
}

static void help(bool smaps, bool pages)
{
	char names[96];

	printf("Usage: memlens maps PID|self [options]\n"
	       "       memlens maps --all [options]\n\n"
	       "The process's mappings, one VMA per row.\n\n"
	       "  -B, --build-id    add ELF build IDs of file-backed mappings\n"
	       "  -a, --all         every process (one BPF pass where allowed)\n"
	       "  -m, --proc-maps   print in /proc/<pid>/maps format\n"
	       "  -X, --smaps       smaps fields per VMA (pmap -X), with a TOTAL row\n"
	       "  -P, --pages       present / swapped / huge (thp or hugetlb) ranges\n"
	       "      --pages-source %s\n",
	       cli_job_sources(MEMLENS_JOB_PAGES, "|", names, sizeof(names)));
	cli_help_common(MEMLENS_JOB_WALK);
	if (pages) {
		out_help_columns(stdout, pcols, P_NCOLS);
		return;
	}
	ncols = smaps ? smaps_columns() : vma_columns(cols, NULL, 0);
	out_help_columns(stdout, cols, ncols);
	if (!smaps)
		printf("(--smaps --help and --pages --help: the columns of those views)\n");
}

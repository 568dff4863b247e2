// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens diff OLD NEW: what grew between two `memlens snapshot -J` documents
 * (leak hunting).  Processes are matched by pid and comm (a pid reused by
 * another command is one process gone and one new); each row carries the new
 * figures and the deltas, largest PSS growth first; the kernel-only DMA-BUF
 * buffers that appeared or went follow.  The files are read with json-c and
 * checked member by member: a document that is not a per-process snapshot is
 * refused with one line, never half-used.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "diff_doc.h"

/* PID, COMM, CHANGE, then each summed quantity (quantity.h): its figure
 * now, and after them all its change, as QUANTITY_DELTA */
enum { D_PID, D_COMM, D_CHANGE, D_Q0 };
static struct colinfo cols[D_Q0 + 2 * Q_N];
static int qcol[Q_N], qdcol[Q_N];	/* a quantity's two columns, -1 if it has none */
static size_t ncols;

static void diff_columns(void)
{
	static char names[Q_N][40], helps[Q_N][2][96];
	size_t n = D_Q0;

	cols[D_PID] = (struct colinfo){ "PID", 6, 0, OUT_NUM, "process id" };
	cols[D_COMM] = (struct colinfo){ "COMM", 12, 0, OUT_TEXT, "command name" };
	cols[D_CHANGE] = (struct colinfo){ "CHANGE", 6, 0, OUT_TEXT, "new, gone, grew, shrank or same (by PSS)" };
	for (int q = 0; q < Q_N; q++)
		qcol[q] = qdcol[q] = -1;
	for (int pass = 0; pass < 2; pass++)
		for (int q = 0; q < Q_N; q++) {
			if (!quantities[q].summed)
				continue;
			snprintf(names[q], sizeof(names[q]), "%s_DELTA", quantities[q].col);
			snprintf(helps[q][pass], sizeof(helps[q][pass]), pass ? "%s: its change (new: all of it)" : "%s now (gone: then)",
				 quantities[q].col);
			cols[n] = (struct colinfo){ pass ? names[q] : quantities[q].col, 8, 0, OUT_NUM,
						    helps[q][pass] };
			*(pass ? &qdcol[q] : &qcol[q]) = (int)n++;
		}
	ncols = n;
}

enum { K_INODE, K_SIZE, K_EXPORTER, K_NAME, K_CHANGE, K_NCOLS };
static const struct colinfo kcols[] = {
	[K_INODE] = { "INODE", 8, 0, OUT_NUM, "buffer inode" },
	[K_SIZE] = { "SIZE", 8, 0, OUT_NUM, "buffer size" },
	[K_EXPORTER] = { "EXPORTER", 8, 0, OUT_TEXT, "exporter" },
	[K_NAME] = { "NAME", 10, 0, OUT_TEXT, "buffer name" },
	[K_CHANGE] = { "CHANGE", 4, 0, OUT_TEXT, "new or gone" },
};

/* the summed quantities' JSON keys, between sep */
static const char *sort_keys(const char *sep, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int q = 0; q < Q_N && o < len; q++)
		if (quantities[q].summed)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? sep : "", quantities[q].key);
	return buf;
}

static void help(void)
{
	char keys[256];

	printf("Usage: memlens diff OLD NEW [options]\n"
	       "       memlens diff STREAM [options]\n\n"
	       "What changed between two `memlens snapshot -J` files (- for standard input),\n"
	       "or between the first and the last document of one `snapshot --watch -J` file:\n"
	       "per process, the figures in NEW and their change, largest PSS growth first;\n"
	       "processes new and gone (matched by pid and comm); the kernel-only DMA-BUF\n"
	       "buffers that appeared or went. Documents of different boots are refused, and\n"
	       "a stream's out of time order.\n\n"
	       "  -a, --all         also the processes that did not change\n"
	       "  -x, --sort FIELD  order by this delta: %s\n"
	       "      --top N       only the first N rows\n", sort_keys(", ", keys, sizeof(keys)));
	cli_help_common(-1);
	out_help_columns(stdout, cols, ncols);
}

/* what the options ask for */
/* the options into *q: -1 to go on, else the exit code */
static int parse_opts(struct cli *cli, int argc, char **argv, struct diff_req *q)
{
	enum { OPT_TOP = 256 };
	static const struct option longopts[] = {
		OUTPUT_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "sort", required_argument, NULL, 'x' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ NULL, 0, NULL, 0 },
	};
	char *end, keys[256];
	int c;

	while ((c = getopt_long(argc, argv, OUTPUT_SHORTOPTS "ax:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': q->all = true; break;
		case 'x':
			q->sort_f = -1;
			for (int k = 0; k < Q_N; k++) {
				size_t kl = strlen(quantities[k].key);

				/* the key, or its delta's column name (pss, PSS_DELTA) */
				if (quantities[k].summed && !strncasecmp(optarg, quantities[k].key, kl) &&
				    (!optarg[kl] || !strcasecmp(optarg + kl, "_delta")))
					q->sort_f = k;
			}
			if (q->sort_f < 0) {
				cli_err("--sort %s: %s", optarg, sort_keys(", ", keys, sizeof(keys)));
				return EXIT_USAGE;
			}
			break;
		case OPT_TOP:
			errno = 0;
			q->top = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || !q->top || optarg[0] == '-') {
				cli_err("--top %s: a positive number", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': help(); return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_DMABUF, c, optarg))
				return EXIT_USAGE;
		}
	}
	if (optind + 2 != argc && optind + 1 != argc) {
		cli_err("diff needs two files, OLD NEW (memlens snapshot -J), or one stream (snapshot --watch -J)");
		return EXIT_USAGE;
	}
	if (optind + 2 == argc && !strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-")) {
		cli_err("only one of OLD and NEW can be standard input");
		return EXIT_USAGE;
	}
	return -1;
}

/* both sorted by (pid, comm): one merge into r, the rows to show sorted */
/* the processes' table */
static int proc_table(struct cli *cli, const struct diff_res *r, struct out *o)
{
	int err = out_init(o, cli, "diff", cols, ncols, "PID,COMM,CHANGE,PSS,PSS_DELTA,RSS_DELTA,SWAP_DELTA,DMABUF_PSS_DELTA");

	o->escaped = true;	/* names come from memlens' JSON: escaped once already */
	for (size_t i = 0; !err && i < r->nr; i++) {
		const struct row *w = &r->rows[i];
		const struct proc *p = w->new ? w->new : w->old;
		struct out_row *ln = out_line(o);

		out_set(o, ln, D_PID, "%d", p->pid);
		out_set(o, ln, D_COMM, "%s", p->comm);
		out_set(o, ln, D_CHANGE, "%s", !w->old ? "new" : !w->new ? "gone" :
					       w->d[Q_PSS] > 0 ? "grew" : w->d[Q_PSS] < 0 ? "shrank" : "same");
		for (int k = 0; k < Q_N; k++) {
			if (qcol[k] < 0)
				continue;
			out_set_size(o, ln, qcol[k], (uint64_t)p->v[k]);
			out_set_delta(o, ln, qdcol[k], w->d[k]);
		}
	}
	return err;
}

/* the kernel-only buffers that appeared or went, into ko */
static int konly_table(struct cli *cli, const struct diff_res *r, struct out *ko)
{
	/* -o names the process table's columns; this one keeps its own */
	struct cli kcli = *cli;
	int err;

	kcli.columns = NULL;
	err = out_init(ko, &kcli, "kernel_only", kcols, K_NCOLS, "INODE,SIZE,EXPORTER,NAME,CHANGE");
	ko->escaped = true;
	for (size_t i = 0; !err && i < r->nk; i++) {
		const struct kbuf *k = r->kchanges[i].k;
		struct out_row *ln = out_line(ko);

		out_set(ko, ln, K_INODE, "%llu", (unsigned long long)k->ino);
		out_set_size(ko, ln, K_SIZE, k->size);
		out_set(ko, ln, K_EXPORTER, "%s", k->exporter);
		out_set(ko, ln, K_NAME, "%s", k->name);
		out_set(ko, ln, K_CHANGE, "%s", r->kchanges[i].gone ? "gone" : "new");
	}
	return err;
}

/* what the members of diff's document are made from */
struct members {
	const struct doc *a, *b;
	const struct diff_res *r;
	struct out *ko;	/* the kernel-only table; NULL: not in both snapshots */
};

/* the members after the rows' array in JSON: kernel_only and summary */
static void summary_json(struct jw *w, void *ctx)
{
	const struct members *m = ctx;

	if (m->ko)
		out_json_rows(w, "kernel_only", m->ko);
	else
		jw_null(w, "kernel_only");
	jw_object(w, "summary", true);
	jw_u64(w, "new", m->r->nnew);
	jw_u64(w, "gone", m->r->ngone);
	jw_i64(w, "mem_available_delta", m->a->mem_available >= 0 && m->b->mem_available >= 0 ?
						 m->b->mem_available - m->a->mem_available : 0);
	jw_object(w, "total_delta", true);
	for (int k = 0; k < Q_N; k++)
		if (quantities[k].summed)
			jw_i64(w, quantities[k].key, m->r->tot[k]);
	jw_end(w);
	jw_end(w);
}

/* the table's footer line, for people */
static void footer(struct cli *cli, const struct doc *a, const struct doc *b, const struct diff_res *r, struct out *o)
{
	char pss[40], av[40];

	cli_delta(r->tot[Q_PSS], cli->bytes, pss, sizeof(pss));
	if (a->mem_available >= 0 && b->mem_available >= 0)
		out_footer(o, "processes: %zu new, %zu gone  PSS: %s  MemAvailable: %s", r->nnew, r->ngone, pss,
			   cli_delta(b->mem_available - a->mem_available, cli->bytes, av, sizeof(av)));
	else
		out_footer(o, "processes: %zu new, %zu gone  PSS: %s", r->nnew, r->ngone, pss);
}

/* the rendered answer: JSON one document, a table its two tables and footer */
static int render(struct cli *cli, const struct doc *a, const struct doc *b, const struct diff_res *r)
{
	struct out o = { 0 }, ko = { 0 };	/* out_free() of one never made is a no-op */
	bool konly = a->has_konly && b->has_konly;
	struct members m = { a, b, r, konly ? &ko : NULL };
	int err = proc_table(cli, r, &o);

	if (!err && konly)
		err = konly_table(cli, r, &ko);
	if (!err) {
		/* for people, the footer comes after both tables */
		footer(cli, a, b, r, konly && r->nk ? &ko : &o);
		err = out_print_doc(&o, summary_json, &m);
	}
	if (!err && konly)
		err = out_print_section(&ko, "kernel-only DMA-BUF buffers");
	out_free(&ko);
	out_free(&o);
	return err;
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	struct diff_req q = { .sort_f = Q_PSS };
	struct diff_res r = { 0 };
	struct doc a = { 0 }, b = { 0 };
	int rc, err;

	diff_columns();
	rc = parse_opts(cli, argc, argv, &q);
	if (rc >= 0)
		return rc;
	if (optind + 1 == argc) {
		/* a stream: its first document against its last */
		struct doc *v = NULL;
		size_t n = 0;

		err = doc_read_stream(argv[optind], &v, &n);
		if (!err && n < 2) {
			cli_err("%s: one document: a stream to diff holds two or more (snapshot --watch -J)",
				argv[optind]);
			err = -EBADMSG;
		}
		if (!err) {
			a = v[0];
			b = v[n - 1];
			memset(&v[0], 0, sizeof(v[0]));
			memset(&v[n - 1], 0, sizeof(v[n - 1]));
		}
		for (size_t i = 0; i < n; i++)
			doc_free(&v[i]);
		free(v);
	} else {
		err = doc_read(argv[optind], &a);
		if (!err)
			err = doc_read(argv[optind + 1], &b);
		if (!err && !doc_same_boot(&a, &b)) {
			/* a pid, a start time and the boot clock name another machine's life */
			cli_err("%s and %s are of different boots (boot_id %s, %s): nothing in them compares",
				argv[optind], argv[optind + 1], a.boot_id, b.boot_id);
			err = -EBADMSG;
		}
	}
	if (!err)
		err = diff_merge(&a, &b, &q, &r);
	if (!err)
		err = render(cli, &a, &b, &r);
	diff_res_free(&r);
	doc_free(&a);
	doc_free(&b);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

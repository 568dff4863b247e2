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

/* PID, COMM, CHANGE, GREW_IN, then each summed quantity (quantity.h): its
 * figure now, after them all its change (QUANTITY_DELTA), then its change
 * per second (QUANTITY_RATE) */
enum { D_PID, D_COMM, D_CHANGE, D_GREW, D_Q0 };
static struct colinfo cols[D_Q0 + 3 * Q_N];
static int qcol[Q_N][3];	/* a quantity's columns: now, delta, rate; -1 if it has none */
static size_t ncols;

static void diff_columns(void)
{
	static const char *const suffix[3] = { "", "_DELTA", "_RATE" };
	static const char *const what[3] = { " now (gone: then)", ": its change (new: all of it)",
					     ": its change per second, over the documents' times" };
	static char names[3][Q_N][40], helps[3][Q_N][96];
	size_t n = D_Q0;

	cols[D_PID] = (struct colinfo){ "PID", 6, 0, OUT_NUM, "process id" };
	cols[D_COMM] = (struct colinfo){ "COMM", 12, 0, OUT_TEXT, "command name" };
	cols[D_CHANGE] = (struct colinfo){ "CHANGE", 6, 0, OUT_TEXT, "new, gone, grew, shrank or same (by PSS)" };
	cols[D_GREW] = (struct colinfo){ "GREW_IN", 4, 0, OUT_NUM,
					 "the stream's intervals its PSS grew in (a stream, or --grew-in)" };
	for (int pass = 0; pass < 3; pass++)
		for (int q = 0; q < Q_N; q++) {
			qcol[q][pass] = -1;
			if (!quantities[q].summed)
				continue;
			snprintf(names[pass][q], sizeof(names[pass][q]), "%s%s", quantities[q].col, suffix[pass]);
			snprintf(helps[pass][q], sizeof(helps[pass][q]), "%s%s", quantities[q].col, what[pass]);
			cols[n] = (struct colinfo){ names[pass][q], 8, 0, OUT_NUM, helps[pass][q] };
			qcol[q][pass] = (int)n++;
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

/* how the answer is shown: the change per second, one table an interval */
struct view {
	bool rate, every;
};

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
	       "      --top N       only the first N rows\n"
	       "      --rate        the changes per second, over the documents' times\n"
	       "      --every       one table for each interval of the stream, not first\n"
	       "                    against last (-J: one document each)\n"
	       "      --grew-in N   only the processes whose PSS grew in N or more of the\n"
	       "                    stream's intervals: a steady leak, not one spike\n",
	       sort_keys(", ", keys, sizeof(keys)));
	cli_help_common(-1);
	out_help_columns(stdout, cols, ncols);
}

/* a positive count, for --top and --grew-in: 0 if optarg is not one (said) */
static size_t positive(const char *opt, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || !v || arg[0] == '-') {
		cli_err("%s %s: a positive number", opt, arg);
		return 0;
	}
	return v;
}

/* the options into *q and *v: -1 to go on, else the exit code */
static int parse_opts(struct cli *cli, int argc, char **argv, struct diff_req *q, struct view *v)
{
	enum { OPT_TOP = 256, OPT_RATE, OPT_EVERY, OPT_GREW_IN };
	static const struct option longopts[] = {
		OUTPUT_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "sort", required_argument, NULL, 'x' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "rate", no_argument, NULL, OPT_RATE },
		{ "every", no_argument, NULL, OPT_EVERY },
		{ "grew-in", required_argument, NULL, OPT_GREW_IN },
		{ NULL, 0, NULL, 0 },
	};
	char keys[256];
	int c;

	while ((c = getopt_long(argc, argv, OUTPUT_SHORTOPTS "ax:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': q->all = true; break;
		case 'x':
			q->sort_f = -1;
			for (int k = 0; k < Q_N; k++) {
				size_t kl = strlen(quantities[k].key);

				/* the key, or its delta's or rate's column name (pss, PSS_DELTA) */
				if (quantities[k].summed && !strncasecmp(optarg, quantities[k].key, kl) &&
				    (!optarg[kl] || !strcasecmp(optarg + kl, "_delta") || !strcasecmp(optarg + kl, "_rate")))
					q->sort_f = k;
			}
			if (q->sort_f < 0) {
				cli_err("--sort %s: %s", optarg, sort_keys(", ", keys, sizeof(keys)));
				return EXIT_USAGE;
			}
			break;
		case OPT_TOP:
			if (!(q->top = positive("--top", optarg)))
				return EXIT_USAGE;
			break;
		case OPT_GREW_IN:
			if (!(q->grew_in = positive("--grew-in", optarg)))
				return EXIT_USAGE;
			break;
		case OPT_RATE: v->rate = true; break;
		case OPT_EVERY: v->every = true; break;
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

/* the default columns: the deltas, or the rates; GREW_IN where it filters */
static const char *defaults(const struct diff_req *q, const struct view *v, char *buf, size_t len)
{
	snprintf(buf, len, "PID,COMM,CHANGE,%sPSS,%s", q->grew_in ? "GREW_IN," : "",
		 v->rate ? "PSS_RATE,RSS_RATE,SWAP_RATE,DMABUF_PSS_RATE" : "PSS_DELTA,RSS_DELTA,SWAP_DELTA,DMABUF_PSS_DELTA");
	return buf;
}

/* a change per second: bytes in JSON and CSV, else +1.5M/s */
static void set_rate(struct out *o, struct out_row *ln, int id, int64_t d, double seconds)
{
	double per = (double)d / seconds;
	long long v = per >= 9.2e18 ? INT64_MAX : per <= -9.2e18 ? INT64_MIN : (long long)(per + (per < 0 ? -0.5 : 0.5));
	char buf[40];

	if (o->json || o->csv)
		out_set(o, ln, id, "%lld", v);
	else
		out_set(o, ln, id, "%s/s", cli_delta(v, o->bytes, buf, sizeof(buf)));
}

/* the processes' table */
static int proc_table(struct cli *cli, const struct diff_req *q, const struct view *v, const struct diff_res *r,
		      struct out *o)
{
	char def[160];
	int err = out_init(o, cli, "diff", cols, ncols, defaults(q, v, def, sizeof(def)));

	o->escaped = true;	/* names come from memlens' JSON: escaped once already */
	for (size_t i = 0; !err && i < r->nr; i++) {
		const struct row *w = &r->rows[i];
		const struct proc *p = w->new ? w->new : w->old;
		struct out_row *ln = out_line(o);

		out_set(o, ln, D_PID, "%d", p->pid);
		out_set(o, ln, D_COMM, "%s", p->comm);
		out_set(o, ln, D_CHANGE, "%s", !w->old ? "new" : !w->new ? "gone" :
					       w->d[Q_PSS] > 0 ? "grew" : w->d[Q_PSS] < 0 ? "shrank" : "same");
		if (w->grew >= 0)
			out_set(o, ln, D_GREW, "%lld", (long long)w->grew);
		for (int k = 0; k < Q_N; k++) {
			if (qcol[k][0] < 0)
				continue;
			out_set_size(o, ln, qcol[k][0], (uint64_t)p->v[k]);
			out_set_delta(o, ln, qcol[k][1], w->d[k]);
			if (r->seconds > 0)
				set_rate(o, ln, qcol[k][2], w->d[k], r->seconds);
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
	char secs[32];

	if (m->ko)
		out_json_rows(w, "kernel_only", m->ko);
	else
		jw_null(w, "kernel_only");
	jw_object(w, "summary", true);
	jw_text(w, "from", m->a->time[0] ? m->a->time : NULL);
	jw_text(w, "to", m->b->time[0] ? m->b->time : NULL);
	snprintf(secs, sizeof(secs), "%.3f", m->r->seconds);
	jw_number(w, "seconds", m->r->seconds >= 0 ? secs : NULL);
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
	char pss[40], av[40] = "", secs[40] = "";

	cli_delta(r->tot[Q_PSS], cli->bytes, pss, sizeof(pss));
	if (a->mem_available >= 0 && b->mem_available >= 0) {
		memcpy(av, "  MemAvailable: ", 17);
		cli_delta(b->mem_available - a->mem_available, cli->bytes, av + 16, sizeof(av) - 16);
	}
	if (r->seconds >= 0)
		snprintf(secs, sizeof(secs), "  in %.1f s", r->seconds);
	out_footer(o, "processes: %zu new, %zu gone  PSS: %s%s%s", r->nnew, r->ngone, pss, av, secs);
}

/* one interval's answer: JSON one document, a table its two tables and
 * footer (with --every under a heading naming the interval: docs i and j) */
static int render(struct cli *cli, const struct view *v, const struct doc *a, const struct doc *b, size_t i,
		  size_t j, const struct diff_req *q, const struct diff_res *r)
{
	struct out o = { 0 }, ko = { 0 };	/* out_free() of one never made is a no-op */
	bool konly = a->has_konly && b->has_konly;
	struct members m = { a, b, r, konly ? &ko : NULL };
	int err = proc_table(cli, q, v, r, &o);

	if (!err && konly)
		err = konly_table(cli, r, &ko);
	if (!err && v->every)
		out_heading(&o, "document %zu%s%s%s to document %zu%s%s%s:", i + 1, a->time[0] ? " (" : "", a->time,
			    a->time[0] ? ")" : "", j + 1, b->time[0] ? " (" : "", b->time, b->time[0] ? ")" : "");
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

/* the documents to compare into *docs: a stream's, or OLD and NEW */
static int read_docs(int argc, char **argv, struct doc **docs, size_t *n)
{
	const char *path = argv[optind];
	int err;

	if (optind + 1 == argc) {
		err = doc_read_stream(path, docs, n);
		if (!err && *n < 2) {
			cli_err("%s: one document: a stream to diff holds two or more (snapshot --watch -J)", path);
			err = -EBADMSG;
		}
		return err;
	}
	*docs = calloc(2, sizeof(**docs));
	if (!*docs)
		return -ENOMEM;
	*n = 2;
	err = doc_read(path, &(*docs)[0]);
	if (!err)
		err = doc_read(argv[optind + 1], &(*docs)[1]);
	if (!err && !doc_same_boot(&(*docs)[0], &(*docs)[1])) {
		/* a pid, a start time and the boot clock name another machine's life */
		cli_err("%s and %s are of different boots (boot_id %s, %s): nothing in them compares", path,
			argv[optind + 1], (*docs)[0].boot_id, (*docs)[1].boot_id);
		err = -EBADMSG;
	}
	return err;
}

/* document i, as a message names it: OLD and NEW by their files, a stream's by number */
static const char *doc_name(int argc, char **argv, size_t i, char *buf, size_t len)
{
	if (optind + 2 == argc)
		return argv[optind + i];
	snprintf(buf, len, "document %zu", i + 1);
	return buf;
}

/* what --rate and --grew-in need of the n documents: 0, or -EINVAL (said) */
static int check_docs(const struct diff_req *q, const struct view *v, const struct doc *d, size_t n, int argc,
		      char **argv)
{
	char b0[32], b1[32];

	if (q->grew_in > n - 1) {
		cli_err("--grew-in %zu: %s hold%s %zu interval%s", q->grew_in,
			optind + 2 == argc ? "two files" : argv[optind], optind + 2 == argc ? "" : "s", n - 1,
			n == 2 ? "" : "s");
		return -EINVAL;
	}
	for (size_t i = 0; v->rate && i < n; i++) {
		size_t h = v->every && i ? i - 1 : 0;	/* the document before it, in the intervals shown */

		if (d[i].uptime < 0) {
			cli_err("--rate: %s has no uptime (written by a memlens before 0.7)",
				doc_name(argc, argv, i, b1, sizeof(b1)));
			return -EINVAL;
		}
		if (i && (v->every || i == n - 1) && d[i].uptime <= d[h].uptime) {
			cli_err("--rate: %s and %s were taken at one time", doc_name(argc, argv, h, b0, sizeof(b0)),
				doc_name(argc, argv, i, b1, sizeof(b1)));
			return -EINVAL;
		}
	}
	return 0;
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	struct diff_req q = { .sort_f = Q_PSS };
	struct view v = { 0 };
	struct doc *d = NULL;
	size_t n = 0;
	int rc, err;

	diff_columns();
	rc = parse_opts(cli, argc, argv, &q, &v);
	if (rc >= 0)
		return rc;
	err = read_docs(argc, argv, &d, &n);
	if (!err)
		err = check_docs(&q, &v, d, n, argc, argv);
	q.stream = d;
	q.nstream = n;
	/* first against last, or each against the next */
	for (size_t i = 0; !err && i + 1 < n; i = v.every ? i + 1 : n) {
		size_t j = v.every ? i + 1 : n - 1;
		struct diff_res r = { 0 };

		err = diff_merge(&d[i], &d[j], &q, &r);
		if (!err)
			err = render(cli, &v, &d[i], &d[j], i, j, &q, &r);
		diff_res_free(&r);
	}
	for (size_t i = 0; i < n; i++)
		doc_free(&d[i]);
	free(d);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

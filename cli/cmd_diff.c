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

enum { D_PID, D_COMM, D_CHANGE, D_RSS, D_PSS, D_USS, D_SWAP, D_DMABUF_RSS, D_DMABUF_PSS, D_RSS_D, D_PSS_D, D_USS_D,
       D_SWAP_D, D_DMABUF_RSS_D, D_DMABUF_PSS_D, D_NCOLS };

static const struct colinfo cols[] = {
	[D_PID] = { "PID", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "process id" },
	[D_COMM] = { "COMM", 12, 0, SCOLS_JSON_STRING, "command name" },
	[D_CHANGE] = { "CHANGE", 6, 0, SCOLS_JSON_STRING, "new, gone, grew, shrank or same (by PSS)" },
	[D_RSS] = { "RSS", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "RSS now (gone: then)" },
	[D_PSS] = { "PSS", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "PSS now (gone: then)" },
	[D_USS] = { "USS", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "USS now (gone: then)" },
	[D_SWAP] = { "SWAP", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "swap now (gone: then)" },
	[D_DMABUF_RSS] = { "DMABUF_RSS", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF held now (gone: then)" },
	[D_DMABUF_PSS] = { "DMABUF_PSS", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF PSS now (gone: then)" },
	[D_RSS_D] = { "RSS_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "RSS change (new: all of it)" },
	[D_PSS_D] = { "PSS_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "PSS change" },
	[D_USS_D] = { "USS_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "USS change" },
	[D_SWAP_D] = { "SWAP_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "swap change" },
	[D_DMABUF_RSS_D] = { "DMABUF_RSS_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF held, change" },
	[D_DMABUF_PSS_D] = { "DMABUF_PSS_DELTA", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF PSS change" },
};

enum { K_INODE, K_SIZE, K_EXPORTER, K_NAME, K_CHANGE, K_NCOLS };
static const struct colinfo kcols[] = {
	[K_INODE] = { "INODE", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "buffer inode" },
	[K_SIZE] = { "SIZE", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "buffer size" },
	[K_EXPORTER] = { "EXPORTER", 8, 0, SCOLS_JSON_STRING, "exporter" },
	[K_NAME] = { "NAME", 10, 0, SCOLS_JSON_STRING, "buffer name" },
	[K_CHANGE] = { "CHANGE", 4, 0, SCOLS_JSON_STRING, "new or gone" },
};

struct row {
	const struct proc *old, *new;
	int64_t d[F_N];
};

static int sort_f = F_PSS;

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->d[sort_f] != y->d[sort_f])
		return x->d[sort_f] > y->d[sort_f] ? -1 : 1;	/* the most growth first */
	return diff_cmp_proc(x->new ? x->new : x->old, y->new ? y->new : y->old);
}

/* a signed size: +1.5M, -4K, 0B (+1536 with -b; a number in JSON) */
static void set_delta(struct out *o, struct libscols_line *ln, int id, int64_t v, bool json)
{
	char buf[40];

	if (json)
		out_set(o, ln, id, "%lld", (long long)v);
	else
		out_set(o, ln, id, "%s", cli_delta(v, o->bytes, buf, sizeof(buf)));
}

static void help(void)
{
	printf("Usage: memlens diff OLD NEW [options]\n\n"
	       "What changed between two `memlens snapshot -J` files (- for standard input):\n"
	       "per process, the figures in NEW and their change, largest PSS growth first;\n"
	       "processes new and gone (matched by pid and comm); the kernel-only DMA-BUF\n"
	       "buffers that appeared or went.\n\n"
	       "  -a, --all         also the processes that did not change\n"
	       "  -x, --sort FIELD  order by this delta: rss, pss, uss, swap, dmabuf_rss, dmabuf_pss\n"
	       "      --top N       only the first N rows\n");
	cli_help_common(-1);
	out_help_columns(stdout, cols, D_NCOLS);
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	enum { OPT_TOP = 256 };
	static const struct option longopts[] = {
		OUTPUT_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "sort", required_argument, NULL, 'x' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ NULL, 0, NULL, 0 },
	};
	struct doc a = { 0 }, b = { 0 };
	struct row *rows = NULL;
	size_t nr = 0, top = 0, nnew = 0, ngone = 0, i, j;
	int64_t tot[F_N] = { 0 };
	bool all = false, json;
	struct out o, ko;
	char *end, *kjson = NULL;
	int c, err;

	sort_f = F_PSS;
	while ((c = getopt_long(argc, argv, OUTPUT_SHORTOPTS "ax:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'x':
			sort_f = -1;
			for (int k = 0; k < F_N; k++)
				if (!strcasecmp(optarg, fkeys[k]) || !strncasecmp(optarg, fkeys[k], strlen(fkeys[k])))
					sort_f = k;
			if (sort_f < 0) {
				cli_err("--sort %s: rss, pss, uss, swap, dmabuf_rss or dmabuf_pss", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_TOP:
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || !top || optarg[0] == '-') {
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
	json = cli->mode == OUT_JSON;
	if (optind + 2 != argc) {
		cli_err("diff needs two files: OLD NEW (memlens snapshot -J)");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-")) {
		cli_err("only one of OLD and NEW can be standard input");
		return EXIT_USAGE;
	}
	err = doc_read(argv[optind], &a);
	if (!err)
		err = doc_read(argv[optind + 1], &b);
	if (err)
		goto out;
	rows = calloc(a.n + b.n + 1, sizeof(*rows));
	if (!rows) {
		err = -ENOMEM;
		goto out;
	}
	/* both sorted by (pid, comm): one merge */
	for (i = 0, j = 0; i < a.n || j < b.n;) {
		int cmp = i == a.n ? 1 : j == b.n ? -1 : diff_cmp_proc(&a.p[i], &b.p[j]);
		struct row *r = &rows[nr];
		bool changed;

		r->old = cmp <= 0 ? &a.p[i++] : NULL;
		r->new = cmp >= 0 ? &b.p[j++] : NULL;
		changed = !r->old || !r->new;
		for (int k = 0; k < F_N; k++) {
			r->d[k] = (r->new ? r->new->v[k] : 0) - (r->old ? r->old->v[k] : 0);
			changed |= r->d[k] != 0;
			/* saturated: 2^63-1 bytes in a row is anyone's to write */
			if (__builtin_add_overflow(tot[k], r->d[k], &tot[k]))
				tot[k] = r->d[k] < 0 ? INT64_MIN : INT64_MAX;
		}
		nnew += !r->old;
		ngone += !r->new;
		if (changed || all)
			nr++;
	}
	qsort(rows, nr, sizeof(*rows), cmp_row);
	if (top && nr > top)
		nr = top;
	err = out_init(&o, cli, "diff", cols, D_NCOLS, "PID,COMM,CHANGE,PSS,PSS_DELTA,RSS_DELTA,SWAP_DELTA,DMABUF_PSS_DELTA");
	o.escaped = true;	/* names come from memlens' JSON: escaped once already */
	for (size_t r = 0; !err && r < nr; r++) {
		const struct proc *p = rows[r].new ? rows[r].new : rows[r].old;
		struct libscols_line *ln = out_line(&o);

		out_set(&o, ln, D_PID, "%d", p->pid);
		out_set(&o, ln, D_COMM, "%s", p->comm);
		out_set(&o, ln, D_CHANGE, "%s", !rows[r].old ? "new" : !rows[r].new ? "gone" :
						rows[r].d[F_PSS] > 0 ? "grew" : rows[r].d[F_PSS] < 0 ? "shrank" : "same");
		for (int k = 0; k < F_N; k++) {
			out_set_size(&o, ln, D_RSS + k, (uint64_t)p->v[k]);
			set_delta(&o, ln, D_RSS_D + k, rows[r].d[k], json || cli->mode == OUT_CSV);
		}
	}
	/* the kernel-only buffers that appeared or went */
	if (!err && a.has_konly && b.has_konly) {
		/* -o names the process table's columns; this one keeps its own */
		struct cli kcli = *cli;
		size_t nk = 0;

		kcli.columns = NULL;
		err = out_init(&ko, &kcli, "kernel_only", kcols, K_NCOLS, "INODE,SIZE,EXPORTER,NAME,CHANGE");
		ko.escaped = true;
		for (i = 0, j = 0; !err && (i < a.nk || j < b.nk);) {
			int cmp = i == a.nk ? 1 : j == b.nk ? -1 : diff_cmp_kbuf(&a.k[i], &b.k[j]);
			const struct kbuf *k = cmp < 0 ? &a.k[i] : &b.k[j];
			struct libscols_line *ln;

			if (cmp == 0) {
				i++, j++;
				continue;
			}
			cmp < 0 ? i++ : j++;
			ln = out_line(&ko);
			nk++;
			out_set(&ko, ln, K_INODE, "%llu", (unsigned long long)k->ino);
			out_set_size(&ko, ln, K_SIZE, k->size);
			out_set(&ko, ln, K_EXPORTER, "%s", k->exporter);
			out_set(&ko, ln, K_NAME, "%s", k->name);
			out_set(&ko, ln, K_CHANGE, "%s", cmp < 0 ? "gone" : "new");
		}
		if (!err && json) {
			/* its rows, as an array member of diff's document */
			char *s = NULL;

			err = scols_print_table_to_string(ko.tb, &s);
			if (!err && s) {
				char *lb = strchr(s, '['), *rb = strrchr(s, ']');

				if (lb && rb && rb > lb) {
					rb[1] = 0;
					kjson = strdup(lb);
				}
			}
			free(s);
			if (!kjson && !err)
				kjson = strdup("[]");
		} else if (!err && nk && cli->mode == OUT_TABLE) {
			err = out_print(&o);
			if (!err) {
				printf("\nkernel-only DMA-BUF buffers:\n");
				err = scols_print_table(ko.tb);
			}
			out_free(&ko);
			goto footer;
		}
		out_free(&ko);
	}
	if (!err && json) {
		char *more = NULL;

		if (asprintf(&more, "   \"kernel_only\": %s,\n   \"summary\": {\"new\": %zu, \"gone\": %zu, \"mem_available_delta\": %lld, "
			     "\"total_delta\": {\"rss\": %lld, \"pss\": %lld, \"uss\": %lld, \"swap\": %lld, \"dmabuf_rss\": %lld, "
			     "\"dmabuf_pss\": %lld}}", kjson ? kjson : "null", nnew, ngone,
			     (long long)(a.mem_available >= 0 && b.mem_available >= 0 ? b.mem_available - a.mem_available : 0),
			     (long long)tot[F_RSS], (long long)tot[F_PSS], (long long)tot[F_USS], (long long)tot[F_SWAP],
			     (long long)tot[F_DMABUF_RSS], (long long)tot[F_DMABUF_PSS]) < 0)
			err = -ENOMEM;
		else
			err = out_print_with(&o, more);
		free(more);
		out_free(&o);
		goto out;
	}
	if (!err)
		err = out_print(&o);
footer:
	out_free(&o);
	if (!err && cli->mode == OUT_TABLE && !cli->no_headings) {
		char buf[40];

		printf("processes: %zu new, %zu gone  PSS: %s", nnew, ngone, cli_delta(tot[F_PSS], cli->bytes, buf, sizeof(buf)));
		if (a.mem_available >= 0 && b.mem_available >= 0)
			printf("  MemAvailable: %s", cli_delta(b.mem_available - a.mem_available, cli->bytes, buf, sizeof(buf)));
		putchar('\n');
	}
out:
	free(kjson);
	free(rows);
	doc_free(&a);
	doc_free(&b);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

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
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

#define DIFF_FILE_MAX (256 << 20)

enum { F_RSS, F_PSS, F_USS, F_SWAP, F_DMABUF_RSS, F_DMABUF_PSS, F_N };
static const char *const fkeys[F_N] = { "rss", "pss", "uss", "swap", "dmabuf_rss", "dmabuf_pss" };

struct proc {
	int32_t pid;
	char *comm;
	int64_t v[F_N];
};

struct kbuf {
	uint64_t ino, size;
	char *exporter, *name;
};

struct doc {
	struct proc *p;
	size_t n;
	struct kbuf *k;
	size_t nk;
	bool has_konly;
	int64_t mem_available;
};

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

static void doc_free(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->p[i].comm);
	for (size_t i = 0; i < d->nk; i++) {
		free(d->k[i].exporter);
		free(d->k[i].name);
	}
	free(d->p);
	free(d->k);
	memset(d, 0, sizeof(*d));
}

/* a non-negative integer member, or def when absent; -1 if present and not one */
static int64_t num(json_object *o, const char *key, int64_t def)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return def;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return -1;
	return json_object_get_int64(v);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->pid != y->pid ? (x->pid < y->pid ? -1 : 1) : strcmp(x->comm, y->comm);
}

static int cmp_kbuf(const void *a, const void *b)
{
	const struct kbuf *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* 0, or -EBADMSG (not a snapshot) or the file's errno, the reason said */
static int doc_read(const char *path, struct doc *d)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	json_tokener *tok = NULL;
	json_object *root = NULL, *rows, *sum, *konly;
	char buf[65536];
	size_t total = 0, nr;
	int err = -EBADMSG;

	memset(d, 0, sizeof(*d));
	if (!f) {
		err = -errno;
		cli_err("%s: %s", path, strerror(errno));
		return err;
	}
	tok = json_tokener_new();
	/* the first document of the file (snapshot --watch -J writes a stream) */
	while (tok && !root && (nr = fread(buf, 1, sizeof(buf), f)) > 0) {
		size_t off = 0;

		total += nr;
		if (total > DIFF_FILE_MAX) {
			cli_err("%s: larger than %d MiB: not a snapshot", path, DIFF_FILE_MAX >> 20);
			goto out;
		}
		while (!root && off < nr) {
			root = json_tokener_parse_ex(tok, buf + off, (int)(nr - off));
			if (!root && json_tokener_get_error(tok) != json_tokener_continue) {
				cli_err("%s: not JSON: %s", path, json_tokener_error_desc(json_tokener_get_error(tok)));
				goto out;
			}
			off = nr;
		}
	}
	if (!root) {
		cli_err("%s: %s", path, ferror(f) ? strerror(errno) : "no JSON document in it");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "snapshot", &rows) ||
	    !json_object_is_type(rows, json_type_array)) {
		cli_err("%s: not a document of memlens snapshot -J", path);
		goto out;
	}
	d->n = json_object_array_length(rows);
	d->p = calloc(d->n ? d->n : 1, sizeof(*d->p));
	if (!d->p) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		int64_t pid = json_object_is_type(r, json_type_object) ? num(r, "pid", -1) : -1;
		const char *comm = pid > 0 ? str(r, "comm") : NULL;

		if (pid <= 0 || pid > INT32_MAX || !comm) {
			cli_err("%s: row %zu has no pid and comm: per-process snapshots only (not --group-by; "
				"-o must keep PID and COMM)", path, i + 1);
			d->n = i;
			goto out;
		}
		d->p[i].pid = (int32_t)pid;
		d->p[i].comm = strdup(comm);
		for (int k = 0; k < F_N; k++) {
			d->p[i].v[k] = num(r, fkeys[k], 0);
			if (d->p[i].v[k] < 0) {
				cli_err("%s: row %zu: %s is not a byte count", path, i + 1, fkeys[k]);
				d->n = i + 1;
				goto out;
			}
		}
		if (!d->p[i].comm) {
			d->n = i + 1;
			err = -ENOMEM;
			goto out;
		}
	}
	qsort(d->p, d->n, sizeof(*d->p), cmp_proc);
	for (size_t i = 1; i < d->n; i++)
		if (d->p[i].pid == d->p[i - 1].pid && !strcmp(d->p[i].comm, d->p[i - 1].comm)) {
			cli_err("%s: pid %d twice", path, d->p[i].pid);
			goto out;
		}
	d->mem_available = -1;
	if (json_object_object_get_ex(root, "summary", &sum) && json_object_is_type(sum, json_type_object)) {
		d->mem_available = num(sum, "mem_available", -1);
		if (json_object_object_get_ex(sum, "dmabuf_kernel_only", &konly) && json_object_is_type(konly, json_type_array)) {
			d->nk = json_object_array_length(konly);
			d->k = calloc(d->nk ? d->nk : 1, sizeof(*d->k));
			if (!d->k) {
				d->nk = 0;
				err = -ENOMEM;
				goto out;
			}
			d->has_konly = true;
			for (size_t i = 0; i < d->nk; i++) {
				json_object *b = json_object_array_get_idx(konly, i);
				int64_t ino = json_object_is_type(b, json_type_object) ? num(b, "inode", -1) : -1;
				int64_t size = ino >= 0 ? num(b, "size", -1) : -1;
				const char *e = str(b, "exporter"), *nm = str(b, "name");

				if (ino < 0 || size < 0) {
					cli_err("%s: dmabuf_kernel_only[%zu] has no inode and size", path, i);
					goto out;
				}
				d->k[i] = (struct kbuf){ (uint64_t)ino, (uint64_t)size, strdup(e ? e : ""), strdup(nm ? nm : "") };
				if (!d->k[i].exporter || !d->k[i].name) {
					err = -ENOMEM;
					goto out;
				}
			}
			qsort(d->k, d->nk, sizeof(*d->k), cmp_kbuf);
		}
	}
	err = 0;
out:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (f != stdin)
		fclose(f);
	if (err)
		doc_free(d);
	return err;
}

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
	return cmp_proc(x->new ? x->new : x->old, y->new ? y->new : y->old);
}

/* a signed size: +1.5M, -4K, 0B (+1536 with -b; a number in JSON) */
static void set_delta(struct out *o, struct libscols_line *ln, int id, int64_t v, bool json)
{
	char buf[40];
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (json)
		out_set(o, ln, id, "%lld", (long long)v);
	else if (o->bytes)
		out_set(o, ln, id, "%s%llu", v > 0 ? "+" : v < 0 ? "-" : "", (unsigned long long)mag);
	else
		out_set(o, ln, id, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", cli_human_size(mag, buf, sizeof(buf)));
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
	cli_help_common(false);
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
		int cmp = i == a.n ? 1 : j == b.n ? -1 : cmp_proc(&a.p[i], &b.p[j]);
		struct row *r = &rows[nr];
		bool changed;

		r->old = cmp <= 0 ? &a.p[i++] : NULL;
		r->new = cmp >= 0 ? &b.p[j++] : NULL;
		changed = !r->old || !r->new;
		for (int k = 0; k < F_N; k++) {
			r->d[k] = (r->new ? r->new->v[k] : 0) - (r->old ? r->old->v[k] : 0);
			changed |= r->d[k] != 0;
			tot[k] += r->d[k];
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
			set_delta(&o, ln, D_RSS_D + k, rows[r].d[k], json);
		}
	}
	/* the kernel-only buffers that appeared or went */
	if (!err && a.has_konly && b.has_konly) {
		size_t nk = 0;

		err = out_init(&ko, cli, "kernel_only", kcols, K_NCOLS, "INODE,SIZE,EXPORTER,NAME,CHANGE");
		ko.escaped = true;
		for (i = 0, j = 0; !err && (i < a.nk || j < b.nk);) {
			int cmp = i == a.nk ? 1 : j == b.nk ? -1 : cmp_kbuf(&a.k[i], &b.k[j]);
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
		char pss[40], av[40];
		int64_t dav = b.mem_available - a.mem_available;
		uint64_t m = tot[F_PSS] < 0 ? (uint64_t)0 - (uint64_t)tot[F_PSS] : (uint64_t)tot[F_PSS];
		uint64_t mav = dav < 0 ? (uint64_t)0 - (uint64_t)dav : (uint64_t)dav;

		if (cli->bytes) {
			snprintf(pss, sizeof(pss), "%llu", (unsigned long long)m);
			snprintf(av, sizeof(av), "%llu", (unsigned long long)mav);
		} else {
			cli_human_size(m, pss, sizeof(pss));
			cli_human_size(mav, av, sizeof(av));
		}
		printf("processes: %zu new, %zu gone  PSS: %s%s", nnew, ngone, tot[F_PSS] < 0 ? "-" : tot[F_PSS] > 0 ? "+" : "", pss);
		if (a.mem_available >= 0 && b.mem_available >= 0)
			printf("  MemAvailable: %s%s", dav < 0 ? "-" : dav > 0 ? "+" : "", av);
		putchar('\n');
	}
out:
	free(kjson);
	free(rows);
	doc_free(&a);
	doc_free(&b);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

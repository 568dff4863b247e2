// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens diff's input, read with json-c: nothing in it is trusted. */
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "diff_doc.h"


void doc_free(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->p[i].comm);
		free(d->p[i].cgroup);
	}
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

int diff_cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->pid != y->pid ? (x->pid < y->pid ? -1 : 1) : strcmp(x->comm, y->comm);
}

int diff_cmp_kbuf(const void *a, const void *b)
{
	const struct kbuf *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* one row of the snapshot array into d->p[i]: 0, -EBADMSG (said), -ENOMEM */
static int row_from_json(json_object *r, const char *path, size_t i, struct proc *p)
{
	int64_t pid = json_object_is_type(r, json_type_object) ? num(r, "pid", -1) : -1;
	const char *comm = pid > 0 ? str(r, "comm") : NULL;

	if (pid <= 0 || pid > INT32_MAX || !comm) {
		cli_err("%s: row %zu has no pid and comm: per-process snapshots only (not --group-by; "
			"-o must keep PID and COMM)", path, i + 1);
		return -EBADMSG;
	}
	p->pid = (int32_t)pid;
	for (int k = 0; k < Q_N; k++) {
		p->v[k] = num(r, quantities[k].key, 0);
		if (p->v[k] < 0) {
			cli_err("%s: row %zu: %s is not a byte count", path, i + 1, quantities[k].key);
			return -EBADMSG;
		}
	}
	p->comm = strdup(comm);
	if (str(r, "cgroup") && !(p->cgroup = strdup(str(r, "cgroup"))))
		return -ENOMEM;
	return p->comm ? 0 : -ENOMEM;
}

/* the summary member into *d: 0, -EBADMSG (said), -ENOMEM */
static int summary_from_json(json_object *sum, const char *path, struct doc *d)
{
	json_object *konly, *up;
	const char *id;

	if (!json_object_is_type(sum, json_type_object))
		return 0;
	d->mem_available = num(sum, "mem_available", -1);
	if ((id = str(sum, "boot_id")))
		snprintf(d->boot_id, sizeof(d->boot_id), "%s", id);
	if ((id = str(sum, "hostname")))
		snprintf(d->hostname, sizeof(d->hostname), "%s", id);
	/* the time is shown again: only the characters of RFC 3339 */
	if ((id = str(sum, "time")) && strlen(id) < sizeof(d->time) && !id[strspn(id, "0123456789-:.TZ+")])
		snprintf(d->time, sizeof(d->time), "%s", id);
	if (json_object_object_get_ex(sum, "uptime", &up) &&
	    (json_object_is_type(up, json_type_double) || json_object_is_type(up, json_type_int)) &&
	    json_object_get_double(up) >= 0)
		d->uptime = json_object_get_double(up);
	if (!json_object_object_get_ex(sum, "dmabuf_kernel_only", &konly) || !json_object_is_type(konly, json_type_array))
		return 0;
	d->nk = json_object_array_length(konly);
	d->k = calloc(d->nk ? d->nk : 1, sizeof(*d->k));
	if (!d->k) {
		d->nk = 0;
		return -ENOMEM;
	}
	d->has_konly = true;
	for (size_t i = 0; i < d->nk; i++) {
		json_object *b = json_object_array_get_idx(konly, i);
		int64_t ino = json_object_is_type(b, json_type_object) ? num(b, "inode", -1) : -1;
		int64_t size = ino >= 0 ? num(b, "size", -1) : -1;
		const char *e = str(b, "exporter"), *nm = str(b, "name");

		if (ino < 0 || size < 0) {
			cli_err("%s: dmabuf_kernel_only[%zu] has no inode and size", path, i);
			d->nk = i;
			return -EBADMSG;
		}
		d->k[i] = (struct kbuf){ (uint64_t)ino, (uint64_t)size, strdup(e ? e : ""), strdup(nm ? nm : "") };
		if (!d->k[i].exporter || !d->k[i].name) {
			d->nk = i + 1;
			return -ENOMEM;
		}
	}
	qsort(d->k, d->nk, sizeof(*d->k), diff_cmp_kbuf);
	return 0;
}

/*
 * The document is not parsed into one json-c tree: a tree costs ten to
 * three hundred times its text (a 24 MB snapshot of 100,000 processes took
 * 339 MB, 32 MiB of tiny rows 1.7 GB).  This scanner only finds where each
 * value of the top object, and each row of its "snapshot" array, starts and
 * ends; json-c parses (and checks) one row at a time.  Memory: the text,
 * plus a struct proc per row.
 */
static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* the end of the JSON value at p (its extent only; json-c checks it), or NULL */
static const char *value_end(const char *p, const char *e)
{
	size_t depth = 0;

	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (!depth)
				return NULL;
			depth--;
			p++;
		} else if (!depth && (*p == ',' || *p == ':')) {
			return NULL;
		} else {
			/* a scalar: up to a delimiter */
			while (p < e && !strchr(",:{}[]\" \t\r\n", *p))
				p++;
			if (!depth)
				return p;
			if (p < e && strchr(" \t\r\n,:", *p))
				p++;
		}
	} while (depth);
	return p;
}

/* the JSON text [p, q) parsed alone (a row, the summary), or NULL */
static json_object *parse_piece(json_tokener *tok, const char *p, const char *q)
{
	json_object *o;

	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, p, (int)(q - p));
	if (o && tok->char_offset != (int)(q - p)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* one row of the rows' array into d: 0, or a negative errno (said) */
static int add_row(json_tokener *tok, const char *p, const char *q, const char *path, struct doc *d, size_t *cap)
{
	json_object *r = parse_piece(tok, p, q);
	struct proc *slot;
	int err;

	if (!r) {
		cli_err("%s: row %zu: not JSON", path, d->n + 1);
		return -EBADMSG;
	}
	if (d->n >= DIFF_ROWS_MAX) {
		json_object_put(r);
		cli_err("%s: more than %d rows: more processes than a kernel has pids", path, DIFF_ROWS_MAX);
		return -EBADMSG;
	}
	if (d->n == *cap) {
		struct proc *np = realloc(d->p, (*cap = *cap ? 2 * *cap : 1024) * sizeof(*np));

		if (!np) {
			json_object_put(r);
			return -ENOMEM;
		}
		d->p = np;
	}
	slot = &d->p[d->n++];
	memset(slot, 0, sizeof(*slot));
	err = row_from_json(r, path, d->n - 1, slot);
	json_object_put(r);
	return err;
}

/* the rows' array at *pp ([ ... ]), one row at a time: 0 (*pp past it),
 * 1 cut short, 2 not the layout (both unsaid), or a negative errno (said) */
static int scan_rows(json_tokener *tok, const char **pp, const char *e, const char *path, struct doc *d)
{
	const char *p = ws(*pp + 1, e), *q;
	size_t cap = 0;

	while (p < e && *p != ']') {
		int err;

		q = value_end(p, e);
		if (!q) {
			cli_err("%s: row %zu: not JSON", path, d->n + 1);
			return -EBADMSG;
		}
		err = add_row(tok, p, q, path, d, &cap);
		if (err)
			return err;
		p = ws(q, e);
		if (p < e && *p == ',')
			p = ws(p + 1, e);
		else if (p >= e || *p != ']')
			return p >= e ? 1 : 2;
	}
	if (p >= e)
		return 1;
	*pp = p + 1;
	return 0;
}

/* the rows by pid and comm, each once: 0 or -EBADMSG (said) */
static int check_rows(const char *path, struct doc *d)
{
	if (d->n)	/* no row: no array */
		qsort(d->p, d->n, sizeof(*d->p), diff_cmp_proc);
	for (size_t i = 1; i < d->n; i++)
		if (d->p[i].pid == d->p[i - 1].pid && !strcmp(d->p[i].comm, d->p[i - 1].comm)) {
			cli_err("%s: pid %d twice", path, d->p[i].pid);
			return -EBADMSG;
		}
	return 0;
}

/* the summary member's value, p to q: 0, 2 not JSON (unsaid), or a negative errno (said) */
static int scan_summary(json_tokener *tok, const char *p, const char *q, const char *path, struct doc *d)
{
	json_object *sum = parse_piece(tok, p, q);
	int err;

	if (!sum)
		return 2;
	err = summary_from_json(sum, path, d);
	json_object_put(sum);
	return err;
}

static int doc_scan(json_tokener *tok, const char *buf, size_t len, const char *path, struct doc *d,
		    const char **end)
{
	const char *e = buf + len, *p = ws(buf, e), *q;
	bool rows_seen = false;
	int err;

	d->mem_available = -1;
	d->uptime = -1;
	if (p >= e || *p != '{')
		goto bad;
	p = ws(p + 1, e);
	while (p < e && *p != '}') {
		const char *k = p, *ke = value_end(p, e);
		bool is_rows, is_sum;

		if (*k != '"' || !ke)
			goto bad;
		is_rows = ke - k == 10 && !memcmp(k, "\"snapshot\"", 10);
		is_sum = ke - k == 9 && !memcmp(k, "\"summary\"", 9);
		p = ws(ke, e);
		if (p >= e || *p != ':')
			goto bad;
		p = ws(p + 1, e);
		if (p >= e)
			goto bad;
		if (is_rows && *p == '[') {
			rows_seen = true;
			err = scan_rows(tok, &p, e, path, d);
		} else {
			q = value_end(p, e);
			if (!q)
				goto bad;
			err = is_sum ? scan_summary(tok, p, q, path, d) : 0;
			p = err ? p : q;
		}
		if (err < 0)
			return err;
		if (err) {
			p = err == 1 ? e : p;
			goto bad;
		}
		p = ws(p, e);
		if (p < e && *p == ',')
			p = ws(p + 1, e);
		else if (p >= e || *p != '}')
			goto bad;
	}
	if (p >= e)
		goto bad;
	if (!rows_seen) {
		cli_err("%s: not a document of memlens snapshot -J", path);
		return -EBADMSG;
	}
	*end = p + 1;
	return check_rows(path, d);
bad:
	cli_err("%s: %s", path, p >= e ? "no whole JSON document in it" : "not a document of memlens snapshot -J");
	return -EBADMSG;
}

int doc_parse(const char *buf, size_t len, const char *what, struct doc *d)
{
	json_tokener *tok;
	const char *end;
	int err;

	memset(d, 0, sizeof(*d));
	if (len > DIFF_FILE_MAX || len > INT32_MAX) {
		cli_err("%s: larger than %d MiB: not a snapshot", what, DIFF_FILE_MAX >> 20);
		return -EBADMSG;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	/* the first document (snapshot --watch -J writes a stream) */
	err = doc_scan(tok, buf, len, what, d, &end);
	json_tokener_free(tok);
	if (err)
		doc_free(d);
	return err;
}

/* the whole file (\"-\" standard input), up to one byte past DIFF_FILE_MAX
 * (the parsers refuse that): 0, or its errno (said) */
static int read_whole(const char *path, char **bufp, size_t *lenp)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t len = 0, cap = 1 << 16, nr;
	char *buf = NULL, *p;
	int err = 0;

	*bufp = NULL;
	*lenp = 0;
	if (!f) {
		err = -errno;
		cli_err("%s: %s", path, strerror(errno));
		return err;
	}
	/* the whole file, up to one byte past the limit (doc_parse refuses it) */
	while (!err && len <= DIFF_FILE_MAX) {
		if (len == cap || !buf) {
			p = realloc(buf, cap = buf ? 2 * cap : cap);
			if (!p) {
				err = -ENOMEM;
				break;
			}
			buf = p;
		}
		nr = fread(buf + len, 1, cap - len, f);
		if (!nr) {
			if (ferror(f)) {
				err = -EIO;
				cli_err("%s: %s", path, strerror(errno));
			}
			break;
		}
		len += nr;
	}
	if (f != stdin)
		fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* 0, or -EBADMSG (not a snapshot) or the file's errno, the reason said */
int doc_read(const char *path, struct doc *d)
{
	char *buf;
	size_t len;
	int err;

	memset(d, 0, sizeof(*d));
	err = read_whole(path, &buf, &len);
	if (!err)
		err = doc_parse(buf, len, path, d);
	free(buf);
	return err;
}

bool doc_same_boot(const struct doc *a, const struct doc *b)
{
	return !a->boot_id[0] || !b->boot_id[0] || !strcmp(a->boot_id, b->boot_id);
}

/* document k of s (1-based) against the last before it that names a boot
 * and the last that gives a time (*boot_k, *up_k: 0 none yet; updated): one
 * boot, in time order, across documents that leave either out */
static int stream_check(const char *path, const struct doc *s, size_t k, size_t *boot_k, size_t *up_k)
{
	const struct doc *d = &s[k - 1];

	if (*boot_k && !doc_same_boot(&s[*boot_k - 1], d)) {
		cli_err("%s: document %zu is of another boot than document %zu (boot_id %s, %s)", path, k, *boot_k,
			d->boot_id, s[*boot_k - 1].boot_id);
		return -EBADMSG;
	}
	if (*up_k && d->uptime >= 0 && d->uptime < s[*up_k - 1].uptime) {
		cli_err("%s: document %zu was taken before document %zu (uptime %.3f, %.3f): out of order", path, k,
			*up_k, d->uptime, s[*up_k - 1].uptime);
		return -EBADMSG;
	}
	if (d->boot_id[0])
		*boot_k = k;
	if (d->uptime >= 0)
		*up_k = k;
	return 0;
}

int doc_parse_stream(const char *buf, size_t len, const char *path, struct doc **out, size_t *nout)
{
	const char *p = buf, *e = buf + len;
	struct doc *v = NULL, *nv;
	size_t n = 0, cap = 0, boot_k = 0, up_k = 0;
	json_tokener *tok;
	int err = 0;

	*out = NULL;
	*nout = 0;
	if (len > DIFF_FILE_MAX || len > INT32_MAX) {
		cli_err("%s: larger than %d MiB: not a stream of snapshots", path, DIFF_FILE_MAX >> 20);
		return -EBADMSG;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	while (!err && (p = ws(p, e)) < e) {
		char what[4200];

		if (n == DIFF_STREAM_MAX) {
			cli_err("%s: more than %d documents", path, DIFF_STREAM_MAX);
			err = -EBADMSG;
			break;
		}
		if (n == cap) {
			nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		snprintf(what, sizeof(what), "%s: document %zu", path, n + 1);
		memset(&v[n], 0, sizeof(v[n]));
		err = doc_scan(tok, p, (size_t)(e - p), what, &v[n], &p);
		if (err) {
			doc_free(&v[n]);
			break;
		}
		n++;
		err = stream_check(path, v, n, &boot_k, &up_k);
	}
	json_tokener_free(tok);
	if (!err && !n) {
		cli_err("%s: no document in it", path);
		err = -EBADMSG;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			doc_free(&v[i]);
		free(v);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

int doc_read_stream(const char *path, struct doc **docs, size_t *n)
{
	char *buf;
	size_t len;
	int err;

	*docs = NULL;
	*n = 0;
	err = read_whole(path, &buf, &len);
	if (!err)
		err = doc_parse_stream(buf, len, path, docs, n);
	free(buf);
	return err;
}

/* ---- the view ---- */

/* rows by the delta of the quantity ctx (an int: -x), the most growth first */
static int cmp_row(const void *a, const void *b, void *ctx)
{
	const struct row *x = a, *y = b;
	int sort_f = *(const int *)ctx;

	if (x->d[sort_f] != y->d[sort_f])
		return x->d[sort_f] > y->d[sort_f] ? -1 : 1;	/* the most growth first */
	return diff_cmp_proc(x->new ? x->new : x->old, y->new ? y->new : y->old);
}

/* one process's row: its deltas, summed into r->tot; whether it changed */
static bool row_deltas(struct row *w, struct diff_res *r)
{
	bool changed = !w->old || !w->new;

	for (int k = 0; k < Q_N; k++) {
		if (!quantities[k].summed)
			continue;
		w->d[k] = (w->new ? w->new->v[k] : 0) - (w->old ? w->old->v[k] : 0);
		changed |= w->d[k] != 0;
		/* saturated: 2^63-1 bytes in a row is anyone's to write */
		if (__builtin_add_overflow(r->tot[k], w->d[k], &r->tot[k]))
			r->tot[k] = w->d[k] < 0 ? INT64_MIN : INT64_MAX;
	}
	return changed;
}

/* the kernel-only buffers in one document and not the other */
static int merge_konly(const struct doc *a, const struct doc *b, struct diff_res *r)
{
	size_t i = 0, j = 0;

	r->kchanges = calloc(a->nk + b->nk + 1, sizeof(*r->kchanges));
	if (!r->kchanges)
		return -ENOMEM;
	while (i < a->nk || j < b->nk) {
		int cmp = i == a->nk ? 1 : j == b->nk ? -1 : diff_cmp_kbuf(&a->k[i], &b->k[j]);

		if (cmp == 0) {
			i++, j++;
			continue;
		}
		r->kchanges[r->nk++] = (struct kchange){ cmp < 0 ? &a->k[i++] : &b->k[j++], cmp < 0 };
	}
	return 0;
}

const struct proc *doc_find(const struct doc *d, const struct proc *p)
{
	/* (a document of no row may have no array) */
	return d->n ? bsearch(p, d->p, d->n, sizeof(*d->p), diff_cmp_proc) : NULL;
}

/* the intervals of q's stream in which p's PSS grew; -1 if none is counted */
static int64_t grew_in(const struct proc *p, const struct diff_req *q)
{
	const struct proc *prev = NULL;
	int64_t n = 0;

	if (!q->stream)
		return -1;
	for (size_t i = 0; i < q->nstream; i++) {
		const struct doc *d = &q->stream[i];
		const struct proc *now = doc_find(d, p);

		n += prev && now && now->v[Q_PSS] > prev->v[Q_PSS];
		prev = now;
	}
	return n;
}

int diff_merge(const struct doc *a, const struct doc *b, const struct diff_req *q, struct diff_res *r)
{
	size_t i = 0, j = 0;

	r->rows = calloc(a->n + b->n + 1, sizeof(*r->rows));
	if (!r->rows)
		return -ENOMEM;
	while (i < a->n || j < b->n) {
		int cmp = i == a->n ? 1 : j == b->n ? -1 : diff_cmp_proc(&a->p[i], &b->p[j]);
		struct row *w = &r->rows[r->nr];

		w->old = cmp <= 0 ? &a->p[i++] : NULL;
		w->new = cmp >= 0 ? &b->p[j++] : NULL;
		bool changed;

		r->nnew += !w->old;
		r->ngone += !w->new;
		changed = row_deltas(w, r);
		w->grew = grew_in(w->new ? w->new : w->old, q);
		/* --grew-in: its growth over the stream decides, not the net change */
		if (q->grew_in ? w->grew >= (int64_t)q->grew_in : changed || q->all)
			r->nr++;
	}
	r->seconds = a->uptime >= 0 && b->uptime >= 0 ? b->uptime - a->uptime : -1;
	qsort_r(r->rows, r->nr, sizeof(*r->rows), cmp_row, (void *)&q->sort_f);
	if (q->top && r->nr > q->top)
		r->nr = q->top;
	return merge_konly(a, b, r);
}

void diff_res_free(struct diff_res *r)
{
	free(r->rows);
	free(r->kchanges);
}

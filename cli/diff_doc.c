// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens diff's input, read with json-c: nothing in it is trusted. */
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "diff_doc.h"

const char *const fkeys[F_N] = { "rss", "pss", "uss", "swap", "dmabuf_rss", "dmabuf_pss" };

void doc_free(struct doc *d)
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

/* the members of a parsed document into *d: 0 or -EBADMSG, -ENOMEM (said) */
static int doc_from_json(json_object *root, const char *path, struct doc *d)
{
	json_object *rows, *sum, *konly;
	int err = -EBADMSG;

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
	qsort(d->p, d->n, sizeof(*d->p), diff_cmp_proc);
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
			qsort(d->k, d->nk, sizeof(*d->k), diff_cmp_kbuf);
		}
	}
	return 0;
out:
	doc_free(d);
	return err;
}

int doc_parse(const char *buf, size_t len, const char *what, struct doc *d)
{
	json_tokener *tok;
	json_object *root;
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
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		cli_err("%s: %s", what, e == json_tokener_continue ? "no whole JSON document in it" : json_tokener_error_desc(e));
		json_tokener_free(tok);
		return -EBADMSG;
	}
	err = doc_from_json(root, what, d);
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

/* 0, or -EBADMSG (not a snapshot) or the file's errno, the reason said */
int doc_read(const char *path, struct doc *d)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t len = 0, cap = 1 << 16, nr;
	char *buf = NULL, *p;
	int err = 0;

	memset(d, 0, sizeof(*d));
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
	if (!err)
		err = doc_parse(buf, len, path, d);
	free(buf);
	if (f != stdin)
		fclose(f);
	return err;
}

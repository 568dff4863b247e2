// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report's page: one HTML file that needs nothing at view time.  The
 * model (report.h) goes in as JSON, built with json-c, in a data block the
 * browser never runs (<script type="application/json">) with every < > &
 * written as \u003c \u003e \u0026, so no name can end the block; the page's
 * script (cli/report/report.js) puts every name on the page as text
 * (textContent, never markup).  The two scripts and the style sheet are
 * inline, allowed by their SHA-256 in the page's Content-Security-Policy,
 * which allows nothing else: no request, no other script, whatever a name
 * holds.  The vendored d3-hierarchy (third_party/) keeps its licence with it.
 */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

/* the assets, embedded by cli/report_assets.S, each NUL-terminated */
extern const char report_css[], report_js[], report_d3[], report_d3_license[];

/* ---- the data block ---- */

static const char *const kind_names[RK_N] = {
#define KIND_NAME(id, name, help) name,
	REPORT_KINDS(KIND_NAME)
#undef KIND_NAME
};
static const char *const kind_helps[RK_N] = {
#define KIND_HELP(id, name, help) help,
	REPORT_KINDS(KIND_HELP)
#undef KIND_HELP
};

/* json-c's adds, every one checked by its caller through one flag */
struct jb {
	bool failed;
};

static json_object *add(struct jb *b, json_object *to, json_object *v)
{
	if (!v || json_object_array_add(to, v)) {
		json_object_put(v);
		b->failed = true;
		return NULL;
	}
	return v;
}

static json_object *put(struct jb *b, json_object *to, const char *key, json_object *v)
{
	if ((!v && key[0] != '?') || json_object_object_add(to, key[0] == '?' ? key + 1 : key, v)) {
		json_object_put(v);
		b->failed = true;
		return NULL;
	}
	return v;
}

static json_object *procs_json(struct jb *jb, const struct report *r)
{
	json_object *all = json_object_new_array_ext((int)r->nproc);

	for (size_t i = 0; all && i < r->nproc; i++) {
		const struct report_proc *p = &r->proc[i];
		json_object *row = add(jb, all, json_object_new_array_ext(6)), *leaves;

		if (!row)
			break;
		add(jb, row, json_object_new_int(p->pid));
		add(jb, row, json_object_new_string(p->comm));
		add(jb, row, json_object_new_string(p->cgroup));
		add(jb, row, json_object_new_uint64(p->pss));
		add(jb, row, json_object_new_uint64(p->dmabuf_pss));
		leaves = add(jb, row, json_object_new_array_ext((int)p->nleaf));
		for (size_t j = 0; leaves && j < p->nleaf; j++) {
			json_object *l = add(jb, leaves, json_object_new_array_ext(3));

			if (!l)
				break;
			add(jb, l, json_object_new_int(p->leaf[j].kind));
			add(jb, l, json_object_new_string(p->leaf[j].name));
			add(jb, l, json_object_new_uint64(p->leaf[j].bytes));
		}
	}
	return all;
}

static json_object *bufs_json(struct jb *jb, const struct report *r)
{
	json_object *all;

	if (!r->has_dmabuf)
		return NULL;
	all = json_object_new_array_ext((int)r->nbuf);
	for (size_t i = 0; all && i < r->nbuf; i++) {
		const struct report_buf *b = &r->buf[i];
		json_object *row = add(jb, all, json_object_new_array_ext(6)), *hs;

		if (!row)
			break;
		add(jb, row, json_object_new_uint64(b->ino));
		add(jb, row, json_object_new_uint64(b->size));
		add(jb, row, json_object_new_string(b->exporter));
		add(jb, row, json_object_new_string(b->name));
		add(jb, row, json_object_new_boolean(b->kernel_only));
		hs = add(jb, row, json_object_new_array_ext((int)b->nholder));
		for (size_t j = 0; hs && j < b->nholder; j++) {
			json_object *h = add(jb, hs, json_object_new_array_ext(4));

			if (!h)
				break;
			add(jb, h, json_object_new_int(b->holder[j].pid));
			add(jb, h, json_object_new_string(b->holder[j].comm));
			add(jb, h, json_object_new_uint64(b->holder[j].fds));
			add(jb, h, json_object_new_uint64(b->holder[j].maps));
		}
	}
	return all;
}

static json_object *growth_json(struct jb *jb, const struct report *r)
{
	json_object *g, *t, *s;

	if (r->ntimes < 2)
		return NULL;
	g = json_object_new_object();
	t = g ? put(jb, g, "times", json_object_new_array_ext((int)r->ntimes)) : NULL;
	for (size_t i = 0; t && i < r->ntimes; i++)
		add(jb, t, json_object_new_double(r->times[i]));
	s = g ? put(jb, g, "series", json_object_new_array_ext((int)r->nseries)) : NULL;
	for (size_t i = 0; s && i < r->nseries; i++) {
		json_object *row = add(jb, s, json_object_new_array_ext(3)), *v;

		if (!row)
			break;
		add(jb, row, json_object_new_int(r->series[i].pid));
		add(jb, row, json_object_new_string(r->series[i].comm));
		v = add(jb, row, json_object_new_array_ext((int)r->ntimes));
		for (size_t j = 0; v && j < r->ntimes; j++)
			add(jb, v, r->series[i].pss[j] < 0 ? json_object_new_null() : json_object_new_int64(r->series[i].pss[j]));
	}
	return g;
}

/* the model as one JSON object, or NULL (-ENOMEM) */
static json_object *model_json(const struct report *r)
{
	struct jb jb = { false };
	json_object *d = json_object_new_object(), *kinds;

	if (!d)
		return NULL;
	put(&jb, d, "version", json_object_new_int(1));
	put(&jb, d, "title", json_object_new_string(r->title ? r->title : "memlens report"));
	put(&jb, d, "time", json_object_new_string(r->time ? r->time : ""));
	put(&jb, d, "hostname", json_object_new_string(r->hostname ? r->hostname : ""));
	put(&jb, d, "boot_id", json_object_new_string(r->boot_id ? r->boot_id : ""));
	put(&jb, d, "source", json_object_new_string(r->source ? r->source : ""));
	put(&jb, d, "unread", json_object_new_uint64(r->unread));
	kinds = put(&jb, d, "kinds", json_object_new_array_ext(RK_N));
	for (int k = 0; kinds && k < RK_N; k++) {
		json_object *kv = add(&jb, kinds, json_object_new_array_ext(2));

		if (kv) {
			add(&jb, kv, json_object_new_string(kind_names[k]));
			add(&jb, kv, json_object_new_string(kind_helps[k]));
		}
	}
	put(&jb, d, "procs", procs_json(&jb, r));
	put(&jb, d, "?dmabuf", bufs_json(&jb, r));
	put(&jb, d, "?growth", growth_json(&jb, r));
	if (jb.failed) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

/* ---- the page ---- */

/* s with < > & " ' as character references */
static void html_text(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
}

/* JSON text into a data block: < > & as \u escapes (only strings hold them) */
static void json_block(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("\\u003c", f); break;
		case '>': fputs("\\u003e", f); break;
		case '&': fputs("\\u0026", f); break;
		default: fputc(*s, f);
		}
}

/* 'sha256-BASE64' of s, as a CSP source: 0 or -EIO */
static int csp_hash(const char *s, char *out, size_t len)
{
	unsigned char md[32];
	gnutls_datum_t in = { md, sizeof(md) }, b64 = { NULL, 0 };
	int n;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), md) || gnutls_base64_encode2(&in, &b64))
		return -EIO;
	n = snprintf(out, len, "'sha256-%.*s'", (int)b64.size, (const char *)b64.data);
	gnutls_free(b64.data);
	return n > 0 && (size_t)n < len ? 0 : -EIO;
}

int report_html(const struct report *r, FILE *f)
{
	char h_css[64], h_d3[64], h_js[64];
	json_object *d = model_json(r);
	const char *text;

	if (!d)
		return -ENOMEM;
	text = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || csp_hash(report_css, h_css, sizeof(h_css)) || csp_hash(report_d3, h_d3, sizeof(h_d3)) ||
	    csp_hash(report_js, h_js, sizeof(h_js))) {
		json_object_put(d);
		return text ? -EIO : -ENOMEM;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		   "script-src %s %s; style-src %s; img-src data:\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
		h_d3, h_js, h_css);
	if (r->refresh)
		fprintf(f, "<meta http-equiv=\"refresh\" content=\"%u\">\n", r->refresh);
	fputs("<title>", f);
	html_text(f, r->title ? r->title : "memlens report");
	if (r->hostname && r->hostname[0]) {
		fputs(": ", f);
		html_text(f, r->hostname);
	}
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n"
		   "<noscript>This report draws itself with JavaScript; its figures are in the data block "
		   "below.</noscript>\n<script type=\"application/json\" id=\"memlens-data\">",
		report_css);
	json_block(f, text);
	/* the licence travels with the vendored script, as ISC asks */
	fprintf(f, "</script>\n<!-- d3-hierarchy 3.1.2 (third_party/d3-hierarchy), its licence:\n%s-->\n"
		   "<script>%s</script>\n<script>%s</script>\n</body>\n</html>\n",
		report_d3_license, report_d3, report_js);
	json_object_put(d);
	return ferror(f) ? -EIO : 0;
}

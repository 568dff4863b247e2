// SPDX-License-Identifier: GPL-2.0-or-later
/* The CLI's JSON writer (jsonw.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void indent(struct jw *w, int depth)
{
	fputc('\n', w->f);
	for (int i = 0; i < depth; i++)
		fputs("   ", w->f);
}

static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);	/* never after cli_escape(), but never raw */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* the separator before a member, and its name */
static void member(struct jw *w, const char *key)
{
	int d = w->depth;

	if (d > 0) {
		if (w->n[d]++)
			fputc(',', w->f);
		if (!w->inl[d])
			indent(w, d);
		else if (w->n[d] > 1)
			fputc(' ', w->f);
	}
	if (key) {
		quoted(w->f, key);
		fputs(": ", w->f);
	}
}

static void open(struct jw *w, const char *key, bool inl, char c)
{
	member(w, key);
	fputc(c, w->f);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->depth++;
	w->inl[w->depth] = inl || (w->depth > 1 && w->inl[w->depth - 1]);
	w->n[w->depth] = 0;
	w->close[w->depth] = c == '{' ? '}' : ']';
}

void jw_object(struct jw *w, const char *key, bool inl)
{
	open(w, key, inl, '{');
}

void jw_array(struct jw *w, const char *key, bool inl)
{
	open(w, key, inl, '[');
}

void jw_end(struct jw *w)
{
	int d = w->depth;

	if (d == 0)
		return;
	if (!w->inl[d] && w->n[d])
		indent(w, d - 1);
	fputc(w->close[d], w->f);
	w->depth--;
	if (!w->depth)
		fputc('\n', w->f);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
}

void jw_text(struct jw *w, const char *key, const char *s)
{
	member(w, key);
	if (s)
		quoted(w->f, s);
	else
		fputs("null", w->f);
}

void jw_name(struct jw *w, const char *key, const char *s)
{
	size_t len = s ? 4 * strlen(s) + 1 : 0;
	char *esc = s ? malloc(len) : NULL;

	/* without memory, the name as cli_escape() would leave it where it is
	 * printable: never a control byte (quoted() escapes them) */
	jw_text(w, key, esc ? cli_escape(s, esc, len) : s);
	free(esc);
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)? (no exponent here) */
static bool is_number(const char *s)
{
	size_t i = *s == '-', d = strspn(s + i, "0123456789");

	if (!d || (d > 1 && s[i] == '0'))
		return false;
	i += d;
	if (s[i] == '.') {
		d = strspn(s + i + 1, "0123456789");
		if (!d)
			return false;
		i += 1 + d;
	}
	return s[i] == 0;
}

void jw_number(struct jw *w, const char *key, const char *num)
{
	if (num && is_number(num)) {
		member(w, key);
		fputs(num, w->f);
	} else if (num && *num) {
		jw_text(w, key, num);
	} else {
		jw_null(w, key);
	}
}

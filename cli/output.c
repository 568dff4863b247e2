// SPDX-License-Identifier: GPL-2.0-or-later
/* The sink: rows of declared columns, written as an aligned or raw table
 * (libsmartcols), one JSON document (jsonw.c) or CSV, with their totals,
 * footers and second tables. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

/* the exact name first ("Size" and "SIZE" in --smaps), then ignoring case */
static int col_by_name(const struct colinfo *cols, size_t ncols, const char *name, size_t len)
{
	for (size_t i = 0; i < ncols; i++)
		if (strlen(cols[i].name) == len && strncmp(cols[i].name, name, len) == 0)
			return (int)i;
	for (size_t i = 0; i < ncols; i++)
		if (strlen(cols[i].name) == len && strncasecmp(cols[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int add_list(struct out *o, const char *list, bool named)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		int id = col_by_name(o->cols, o->ncols, p, len);

		if (id < 0) {
			cli_err("unknown column '%.*s' (see --help for the list)", (int)len, p);
			return -EINVAL;
		}
		o->named[id] |= named;
		/* one key per name in a document: SIZE and --smaps' Size are both "size" */
		for (size_t i = 0; o->json && o->pos[id] < 0 && i < o->nsel; i++)
			if (!strcasecmp(o->cols[o->sel[i]].name, o->cols[id].name))
				id = o->sel[i];
		if (o->pos[id] < 0) {
			if (o->nsel == OUT_MAX_COLS)
				return -E2BIG;
			o->pos[id] = (int)o->nsel;
			o->sel[o->nsel++] = id;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int out_init(struct out *o, struct cli *cli, const char *name, const struct colinfo *cols, size_t ncols,
	     const char *defaults)
{
	return out_init_doc(o, cli, name, cols, ncols, defaults, NULL);
}

int out_init_doc(struct out *o, struct cli *cli, const char *name, const struct colinfo *cols, size_t ncols,
		 const char *defaults, const char *doc_defaults)
{
	const char *spec = cli->columns;
	int err;

	memset(o, 0, sizeof(*o));
	o->total_label = -1;
	if (spec && (!*spec || !strcmp(spec, "+"))) {
		cli_err("-o needs a column (see --help for the list)");
		return -EINVAL;
	}
	o->cols = cols;
	o->ncols = ncols;
	o->json = cli->mode == OUT_JSON;
	if (o->json && doc_defaults)
		defaults = doc_defaults;
	for (size_t i = 0; i < OUT_MAX_COLS; i++)
		o->pos[i] = -1;
	if (!spec || *spec == '+')
		err = add_list(o, defaults, false);
	else
		err = 0;
	if (!err && spec)
		err = add_list(o, *spec == '+' ? spec + 1 : spec, true);
	if (err)
		return err;
	o->tb = scols_new_table();
	if (!o->tb)
		return -ENOMEM;
	/* JSON and CSV are written here from the cells: the table only keeps them */
	scols_table_set_name(o->tb, name);
	scols_table_enable_raw(o->tb, cli->mode == OUT_RAW);
	o->raw = cli->mode == OUT_RAW;
	o->table = cli->mode == OUT_TABLE;
	o->people = o->table && !cli->no_headings;
	o->csv = cli->mode == OUT_CSV;
	o->noheadings = cli->no_headings;
	o->bytes = cli->bytes || o->json || o->csv;
	scols_table_enable_noheadings(o->tb, cli->no_headings);
	/* names are escaped once, by out_set() (cli_escape), the same in every format */
	scols_table_enable_noencoding(o->tb, 1);
	for (size_t i = 0; i < o->nsel; i++) {
		const struct colinfo *c = &cols[o->sel[i]];
		int flags = c->flags | (c->kind == OUT_NUM || c->kind == OUT_HEX ? SCOLS_FL_RIGHT : 0);

		if (!scols_table_new_column(o->tb, c->name, c->whint, flags))
			return -ENOMEM;
	}
	return 0;
}

bool out_has(const struct out *o, int id)
{
	return o->pos[id] >= 0;
}

struct out_row *out_line(struct out *o)
{
	struct libscols_line *ln = scols_table_new_line(o->tb, NULL);

	if (!ln)
		o->failed = -ENOMEM;
	return (struct out_row *)ln;
}

void out_set(struct out *o, struct out_row *row, int id, const char *fmt, ...)
{
	struct libscols_line *ln = (struct libscols_line *)row;
	va_list ap;
	char *s;

	if (!ln || o->pos[id] < 0)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		size_t len = 4 * strlen(s) + 1;
		char *safe = malloc(len);

		if (!safe || scols_line_refer_data(ln, (size_t)o->pos[id], o->raw ? strcpy(safe, s) :
						   o->table ? cli_escape_cell(s, safe, len, o->escaped) :
						   o->escaped ? cli_escape_again(s, safe, len) : cli_escape(s, safe, len)) != 0) {
			free(safe);
			o->failed = -ENOMEM;	/* a table without this cell would be a wrong answer */
		}
		free(s);
	} else {
		o->failed = -ENOMEM;
	}
	va_end(ap);
}

struct out_row *out_total(struct out *o, const int *labels, size_t nlabels, const char *json_key)
{
	if (!(o->people || (o->json && json_key)) || o->total)
		return NULL;
	o->total = scols_new_line();
	if (!o->total || scols_line_alloc_cells(o->total, o->nsel)) {
		o->failed = -ENOMEM;
		return NULL;
	}
	o->total_key = json_key;
	if (!o->people)
		return (struct out_row *)o->total;
	for (size_t i = 0; o->total_label < 0 && i < nlabels; i++)
		if (out_has(o, labels[i]))
			o->total_label = labels[i];
	for (size_t i = 0; o->total_label < 0 && i < o->nsel; i++)
		if (o->cols[o->sel[i]].kind == OUT_TEXT)
			o->total_label = o->sel[i];
	if (o->total_label >= 0)
		out_set(o, (struct out_row *)o->total, o->total_label, "TOTAL");
	return (struct out_row *)o->total;
}

/* a line more in *to: people's text around the table */
static void add_text(struct out *o, char **to, const char *fmt, va_list ap)
{
	char *s, *f;

	if (!o->people)
		return;
	if (vasprintf(&s, fmt, ap) < 0) {
		o->failed = -ENOMEM;
		return;
	}
	if (asprintf(&f, "%s%s\n", *to ? *to : "", s) >= 0) {
		free(*to);
		*to = f;
	} else {
		o->failed = -ENOMEM;
	}
	free(s);
}

void out_footer(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_text(o, &o->footer, fmt, ap);
	va_end(ap);
}

void out_heading(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_text(o, &o->heading, fmt, ap);
	va_end(ap);
}

static char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char letters[] = "BKMGTPE";
	unsigned exp = 0;
	uint64_t dec, frac;

	while (exp < 60 && bytes >= 1ULL << (exp + 10))
		exp += 10;
	dec = bytes >> exp;
	frac = exp ? bytes & ((1ULL << exp) - 1) : 0;
	if (frac) {
		/* three decimals, then rounded to one */
		frac = frac >= UINT64_MAX / 1000 ? (frac / 1024 * 1000) >> (exp - 10) : (frac * 1000) >> exp;
		frac = (frac + 50) / 100;
		if (frac == 10) {
			dec++;
			frac = 0;
		}
	}
	if (frac)
		snprintf(buf, len, "%llu.%llu%c", (unsigned long long)dec, (unsigned long long)frac, letters[exp / 10]);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)dec, letters[exp / 10]);
	return buf;
}

void out_set_numbers(struct out *o, struct out_row *row, int id, const int32_t *v, size_t n)
{
	struct libscols_line *ln = (struct libscols_line *)row;
	bool cut = o->table && !o->named[id] && n > OUT_LIST_HEAD;
	char *s;
	size_t len = 0;

	if (cut)
		n = OUT_LIST_HEAD;
	s = malloc(12 * n + 8);

	if (!ln || o->pos[id] < 0 || !s) {
		if (ln && o->pos[id] >= 0)
			o->failed = -ENOMEM;
		free(s);
		return;
	}
	s[0] = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s%d", i ? "," : "", v[i]);
	if (cut)
		sprintf(s + len, ",%s", cli_ellipsis());
	if (scols_line_refer_data(ln, (size_t)o->pos[id], s)) {
		free(s);
		o->failed = -ENOMEM;
	}
}

char *cli_size(uint64_t bytes, bool as_bytes, char *buf, size_t len)
{
	if (as_bytes) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	return human_size(bytes, buf, len);
}

char *cli_delta(int64_t v, bool as_bytes, char *buf, size_t len)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (len < 2)
		return buf;
	buf[0] = v > 0 ? '+' : '-';
	cli_size(mag, as_bytes, buf + (v != 0), len - 1);
	return buf;
}

void out_set_size(struct out *o, struct out_row *ln, int id, uint64_t bytes)
{
	char buf[32];

	out_set(o, ln, id, "%s", cli_size(bytes, o->bytes, buf, sizeof(buf)));
}

void out_set_delta(struct out *o, struct out_row *ln, int id, int64_t v)
{
	char buf[40];

	if (o->json || o->csv)
		out_set(o, ln, id, "%lld", (long long)v);
	else
		out_set(o, ln, id, "%s", cli_delta(v, o->bytes, buf, sizeof(buf)));
}

/*
 * RFC 4180 quoting, and a cell a spreadsheet would take for a formula
 * (starting with = + - @, a tab or a CR: a name is anyone's) gets a
 * leading ' as OWASP's CSV injection advice says: spreadsheets show it as
 * text; scripts see the ' (docs/security.md).  A whole number or decimal,
 * signed or not, is left alone: no spreadsheet runs it.
 */
static bool csv_number(const char *s)
{
	size_t i = *s == '-' || *s == '+', d = strspn(s + i, "0123456789");

	return d && (s[i + d] == 0 || (s[i + d] == '.' && s[i + d + 1] && !s[i + d + 1 + strspn(s + i + d + 1, "0123456789")]));
}

static void csv_field(const char *s, bool last)
{
	/* a signed number (a change, -4096) is a number, not a formula */
	bool formula = strchr("=+-@\t\r", s[0]) && s[0] && !csv_number(s);

	if (formula || strpbrk(s, ",\"\n\r")) {
		putchar('"');
		if (formula)
			putchar('\'');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

/* a cell in JSON, by its column's kind; the key is the name in lower case */
static void json_cell(struct jw *w, const struct colinfo *col, const char *s)
{
	char key[64];
	size_t k = 0;

	for (const char *p = col->name; *p && k < sizeof(key) - 1; p++)
		key[k++] = (char)tolower((unsigned char)*p);
	key[k] = 0;
	switch (col->kind) {
	case OUT_NUM:
		jw_number(w, key, s);
		break;
	case OUT_BOOL:
		jw_bool(w, key, s && *s && *s != '0' && *s != 'n' && *s != 'N');
		break;
	case OUT_NUMS:
		jw_array(w, key, true);
		for (const char *p = s ? s : ""; *p;) {
			size_t len = strcspn(p, ",");
			char num[24];

			snprintf(num, sizeof(num), "%.*s", (int)(len < sizeof(num) ? len : sizeof(num) - 1), p);
			jw_number(w, NULL, num);
			p += len + (p[len] == ',');
		}
		jw_end(w);
		break;
	default:
		jw_text(w, key, s && *s ? s : NULL);
	}
}

/* a row as one line: {"key": value, ...}; sparse: only the cells set (a total) */
static void json_line(struct jw *w, const struct out *o, const char *key, struct libscols_line *ln, bool sparse)
{
	jw_object(w, key, true);
	for (size_t c = 0; c < o->nsel; c++) {
		const char *s = scols_cell_get_data(scols_line_get_cell(ln, c));

		if (s || !sparse)
			json_cell(w, &o->cols[o->sel[c]], s);
	}
	jw_end(w);
}

/* the document's head, {"NAME": [, once */
static void json_head(struct out *o)
{
	if (o->jw.f)
		return;
	jw_init(&o->jw, stdout);
	jw_object(&o->jw, NULL, false);
	jw_array(&o->jw, scols_table_get_name(o->tb), false);
}

static int rows_piece(struct out *o)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	if (!it)
		return -ENOMEM;
	while (scols_table_next_line(o->tb, it, &ln) == 0)
		if (o->json)
			json_line(&o->jw, o, NULL, ln, false);
		else
			for (size_t c = 0; c < o->nsel; c++) {
				const char *s = scols_cell_get_data(scols_line_get_cell(ln, c));

				csv_field(s ? s : "", c + 1 == o->nsel);
			}
	scols_free_iter(it);
	return 0;
}

int out_flush(struct out *o)
{
	int err;

	if (o->failed)
		return o->failed;
	if (o->json)
		json_head(o);
	if (o->csv && !o->pieces && !o->noheadings)	/* the header line once */
		for (size_t c = 0; c < o->nsel; c++)
			csv_field(o->cols[o->sel[c]].name, c + 1 == o->nsel);
	if (!scols_table_get_nlines(o->tb) && (o->pieces || !o->csv))
		return 0;
	if (o->json || o->csv) {
		err = rows_piece(o);
	} else {
		err = scols_print_table(o->tb);
		scols_table_enable_noheadings(o->tb, 1);	/* headings once */
	}
	scols_table_remove_lines(o->tb);
	o->pieces++;
	if (fflush(stdout) && !err)
		err = -EIO;
	return err;
}

/* the totals as a footer line, where no text column is shown to say TOTAL
 * (none where no column shown is a total) */
static void total_footer(struct out *o)
{
	size_t n = 0;

	for (size_t c = 0; c < o->nsel; c++) {
		const char *s = scols_cell_get_data(scols_line_get_cell(o->total, c));

		if (s && *s)
			printf("%s  %s %s", n++ ? "" : "TOTAL", o->cols[o->sel[c]].name, s);
	}
	if (n)
		putchar('\n');
}

/* table and raw: the rest of the rows, the total, the footer */
static int print_text(struct out *o)
{
	int err;

	if (o->total && o->total_label >= 0) {
		if (scols_table_add_line(o->tb, o->total))
			return -ENOMEM;
	}
	if (o->heading && !o->pieces)
		fputs(o->heading, stdout);
	if (!o->pieces)
		err = scols_print_table(o->tb);
	else
		err = out_flush(o);
	if (!err && o->total && o->total_label < 0)
		total_footer(o);
	if (!err && o->footer)
		fputs(o->footer, stdout);
	return err;
}

static int print_json(struct out *o, out_members_fn *members, void *ctx)
{
	int err = out_flush(o);

	if (err)
		return err;
	jw_end(&o->jw);	/* the rows' array */
	if (o->total && o->total_key)
		json_line(&o->jw, o, o->total_key, o->total, true);
	if (members)
		members(&o->jw, ctx);
	jw_end(&o->jw);	/* the document */
	return fflush(stdout) ? -EIO : 0;
}

int out_print_doc(struct out *o, out_members_fn *members, void *ctx)
{
	int err = o->failed;

	if (!err)
		err = o->json ? print_json(o, members, ctx) : o->csv ? out_flush(o) : print_text(o);
	/* EINVAL was said where it was found (a bad -o) */
	if (err && err != -EINVAL)
		cli_err("cannot print the table: %s", strerror(err < 0 ? -err : err));
	return err;
}

bool out_started(const struct out *o)
{
	return o->pieces > 0;
}

int out_print(struct out *o)
{
	return out_print_doc(o, NULL, NULL);
}

int out_print_section(struct out *o, const char *title)
{
	if (!o->table || o->failed || !scols_table_get_nlines(o->tb))
		return o->table ? o->failed : 0;
	putchar('\n');
	if (title)
		printf("%s:\n", title);
	return out_print(o);
}

void out_json_rows(struct jw *w, const char *key, struct out *o)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	jw_array(w, key, false);
	while (it && scols_table_next_line(o->tb, it, &ln) == 0)
		json_line(w, o, NULL, ln, false);
	jw_end(w);
	scols_free_iter(it);
}

void out_free(struct out *o)
{
	scols_unref_table(o->tb);
	o->tb = NULL;
	scols_unref_line(o->total);
	o->total = NULL;
	free(o->footer);
	o->footer = NULL;
	free(o->heading);
	o->heading = NULL;
}

void out_help_columns(FILE *f, const struct colinfo *cols, size_t ncols)
{
	fprintf(f, "\nColumns (-o LIST, or -o +LIST to add to the defaults):\n");
	int w = 12;

	for (size_t i = 0; i < ncols; i++)
		if ((int)strlen(cols[i].name) > w)
			w = (int)strlen(cols[i].name);
	for (size_t i = 0; i < ncols; i++)
		fprintf(f, "  %-*s %s\n", w, cols[i].name, cols[i].help);
}

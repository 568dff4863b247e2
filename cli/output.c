// SPDX-License-Identifier: GPL-2.0-or-later
/* Column tables through libsmartcols: table, raw and JSON from one description. */
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
	const char *spec = cli->columns;
	int err;

	memset(o, 0, sizeof(*o));
	if (spec && (!*spec || !strcmp(spec, "+"))) {
		cli_err("-o needs a column (see --help for the list)");
		return -EINVAL;
	}
	o->cols = cols;
	o->ncols = ncols;
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
	scols_table_set_name(o->tb, name);
	scols_table_enable_json(o->tb, cli->mode == OUT_JSON);
	scols_table_enable_raw(o->tb, cli->mode == OUT_RAW);
	o->raw = cli->mode == OUT_RAW;
	o->table = cli->mode == OUT_TABLE;
	o->csv = cli->mode == OUT_CSV;
	o->noheadings = cli->no_headings;
	o->bytes = cli->bytes || cli->mode == OUT_JSON || o->csv;
	scols_table_enable_noheadings(o->tb, cli->no_headings);
	/* names are escaped once, by out_set() (cli_escape), the same in every format */
	scols_table_enable_noencoding(o->tb, 1);
	for (size_t i = 0; i < o->nsel; i++) {
		const struct colinfo *c = &cols[o->sel[i]];
		/* a JSON array is its cell's lines, split by the wrap functions
		 * (lsblk's MOUNTPOINTS); tables print the list on one line */
		bool array = cli->mode == OUT_JSON &&
			     (c->json_type == SCOLS_JSON_ARRAY_NUMBER || c->json_type == SCOLS_JSON_ARRAY_STRING);
		struct libscols_column *cl = scols_table_new_column(o->tb, c->name, c->whint,
								     c->flags | (array ? SCOLS_FL_WRAP : 0));

		if (!cl)
			return -ENOMEM;
		scols_column_set_json_type(cl, c->json_type);
		if (array)
			scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize, scols_wrapnl_nextchunk, NULL);
	}
	return 0;
}

bool out_has(const struct out *o, int id)
{
	return o->pos[id] >= 0;
}

struct libscols_line *out_line(struct out *o)
{
	struct libscols_line *ln = scols_table_new_line(o->tb, NULL);

	if (!ln)
		o->failed = -ENOMEM;
	return ln;
}

void out_set(struct out *o, struct libscols_line *ln, int id, const char *fmt, ...)
{
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

void out_set_numbers(struct out *o, struct libscols_line *ln, int id, const int32_t *v, size_t n)
{
	/* libsmartcols takes an array cell's items as its lines */
	char sep = scols_table_is_json(o->tb) ? '\n' : ',';
	bool cut = o->table && !o->named[id] && n > OUT_LIST_HEAD;
	char *s;
	size_t len = 0;

	if (cut)
		n = OUT_LIST_HEAD;
	s = malloc(12 * n + 8);

	if (!ln || o->pos[id] < 0 || !s) {
		free(s);
		return;
	}
	s[0] = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s%d", i ? (char[]){ sep, 0 } : "", v[i]);
	if (cut)
		sprintf(s + len, ",%s", cli_ellipsis());
	if (scols_line_refer_data(ln, (size_t)o->pos[id], s))
		free(s);
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

void out_set_size(struct out *o, struct libscols_line *ln, int id, uint64_t bytes)
{
	char buf[32];

	out_set(o, ln, id, "%s", cli_size(bytes, o->bytes, buf, sizeof(buf)));
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

/* CSV in pieces: the header line once (not with -n), then the rows */
static int csv_piece(struct out *o)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	if (!it)
		return -ENOMEM;
	if (!o->pieces && !o->noheadings)
		for (size_t c = 0; c < o->nsel; c++)
			csv_field(o->cols[o->sel[c]].name, c + 1 == o->nsel);
	while (scols_table_next_line(o->tb, it, &ln) == 0)
		for (size_t c = 0; c < o->nsel; c++) {
			const char *s = scols_cell_get_data(scols_line_get_cell(ln, c));

			csv_field(s ? s : "", c + 1 == o->nsel);
		}
	scols_free_iter(it);
	return 0;
}

/* JSON in pieces: libsmartcols prints each piece as a whole document,
 * {\n   "NAME": [\n ROWS\n   ]\n}; the head comes from the first piece, the
 * rows of every piece are joined into one array and out_print() closes it */
static int json_piece(struct out *o)
{
	char *s = NULL, *body, *end;
	int err = scols_print_table_to_string(o->tb, &s);

	if (err)
		goto out;
	body = s ? strstr(s, "[\n") : NULL;
	end = body ? strrchr(body, ']') : NULL;
	while (end && end > body && end[-1] == ' ')
		end--;
	if (!end || end == body || end[-1] != '\n') {
		err = -EPROTO;	/* not the layout above: never print half a document */
		goto out;
	}
	body += 2;
	end--;
	if (!o->pieces)
		fwrite(s, 1, (size_t)(body - s), stdout);
	else
		fputs(",\n", stdout);
	fwrite(body, 1, (size_t)(end - body), stdout);
out:
	free(s);
	return err;
}

int out_flush(struct out *o)
{
	int err;

	if (o->failed)
		return o->failed;
	if (!scols_table_get_nlines(o->tb) && !(o->csv && !o->pieces))
		return 0;
	if (o->csv) {
		err = csv_piece(o);
	} else if (scols_table_is_json(o->tb)) {
		err = json_piece(o);
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

int out_print(struct out *o)
{
	return out_print_with(o, NULL);
}

static int out_print_more(struct out *o, const char *more);

int out_print_with(struct out *o, const char *more)
{
	int err = o->failed;

	if (!err)
		err = out_print_more(o, more);
	/* EINVAL was said where it was found (a bad -o) */
	if (err && err != -EINVAL)
		cli_err("cannot print the table: %s", strerror(err < 0 ? -err : err));
	return err;
}

static int out_print_more(struct out *o, const char *more)
{
	int err;

	if (o->csv)	/* the rows only: more is JSON's */
		return o->pieces && !scols_table_get_nlines(o->tb) ? 0 : out_flush(o);
	if (more && scols_table_is_json(o->tb)) {
		/* the rows' array, then more members of the same document */
		err = out_flush(o);
		if (!err && !o->pieces) {
			/* no row at all: the whole (empty) document, cut after its array */
			char *s = NULL;

			err = scols_print_table_to_string(o->tb, &s);
			if (!err && s && strrchr(s, ']')) {
				*strrchr(s, ']') = 0;
				fputs(s, stdout);
				fputs("]", stdout);
			}
			free(s);
			printf(",\n%s\n}\n", more);
			return err;
		}
		if (!err)
			printf("\n   ],\n%s\n}\n", more);
		return err;
	}
	if (!o->pieces)
		return scols_print_table(o->tb);
	err = out_flush(o);
	if (scols_table_is_json(o->tb))
		fputs("\n   ]\n}\n", stdout);
	return err;
}

void out_free(struct out *o)
{
	scols_unref_table(o->tb);
	o->tb = NULL;
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

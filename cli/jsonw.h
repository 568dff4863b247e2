/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MEMLENS_JSONW_H
#define MEMLENS_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The one JSON writer of the CLI, streaming as bpftool's json_writer: a
 * member is written as it is given, nothing is kept but the nesting.
 * key is the member's name inside an object, NULL inside an array (or for
 * the document itself).  A container opened inline is written on one line
 * ({"a": 1, "b": 2}); the others put each member on its own line, indented
 * by three spaces a level (libsmartcols' layout).
 */
#define JW_MAX_DEPTH 16

struct jw {
	FILE *f;
	int depth;
	bool inl[JW_MAX_DEPTH];
	size_t n[JW_MAX_DEPTH];	/* members written at each level */
	char close[JW_MAX_DEPTH];	/* '}' or ']' */
};

void jw_init(struct jw *w, FILE *f);
void jw_object(struct jw *w, const char *key, bool inl);
void jw_array(struct jw *w, const char *key, bool inl);
/* closes the innermost open object or array (the document: and its line) */
void jw_end(struct jw *w);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* a name anyone may have chosen (comm, file, buffer name): printed as every
 * format prints it (cli_escape()), then quoted; NULL is null */
void jw_name(struct jw *w, const char *key, const char *s);
/* text already in memlens' escaped form (a cell), quoted only */
void jw_text(struct jw *w, const char *key, const char *s);
/* a JSON number as text ("4096", "-12", "1.5"); anything else is quoted */
void jw_number(struct jw *w, const char *key, const char *num);

#endif

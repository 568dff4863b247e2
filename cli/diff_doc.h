/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memlens diff's input: a document of `memlens snapshot -J`, read and checked
 * member by member (diff_doc.c, fuzzed). */
#ifndef MEMLENS_DIFF_DOC_H
#define MEMLENS_DIFF_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a snapshot of 100,000 processes is 25 MB of JSON: 128 MiB and 2^20 rows
 * are five and ten times that; memory is the text plus ~100 bytes a row
 * (docs/security.md) */
#define DIFF_FILE_MAX (128 << 20)
#define DIFF_ROWS_MAX (1 << 20)

#include "quantity.h"

/* a row: its pid, comm and every quantity (quantity.h) by its JSON key, 0
 * where the document has none */
struct proc {
	int32_t pid;
	char *comm;
	int64_t v[Q_N];
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

/* (pid, comm) order, and inode order */
int diff_cmp_proc(const void *a, const void *b);
int diff_cmp_kbuf(const void *a, const void *b);
/* the first JSON document of buf[0..len): 0, or -EBADMSG (not a per-process
 * snapshot: said on stderr, naming what), -ENOMEM; *d sorted by (pid, comm) */
int doc_parse(const char *buf, size_t len, const char *what, struct doc *d);
/* the same from a file, "-" standard input; or its errno */
int doc_read(const char *path, struct doc *d);
void doc_free(struct doc *d);

#endif

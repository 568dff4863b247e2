/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memlens diff's input, a document of `memlens snapshot -J` read and checked
 * member by member (fuzzed), and its view: two documents merged (diff_doc.c). */
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
#define DIFF_STREAM_MAX 100000	/* documents in a stream */

#include "quantity.h"

/* a row: its pid, comm and every quantity (quantity.h) by its JSON key, 0
 * where the document has none */
struct proc {
	int32_t pid;
	char *comm;
	char *cgroup;		/* its cgroup (-o +CGROUP), NULL where the document has none */
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
	char boot_id[37];	/* summary's boot_id ("" where the document has none) */
	double uptime;		/* summary's uptime, seconds (-1 where none) */
	char time[32];		/* summary's time, RFC 3339 ("" where none or not one) */
	char hostname[256];	/* summary's hostname ("" where none) */
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
/* every document of a stream (snapshot --watch -J; one document is a
 * stream of one), each as doc_parse() reads one, all of one boot and in
 * time order: 0, or -EBADMSG (said, naming the document), -ENOMEM */
int doc_parse_stream(const char *buf, size_t len, const char *path, struct doc **docs, size_t *n);
int doc_read_stream(const char *path, struct doc **docs, size_t *n);
/* the row of d with p's pid and comm, or NULL */
const struct proc *doc_find(const struct doc *d, const struct proc *p);
/* a and b of one boot (or one of them names none) */
bool doc_same_boot(const struct doc *a, const struct doc *b);

/* ---- the view: OLD and NEW merged ---- */
struct diff_req {
	bool all;		/* -a: the unchanged rows too */
	size_t top;		/* --top N: 0 every row */
	int sort_f;		/* -x: a summed quantity */
	/* --grew-in N: only the processes whose PSS grew in N or more of the
	 * stream's intervals (0: no such filter); the stream is the documents
	 * each row's growth is counted over (NULL: none is counted) */
	size_t grew_in;
	const struct doc *stream;
	size_t nstream;
};

/* a process in OLD, NEW or both, and the change of each summed quantity */
struct row {
	const struct proc *old, *new;
	int64_t d[Q_N];
	int64_t grew;		/* intervals of the stream its PSS grew in; -1 none counted */
};

/* a kernel-only buffer in one document and not the other */
struct kchange {
	const struct kbuf *k;
	bool gone;		/* in OLD only; else in NEW only */
};

struct diff_res {
	struct row *rows;	/* the changed ones (all with .all), largest sort_f growth first, the first top */
	size_t nr, nnew, ngone;
	int64_t tot[Q_N];	/* every delta summed, saturated */
	struct kchange *kchanges;	/* in inode order */
	size_t nk;
	double seconds;		/* NEW's uptime less OLD's; -1 where either has none */
};

/* a and b merged by (pid, comm), and their kernel-only buffers by inode: 0 or -ENOMEM */
int diff_merge(const struct doc *a, const struct doc *b, const struct diff_req *q, struct diff_res *r);
void diff_res_free(struct diff_res *r);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memlens report's model: what one page shows, filled from a live snapshot
 * (cmd_report.c), from snapshot -J documents (cmd_report.c) or from the
 * exporter's scrape collection (cmd_exporter.c), and written as one
 * self-contained HTML file by report_html.c, which reads nothing else.
 * Every name in it is in memlens's escaped form already (cli_escape()).
 */
#ifndef MEMLENS_CLI_REPORT_H
#define MEMLENS_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* what backs a treemap leaf: its colour (the page's legend, in this order) */
#define REPORT_KINDS(X)                                                                          \
	X(ANON, "anon", "anonymous memory: heap, stacks, private mappings of no file")            \
	X(FILE, "file", "file-backed mappings: programs, libraries, mapped files (deleted too)") \
	X(SHMEM, "shmem", "shared memory: shared anonymous, memfd, tmpfs, System V")               \
	X(DMABUF, "dmabuf", "DMA-BUF buffers it holds, by fd or mapping (size / holders)")         \
	X(WHOLE, "process", "the process's PSS, not split by mapping (a document records none)")

#define REPORT_KIND_ID(id, ...) RK_##id,
enum report_kind { REPORT_KINDS(REPORT_KIND_ID) RK_N };
#undef REPORT_KIND_ID

/* a treemap leaf: a process's mappings of one object (or of one kind, the
 * rest), its PSS */
struct report_leaf {
	enum report_kind kind;
	char *name;
	uint64_t bytes;
};

struct report_proc {
	int32_t pid;
	char *comm, *cgroup;	/* cgroup "" where not known */
	uint64_t pss, dmabuf_pss;	/* pss: its leaves but DMA-BUF, summed */
	struct report_leaf *leaf;
	size_t nleaf;
};

/* a DMA-BUF buffer and who holds it */
struct report_holder {
	int32_t pid;
	char *comm;
	uint32_t fds, maps;
};

struct report_buf {
	uint64_t ino, size;
	char *exporter, *name;
	bool kernel_only;
	struct report_holder *holder;
	size_t nholder;
};

/* a stream's top growers: PSS in each document (-1: not in it) */
struct report_series {
	int32_t pid;
	char *comm;
	int64_t *pss;
};

struct report {
	char *title;		/* "memlens report" or the exporter's */
	char *time, *hostname, *boot_id;	/* "" where unknown */
	char *source;		/* where the figures came from, one line */
	size_t unread;		/* processes that could not be read (named nowhere else) */
	unsigned refresh;	/* seconds: the page reloads itself (a live page); 0 never */
	bool has_dmabuf;	/* the DMA-BUF pass ran: its list is the whole truth */
	struct report_proc *proc;
	size_t nproc;
	struct report_buf *buf;
	size_t nbuf;
	double *times;		/* the stream's uptimes, ntimes of them (0: no stream) */
	size_t ntimes;
	struct report_series *series;
	size_t nseries;
};

/* a process, a leaf, a buffer, a holder, appended: its pointer, or NULL (-ENOMEM) */
struct report_proc *report_add_proc(struct report *r, int32_t pid, const char *comm, const char *cgroup);
int report_add_leaf(struct report_proc *p, enum report_kind kind, const char *name, uint64_t bytes);
struct report_buf *report_add_buf(struct report *r, uint64_t ino, uint64_t size, const char *exporter,
				  const char *name, bool kernel_only);
int report_add_holder(struct report_buf *b, int32_t pid, const char *comm, uint32_t fds, uint32_t maps);
void report_free(struct report *r);
/* a process shown whole (no mappings read): a leaf of its PSS, one of its DMA-BUF share */
int report_add_whole(struct report *r, int32_t pid, const char *comm, const char *cgroup, uint64_t pss,
		     uint64_t dmabuf_pss);

struct memlens_dmabuf;
struct memlens_snapshot;
/* the buffers of a DMA-BUF pass and who holds them (a process's threads
 * with fd tables of their own summed into it): 0 or -ENOMEM */
int report_add_dmabuf(struct report *r, const struct memlens_dmabuf *d);
/* s as memlens prints a name (cli_escape()), however long, in *buf (grown
 * as needed, the caller's to free): the text, or "" where memory ran out */
const char *report_esc(const char *s, char **buf, size_t *cap);
struct doc;
/* the last of n documents (snapshot -J, one stream), each process whole,
 * its kernel-only buffers, and with two or more the top growers: 0,
 * -ENOMEM, -EINVAL (no document) */
int report_from_docs(struct report *r, const struct doc *d, size_t n);
/* title, time, hostname and boot id from a snapshot; source as given */
int report_set_meta(struct report *r, const struct memlens_snapshot *s, const char *title, const char *source);

/* the page: one self-contained HTML document (no request at view time: its
 * scripts, styles and data inline, a Content-Security-Policy that allows
 * nothing else); 0 or -errno */
int report_html(const struct report *r, FILE *f);

#endif

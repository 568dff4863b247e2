// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens report's model (report.h): filled by its callers, from the
 * library's records or from documents; read only by report_html.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "memlens_cli.h"
#include "diff_doc.h"
#include "report.h"

#define REPORT_GROWERS 8	/* a stream's top growers drawn */

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->nproc; i++) {
		struct report_proc *p = &r->proc[i];

		for (size_t j = 0; j < p->nleaf; j++)
			free(p->leaf[j].name);
		free(p->leaf);
		free(p->comm);
		free(p->cgroup);
	}
	for (size_t i = 0; i < r->nbuf; i++) {
		struct report_buf *b = &r->buf[i];

		for (size_t j = 0; j < b->nholder; j++)
			free(b->holder[j].comm);
		free(b->holder);
		free(b->exporter);
		free(b->name);
	}
	for (size_t i = 0; i < r->nseries; i++) {
		free(r->series[i].comm);
		free(r->series[i].pss);
	}
	free(r->proc);
	free(r->buf);
	free(r->series);
	free(r->times);
	free(r->title);
	free(r->time);
	free(r->hostname);
	free(r->boot_id);
	free(r->source);
	memset(r, 0, sizeof(*r));
}

/* one more element of *v (n of them, each sz bytes), zeroed: NULL on -ENOMEM */
static void *grow(void *vp, size_t *n, size_t sz)
{
	void **v = vp;
	char *nv;

	/* doubling: a capacity is every power of two the count reaches */
	if (!(*n & (*n - 1)) || !*n) {
		nv = realloc(*v, (*n ? *n * 2 : 1) * sz);
		if (!nv)
			return NULL;
		*v = nv;
	}
	memset((char *)*v + *n * sz, 0, sz);
	return (char *)*v + (*n)++ * sz;
}

struct report_proc *report_add_proc(struct report *r, int32_t pid, const char *comm, const char *cgroup)
{
	struct report_proc *p = grow(&r->proc, &r->nproc, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->comm = strdup(comm);
	p->cgroup = strdup(cgroup ? cgroup : "");
	if (!p->comm || !p->cgroup) {
		free(p->comm);
		free(p->cgroup);
		r->nproc--;
		return NULL;
	}
	return p;
}

int report_add_leaf(struct report_proc *p, enum report_kind kind, const char *name, uint64_t bytes)
{
	struct report_leaf *l = grow(&p->leaf, &p->nleaf, sizeof(*l));

	if (!l || !(l->name = strdup(name))) {
		p->nleaf -= !!l;
		return -ENOMEM;
	}
	l->kind = kind;
	l->bytes = bytes;
	if (kind == RK_DMABUF)
		p->dmabuf_pss += bytes;
	else
		p->pss += bytes;
	return 0;
}

struct report_buf *report_add_buf(struct report *r, uint64_t ino, uint64_t size, const char *exporter,
				  const char *name, bool kernel_only)
{
	struct report_buf *b = grow(&r->buf, &r->nbuf, sizeof(*b));

	if (!b)
		return NULL;
	*b = (struct report_buf){ ino, size, strdup(exporter), strdup(name), kernel_only, NULL, 0 };
	if (!b->exporter || !b->name) {
		free(b->exporter);
		free(b->name);
		r->nbuf--;
		return NULL;
	}
	return b;
}

int report_add_holder(struct report_buf *b, int32_t pid, const char *comm, uint32_t fds, uint32_t maps)
{
	struct report_holder *h = grow(&b->holder, &b->nholder, sizeof(*h));

	if (!h || !(h->comm = strdup(comm))) {
		b->nholder -= !!h;
		return -ENOMEM;
	}
	h->pid = pid;
	h->fds = fds;
	h->maps = maps;
	return 0;
}

int report_add_whole(struct report *r, int32_t pid, const char *comm, const char *cgroup, uint64_t pss,
		     uint64_t dmabuf_pss)
{
	struct report_proc *p = report_add_proc(r, pid, comm, cgroup);
	int err = p ? 0 : -ENOMEM;

	if (!err && pss)
		err = report_add_leaf(p, RK_WHOLE, "PSS", pss);
	if (!err && dmabuf_pss)
		err = report_add_leaf(p, RK_DMABUF, "DMA-BUF buffers", dmabuf_pss);
	return err;
}

/* the buffers of the DMA-BUF pass and their holders (a process's threads
 * with fd tables of their own summed into it) */
int report_add_dmabuf(struct report *r, const struct memlens_dmabuf *d)
{
	size_t nb = memlens_dmabuf__buf_count(d), nr = memlens_dmabuf__ref_count(d), first = r->nbuf;

	for (size_t i = 0; i < nb; i++) {
		const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, i);

		if (!report_add_buf(r, b->ino, b->size, CLI_SAFE(b->exporter), CLI_SAFE(b->name), b->kernel_only))
			return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct memlens_dmabuf_ref *ref = memlens_dmabuf__ref(d, i);
		const struct memlens_dmabuf_holder *h = memlens_dmabuf__holder(d, ref->holder);
		struct report_buf *b = &r->buf[first + ref->buf];
		struct report_holder *last = b->nholder ? &b->holder[b->nholder - 1] : NULL;

		if (ref->buf >= nb)
			continue;
		if (last && last->pid == h->pid) {
			last->fds += ref->fd_refs;
			last->maps += ref->map_refs;
		} else if (report_add_holder(b, h->pid, CLI_SAFE(h->comm), ref->fd_refs, ref->map_refs)) {
			return -ENOMEM;
		}
	}
	return 0;
}

const char *report_esc(const char *s, char **buf, size_t *cap)
{
	size_t need = 4 * strlen(s) + 1;

	if (need > *cap) {
		char *nb = realloc(*buf, need);

		if (!nb)
			return "";
		*buf = nb;
		*cap = need;
	}
	return cli_escape(s, *buf, *cap);
}

int report_set_meta(struct report *r, const struct memlens_snapshot *s, const char *title, const char *source)
{
	struct timespec wall;
	struct tm tm;
	char when[64];

	memlens_snapshot__time(s, &wall, NULL);
	if (!gmtime_r(&wall.tv_sec, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		when[0] = 0;
	r->title = strdup(title);
	r->time = strdup(when);
	r->hostname = strdup(CLI_SAFE(memlens_snapshot__hostname(s)));
	r->boot_id = strdup(memlens_snapshot__boot_id(s));
	r->source = strdup(source);
	return r->title && r->time && r->hostname && r->boot_id && r->source ? 0 : -ENOMEM;
}

/* the stream's top growers by PSS, first document to last: diff's rows of
 * the two (largest PSS growth first), those still in the last */
static int growth(struct report *r, const struct doc *d, size_t n)
{
	struct diff_req q = { .all = true, .sort_f = Q_PSS };
	struct diff_res res = { 0 };
	int err;

	r->times = calloc(n, sizeof(*r->times));
	r->series = calloc(REPORT_GROWERS, sizeof(*r->series));
	if (!r->times || !r->series)
		return -ENOMEM;
	r->ntimes = n;
	for (size_t i = 0; i < n; i++)
		r->times[i] = d[i].uptime >= 0 ? d[i].uptime : (double)i;
	err = diff_merge(&d[0], &d[n - 1], &q, &res);
	for (size_t k = 0; !err && k < res.nr && r->nseries < REPORT_GROWERS; k++) {
		const struct proc *p = res.rows[k].new;
		struct report_series *s;

		if (!p)
			continue;	/* gone by the last document */
		s = &r->series[r->nseries++];
		s->pid = p->pid;
		s->comm = strdup(p->comm);
		s->pss = calloc(n, sizeof(*s->pss));
		if (!s->comm || !s->pss)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < n; i++) {
			const struct proc *at = doc_find(&d[i], p);

			s->pss[i] = at ? at->v[Q_PSS] : -1;
		}
	}
	diff_res_free(&res);
	return err;
}

int report_from_docs(struct report *r, const struct doc *d, size_t n)
{
	const struct doc *last = n ? &d[n - 1] : NULL;
	char src[300];
	int err = 0;

	if (!last)
		return -EINVAL;
	/* the names are memlens's escaped form already: as they are */
	if (n > 1)
		snprintf(src, sizeof(src), "from a stream of %zu snapshot documents: the last, each process whole "
			 "(a document records no mappings)", n);
	else
		snprintf(src, sizeof(src), "from a snapshot document: each process whole (a document records no "
			 "mappings)");
	r->title = strdup("memlens report");
	r->time = strdup(last->time);
	r->hostname = strdup(last->hostname);
	r->boot_id = strdup(last->boot_id);
	r->source = strdup(src);
	if (!r->title || !r->time || !r->hostname || !r->boot_id || !r->source)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < last->n; i++)
		err = report_add_whole(r, last->p[i].pid, last->p[i].comm, last->p[i].cgroup,
				       (uint64_t)last->p[i].v[Q_PSS], (uint64_t)last->p[i].v[Q_DMABUF_PSS]);
	/* a document lists the kernel-only buffers, not who holds the others */
	if (!err && last->has_konly) {
		r->has_dmabuf = true;
		for (size_t i = 0; !err && i < last->nk; i++)
			if (!report_add_buf(r, last->k[i].ino, last->k[i].size, last->k[i].exporter, last->k[i].name,
					    true))
				err = -ENOMEM;
	}
	if (!err && n > 1)
		err = growth(r, d, n);
	return err;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens exporter: the metric families of metrics.c served on HTTP
 * /metrics (libmicrohttpd), or written for node_exporter's textfile
 * collector.
 *
 * One context for the process's life: the BPF programs load on the first
 * collection and stay loaded.  Every scrape is answered by a collection that
 * started after the scrape arrived (no cache), and only one collection runs
 * at a time: scrapes wait, suspended, in a queue; the collector thread takes
 * the whole queue, collects once, renders each format asked for once, and
 * resumes them all.  Parallel scrapes share a collection instead of queueing
 * one each.  The HTTP side is one libmicrohttpd epoll thread: a slow or
 * vanished client costs a connection slot until its timeout, never the
 * collector.  SIGTERM or SIGINT: the scrapes waiting get 503, the daemon
 * stops, the context is freed (its links and programs with it).
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <grp.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "memlens_cli.h"
#include <gnutls/gnutls.h>
#include "metrics.h"
#include "report.h"
#include "revision.h"
#include "webconfig.h"

#define DEFAULT_LISTEN "127.0.0.1:9848"
#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
/* the live page at /: a collection renders it while someone viewed it in
 * the last PAGE_VIEWERS_S seconds; a view is served the last page while it
 * is younger than PAGE_FRESH_S (else it waits for a collection, as a
 * scrape does); the page reloads itself every PAGE_REFRESH_S */
#define PAGE_VIEWERS_S 300
#define PAGE_FRESH_S 60
#define PAGE_REFRESH_S 30

/* what a request is answered with: the bodies of one collection */
enum { BODY_TEXT, BODY_OM, BODY_PAGE, BODY_N };

/* one rendered answer, shared by the scrapes of a collection */
struct body {
	unsigned refs;		/* under ex.lock */
	unsigned status;
	const char *type;
	bool gzip;		/* Content-Encoding: gzip */
	char *data;
	size_t len;
};

enum { REQ_NEW, REQ_WAITING, REQ_DONE };

struct req {
	struct MHD_Connection *conn;
	double arrived;		/* now() when its headers were in */
	double timeout;		/* X-Prometheus-Scrape-Timeout-Seconds, else --scrape-timeout */
	int fmt;		/* BODY_*: Prometheus text, OpenMetrics, or the page */
	bool gz;		/* Accept-Encoding names gzip (Prometheus always does) */
	int state;
	struct body *body;
	struct req *next;
};

struct exporter {
	struct cli *cli;
	/* what to collect */
	bool dmabuf;
	const char *pin_dir;
	size_t top, top_groups;
	bool per_process;
	/* the cost bound: each collection's smaps_rollup reads end before the
	 * scrape's timeout; a process above pss_max_rss is walked at most every
	 * pss_interval, its last figures served between */
	double scrape_timeout, pss_interval;
	uint64_t pss_max_rss;
	/* --web.config.file: TLS and basic auth (web.tls, web.nusers) */
	struct web_config web;
	/* the collector's: the last rollup of each process (pid order, as the
	 * snapshot's rows are: pss_join merges the two in one pass) */
	struct pss_seen *seen;
	size_t nseen;
	/* the queue of scrapes (under lock) */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct req *waiting, **tail;
	bool stopping;
	/* the live page (under lock): the last one rendered, plain and gzipped
	 * (NULL: none yet), when, and until when collections render it */
	struct body *page[2];
	double page_at, page_until;
	/* the collector's own: only collect() touches them, in one thread */
	unsigned long long errors, collections;
	bool said;		/* -v: the first collection's sources said */
	size_t stalled;		/* the last collection's stalled processes (said when it changes) */
	/* the process_* families: what does not change read at start */
	struct metrics_self self;
	struct utsname uts;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct body *body_new(unsigned status, const char *type, char *data, size_t len)
{
	struct body *b = calloc(1, sizeof(*b));

	if (!b) {
		free(data);
		return NULL;
	}
	*b = (struct body){ .status = status, .type = type, .data = data, .len = len };
	return b;
}

static struct body *body_text(unsigned status, const char *text)
{
	char *d = strdup(text);

	return d ? body_new(status, "text/plain; charset=utf-8", d, strlen(d)) : NULL;
}

static void body_free(struct body *b)
{
	if (b) {
		free(b->data);
		free(b);
	}
}

static void body_put(struct exporter *ex, struct body *b)
{
	bool last;

	if (!b)
		return;
	pthread_mutex_lock(&ex->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&ex->lock);
	if (last)
		body_free(b);
}

/* src gzipped (RFC 1952), or NULL: the scrape then gets it plain */
static struct body *body_gzip(const struct body *src)
{
	z_stream z;
	size_t cap = compressBound((uLong)src->len) + 32;	/* the gzip header and trailer */
	char *out = malloc(cap);
	struct body *b;
	int rc;

	memset(&z, 0, sizeof(z));
	if (!out || deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)src->data;
	z.avail_in = (uInt)src->len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	b = body_new(src->status, src->type, out, cap - z.avail_out);
	if (b)
		b->gzip = true;
	return b;
}

/* the exporter's start time since the epoch: /proc/self/stat's start (clock
 * ticks since boot) plus /proc/stat's btime, as client libraries read it */
static double self_start_time(void)
{
	char buf[1024], *p;
	unsigned long long start = 0, btime = 0;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	/* after the comm's last ')': state is field 3, starttime field 22 */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	f = fopen("/proc/stat", "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	if (f)
		fclose(f);
	return btime ? (double)btime + (double)start / (double)sysconf(_SC_CLK_TCK) : 0;
}

/* what changes: CPU time, memory (statm) and fds, read at each collection */
static void self_read(struct metrics_self *p)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long long size, res;
	FILE *f = fopen("/proc/self/statm", "re");
	DIR *d = opendir("/proc/self/fd");
	long page = sysconf(_SC_PAGESIZE);

	if (!getrusage(RUSAGE_SELF, &ru))
		p->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
				 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	if (f && fscanf(f, "%llu %llu", &size, &res) == 2) {
		p->vss = size * (unsigned long long)page;
		p->rss = res * (unsigned long long)page;
	}
	if (f)
		fclose(f);
	if (d) {
		struct dirent *e;

		p->open_fds = 0;
		while ((e = readdir(d)))
			p->open_fds += e->d_name[0] != '.';
		closedir(d);
		p->open_fds--;	/* the directory's own */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		p->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

/* a process's last smaps_rollup figures, and when they were read */
struct pss_seen {
	int32_t pid;
	uint64_t start_time;
	uint64_t rss, pss, uss, swap_pss, ksm;
	double at;
};

/* the processes not to walk this time: large at their last read, read
 * within --pss-interval (NULL, 0: none) */
static int32_t *pss_skips(const struct exporter *ex, double t, size_t *n)
{
	int32_t *skip = ex->nseen ? malloc(ex->nseen * sizeof(*skip)) : NULL;

	*n = 0;
	for (size_t i = 0; skip && i < ex->nseen; i++)
		if (ex->pss_max_rss && ex->seen[i].rss > ex->pss_max_rss && t - ex->seen[i].at < ex->pss_interval)
			skip[(*n)++] = ex->seen[i].pid;
	return skip;
}

/* the last rollup of pid (with that start) in ex->seen from *j on (both in
 * pid order, *j advanced), or NULL */
static const struct pss_seen *seen_of(const struct exporter *ex, size_t *j, const struct memlens_proc_usage *r)
{
	while (*j < ex->nseen && ex->seen[*j].pid < r->pid)
		(*j)++;
	return *j < ex->nseen && ex->seen[*j].pid == r->pid && ex->seen[*j].start_time == r->start_time ?
		       &ex->seen[*j] : NULL;
}

/*
 * The rows of a collection with the rollups it did not read filled from
 * the last ones (the same pid and start): rowp[i] is snapshot row i itself,
 * or, where it was filled, a copy of it in *fixed (only those are copied:
 * the snapshot's rows are not held twice); their age in ages[].  ex->seen
 * becomes this collection's.  counts[]: read, cached, missing (over
 * budget, never read).
 */
static int pss_join(struct exporter *ex, const struct memlens_snapshot *s, double t,
		    const struct memlens_proc_usage **rowp, struct memlens_proc_usage **fixed, double *ages,
		    size_t counts[3])
{
	size_t n = memlens_snapshot__count(s), j = 0, nfill = 0, k = 0;
	struct pss_seen *seen;
	struct memlens_proc_usage *fill = NULL;
	size_t ns = 0;

	/* how many to fill: the copies' array, allocated once */
	for (size_t i = 0; i < n; i++) {
		const struct memlens_proc_usage *r = memlens_snapshot__get(s, i);

		nfill += !(r->flags & MEMLENS_USAGE_F_ROLLUP) && seen_of(ex, &j, r);
	}
	seen = calloc(n ? n : 1, sizeof(*seen));
	fill = nfill ? malloc(nfill * sizeof(*fill)) : NULL;
	if (!seen || (nfill && !fill)) {
		free(seen);
		free(fill);
		return -ENOMEM;
	}
	counts[0] = counts[1] = counts[2] = 0;
	j = 0;
	for (size_t i = 0; i < n; i++) {
		const struct memlens_proc_usage *r = memlens_snapshot__get(s, i);
		const struct pss_seen *old = seen_of(ex, &j, r);

		rowp[i] = r;
		ages[i] = 0;
		if (r->flags & MEMLENS_USAGE_F_ROLLUP) {
			seen[ns++] = (struct pss_seen){ r->pid, r->start_time, r->rss, r->pss, r->uss, r->swap_pss,
							r->ksm, t };
			counts[0]++;
		} else if (old && k < nfill) {
			struct memlens_proc_usage *c = &fill[k++];

			*c = *r;
			c->pss = old->pss;
			c->uss = old->uss;
			c->swap_pss = old->swap_pss;
			c->ksm = old->ksm;
			rowp[i] = c;
			ages[i] = t - old->at;
			seen[ns] = *old;
			seen[ns++].rss = r->rss;	/* its size now: still large? */
			counts[1]++;
		} else {
			ages[i] = -1;	/* no figures: pss, uss unknown */
			counts[2]++;
		}
	}
	free(ex->seen);
	ex->seen = seen;
	ex->nseen = ns;
	*fixed = fill;
	return 0;
}

/*
 * The live page of a collection: the report's treemap, each process whole
 * (the exporter reads no mappings; PSS as the scrape serves it, a process
 * without one yet left out of the treemap), and the DMA-BUF pass's buffers
 * and holders.  NULL on -ENOMEM.
 */
static struct body *page_body(const struct memlens_snapshot *s, const struct memlens_proc_usage *const *rows,
			      const double *ages, const struct memlens_dmabuf *d)
{
	struct report r = { 0 };
	char *cg = NULL, *html = NULL;
	size_t cap = 0, len = 0, n = memlens_snapshot__count(s);
	FILE *f = NULL;
	int err = report_set_meta(&r, s, "memlens exporter",
				  "the exporter's last collection: each process whole (no mappings read), PSS as "
				  "/metrics serves it");

	r.refresh = PAGE_REFRESH_S;
	r.unread = memlens_snapshot__unreadable(s);
	for (size_t i = 0; !err && i < n; i++)
		err = report_add_whole(&r, rows[i]->pid, CLI_SAFE(rows[i]->comm),
				       report_esc(rows[i]->cgroup ? rows[i]->cgroup : "", &cg, &cap),
				       ages[i] < 0 ? 0 : rows[i]->pss, rows[i]->dmabuf_pss);
	if (!err && d) {
		r.has_dmabuf = true;
		err = report_add_dmabuf(&r, d);
	}
	if (!err && !(f = open_memstream(&html, &len)))
		err = -errno;
	if (!err)
		err = report_html(&r, f);
	if (f && fclose(f) && !err)
		err = -EIO;
	report_free(&r);
	free(cg);
	if (err) {
		free(html);
		return NULL;
	}
	return body_new(200, CT_HTML, html, len);
}

/*
 * One collection, rendered in the forms asked for (out[BODY_TEXT]:
 * Prometheus text, [BODY_OM]: OpenMetrics, [BODY_PAGE]: the live page).  0,
 * or -errno when the snapshot failed (a DMA-BUF source that fails is
 * counted and its families left out).
 */
static int collect(struct exporter *ex, const bool want[BODY_N], double deadline, struct body *out[BODY_N])
{
	double t0 = now(), budget = deadline - t0;
	size_t nskip = 0, counts[3];
	int32_t *skip = pss_skips(ex, t0, &nskip);
	const struct memlens_proc_usage **rows = NULL;
	struct memlens_proc_usage *fixed = NULL;
	double *ages = NULL;
	/* the rollups get what is left of the scrape's time but a margin for
	 * the DMA-BUF pass, rendering and sending: a tenth, at least 50 ms */
	MEMLENS_OPTS(memlens_snapshot_opts, so, .cgroups = true, .dmabuf = ex->dmabuf, .keep_dmabuf = true, .counters = true,
		     .pin_dir = ex->pin_dir, .dmabuf_source = ex->cli->source, .skip_rollup = skip,
		     .nskip_rollup = nskip);
	const struct memlens_dmabuf *d;
	struct memlens_snapshot *s = NULL;
	bool failed;
	int err = 0;

	budget -= budget / 10 > 0.05 ? budget / 10 : 0.05;
	so.budget_ms = budget < 0.001 ? 1 : budget > 3600 ? 3600000 : (unsigned)(budget * 1000);
	/* one collection: the processes, and the DMA-BUF pass joined to them */
	err = memlens__snapshot(ex->cli->ml, &so, &s);
	free(skip);
	if (!err) {
		size_t n = memlens_snapshot__count(s);

		rows = malloc((n ? n : 1) * sizeof(*rows));
		ages = malloc((n ? n : 1) * sizeof(*ages));
		err = rows && ages ? pss_join(ex, s, t0, rows, &fixed, ages, counts) : -ENOMEM;
		if (err)
			memlens_snapshot__free(s);
	}
	if (err) {
		free(rows);
		free(ages);
		cli_err("exporter: snapshot failed: %s", strerror(-err));
		ex->errors++;
		ex->collections++;
		return err;
	}
	d = memlens_snapshot__dmabuf(s);
	failed = memlens_snapshot__dmabuf_error(s) != 0;
	if (failed && (ex->cli->verbose || !ex->said))
		cli_err("exporter: DMA-BUF accounting failed: %s", strerror(-memlens_snapshot__dmabuf_error(s)));
	if (ex->cli->verbose && !ex->said)
		cli_err("exporter: first collection: %zu processes, DMA-BUF from %s", memlens_snapshot__count(s),
			d ? memlens_source__name(memlens_dmabuf__source(d)) : "none");
	ex->said = true;
	if (memlens_snapshot__stalled(s) != ex->stalled) {
		ex->stalled = memlens_snapshot__stalled(s);
		cli_say_stalled(ex->cli, s);
	}
	ex->errors += failed;
	ex->collections++;
	struct metrics_in mi = {
		.snap = s, .dmabuf = d, .top = ex->top, .top_groups = ex->top_groups, .per_process = ex->per_process,
		.self = true,
		.scrape_seconds = now() - t0, .scrape_errors = ex->errors, .collections = ex->collections,
		.heap_bytes = cli_heap_bytes(), .proc = &ex->self,
		.rows = rows, .ages = ages, .pss_read = counts[0], .pss_cached = counts[1], .pss_missing = counts[2],
		.budget_seconds = so.budget_ms / 1000.0,
	};
	self_read(&ex->self);
	for (int om = 0; om < 2 && !err; om++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		if (!want[om])
			continue;
		f = open_memstream(&buf, &len);
		if (!f) {
			err = -errno;
			break;
		}
		mi.openmetrics = om;
		err = metrics_write(f, &mi);
		if (fclose(f) && !err)
			err = -EIO;
		if (err)
			free(buf);
		else if (!(out[om] = body_new(200, om ? CT_OPENMETRICS : CT_TEXT, buf, len)))
			err = -ENOMEM;
	}
	if (!err && want[BODY_PAGE] && !(out[BODY_PAGE] = page_body(s, rows, ages, d)))
		err = -ENOMEM;
	memlens_snapshot__free(s);
	free(rows);
	free(fixed);
	free(ages);
	/* what a collection of 10,000 processes allocated (rows, copies,
	 * vectors, on up to four threads' arenas) goes back to the kernel: the
	 * exporter's RSS between scrapes is its own, not the allocator's */
	malloc_trim(0);
	return err;
}

/* the collector thread: a collection per batch of waiting scrapes */
static void *collector(void *arg)
{
	struct exporter *ex = arg;

	pthread_mutex_lock(&ex->lock);
	for (;;) {
		struct req *batch, *r, *next;
		struct body *b[BODY_N] = { NULL }, *g[BODY_N] = { NULL }, *old[2] = { NULL };
		bool want[BODY_N] = { false };
		double deadline;
		bool stopping;

		while (!ex->waiting && !ex->stopping)
			pthread_cond_wait(&ex->wake, &ex->lock);
		if (!ex->waiting)
			break;
		batch = ex->waiting;
		ex->waiting = NULL;
		ex->tail = &ex->waiting;
		stopping = ex->stopping;
		/* the page too, while someone looks at it */
		want[BODY_PAGE] = now() < ex->page_until;
		pthread_mutex_unlock(&ex->lock);

		/* the batch's earliest end: each scrape's arrival plus its timeout */
		deadline = 0;
		for (r = batch; r; r = r->next) {
			want[r->fmt] = true;
			if (!deadline || r->arrived + r->timeout < deadline)
				deadline = r->arrived + r->timeout;
		}
		if (stopping) {
			b[0] = body_text(503, "memlens exporter: shutting down\n");
		} else {
			int err = collect(ex, want, deadline, b);

			if (err) {
				for (int i = 0; i < BODY_N; i++) {
					body_free(b[i]);
					b[i] = NULL;
				}
				b[0] = body_text(500, err == -ENOMEM ? "memlens exporter: out of memory\n" :
							 "memlens exporter: the collection failed (see its log)\n");
			}
		}
		/* gzipped once per form, for the requests that accept it (the
		 * page always: it is kept for the views to come) */
		for (r = batch; r; r = r->next) {
			int k = b[r->fmt] ? r->fmt : 0;

			if (r->gz && b[k] && b[k]->status == 200 && !g[k])
				g[k] = body_gzip(b[k]);
		}
		if (b[BODY_PAGE] && !g[BODY_PAGE])
			g[BODY_PAGE] = body_gzip(b[BODY_PAGE]);
		/* each request its form's body (or the error), then resumed;
		 * a resumed request may complete and be freed at once */
		pthread_mutex_lock(&ex->lock);
		for (r = batch; r; r = r->next) {
			int k = b[r->fmt] ? r->fmt : 0;

			r->body = r->gz && g[k] ? g[k] : b[k];
			if (r->body)
				r->body->refs++;
			r->state = REQ_DONE;
		}
		if (b[BODY_PAGE]) {	/* the views to come get this page */
			for (int i = 0; i < 2; i++) {
				old[i] = ex->page[i];
				if (old[i] && --old[i]->refs)
					old[i] = NULL;	/* a view still sends it */
			}
			ex->page[0] = b[BODY_PAGE];
			ex->page[1] = g[BODY_PAGE];
			for (int i = 0; i < 2; i++)
				if (ex->page[i])
					ex->page[i]->refs++;
			ex->page_at = now();
		}
		pthread_mutex_unlock(&ex->lock);
		body_free(old[0]);
		body_free(old[1]);
		for (int i = 0; i < BODY_N; i++) {	/* bodies no request took */
			if (b[i] && !b[i]->refs)
				body_free(b[i]);
			if (g[i] && !g[i]->refs)
				body_free(g[i]);
		}
		for (r = batch; r; r = next) {
			next = r->next;
			MHD_resume_connection(r->conn);
		}
		pthread_mutex_lock(&ex->lock);
	}
	pthread_mutex_unlock(&ex->lock);
	return NULL;
}

/* an RFC 9110 qvalue ("0", "0.5", "1.000"; blanks after it allowed), or
 * -1 when it is none (nan, 2, -0, 1e0): the range is then not accepted */
static double qvalue(const char *s)
{
	double q;
	int i;

	if (s[0] != '0' && s[0] != '1')
		return -1;
	q = s[0] - '0';
	s++;
	if (*s == '.') {
		double scale = 0.1;

		for (i = 1, s++; i <= 3 && *s >= '0' && *s <= '9'; i++, s++, scale /= 10)
			q += (*s - '0') * scale;
	}
	s += strspn(s, " \t");
	if ((*s && *s != ';' && *s != ',') || q > 1)
		return -1;
	return q;
}

/*
 * OpenMetrics when the scraper asks for it at least as much as for plain
 * text (Prometheus asks for both, OpenMetrics first); a media range's q=
 * parameter counts, q=0 refuses.
 */
static bool wants_openmetrics(const char *accept)
{
	double q_om = -1, q_text = -1;

	while (accept && *accept) {
		size_t n = strcspn(accept, ",");
		char range[256];
		const char *qp;
		double q = 1;

		snprintf(range, sizeof(range), "%.*s", (int)(n < sizeof(range) - 1 ? n : sizeof(range) - 1), accept);
		qp = strstr(range, ";q=");
		if (!qp)
			qp = strstr(range, "; q=");
		if (qp)
			q = qvalue(strchr(qp, '=') + 1);
		range[strcspn(range, ";")] = 0;
		{
			char *t = range + strspn(range, " \t");

			t[strcspn(t, " \t")] = 0;
			if (!strcasecmp(t, "application/openmetrics-text"))
				q_om = q > q_om ? q : q_om;
			else if (!strcasecmp(t, "text/plain") || !strcasecmp(t, "text/*") || !strcmp(t, "*/*"))
				q_text = q > q_text ? q : q_text;
		}
		accept += n;
		accept += *accept == ',';
	}
	return q_om > 0 && q_om >= q_text;
}

enum { ENC_GZIP = 1, ENC_VARY = 2 };

/* gzip (or *) named in Accept-Encoding with a q above 0 */
static bool accepts_gzip(const char *ae)
{
	while (ae && *ae) {
		size_t n = strcspn(ae, ",");
		char tok[64];
		const char *q;
		char *t;

		snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) - 1 ? n : sizeof(tok) - 1), ae);
		q = strstr(tok, "q=");
		t = tok + strspn(tok, " \t");
		t[strcspn(t, " \t;")] = 0;
		if ((!strcasecmp(t, "gzip") || !strcmp(t, "*")) && !(q && qvalue(q + 2) <= 0))
			return true;
		ae += n;
		ae += *ae == ',';
	}
	return false;
}

/* the scrape's timeout: Prometheus's header (seconds, "10" or "0.5"), at
 * most --scrape-timeout's; a header that is not a number is ignored */
static double scrape_timeout(const struct exporter *ex, const char *h)
{
	char *end;
	double t;

	if (!h)
		return ex->scrape_timeout;
	errno = 0;
	t = strtod(h, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || end == h || *end || !(t > 0) || t > ex->scrape_timeout)
		return ex->scrape_timeout;
	return t;
}

enum { ENC_SHARED = 4 };

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, const char *data,
			       size_t len, const char *allow, int enc)
{
	/* a scrape's body is not copied per connection: the connection holds a
	 * reference to it until completed() (50 stalled readers of a 30 MB body
	 * held 1 GB with a copy each) */
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, enc & ENC_SHARED ?
								    MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (enc & ENC_GZIP)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (enc & ENC_VARY)	/* a cache between must key on what was negotiated */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	/* one answer per connection: a pipelined second request would wait
	 * behind a suspended scrape and be lost; the client reconnects */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned status, const char *text, const char *allow)
{
	return respond(conn, status, "text/plain; charset=utf-8", text, strlen(text), allow, 0);
}

/*
 * --web.config.file's checks, on a request's first call: the client's
 * certificate where client_auth_type asks for one (a connection that fails
 * is closed, as a failed handshake would be: MHD_NO), then basic auth (401
 * and a challenge).  MHD_YES: go on; *answered: a response was queued.
 */
static enum MHD_Result web_checks(struct exporter *ex, struct MHD_Connection *conn, bool *answered)
{
	struct web_config *wc = &ex->web;

	*answered = false;
	if (wc->tls && wc->client_auth != WEB_NO_CLIENT_CERT && wc->client_auth != WEB_REQUEST_CLIENT_CERT) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
		unsigned int ncerts = 0, status = 1;
		bool verify = wc->client_auth == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
			      wc->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT;

		if (!session)
			return MHD_NO;
		if (!gnutls_certificate_get_peers(session, &ncerts) || !ncerts) {
			if (wc->client_auth != WEB_VERIFY_CLIENT_CERT_IF_GIVEN) {
				if (ex->cli->verbose > 1)
					cli_err("exporter: http: a client without a certificate: closed");
				return MHD_NO;
			}
		} else if (verify && (gnutls_certificate_verify_peers2(session, &status) || status)) {
			if (ex->cli->verbose > 1)
				cli_err("exporter: http: a client certificate the CA did not sign: closed");
			return MHD_NO;
		}
	}
	if (wc->nusers) {
		char *pass = NULL;
		char *user = MHD_basic_auth_get_username_password(conn, &pass);
		bool good = user && pass && web_config_check(wc, user, pass);

		if (pass) {
			explicit_bzero(pass, strlen(pass));
			MHD_free(pass);
		}
		if (user)
			MHD_free(user);
		if (!good) {
			static const char text[] = "unauthorized: basic auth (--web.config.file)\n";
			struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
										    MHD_RESPMEM_PERSISTENT);
			enum MHD_Result ret;

			if (!resp)
				return MHD_NO;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
			ret = MHD_queue_basic_auth_fail_response(conn, "memlens", resp);
			MHD_destroy_response(resp);
			*answered = true;
			return ret;
		}
	}
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct exporter *ex = cls;
	struct req *r = *con_cls;
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);

	(void)version;
	(void)upload_data;
	if (!r) {
		bool answered;
		enum MHD_Result ok = web_checks(ex, conn, &answered);

		if (ok != MHD_YES || answered)
			return ok;
		/* headers in: everything but a scrape or a page is answered at once */
		if (strcmp(url, "/metrics") && strcmp(url, "/"))
			return plain(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics, the live page at /\n",
				     NULL);
		if (!get)
			return plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET or HEAD\n", "GET, HEAD");
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->conn = conn;
		r->arrived = now();
		r->gz = accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
		if (!strcmp(url, "/")) {
			/* the last collection's page while it is fresh; else
			 * the next collection's, waited for as a scrape */
			r->fmt = BODY_PAGE;
			r->timeout = ex->scrape_timeout;
			pthread_mutex_lock(&ex->lock);
			ex->page_until = r->arrived + PAGE_VIEWERS_S;
			if (ex->page[0] && r->arrived - ex->page_at < PAGE_FRESH_S) {
				r->body = r->gz && ex->page[1] ? ex->page[1] : ex->page[0];
				r->body->refs++;
				r->state = REQ_DONE;
			}
			pthread_mutex_unlock(&ex->lock);
		} else {
			r->timeout = scrape_timeout(ex, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
										     "X-Prometheus-Scrape-Timeout-Seconds"));
			r->fmt = wants_openmetrics(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									       MHD_HTTP_HEADER_ACCEPT)) ? BODY_OM : BODY_TEXT;
		}
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size) {	/* a GET with a body: ignored */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->state == REQ_NEW) {
		pthread_mutex_lock(&ex->lock);
		if (ex->stopping) {
			pthread_mutex_unlock(&ex->lock);
			return plain(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "memlens exporter: shutting down\n", NULL);
		}
		r->state = REQ_WAITING;
		*ex->tail = r;
		ex->tail = &r->next;
		pthread_cond_signal(&ex->wake);
		/* suspended before the collector can resume it: the lock is
		 * held until then */
		MHD_suspend_connection(conn);
		pthread_mutex_unlock(&ex->lock);
		return MHD_YES;
	}
	if (r->state == REQ_DONE) {
		struct body *b = r->body;

		if (!b)
			return plain(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "memlens exporter: out of memory\n", NULL);
		return respond(conn, b->status, b->type, b->data, b->len, NULL,
			       (b->gzip ? ENC_GZIP : 0) | ENC_VARY | ENC_SHARED);
	}
	return MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct exporter *ex = cls;
	struct req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	body_put(ex, r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * Connection slots per peer: a loopback peer is counted by the uid owning
 * its socket (any local user can bind 127.0.0.2, .3, ... but not another
 * uid), root's not at all, any other by its address.  A peer past PEER_CONNS open connections
 * has the new one shut at once, so a single local user holding every
 * connection it can (trickling a byte every 10 s) leaves the others' slots
 * free.  Only MHD's thread runs these.
 */
enum { PEER_CONNS = 8, PEERS = 512 };

struct peer {
	bool local;		/* loopback: uid counts; else addr */
	uid_t uid;
	struct sockaddr_storage addr;	/* the address (port zeroed) */
	unsigned conns;
};

static struct peer peers[PEERS];

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* the same from /proc/net/tcp or tcp6 (where sock_diag is a module not
 * loaded): the line whose local address is the peer's; -1 if none */
static long proc_net_uid(const struct sockaddr *sa)
{
	char want[64], line[512];
	const char *file;
	long uid = -1;
	FILE *f;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		snprintf(want, sizeof(want), "%08X:%04X", (unsigned)s4->sin_addr.s_addr, ntohs(s4->sin_port));
		file = "/proc/net/tcp";
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		uint32_t w[4];

		memcpy(w, &s6->sin6_addr, sizeof(w));
		snprintf(want, sizeof(want), "%08X%08X%08X%08X:%04X", w[0], w[1], w[2], w[3], ntohs(s6->sin6_port));
		file = "/proc/net/tcp6";
	}
	f = fopen(file, "re");
	while (f && uid < 0 && fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned long u;

		/* sl local rem st tx:rx tr:when retrnsmt uid ...; most lines
		 * are passed over by the strstr */
		if (strstr(line, want) && sscanf(line, " %*s %63s %*s %*s %*s %*s %*s %lu", local, &u) == 2 &&
		    !strcmp(local, want))
			uid = (long)u;
	}
	if (f)
		fclose(f);
	return uid;
}

/*
 * The uid owning the client's end of loopback connection fd (the peer's
 * socket, local to this machine): one sock_diag lookup by the connection's
 * four-tuple, the kernel's hash, whatever the number of sockets (a parse of
 * /proc/net/tcp per accept cost seconds with thousands of TIME_WAIT
 * entries); else proc_net_uid(); -1 if not found
 */
static long local_uid(int fd)
{
	struct sockaddr_storage us, them;
	socklen_t ul = sizeof(us), tl = sizeof(them);
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0U,
		       .id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} ans;
	struct timeval tv = { .tv_sec = 1 };
	long uid = -1;
	ssize_t n;
	int nl;

	if (getsockname(fd, (struct sockaddr *)&us, &ul) || getpeername(fd, (struct sockaddr *)&them, &tl) ||
	    us.ss_family != them.ss_family)
		return -1;
	req.r.sdiag_family = (__u8)them.ss_family;
	/* the client's socket: its source is the peer, its destination us */
	if (them.ss_family == AF_INET) {
		const struct sockaddr_in *t = (const void *)&them, *u = (const void *)&us;

		req.r.id.idiag_sport = t->sin_port;
		req.r.id.idiag_dport = u->sin_port;
		memcpy(req.r.id.idiag_src, &t->sin_addr, 4);
		memcpy(req.r.id.idiag_dst, &u->sin_addr, 4);
	} else if (them.ss_family == AF_INET6) {
		const struct sockaddr_in6 *t = (const void *)&them, *u = (const void *)&us;

		req.r.id.idiag_sport = t->sin6_port;
		req.r.id.idiag_dport = u->sin6_port;
		memcpy(req.r.id.idiag_src, &t->sin6_addr, 16);
		memcpy(req.r.id.idiag_dst, &u->sin6_addr, 16);
	} else {
		return -1;
	}
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return proc_net_uid((const struct sockaddr *)&them);
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req) && (n = recv(nl, &ans, sizeof(ans), 0)) > 0 &&
	    NLMSG_OK(&ans.nlh, (size_t)n) && ans.nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    ans.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		uid = ((const struct inet_diag_msg *)NLMSG_DATA(&ans.nlh))->idiag_uid;
	close(nl);
	/* no answer: inet_diag or tcp_diag not in this kernel (modules) */
	return uid >= 0 ? uid : proc_net_uid((const struct sockaddr *)&them);
}

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci, *fi;
	struct sockaddr_storage key;
	struct peer *p = *socket_context, *free_slot = NULL;
	long uid = -1;
	bool local;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (p)
			p->conns--;
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || !ci->client_addr || !fi)
		return;
	local = is_loopback(ci->client_addr) || ci->client_addr->sa_family == AF_UNIX;
	if (ci->client_addr->sa_family == AF_UNIX) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (!getsockopt(fi->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl))
			uid = cr.uid;
	} else if (local) {
		uid = local_uid(fi->connect_fd);
	}
	if (local && uid == 0)
		return;	/* root's own connections: not limited (root needs no attack) */
	memset(&key, 0, sizeof(key));
	memcpy(&key, ci->client_addr, ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
				      ci->client_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(sa_family_t));
	if (key.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&key)->sin6_port = 0;
	else if (key.ss_family == AF_INET)
		((struct sockaddr_in *)&key)->sin_port = 0;
	for (size_t i = 0; i < PEERS; i++) {
		struct peer *q = &peers[i];

		if (!q->conns) {
			if (!free_slot)
				free_slot = q;
			continue;
		}
		if (local && uid >= 0 ? q->local && q->uid == (uid_t)uid :
					!q->local && !memcmp(&q->addr, &key, sizeof(key))) {
			p = q;
			break;
		}
	}
	if (p && p->conns >= PEER_CONNS) {
		/* shut at once: MHD reads its end and closes it */
		shutdown(fi->connect_fd, SHUT_RDWR);
		return;
	}
	if (!p && (p = free_slot)) {
		*p = (struct peer){ .local = local && uid >= 0, .uid = uid >= 0 ? (uid_t)uid : 0, .addr = key };
	}
	if (p) {
		p->conns++;
		*socket_context = p;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct exporter *ex = cls;

	if (ex->cli->verbose > 1) {
		fputs("memlens: exporter: http: ", stderr);
		vfprintf(stderr, fmt, ap);
	}
}

/*
 * unix:PATH -> a listening unix socket, mode and group as given (its
 * readers are who the mode lets connect: SO_PEERCRED names each), or -1
 * (said), -2 (a usage error).  A file already at PATH is replaced only if
 * it is a socket (a stale one of ours); anything else is refused.
 */
static int listen_unix(const char *path, mode_t mode, gid_t gid, char *shown, size_t shown_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd;

	if (!*path || strlen(path) >= sizeof(sun.sun_path)) {
		cli_err("--listen unix:%s: a path of 1 to %zu bytes", path, sizeof(sun.sun_path) - 1);
		return -2;
	}
	strcpy(sun.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			cli_err("--listen unix:%s: exists and is not a socket: not replaced", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(0177);	/* created 0600: nobody connects before its mode is set */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		umask(old);
		cli_err("cannot listen on unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	umask(old);
	if (fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) || chmod(path, mode) || listen(fd, 256)) {
		cli_err("unix:%s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	snprintf(shown, shown_len, "unix:%s", path);
	return fd;
}

/* /proc mounted with hidepid (2, invisible, noaccess): what memlens serves
 * over TCP would show anyone who can connect what /proc hides from them */
static bool proc_hides(void)
{
	char line[4096];
	bool hides = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !hides && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - proc SOURCE SUPEROPTS */
		const char *sep = strstr(line, " - proc "), *h;
		char mnt[64];

		if (sep && sscanf(line, "%*s %*s %*s %*s %63s", mnt) == 1 && !strcmp(mnt, "/proc") &&
		    (h = strstr(sep, "hidepid=")))
			hides = strncmp(h + 8, "0", 1) && strncmp(h + 8, "off", 3);
	}
	if (f)
		fclose(f);
	return hides;
}

/* ADDR:PORT, [V6]:PORT or :PORT (every address) -> a listening socket, or -1 (said) */
static int listen_on(const char *spec, char *shown, size_t shown_len)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int fd, one = 1, rc;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	port = strrchr(spec, ':');
	if (!port || !port[1] || strspn(port + 1, "0123456789") != strlen(port + 1) || strlen(port + 1) > 5 ||
	    atoi(port + 1) > 65535 || (size_t)(port - spec) >= sizeof(host)) {
		cli_err("--listen %s: ADDR:PORT, [IPV6]:PORT or :PORT", spec);
		return -2;
	}
	if (spec[0] == '[' && port > spec && port[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(port - spec - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(port - spec), spec);
	rc = getaddrinfo(host[0] ? host : NULL, port + 1, &hints, &ai);
	if (rc) {
		cli_err("--listen %s: %s (a numeric address)", spec, gai_strerror(rc));
		return -2;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 256) || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		cli_err("cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(shown, shown_len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		char a[INET_ADDRSTRLEN];
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(shown, shown_len, "%s:%u", a, ntohs(s4->sin_port));
	}
	return fd;
}

/* one collection written to DIR/memlens.prom: a temporary file beside it,
 * renamed over it (node_exporter reads only *.prom, never a half file) */
static int write_textfile(struct exporter *ex, int dirfd, const char *dir)
{
	bool want[BODY_N] = { [BODY_TEXT] = true };
	struct body *b[BODY_N] = { NULL };
	char tmp[64];
	int fd, err = collect(ex, want, now() + ex->scrape_timeout, b);
	size_t off = 0;

	if (err) {
		cli_err("exporter: no collection: %s", strerror(-err));
		return err;
	}
	snprintf(tmp, sizeof(tmp), ".memlens.prom.%d", (int)getpid());
	/* O_EXCL: a name someone planted (a symlink) is not followed */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		err = -errno;
	while (fd >= 0 && !err && off < b[0]->len) {
		ssize_t w = write(fd, b[0]->data + off, b[0]->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err = -errno;
		else
			off += (size_t)w;
	}
	if (fd >= 0 && !err && (fchmod(fd, 0644) || fsync(fd)))
		err = -errno;
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, "memlens.prom"))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		cli_err("--textfile %s: %s", dir, strerror(-err));
	}
	body_free(b[0]);
	return err;
}

enum { STOP_WAIT_S = 1 };

/* the collector joined within STOP_WAIT_S: 0, else -ETIMEDOUT */
static int stop_collector(pthread_t th)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_WAIT_S;
	return pthread_timedjoin_np(th, NULL, &ts) ? -ETIMEDOUT : 0;
}

static bool parse_num(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= min && *out <= max;
}

enum { OPT_LISTEN = 256, OPT_TEXTFILE, OPT_INTERVAL, OPT_ONCE, OPT_TOP, OPT_PER_PROCESS, OPT_NO_DMABUF,
       OPT_PIN_DIR, OPT_TOP_GROUPS, OPT_SOCKET_MODE, OPT_SOCKET_GROUP, OPT_SCRAPE_TIMEOUT, OPT_PSS_MAX_RSS,
       OPT_PSS_INTERVAL, OPT_WEB_CONFIG };

#define DEFAULT_SCRAPE_TIMEOUT 10	/* Prometheus's own default */
#define DEFAULT_PSS_MAX_RSS (16ULL << 30)
#define DEFAULT_PSS_INTERVAL 60

/* BYTES with an optional K, M, G or T (powers of 1024); false: bad */
static bool parse_bytes(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || *s == '-')
		return false;
	if (*end && (u = strchr(units, *end & ~0x20)) && (!end[1] || ((end[1] | 0x20) == 'b' && !end[2]) ||
							  (end[1] == 'i' && end[2] == 'B' && !end[3]))) {
		v *= (double)(1ULL << (10 * (u - units + 1)));
		end = (char *)"";
	}
	if (*end || v >= 18446744073709551616.0)
		return false;
	*out = (uint64_t)v;
	return true;
}

static void exporter_help(void)
{
	printf("Usage: memlens exporter [--listen ADDR:PORT] [--top N|--per-process] [--no-dmabuf]\n"
	       "       memlens exporter --textfile DIR [--interval SECONDS|--once]\n\n"
	       "Serve process, cgroup and DMA-BUF memory to Prometheus on /metrics (OpenMetrics\n"
	       "when the scraper asks for it, else Prometheus text 0.0.4), or write it for\n"
	       "node_exporter's textfile collector.  Every scrape collects afresh; parallel\n"
	       "scrapes share one collection.  Metrics: docs/exporter.md.\n\n"
	       "      --listen ADDR:PORT  where to serve (default %s; :PORT every address)\n"
	       "      --listen unix:PATH  serve on a unix socket instead, made with\n"
	       "      --socket-mode MODE  its mode (default 0660) and\n"
	       "      --socket-group G    its group (default memlens's own)\n"
	       "      --textfile DIR      write DIR/memlens.prom (temporary file, renamed) instead\n"
	       "      --interval SECONDS  --textfile: how often (default 15)\n"
	       "      --once              --textfile: one collection, then exit\n"
	       "      --top N             per-process series for the N largest by PSS (default 20)\n"
	       "      --per-process       per-process series for every process\n"
	       "      --top-groups N      cgroup and command-name series for the N largest of\n"
	       "                          each by PSS, the rest summed as \"(other)\" (default 500; 0: all)\n"
	       "      --scrape-timeout S  a collection's time when the scraper does not say (its\n"
	       "                          X-Prometheus-Scrape-Timeout-Seconds), and the most it\n"
	       "                          may ask (default %d): smaps_rollup reads stop in time\n"
	       "      --pss-max-rss BYTES a process larger (K, M, G, T) has its smaps_rollup read\n"
	       "      --pss-interval S    at most every S seconds, its last figures served between\n"
	       "                          (default 16G, 60; 0: every process every scrape)\n"
	       "      --no-dmabuf         no DMA-BUF accounting\n"
	       "      --pin-dir DIR       DMA-BUF from the iterators pinned in DIR (memlens bpf pin)\n"
	       "      --web.config.file FILE  TLS and basic auth, in the Prometheus exporter-toolkit's\n"
	       "                          format (tls_server_config, basic_auth_users: bcrypt)\n"
	       , DEFAULT_LISTEN, DEFAULT_SCRAPE_TIMEOUT);
	cli_help_source(MEMLENS_JOB_DMABUF, 26);
	printf("  -v, --verbose           say the sources of the first collection (-vv: HTTP errors)\n"
	       "  -h, --help              this help\n");
}

/* the exporter's options beyond struct exporter's */
struct exp_args {
	const char *listen_spec, *textfile, *web_config;
	double interval;
	mode_t sock_mode;
	gid_t sock_gid;
	bool sock_opts, once, interval_set;
};

/* --top N, --top-groups N: a count; false: bad (said) */
static bool parse_count(const char *opt, const char *arg, const char *what, size_t *out)
{
	double v;

	if (!parse_num(arg, 0, 1e6, &v) || v != (size_t)v) {
		cli_err("%s %s: %s", opt, arg, what);
		return false;
	}
	*out = (size_t)v;
	return true;
}

/* --socket-mode, --socket-group; false: bad (said) */
static bool parse_socket_opt(int c, const char *arg, struct exp_args *a)
{
	if (c == OPT_SOCKET_MODE) {
		char *end;
		unsigned long m = strtoul(arg, &end, 8);

		if (!*arg || *end || m & ~0666UL) {
			cli_err("--socket-mode %s: octal, read and write bits only (0600, 0660, 0666)", arg);
			return false;
		}
		a->sock_mode = (mode_t)m;
	} else {
		struct group *g = getgrnam(arg);

		if (!g) {
			cli_err("--socket-group %s: no such group", arg);
			return false;
		}
		a->sock_gid = g->gr_gid;
	}
	a->sock_opts = true;
	return true;
}

/* options: -1 go on, else the exit code (--help, a usage error said) */
static int parse_opts(struct cli *cli, int argc, char **argv, struct exporter *ex, struct exp_args *a)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "textfile", required_argument, NULL, OPT_TEXTFILE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "top-groups", required_argument, NULL, OPT_TOP_GROUPS },
		{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "per-process", no_argument, NULL, OPT_PER_PROCESS },
		{ "no-dmabuf", no_argument, NULL, OPT_NO_DMABUF },
		{ "scrape-timeout", required_argument, NULL, OPT_SCRAPE_TIMEOUT },
		{ "pss-max-rss", required_argument, NULL, OPT_PSS_MAX_RSS },
		{ "pss-interval", required_argument, NULL, OPT_PSS_INTERVAL },
		{ "web.config.file", required_argument, NULL, OPT_WEB_CONFIG },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "source", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int c;

	while (ok && (c = getopt_long(argc, argv, "s:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN: a->listen_spec = optarg; break;
		case OPT_TEXTFILE: a->textfile = optarg; break;
		case OPT_INTERVAL:
			ok = parse_num(optarg, 0.1, 86400, &a->interval);
			if (!ok)
				cli_err("--interval %s: seconds, from 0.1 to 86400", optarg);
			a->interval_set = true;
			break;
		case OPT_ONCE: a->once = true; break;
		case OPT_TOP: ok = parse_count("--top", optarg, "a count of processes", &ex->top); break;
		case OPT_TOP_GROUPS:
			ok = parse_count("--top-groups", optarg, "a count of cgroups and command names (0: all)",
					 &ex->top_groups);
			break;
		case OPT_SOCKET_MODE:
		case OPT_SOCKET_GROUP: ok = parse_socket_opt(c, optarg, a); break;
		case OPT_PER_PROCESS: ex->per_process = true; break;
		case OPT_NO_DMABUF: ex->dmabuf = false; break;
		case OPT_SCRAPE_TIMEOUT:
			ok = parse_num(optarg, 0.01, 3600, &ex->scrape_timeout);
			if (!ok)
				cli_err("--scrape-timeout %s: seconds, from 0.01 to 3600", optarg);
			break;
		case OPT_PSS_INTERVAL:
			ok = parse_num(optarg, 0, 86400, &ex->pss_interval);
			if (!ok)
				cli_err("--pss-interval %s: seconds, from 0 to 86400", optarg);
			break;
		case OPT_PSS_MAX_RSS:
			ok = parse_bytes(optarg, &ex->pss_max_rss);
			if (!ok)
				cli_err("--pss-max-rss %s: bytes, with K, M, G or T (0: no limit)", optarg);
			break;
		case OPT_PIN_DIR: ex->pin_dir = optarg; break;
		case OPT_WEB_CONFIG: a->web_config = optarg; break;
		case 'h': exporter_help(); return EXIT_OK;
		default: ok = !cli_common_opt(cli, MEMLENS_JOB_DMABUF, c, optarg);
		}
	}
	return ok ? -1 : EXIT_USAGE;
}

/* options that do not go together: false (said) */
static bool check_opts(const struct exporter *ex, const struct exp_args *a, int argc)
{
	const char *why = NULL;

	if (optind != argc)
		why = "exporter takes no arguments";
	else if (a->sock_opts && strncmp(a->listen_spec, "unix:", 5))
		why = "--socket-mode and --socket-group go with --listen unix:PATH";
	else if ((a->once || a->interval_set) && !a->textfile)
		why = "--interval and --once go with --textfile";
	else if (a->web_config && a->textfile)
		why = "--web.config.file goes with --listen (a textfile has no HTTP)";
	else if (ex->per_process && ex->top != 20)
		why = "--top and --per-process do not go together";
	if (why)
		cli_err("%s", why);
	return !why;
}

/*
 * sd_notify(3)'s protocol without libsystemd: one datagram to the unix
 * socket NOTIFY_SOCKET names (a path, or @ for the abstract namespace), as
 * systemd sets it for Type=notify.  Nothing when it is unset; a failure is
 * said with -v and otherwise ignored (the service manager then times out).
 */
static void notify(struct exporter *ex, const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || (len = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		if (ex->cli->verbose)
			cli_err("exporter: NOTIFY_SOCKET %s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

/* --textfile: a collection every interval until SIGTERM or SIGINT, or --once */
static int run_textfile(struct exporter *ex, const struct exp_args *a, const sigset_t *sigs)
{
	int dirfd = open(a->textfile, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = EXIT_OK, sig;
	bool ready = false;
	struct timespec ts = { (time_t)a->interval, (long)((a->interval - (time_t)a->interval) * 1e9) };

	if (dirfd < 0) {
		cli_err("--textfile %s: %s", a->textfile, strerror(errno));
		return EXIT_RUNTIME;
	}
	do {
		if (write_textfile(ex, dirfd, a->textfile) && a->once)
			rc = EXIT_RUNTIME;
		if (a->once)
			break;
		if (!ready) {	/* after the first file: a unit ordered after us finds one */
			notify(ex, "READY=1\nSTATUS=writing the textfile");
			ready = true;
		}
		sig = sigtimedwait(sigs, NULL, &ts);
	} while (sig < 0);
	if (!a->once)
		notify(ex, "STOPPING=1");
	close(dirfd);
	return rc;
}

static struct MHD_Daemon *start_daemon(struct exporter *ex, int fd)
{
	/* with TLS: the certificate and key, and the CA client certificates are
	 * checked by (libmicrohttpd then asks the client for one) */
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, ex->web.cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, ex->web.key_pem },
		{ ex->web.ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, ex->web.ca_pem },
		{ MHD_OPTION_END, 0, NULL },
	};

	return MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				(ex->web.tls ? MHD_USE_TLS : 0), 0,
				NULL, NULL, handler, ex,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, ex,
				MHD_OPTION_ARRAY, ex->web.tls ? tls : &tls[3],
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_NOTIFY_COMPLETED, completed, ex,
				MHD_OPTION_NOTIFY_CONNECTION, notify_conn, ex,
				MHD_OPTION_END);
}

/* serving: where, and the hidepid warning; then until SIGTERM or SIGINT */
static void serve(struct exporter *ex, const char *shown, bool is_unix, const sigset_t *sigs)
{
	int sig;

	if (is_unix)
		fprintf(stderr, "memlens: exporter: serving %s (GET /metrics)\n", shown);
	else
		fprintf(stderr, "memlens: exporter: serving %s://%s/metrics%s\n", ex->web.tls ? "https" : "http", shown,
			ex->web.nusers ? " (basic auth)" : "");
	if (!is_unix && proc_hides())
		cli_err("WARNING: /proc is mounted with hidepid here, and this exporter serves every "
			"process's pid, command name, cgroup and memory to anyone who can connect to %s "
			"(no authentication): /proc's hiding does not apply to them. Listen on a unix "
			"socket (--listen unix:PATH --socket-mode 0660 --socket-group G) or firewall the "
			"port (docs/security.md)", shown);
	{
		char msg[256];

		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %s%s%s\nMAINPID=%d",
			 is_unix ? "" : ex->web.tls ? "https://" : "http://",
			 shown, is_unix ? "" : "/metrics", (int)getpid());
		notify(ex, msg);
	}
	while (sigwait(sigs, &sig))
		;
	notify(ex, "STOPPING=1");
	if (ex->cli->verbose)
		cli_err("exporter: %s, stopping", strsignal(sig));
}

/* --listen: the collector thread and the HTTP server until a signal */
static int run_http(struct exporter *ex, const struct exp_args *a, const sigset_t *sigs)
{
	char shown[128];
	bool is_unix = !strncmp(a->listen_spec, "unix:", 5);
	int fd = is_unix ? listen_unix(a->listen_spec + 5, a->sock_mode, a->sock_gid, shown, sizeof(shown)) :
			   listen_on(a->listen_spec, shown, sizeof(shown));
	struct MHD_Daemon *d;
	int rc = EXIT_OK;
	pthread_t th;

	if (fd < 0)
		return fd == -2 ? EXIT_USAGE : EXIT_RUNTIME;
	if (pthread_create(&th, NULL, collector, ex)) {
		cli_err("cannot start the collector: %s", strerror(errno));
		close(fd);
		return EXIT_RUNTIME;
	}
	d = start_daemon(ex, fd);
	if (!d) {
		cli_err("cannot start the HTTP server on %s", shown);
		rc = EXIT_RUNTIME;
	} else {
		serve(ex, shown, is_unix, sigs);
	}
	/* the scrapes still waiting get 503; then the daemon stops */
	pthread_mutex_lock(&ex->lock);
	ex->stopping = true;
	pthread_cond_signal(&ex->wake);
	pthread_mutex_unlock(&ex->lock);
	if (stop_collector(th)) {
		/* a collection held up by stalled processes (each waits up to
		 * the stall timeout): not waited for.  The process exit takes
		 * the readers, programs and links with it. */
		cli_err("exporter: the collection in progress did not end within %d s; exiting without it",
			STOP_WAIT_S);
		_exit(rc);
	}
	if (d)
		MHD_stop_daemon(d);
	/* every connection is gone: the live page's last bodies are the cache's alone */
	for (int i = 0; i < 2; i++)
		body_put(ex, ex->page[i]);
	close(fd);
	if (is_unix)
		unlink(a->listen_spec + 5);
	return rc;
}

int cmd_exporter(struct cli *cli, int argc, char **argv)
{
	struct exporter ex = { .cli = cli, .dmabuf = true, .top = 20, .top_groups = 500,
			       .scrape_timeout = DEFAULT_SCRAPE_TIMEOUT, .pss_max_rss = DEFAULT_PSS_MAX_RSS,
			       .pss_interval = DEFAULT_PSS_INTERVAL };
	struct exp_args a = { .listen_spec = DEFAULT_LISTEN, .interval = 15, .sock_mode = 0660, .sock_gid = getgid() };
	sigset_t sigs;
	int rc = parse_opts(cli, argc, argv, &ex, &a);

	if (rc >= 0)
		return rc;
	if (!check_opts(&ex, &a, argc))
		return EXIT_USAGE;
	/* one malloc arena for every thread (the HTTP server's, the collector,
	 * the walk's workers), as the exporter runs for good: each thread's
	 * own arena keeps its share of a collection's freed memory (measured
	 * at 2,000 processes: peak RSS 8.9 MB with glibc's default, 8.3 MB with
	 * one arena; between scrapes 8.9 and 6.9 MB), and a collection's
	 * allocations are too few for contention to show.  MALLOC_ARENA_MAX in
	 * the environment still wins. */
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 1);
	if (a.web_config) {
		char why[512];

		/* read before any listener: a config that fails opens nothing */
		if (web_config_load(a.web_config, &ex.web, why, sizeof(why))) {
			cli_err("%s", why);
			return EXIT_RUNTIME;
		}
		if (ex.web.tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			cli_err("--web.config.file %s: this libmicrohttpd has no TLS", a.web_config);
			web_config_free(&ex.web);
			return EXIT_RUNTIME;
		}
	}
	uname(&ex.uts);
	ex.self = (struct metrics_self){ .start_time = self_start_time(), .revision = MEMLENS_REVISION,
					 .kernel = ex.uts.release, .process = !a.textfile };
	pthread_mutex_init(&ex.lock, NULL);
	pthread_cond_init(&ex.wake, NULL);
	ex.tail = &ex.waiting;
	/* SIGTERM, SIGINT: taken by sigwait here, in no other thread */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rc = a.textfile ? run_textfile(&ex, &a, &sigs) : run_http(&ex, &a, &sigs);
	pthread_cond_destroy(&ex.wake);
	pthread_mutex_destroy(&ex.lock);
	free(ex.seen);
	web_config_free(&ex.web);
	return rc;
}

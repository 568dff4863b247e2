// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens snapshot: every process's memory in one table (procrank plus DMA-BUF). */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <time.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "metrics.h"
#include "quantity.h"

/* PID, COMM, the quantities (quantity.h, column C_Q0 + Q_x), then the rest */
enum { C_PID, C_COMM, C_Q0, C_USER = C_Q0 + Q_N, C_CGROUP, C_CONTAINER, C_POD, C_NPROCS, C_CMDLINE };
#define C_VSS (C_Q0 + Q_VSS)
#define C_PSS (C_Q0 + Q_PSS)
#define SNAPSHOT_QCOL(id, col, key, memtype, field, summed, dmabuf, help) \
	[C_Q0 + Q_##id] = { col, 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, help },

static const struct colinfo cols[] = {
	[C_PID] = { "PID", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "process id" },
	[C_COMM] = { "COMM", 12, 0, SCOLS_JSON_STRING, "command name" },
	QUANTITIES(SNAPSHOT_QCOL)
	[C_USER] = { "USER", 8, 0, SCOLS_JSON_STRING, "effective user (name, or uid without one)" },
	[C_CGROUP] = { "CGROUP", 20, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "cgroup: v2 path, or the v1 memory one where v2 is the root" },
	[C_CONTAINER] = { "CONTAINER", 12, 0, SCOLS_JSON_STRING, "container id its cgroup names (docker, containerd, cri-o, podman)" },
	[C_POD] = { "POD", 36, 0, SCOLS_JSON_STRING, "Kubernetes pod uid its cgroup names" },
	[C_NPROCS] = { "NPROCS", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "processes in the group (--group-by)" },
	[C_CMDLINE] = { "CMDLINE", 30, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "command line (NULs as spaces)" },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static uint64_t value(const struct memlens_proc_usage *p, int c)
{
	if (c == C_PID)
		return (uint64_t)p->pid;
	return c >= C_Q0 && c < C_Q0 + Q_N ? quantity_get(p, c - C_Q0) : 0;
}

/* rows by the column of ctx (an int: -x), biggest first; PID and COMM ascending */
static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct memlens_proc_usage *x = *(const struct memlens_proc_usage *const *)a;
	const struct memlens_proc_usage *y = *(const struct memlens_proc_usage *const *)b;
	int sort_col = *(const int *)ctx;
	uint64_t vx = value(x, sort_col), vy = value(y, sort_col);

	if (sort_col == C_COMM)
		return strcmp(x->comm, y->comm);
	if (sort_col == C_PID)
		return vx < vy ? -1 : vx > vy;
	return vx > vy ? -1 : vx < vy;	/* biggest first */
}

/* --group-by: the key column, and each group's sums */
static const struct { const char *name; int col; } group_keys[] = {
	{ "comm", C_COMM }, { "user", C_USER }, { "cgroup", C_CGROUP }, { "container", C_CONTAINER }, { "pod", C_POD },
};

/* a uid's name (getpwuid reads the passwd database: the first 64 distinct
 * uids are looked up once), its number without one, "?" unknown */
static void user_name(uint32_t uid, char *buf, size_t len)
{
	static struct { uint32_t uid; char name[64]; } seen[64];
	static size_t nseen;
	struct passwd *pw;
	size_t j = 0;

	while (j < nseen && seen[j].uid != uid)
		j++;
	if (j < nseen) {
		snprintf(buf, len, "%s", seen[j].name);
		return;
	}
	pw = uid == UINT32_MAX ? NULL : getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else if (uid == UINT32_MAX)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%u", uid);
	if (nseen < 64) {
		seen[nseen].uid = uid;
		snprintf(seen[nseen++].name, sizeof(seen[0].name), "%s", buf);
	}
}

/* the row's key for column col; user names through buf */
static const char *key_of(const struct memlens_proc_usage *p, int col, char *buf, size_t len)
{
	switch (col) {
	case C_COMM: return p->comm;
	case C_USER: user_name(p->uid, buf, len); return buf;
	case C_CGROUP: return p->cgroup ? p->cgroup : "";
	case C_CONTAINER: return p->container;
	case C_POD: return p->pod;
	default: return "";
	}
}

struct group {
	char *key;
	size_t nprocs;
	uint64_t v[C_Q0 + Q_N];
};

static int cmp_groups(const void *a, const void *b, void *ctx)
{
	const struct group *x = a, *y = b;
	int sort_col = *(const int *)ctx;

	if (sort_col == C_COMM || sort_col == C_PID)
		return strcmp(x->key, y->key);
	return x->v[sort_col] > y->v[sort_col] ? -1 : x->v[sort_col] < y->v[sort_col];
}

/* rows summed by key (like smem -u): groups sorted by the sort column */
static struct group *group_rows(const struct memlens_proc_usage **rows, size_t n, int col, int sort_col, size_t *ng)
{
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	char (*names)[64] = col == C_USER ? calloc(n ? n : 1, sizeof(*names)) : NULL;
	size_t *order = NULL, *starts = NULL;
	struct group *g = NULL;

	*ng = 0;
	if (!keys || (col == C_USER && !names))
		goto out;
	for (size_t i = 0; i < n; i++)
		keys[i] = key_of(rows[i], col, names ? names[i] : NULL, sizeof(names[0]));
	if (cli_group(keys, n, &order, &starts, ng))
		goto out;
	g = calloc(*ng ? *ng : 1, sizeof(*g));
	for (size_t k = 0; g && k < *ng; k++) {
		g[k].key = strdup(keys[order[starts[k]]]);
		if (!g[k].key) {
			while (k--)
				free(g[k].key);
			free(g);
			g = NULL;
			break;
		}
		g[k].nprocs = starts[k + 1] - starts[k];
		for (size_t i = starts[k]; i < starts[k + 1]; i++)
			for (int q = 0; q < Q_N; q++)
				if (quantities[q].summed)
					g[k].v[C_Q0 + q] += value(rows[order[i]], C_Q0 + q);
	}
	if (g)
		qsort_r(g, *ng, sizeof(*g), cmp_groups, &sort_col);
out:
	free(order);
	free(starts);
	free(names);
	free(keys);
	if (!g)
		*ng = 0;
	return g;
}

/* --pid, --comm, --user: a row is shown when it matches every filter given
 * (and any item of each comma list) */
struct filters {
	pid_t pids[64];
	size_t npids;
	const char *comms[16];	/* fnmatch patterns */
	size_t ncomms;
	uint32_t uids[16];
	size_t nuids;
	char *lists[3];		/* the option strings, split in place */
};

/* split a comma list in place into up to max items; 0 or -E2BIG */
static int split(char *s, const char **items, size_t max, size_t *n)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == max)
			return -E2BIG;
		items[(*n)++] = tok;
	}
	return 0;
}

static int parse_filters(struct filters *f, int which, const char *arg)
{
	const char *items[64];
	size_t n = 0;
	char *s = strdup(arg);

	if (!s)
		return -ENOMEM;
	free(f->lists[which]);
	f->lists[which] = s;
	if (split(s, items, which == 0 ? 64 : 16, &n) || !n) {
		cli_err("--%s %s: a comma-separated list of at most %d", which == 0 ? "pid" : which == 1 ? "comm" : "user",
			arg, which == 0 ? 64 : 16);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (which == 0) {
			pid_t pid;

			if (f->npids == 64 || cli_parse_pid(items[i], &pid) || !pid) {
				cli_err("--pid %s: '%s' is not a pid", arg, items[i]);
				return -EINVAL;
			}
			f->pids[f->npids++] = pid;
		} else if (which == 1) {
			if (f->ncomms == 16)
				return -E2BIG;
			f->comms[f->ncomms++] = items[i];
		} else {
			struct passwd *pw = getpwnam(items[i]);
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(items[i], &end, 10);
			if (f->nuids == 16 || (!pw && (*end || errno || v >= UINT32_MAX || items[i][0] == '-'))) {
				cli_err("--user %s: no user '%s'", arg, items[i]);
				return -EINVAL;
			}
			f->uids[f->nuids++] = pw ? pw->pw_uid : (uint32_t)v;
		}
	}
	return 0;
}

static bool matches(const struct filters *f, const struct memlens_proc_usage *p)
{
	bool ok = !f->npids;

	for (size_t i = 0; !ok && i < f->npids; i++)
		ok = p->pid == f->pids[i];
	if (ok && f->ncomms) {
		ok = false;
		for (size_t i = 0; !ok && i < f->ncomms; i++)
			ok = !fnmatch(f->comms[i], p->comm, 0);
	}
	if (ok && f->nuids) {
		ok = false;
		for (size_t i = 0; !ok && i < f->nuids; i++)
			ok = p->uid == f->uids[i];
	}
	return ok;
}

struct snap_args {
	struct memlens_snapshot_opts *opts;
	struct filters f;
	int group;
	int sort_col;		/* -x: a column, C_PSS by default */
	double watch;		/* -w SECS: 0 once */
	unsigned long count;	/* --count N: 0 until a signal */
	size_t top;		/* 0: every row */
	bool om;
	const char *defaults;
};

/* the unreadable processes the filters would have shown: the pid filter was
 * the library's; a comm, or a uid where status told it, is matched here (a
 * process whose uid is unknown is named under --user: it may be one) */
static size_t unreadable_shown(const struct filters *f, const struct memlens_snapshot *s, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < memlens_snapshot__unreadable(s); i++) {
		struct memlens_proc_usage p = { .pid = memlens_snapshot__unreadable_pid(s, i),
						.uid = memlens_snapshot__unreadable_uid(s, i) };
		struct filters g = *f;

		snprintf(p.comm, sizeof(p.comm), "%s", memlens_snapshot__unreadable_comm(s, i));
		if (p.uid == (uint32_t)-1)
			g.nuids = 0;
		if (matches(&g, &p))
			idx[n++] = i;
	}
	return n;
}

/* the summary member of -J's document: what the footer says, the totals, every
 * unreadable pid and the kernel-only DMA-BUF buffers (for memlens diff);
 * malloc'd, NULL: no memory */
static char *json_summary(const struct memlens_snapshot *s, const struct memlens_snapshot_opts *opts, size_t nprocs,
			  const uint64_t *tot, const size_t *unr, size_t nunr)
{
	const struct memlens_dmabuf *d = memlens_snapshot__dmabuf(s);
	const char *src = !opts->dmabuf ? "none" : memlens_snapshot__dmabuf_source(s) ?
			  memlens_source__name(memlens_snapshot__dmabuf_source(s)) : "unavailable";
	char *out = NULL;
	size_t len = 0;
	bool ok = true;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fprintf(f, "   \"summary\": {\"processes\": %zu, \"shown\": %zu, \"exited\": %zu, \"unreadable\": %zu, "
		"\"unreadable_pids\": [", memlens_snapshot__count(s), nprocs, memlens_snapshot__exited(s), nunr);
	for (size_t i = 0; i < nunr; i++)
		fprintf(f, "%s%d", i ? ", " : "", memlens_snapshot__unreadable_pid(s, unr[i]));
	fprintf(f, "], \"stalled\": %zu, \"stalled_pids\": [", memlens_snapshot__stalled(s));
	for (size_t i = 0; i < memlens_snapshot__stalled(s); i++)
		fprintf(f, "%s%d", i ? ", " : "", memlens_snapshot__stalled_pid(s, i));
	fprintf(f, "], \"mem_total\": %llu, \"mem_available\": %llu, \"dmabuf_source\": \"%s\",\n      \"total\": {",
		(unsigned long long)memlens_snapshot__mem_total(s), (unsigned long long)memlens_snapshot__mem_available(s), src);
	for (int q = 0, first = 1; q < Q_N; q++)
		if (quantities[q].summed) {
			fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", quantities[q].key, (unsigned long long)tot[C_Q0 + q]);
			first = 0;
		}
	fprintf(f, "},\n      \"dmabuf_kernel_only\": [");
	for (size_t i = 0, k = 0; d && ok && i < memlens_dmabuf__buf_count(d); i++) {
		const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, i);
		char *e, *nm;

		if (!b->kernel_only)
			continue;
		e = cli_json_str(b->exporter);
		nm = cli_json_str(b->name);
		ok = e && nm;
		if (ok)
			fprintf(f, "%s{\"inode\": %llu, \"size\": %llu, \"exporter\": %s, \"name\": %s}", k++ ? ", " : "",
				(unsigned long long)b->ino, (unsigned long long)b->size, e, nm);
		free(e);
		free(nm);
	}
	fputs("]}", f);
	if (fclose(f) || !ok) {
		free(out);
		return NULL;
	}
	return out;
}

/* A DMA-BUF pass that gave nothing: an error where the user named its
 * source or pins (said, -ENOENT...), else one line with -v (the columns
 * are then 0, and JSON's dmabuf_source says "unavailable") */
static int dmabuf_failed(struct cli *cli, const struct memlens_snapshot_opts *opts, int err)
{
	if (!err || !opts->dmabuf)
		return 0;
	if (opts->pin_dir || cli->source != MEMLENS_SOURCE_AUTO) {
		cli_err_dmabuf(cli, opts->pin_dir, err);
		return err;
	}
	if (cli->verbose)
		cli_err("no DMA-BUF source answered (%s): DMA-BUF columns are 0", strerror(-err));
	return 0;
}

/* one snapshot's rows as shown: filtered, sorted, grouped, summed */
struct view {
	const struct memlens_proc_usage **rows;
	size_t n, shown, nprocs;	/* rows read, rows shown, processes in them */
	size_t *unr, nunr;		/* the unreadable processes the filters would show */
	struct group *groups;
	size_t ng, ng_made;		/* groups shown (--top), groups made */
	uint64_t tot[NCOLS];
};

/* what the columns and the filters ask to be read; -EINVAL (said) */
static int plan(struct cli *cli, struct snap_args *a, struct out *o)
{
	struct memlens_snapshot_opts *opts = a->opts;
	int group = a->group;

	if (a->om) {
		/* the exporter's families, every process: cgroups read, and the
		 * DMA-BUF pass kept whole (per buffer, kernel-only) */
		opts->cgroups = true;
		opts->keep_dmabuf = true;
	} else {
		if (out_init(o, cli, "snapshot", cols, NCOLS, a->defaults))
			return -EINVAL;
		opts->cgroups = out_has(o, C_CGROUP) || out_has(o, C_CONTAINER) || out_has(o, C_POD) ||
				group == C_CGROUP || group == C_CONTAINER || group == C_POD;
		opts->owner = out_has(o, C_USER) || group == C_USER || a->f.nuids;
		opts->cmdline = out_has(o, C_CMDLINE);
		opts->keep_dmabuf = cli->mode == OUT_JSON;
		if (group >= 0 && out_has(o, C_VSS)) {
			cli_err("--group-by sums no VSS (a sum of address-space sizes means nothing): leave it out of -o");
			return -EINVAL;
		}
	}
	/* only the pids asked for are read: no other is exited or unreadable */
	opts->pids = a->f.npids ? a->f.pids : NULL;
	opts->npids = a->f.npids;
	opts->dmabuf_source = cli->source;
	return 0;
}

/* the rows the filters let through, sorted; the unreadable ones they would show */
static int select_rows(const struct snap_args *a, const struct memlens_snapshot *s, struct view *v)
{
	v->n = memlens_snapshot__count(s);
	v->rows = calloc(v->n ? v->n : 1, sizeof(*v->rows));
	v->unr = calloc(memlens_snapshot__unreadable(s) + 1, sizeof(*v->unr));
	if (!v->rows || !v->unr)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++)
		if (matches(&a->f, memlens_snapshot__get(s, i)))
			v->rows[v->shown++] = memlens_snapshot__get(s, i);
	qsort_r(v->rows, v->shown, sizeof(*v->rows), cmp_rows, (void *)&a->sort_col);
	v->nprocs = v->shown;
	v->nunr = unreadable_shown(&a->f, s, v->unr);
	return 0;
}

/* --group-by: a row per group (the first --top), summed into tot */
static int group_lines(const struct snap_args *a, struct view *v, struct out *o)
{
	v->groups = group_rows(v->rows, v->shown, a->group, a->sort_col, &v->ng_made);
	if (!v->groups && v->shown)
		return -ENOMEM;
	v->ng = a->top && v->ng_made > a->top ? a->top : v->ng_made;
	v->nprocs = 0;
	for (size_t i = 0; v->groups && i < v->ng; i++) {
		struct libscols_line *ln = out_line(o);

		out_set(o, ln, a->group, "%s", v->groups[i].key);
		out_set(o, ln, C_NPROCS, "%zu", v->groups[i].nprocs);
		v->nprocs += v->groups[i].nprocs;
		for (int k = C_Q0; k < C_Q0 + Q_N; k++)
			if (quantities[k - C_Q0].summed) {
				out_set_size(o, ln, k, v->groups[i].v[k]);
				v->tot[k] += v->groups[i].v[k];
			}
	}
	return 0;
}

/* a row per process (the first --top), summed into tot */
static void process_lines(const struct snap_args *a, struct view *v, struct out *o)
{
	if (a->top && v->shown > a->top)
		v->shown = v->nprocs = a->top;
	for (size_t i = 0; i < v->shown; i++) {
		const struct memlens_proc_usage *r = v->rows[i];
		struct libscols_line *ln = out_line(o);
		char ubuf[64];

		out_set(o, ln, C_PID, "%d", r->pid);
		out_set(o, ln, C_COMM, "%s", r->comm);
		out_set(o, ln, C_USER, "%s", key_of(r, C_USER, ubuf, sizeof(ubuf)));
		out_set(o, ln, C_CGROUP, "%s", r->cgroup ? r->cgroup : "");
		out_set(o, ln, C_CONTAINER, "%s", r->container);
		out_set(o, ln, C_POD, "%s", r->pod);
		out_set(o, ln, C_CMDLINE, "%s", r->cmdline ? r->cmdline : "");
		for (int k = C_Q0; k < C_Q0 + Q_N; k++) {
			out_set_size(o, ln, k, value(r, k));
			v->tot[k] += value(r, k);
		}
	}
}

/* the TOTAL row, for people: not with -r, -n, -J or --csv */
static void total_line(const struct cli *cli, const struct snap_args *a, const struct view *v, struct out *o)
{
	struct libscols_line *ln;

	if (cli->mode != OUT_TABLE || cli->no_headings)
		return;
	ln = out_line(o);
	out_set(o, ln, a->group >= 0 ? a->group : C_COMM, "TOTAL");
	if (a->group >= 0)
		out_set(o, ln, C_NPROCS, "%zu", v->nprocs);
	/* no VSS: a sum of address-space sizes means nothing */
	for (int k = C_Q0; k < C_Q0 + Q_N; k++)
		if (quantities[k - C_Q0].summed)
			out_set_size(o, ln, k, v->tot[k]);
}

/* the footer line, for people, and the processes that could not be read */
static void after_table(struct cli *cli, const struct memlens_snapshot_opts *opts, const struct memlens_snapshot *s,
			const struct view *v)
{
	if (cli->mode == OUT_TABLE && !cli->no_headings) {
		char t[32], av[32];
		enum memlens_source src = memlens_snapshot__dmabuf_source(s);

		cli_size(memlens_snapshot__mem_total(s), cli->bytes, t, sizeof(t));
		cli_size(memlens_snapshot__mem_available(s), cli->bytes, av, sizeof(av));
		printf("MemTotal: %s  MemAvailable: %s  processes: %zu  exited during the snapshot: %zu  unreadable: %zu%s%s\n",
		       t, av, v->n, memlens_snapshot__exited(s), v->nunr, opts->dmabuf ? "  DMA-BUF source: " : "",
		       !opts->dmabuf ? "" : src ? memlens_source__name(src) : "unavailable");
	}
	if (v->nunr) {
		int32_t pids[CLI_UNREADABLE_NAMED];
		const char *comms[CLI_UNREADABLE_NAMED];

		for (size_t i = 0; i < v->nunr && i < CLI_UNREADABLE_NAMED; i++) {
			pids[i] = memlens_snapshot__unreadable_pid(s, v->unr[i]);
			comms[i] = memlens_snapshot__unreadable_comm(s, v->unr[i]);
		}
		cli_say_unreadable(cli, v->nunr, pids, comms);
	}
	cli_say_stalled(cli, s);
}

/* the table (or JSON, raw, CSV) of one snapshot */
static int render_table(struct cli *cli, const struct snap_args *a, const struct memlens_snapshot *s, struct view *v,
			struct out *o)
{
	int err = a->group >= 0 ? group_lines(a, v, o) : (process_lines(a, v, o), 0);

	if (!err)
		total_line(cli, a, v, o);
	if (!err && cli->mode == OUT_JSON) {
		char *more = json_summary(s, a->opts, v->nprocs, v->tot, v->unr, v->nunr);

		err = more ? out_print_with(o, more) : -ENOMEM;
		free(more);
	} else if (!err) {
		err = out_print(o);
	}
	if (!err)
		after_table(cli, a->opts, s, v);
	return err;
}

/* one snapshot, rendered: 0 or a negative errno (-EINVAL: said, a usage error) */
static int snapshot_once(struct cli *cli, struct snap_args *a)
{
	struct memlens_snapshot *s = NULL;
	struct view v = { 0 };
	struct out o = { 0 };	/* out_free() of one never made is a no-op */
	int err = plan(cli, a, &o);

	if (!err) {
		err = memlens__snapshot(cli->ml, a->opts, &s);
		if (err)
			cli_err("snapshot failed: %s", strerror(-err));
		err = err == -EINVAL ? -EIO : err;
	}
	if (!err)
		err = dmabuf_failed(cli, a->opts, memlens_snapshot__dmabuf_error(s));
	if (!err)
		err = select_rows(a, s, &v);
	if (!err && a->om) {
		struct metrics_in mi = { .snap = s, .dmabuf = memlens_snapshot__dmabuf(s), .per_process = true,
					 .openmetrics = true };

		err = metrics_write(stdout, &mi);
	} else if (!err) {
		err = render_table(cli, a, s, &v, &o);
	}
	out_free(&o);
	for (size_t i = 0; v.groups && i < v.ng_made; i++)
		free(v.groups[i].key);
	free(v.groups);
	free(v.rows);
	free(v.unr);
	memlens_snapshot__free(s);
	if (!err && fflush(stdout))
		err = -EIO;
	return err;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void help(void)
{
	printf("Usage: memlens snapshot [options]\n\n"
	       "Every process's memory: smaps_rollup, statm and DMA-BUF, sorted (default PSS).\n\n"
	       "  -x, --sort COLUMN  sort by this column, largest first (PID, COMM: ascending)\n"
	       "      --pid LIST     only these processes (comma-separated)\n"
	       "      --comm LIST    only commands matching these patterns (fnmatch: 'kworker*')\n"
	       "      --user LIST    only processes of these users (names or uids)\n"
	       "      --top N        only the first N rows (or groups) in sort order\n"
	       "      --group-by KEY sum processes by comm, user, cgroup, container or pod\n"
	       "  -w, --watch SECS   again every SECS seconds, until interrupted (or --count)\n"
	       "      --count N      with --watch: N snapshots, then exit\n"
	       "      --openmetrics  OpenMetrics text\n"
	       "      --no-dmabuf    without the DMA-BUF pass\n"
	       "      --pin-dir DIR  pinned DMA-BUF iterators (default " MEMLENS_PIN_DIR ")\n");
	cli_help_common(MEMLENS_JOB_DMABUF);
	out_help_columns(stdout, cols, NCOLS);
	printf("\nTOTAL sums the rows shown (after --pid, --comm, --user and --top).\n");
}

/* a positive number up to 10^9 for --NAME, or 0 (said) */
static unsigned long positive(const char *name, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || arg[0] == '-' || !v || v > 1000000000) {
		cli_err("--%s %s: a positive number", name, arg);
		return 0;
	}
	return v;
}

/* the options into *a: 0 to go on, 1 (--help printed), -EINVAL (said) */
static int parse_opts(struct cli *cli, int argc, char **argv, struct snap_args *a)
{
	enum { OPT_OM = 256, OPT_NO_DMABUF, OPT_PIN_DIR, OPT_GROUP_BY, OPT_PID, OPT_COMM, OPT_USER, OPT_TOP, OPT_COUNT };
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "sort", required_argument, NULL, 'x' },
		{ "openmetrics", no_argument, NULL, OPT_OM },
		{ "no-dmabuf", no_argument, NULL, OPT_NO_DMABUF },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "user", required_argument, NULL, OPT_USER },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, COMMON_SHORTOPTS "x:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'x':
			a->sort_col = -1;
			for (size_t i = 0; i < C_Q0 + Q_N; i++)
				if (!strcasecmp(optarg, cols[i].name))
					a->sort_col = (int)i;
			if (a->sort_col < 0) {
				cli_err("unknown sort column '%s' (PID, COMM, or a size column)", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_OM: a->om = true; break;
		case OPT_NO_DMABUF: a->opts->dmabuf = false; break;
		case OPT_PIN_DIR: a->opts->pin_dir = optarg; break;
		case OPT_GROUP_BY:
			for (size_t i = 0; i < sizeof(group_keys) / sizeof(group_keys[0]); i++)
				if (!strcmp(optarg, group_keys[i].name))
					a->group = group_keys[i].col;
			if (a->group < 0) {
				cli_err("--group-by %s: comm, user, cgroup, container or pod", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_PID: err = parse_filters(&a->f, 0, optarg); break;
		case OPT_COMM: err = parse_filters(&a->f, 1, optarg); break;
		case OPT_USER: err = parse_filters(&a->f, 2, optarg); break;
		case OPT_TOP: err = (a->top = positive("top", optarg)) ? 0 : -EINVAL; break;
		case OPT_COUNT: err = (a->count = positive("count", optarg)) ? 0 : -EINVAL; break;
		case 'w':
			errno = 0;
			a->watch = strtod(optarg, &end);
			if (!*optarg || *end || errno || !(a->watch >= 0.1 && a->watch <= 86400)) {
				cli_err("--watch %s: seconds, from 0.1 to 86400", optarg);
				err = -EINVAL;
			}
			break;
		case 'h': help(); return 1;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_DMABUF, c, optarg))
				err = -EINVAL;
		}
	}
	return err ? err : optind != argc ? (cli_err("snapshot takes no arguments"), -EINVAL) : 0;
}

/* options that do not go together: 0 or -EINVAL (said) */
static int check_opts(const struct cli *cli, const struct snap_args *a)
{
	const char *why = NULL;

	if (a->om && cli->mode != OUT_TABLE)
		why = "--openmetrics and -J, -r or --csv do not go together";
	else if (a->om && (a->group >= 0 || a->f.npids || a->f.ncomms || a->f.nuids || a->top))
		why = "--openmetrics takes no --group-by, --top or filters (the exporter's --top is its own)";
	else if (a->count && !a->watch)
		why = "--count goes with --watch";
	else if (a->group >= 0 && a->sort_col == C_VSS)
		why = "--group-by sums no VSS (a sum of address-space sizes means nothing): sort by another column";
	if (why)
		cli_err("%s", why);
	return why ? -EINVAL : 0;
}

/* -o's defaults: the key (or PID,COMM), then the quantities: groups the
 * summed ones, DMA-BUF's with the DMA-BUF pass */
static void default_columns(const struct snap_args *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", a->group >= 0 ? cols[a->group].name : "PID,COMM", a->group >= 0 ? ",NPROCS" : "");
	for (int q = 0; q < Q_N; q++)
		if ((a->group < 0 || quantities[q].summed) && (a->opts->dmabuf || !quantities[q].dmabuf) &&
		    strlen(buf) + strlen(quantities[q].col) + 2 < len) {
			strcat(buf, ",");
			strcat(buf, quantities[q].col);
		}
}

/* one snapshot, or with --watch one every watch seconds until a signal or --count */
static int watch_loop(struct cli *cli, struct snap_args *a)
{
	int err = 0;

	if (a->watch) {
		struct sigaction sa = { .sa_handler = on_signal };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	for (unsigned long i = 0; !stop; i++) {
		if (a->watch && cli->mode == OUT_TABLE && !cli->no_headings) {
			char when[64];
			time_t now = time(NULL);

			strftime(when, sizeof(when), "%F %T %z", localtime(&now));
			printf("%s%s\n", i ? "\n" : "", when);
		}
		err = snapshot_once(cli, a);
		if (err || !a->watch || (a->count && i + 1 >= a->count))
			break;
		/* sleep, woken early by a signal */
		struct timespec ts = { (time_t)a->watch, (long)((a->watch - (double)(time_t)a->watch) * 1e9) };

		while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	return err;
}

int cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	MEMLENS_OPTS(memlens_snapshot_opts, opts, .dmabuf = true);
	struct snap_args a = { .opts = &opts, .group = -1, .sort_col = C_PSS };
	char defaults[160];
	int err = parse_opts(cli, argc, argv, &a);

	if (!err)
		err = check_opts(cli, &a);
	if (!err) {
		default_columns(&a, defaults, sizeof(defaults));
		a.defaults = defaults;
		err = watch_loop(cli, &a);
	}
	for (size_t i = 0; i < 3; i++)
		free(a.f.lists[i]);
	return err == 1 ? EXIT_OK : err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

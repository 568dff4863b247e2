// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens snapshot: every process's memory in one table (procrank plus DMA-BUF). */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memlens_cli.h"
#include "metrics.h"
#include "quantity.h"
#include "proc_view.h"

/* PID, COMM, the quantities (quantity.h, column C_Q0 + Q_x), then the rest */
enum { C_PID, C_COMM, C_Q0, C_USER = C_Q0 + Q_N, C_CGROUP, C_CONTAINER, C_POD, C_NPROCS, C_CMDLINE };
#define C_VSS (C_Q0 + Q_VSS)
#define C_PSS (C_Q0 + Q_PSS)
#define SNAPSHOT_QCOL(id, col, key, memtype, field, summed, dmabuf, walk, split, help) \
	[C_Q0 + Q_##id] = { col, 10, 0, OUT_NUM, help },

static const struct colinfo cols[] = {
	[C_PID] = { "PID", 6, 0, OUT_NUM, "process id" },
	[C_COMM] = { "COMM", 12, 0, OUT_TEXT, "command name" },
	QUANTITIES(SNAPSHOT_QCOL)
	[C_USER] = { "USER", 8, 0, OUT_TEXT, "effective user (name, or uid without one)" },
	[C_CGROUP] = { "CGROUP", 20, OUT_FL_TRUNC, OUT_TEXT, "cgroup: v2 path, or the v1 memory one where v2 is the root" },
	[C_CONTAINER] = { "CONTAINER", 12, 0, OUT_TEXT, "container id its cgroup names (docker, containerd, cri-o, podman)" },
	[C_POD] = { "POD", 36, 0, OUT_TEXT, "Kubernetes pod uid its cgroup names" },
	[C_NPROCS] = { "NPROCS", 6, 0, OUT_NUM, "processes in the group (--group-by)" },
	[C_CMDLINE] = { "CMDLINE", 30, OUT_FL_TRUNC, OUT_TEXT, "command line (NULs as spaces)" },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* --group-by: the key column and its key */
static const struct { const char *name; int col; enum proc_key key; } group_keys[] = {
	{ "comm", C_COMM, PK_COMM }, { "user", C_USER, PK_USER }, { "cgroup", C_CGROUP, PK_CGROUP },
	{ "container", C_CONTAINER, PK_CONTAINER }, { "pod", C_POD, PK_POD },
};

struct snap_args {
	struct memlens_snapshot_opts *opts;
	struct proc_filters f;
	int group;		/* --group-by: its column, -1 none */
	enum proc_key gkey;	/* ... and its key */
	int sort_col;		/* -x: a column, C_PSS by default */
	bool sort_set;		/* -x given */
	struct proc_order order;	/* ... as the view orders rows */
	double watch;		/* -w SECS: 0 once */
	unsigned long count;	/* --count N: 0 until a signal */
	unsigned long round;	/* --watch: which snapshot this is, from 0 */
	size_t top;		/* 0: every row */
	bool om;
	const char *defaults;
};

/* one snapshot's rows as shown (proc_view.h), and what the table sums */
struct view {
	struct proc_view pv;
	size_t nprocs;			/* processes in the rows shown */
	size_t ng;			/* groups shown (--top) */
	uint64_t tot[NCOLS];
};

/* what the summary of -J's document is made from */
struct summary {
	const struct memlens_snapshot *s;
	const struct memlens_snapshot_opts *opts;
	const struct view *v;
};

/* when and where: the wall clock (RFC 3339, UTC, milliseconds), seconds
 * since boot, the boot's id and the host's name (memlens diff refuses two
 * boots, and takes rates over the boot clock: the wall clock may step) */
static void json_taken(struct jw *w, const struct memlens_snapshot *s)
{
	struct timespec wall = { 0 }, boot = { 0 };
	char buf[64], num[32];
	struct tm tm;

	memlens_snapshot__time(s, &wall, &boot);
	if (gmtime_r(&wall.tv_sec, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03ldZ", wall.tv_nsec / 1000000);
		jw_text(w, "time", buf);
	} else {
		jw_null(w, "time");
	}
	snprintf(num, sizeof(num), "%lld.%03ld", (long long)boot.tv_sec, boot.tv_nsec / 1000000);
	jw_number(w, "uptime", num);
	jw_text(w, "boot_id", memlens_snapshot__boot_id(s));
	jw_name(w, "hostname", memlens_snapshot__hostname(s));
}

/* the summary member of -J's document: what the footer says, the totals, every
 * unreadable pid and the kernel-only DMA-BUF buffers (for memlens diff) */
static void json_summary(struct jw *w, void *ctx)
{
	const struct summary *sm = ctx;
	const struct memlens_snapshot *s = sm->s;
	const struct memlens_dmabuf *d = memlens_snapshot__dmabuf(s);
	enum memlens_source src = memlens_snapshot__dmabuf_source(s);

	jw_object(w, "summary", false);
	json_taken(w, s);
	jw_u64(w, "processes", sm->v->pv.n);
	jw_u64(w, "shown", sm->v->nprocs);
	jw_u64(w, "exited", memlens_snapshot__exited(s));
	jw_u64(w, "unreadable", sm->v->pv.nunr);
	jw_array(w, "unreadable_pids", true);
	for (size_t i = 0; i < sm->v->pv.nunr; i++)
		jw_i64(w, NULL, memlens_snapshot__unreadable_pid(s, sm->v->pv.unr[i]));
	jw_end(w);
	jw_u64(w, "stalled", memlens_snapshot__stalled(s));
	jw_array(w, "stalled_pids", true);
	for (size_t i = 0; i < memlens_snapshot__stalled(s); i++)
		jw_i64(w, NULL, memlens_snapshot__stalled_pid(s, i));
	jw_end(w);
	jw_u64(w, "mem_total", memlens_snapshot__mem_total(s));
	jw_u64(w, "mem_available", memlens_snapshot__mem_available(s));
	jw_text(w, "dmabuf_source", !sm->opts->dmabuf ? "none" : src ? memlens_source__name(src) : "unavailable");
	jw_object(w, "total", true);
	/* without a page walk (-o of counters only) PSS and its kin are
	 * unknown: null; so is RSS's split where no counters were read */
	for (int q = 0; q < Q_N; q++)
		if (quantities[q].summed && ((quantities[q].walk && sm->opts->counters_only) ||
					     (quantities[q].split && !sm->opts->counters_only && !sm->opts->counters)))
			jw_null(w, quantities[q].key);
		else if (quantities[q].summed)
			jw_u64(w, quantities[q].key, sm->v->tot[C_Q0 + q]);
	jw_end(w);
	jw_array(w, "dmabuf_kernel_only", false);
	for (size_t i = 0; d && i < memlens_dmabuf__buf_count(d); i++) {
		const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, i);

		if (!b->kernel_only)
			continue;
		jw_object(w, NULL, true);
		jw_u64(w, "inode", b->ino);
		jw_u64(w, "size", b->size);
		jw_name(w, "exporter", b->exporter);
		jw_name(w, "name", b->name);
		jw_end(w);
	}
	jw_end(w);
	jw_end(w);
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
		opts->counters = true;
	} else {
		if (out_init(o, cli, "snapshot", cols, NCOLS, a->defaults))
			return -EINVAL;
		opts->cgroups = out_has(o, C_CGROUP) || out_has(o, C_CONTAINER) || out_has(o, C_POD) ||
				group == C_CGROUP || group == C_CONTAINER || group == C_POD;
		opts->owner = out_has(o, C_USER) || group == C_USER || a->f.nuids;
		opts->cmdline = out_has(o, C_CMDLINE);
		opts->keep_dmabuf = cli_document(cli);
		if (group >= 0 && out_has(o, C_VSS)) {
			cli_err("--group-by sums no VSS (a sum of address-space sizes means nothing): leave it out of -o");
			return -EINVAL;
		}
		/* the cheap tier: no column (nor -x) needs smaps_rollup's page
		 * walk, so none is done: rss, swap and vss from the mm counters,
		 * sorted by RSS unless -x says otherwise */
		opts->counters_only = true;
		for (int q = 0; q < Q_N; q++)
			if (quantities[q].walk && (out_has(o, C_Q0 + q) || (a->sort_set && a->sort_col == C_Q0 + q)))
				opts->counters_only = false;
		/* RSS's split by kind beside rollups: the counters of each too */
		for (int q = 0; q < Q_N; q++)
			if (quantities[q].split && (out_has(o, C_Q0 + q) || (a->sort_set && a->sort_col == C_Q0 + q)))
				opts->counters = !opts->counters_only;
		/* nor the DMA-BUF pass where no column (nor -x, nor a document's
		 * buffer list) shows it */
		if (opts->dmabuf && !opts->keep_dmabuf) {
			bool want = false;

			for (int q = 0; q < Q_N; q++)
				if (quantities[q].dmabuf && (out_has(o, C_Q0 + q) || (a->sort_set && a->sort_col == C_Q0 + q)))
					want = true;
			opts->dmabuf = want;
		}
		if (opts->counters_only) {
			if (!a->sort_set)
				a->order = (struct proc_order){ BY_QUANTITY, Q_RSS };
			if (cli->verbose)
				cli_err("snapshot: no column needs a page walk: RSS, SWAP and VSS from the mm counters, "
					"no smaps_rollup read");
		}
	}
	/* only the pids asked for are read: no other is exited or unreadable */
	opts->pids = a->f.npids ? a->f.pids : NULL;
	opts->npids = a->f.npids;
	opts->dmabuf_source = cli->source;
	return 0;
}

/* --group-by: a row per group (the first --top), summed into tot */
static int group_lines(const struct snap_args *a, struct view *v, struct out *o)
{
	if (proc_view_group(&v->pv, a->gkey, &a->order))
		return -ENOMEM;
	v->ng = a->top && v->pv.ng > a->top ? a->top : v->pv.ng;
	v->nprocs = 0;
	for (size_t i = 0; i < v->ng; i++) {
		const struct proc_group *g = &v->pv.groups[i];
		struct out_row *ln = out_line(o);

		out_set(o, ln, a->group, "%s", v->pv.keys[g->first]);
		out_set(o, ln, C_NPROCS, "%zu", g->n);
		v->nprocs += g->n;
		for (int q = 0; q < Q_N; q++)
			if (quantities[q].summed) {
				out_set_size(o, ln, C_Q0 + q, g->v[q]);
				v->tot[C_Q0 + q] += g->v[q];
			}
	}
	return 0;
}

/* a row per process (the first --top), summed into tot */
static void process_lines(const struct snap_args *a, struct view *v, struct out *o)
{
	v->nprocs = v->pv.shown;
	if (a->top && v->pv.shown > a->top)
		v->pv.shown = v->nprocs = a->top;
	for (size_t i = 0; i < v->pv.shown; i++) {
		const struct memlens_proc_usage *r = v->pv.rows[i];
		struct out_row *ln = out_line(o);
		char ubuf[64];

		out_set(o, ln, C_PID, "%d", r->pid);
		out_set(o, ln, C_COMM, "%s", r->comm);
		out_set(o, ln, C_USER, "%s", proc_key_of(r, PK_USER, ubuf, sizeof(ubuf)));
		out_set(o, ln, C_CGROUP, "%s", r->cgroup ? r->cgroup : "");
		out_set(o, ln, C_CONTAINER, "%s", r->container);
		out_set(o, ln, C_POD, "%s", r->pod);
		out_set(o, ln, C_CMDLINE, "%s", r->cmdline ? r->cmdline : "");
		for (int q = 0; q < Q_N; q++) {
			out_set_size(o, ln, C_Q0 + q, quantity_get(r, q));
			v->tot[C_Q0 + q] += quantity_get(r, q);
		}
	}
}

/* the TOTAL row, for people (in JSON, the summary's total) */
static void total_line(const struct snap_args *a, const struct view *v, struct out *o)
{
	int label = a->group >= 0 ? a->group : C_COMM;
	struct out_row *ln = out_total(o, &label, 1, NULL);

	if (a->group >= 0)
		out_set(o, ln, C_NPROCS, "%zu", v->nprocs);
	/* no VSS: a sum of address-space sizes means nothing */
	for (int k = C_Q0; k < C_Q0 + Q_N; k++)
		if (quantities[k - C_Q0].summed)
			out_set_size(o, ln, k, v->tot[k]);
}

/* the footer line, for people */
static void footer(struct cli *cli, const struct memlens_snapshot_opts *opts, const struct memlens_snapshot *s,
		   const struct view *v, struct out *o)
{
	char t[32], av[32];
	enum memlens_source src = memlens_snapshot__dmabuf_source(s);

	cli_size(memlens_snapshot__mem_total(s), cli->bytes, t, sizeof(t));
	cli_size(memlens_snapshot__mem_available(s), cli->bytes, av, sizeof(av));
	out_footer(o, "MemTotal: %s  MemAvailable: %s  processes: %zu  exited during the snapshot: %zu  unreadable: %zu%s%s",
		   t, av, v->pv.n, memlens_snapshot__exited(s), v->pv.nunr, opts->dmabuf ? "  DMA-BUF source: " : "",
		   !opts->dmabuf ? "" : src ? memlens_source__name(src) : "unavailable");
}

/* the processes that could not be read, or stalled, on stderr */
static void after_table(struct cli *cli, const struct memlens_snapshot *s, const struct view *v)
{
	if (v->pv.nunr) {
		int32_t pids[CLI_UNREADABLE_NAMED];
		const char *comms[CLI_UNREADABLE_NAMED];

		for (size_t i = 0; i < v->pv.nunr && i < CLI_UNREADABLE_NAMED; i++) {
			pids[i] = memlens_snapshot__unreadable_pid(s, v->pv.unr[i]);
			comms[i] = memlens_snapshot__unreadable_comm(s, v->pv.unr[i]);
		}
		cli_say_unreadable(cli, v->pv.nunr, pids, comms);
	}
	cli_say_stalled(cli, s);
}

/* the table (or JSON, raw, CSV) of one snapshot */
static int render_table(struct cli *cli, const struct snap_args *a, const struct memlens_snapshot *s, struct view *v,
			struct out *o)
{
	struct summary sm = { s, a->opts, v };
	int err = a->group >= 0 ? group_lines(a, v, o) : (process_lines(a, v, o), 0);

	if (!err && a->watch) {
		char when[64];
		time_t now = time(NULL);

		/* for people, each --watch table under its time */
		strftime(when, sizeof(when), "%F %T %z", localtime(&now));
		out_heading(o, "%s%s", a->round ? "\n" : "", when);
	}
	if (!err) {
		total_line(a, v, o);
		footer(cli, a->opts, s, v, o);
		err = out_print_doc(o, json_summary, &sm);
	}
	if (!err)
		after_table(cli, s, v);
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
		enum memlens_source cs = a->opts->counters_source;

		err = memlens__snapshot(cli->ml, a->opts, &s);
		if (err == -EOPNOTSUPP && cs != MEMLENS_SOURCE_AUTO)
			cli_err("counters source %s unavailable: %s", memlens_source__name(cs),
				memlens__source_reason(cli->ml, cs));
		else if (err)
			cli_err("snapshot failed: %s", strerror(-err));
		if (!err && cli->verbose && memlens_snapshot__counters_source(s)) {
			enum memlens_source used = memlens_snapshot__counters_source(s);

			cli_err("counters from %s (%s): %s", memlens_source__name(used),
				cs == MEMLENS_SOURCE_AUTO ? "picked" : "forced",
				memlens__explain(cli->ml, MEMLENS_JOB_COUNTERS, used, cs != MEMLENS_SOURCE_AUTO));
		}
		err = err == -EINVAL ? -EIO : err;
	}
	if (!err)
		err = dmabuf_failed(cli, a->opts, memlens_snapshot__dmabuf_error(s));
	if (!err)
		err = proc_view_select(&v.pv, s, &a->f, &a->order);
	if (!err && a->om) {
		struct metrics_in mi = { .snap = s, .dmabuf = memlens_snapshot__dmabuf(s), .per_process = true,
					 .openmetrics = true };

		err = metrics_write(stdout, &mi);
	} else if (!err) {
		err = render_table(cli, a, s, &v, &o);
	}
	out_free(&o);
	proc_view_free(&v.pv);
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
	       "      --self         memlens's own process too (left out by default)\n"
	       "      --group-by KEY sum processes by comm, user, cgroup, container or pod\n"
	       "  -w, --watch SECS   again every SECS seconds, until interrupted (or --count)\n"
	       "      --count N      with --watch: N snapshots, then exit\n"
	       "      --openmetrics  OpenMetrics text\n"
	       "      --no-dmabuf    without the DMA-BUF pass\n"
	       "      --pin-dir DIR  pinned DMA-BUF iterators (default " MEMLENS_PIN_DIR ")\n"
	       "      --counters-source NAME\n"
	       "                     where rows of the mm counters come from (no column needs a\n"
	       "                     page walk): bpf (one pass), procfs (status), auto (default)\n");
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
	enum { OPT_OM = 256, OPT_NO_DMABUF, OPT_PIN_DIR, OPT_GROUP_BY, OPT_PID, OPT_COMM, OPT_USER, OPT_TOP, OPT_COUNT,
	       OPT_COUNTERS_SOURCE, OPT_SELF };
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "sort", required_argument, NULL, 'x' },
		{ "openmetrics", no_argument, NULL, OPT_OM },
		{ "no-dmabuf", no_argument, NULL, OPT_NO_DMABUF },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "counters-source", required_argument, NULL, OPT_COUNTERS_SOURCE },
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "user", required_argument, NULL, OPT_USER },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "self", no_argument, NULL, OPT_SELF },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, COMMON_SHORTOPTS "x:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'x':
			a->sort_col = -1;
			a->sort_set = true;
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
		case OPT_COUNTERS_SOURCE:
			if (memlens_source__parse(MEMLENS_JOB_COUNTERS, optarg, &a->opts->counters_source)) {
				cli_err("--counters-source %s: auto, bpf or procfs", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_GROUP_BY:
			for (size_t i = 0; i < sizeof(group_keys) / sizeof(group_keys[0]); i++)
				if (!strcmp(optarg, group_keys[i].name)) {
					a->group = group_keys[i].col;
					a->gkey = group_keys[i].key;
				}
			if (a->group < 0) {
				cli_err("--group-by %s: comm, user, cgroup, container or pod", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_PID: err = proc_filters_parse(&a->f, PF_PID, optarg); break;
		case OPT_COMM: err = proc_filters_parse(&a->f, PF_COMM, optarg); break;
		case OPT_USER: err = proc_filters_parse(&a->f, PF_USER, optarg); break;
		case OPT_TOP: err = (a->top = positive("top", optarg)) ? 0 : -EINVAL; break;
		case OPT_COUNT: err = (a->count = positive("count", optarg)) ? 0 : -EINVAL; break;
		case OPT_SELF: a->f.self = 0; break;
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

	if (a->om && !cli_people(cli))
		why = "--openmetrics and -J, -r or --csv do not go together";
	else if (a->om && (a->group >= 0 || proc_filters_any(&a->f) || a->top))
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
		    !quantities[q].split &&
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
		a->round = i;
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
	struct snap_args a = { .opts = &opts, .group = -1, .sort_col = C_PSS, .f.self = getpid() };
	char defaults[160];
	int err = parse_opts(cli, argc, argv, &a);

	a.order = (struct proc_order){ a.sort_col == C_PID ? BY_PID : a.sort_col == C_COMM ? BY_COMM : BY_QUANTITY,
				       a.sort_col - C_Q0 };
	if (!err)
		err = check_opts(cli, &a);
	if (!err) {
		default_columns(&a, defaults, sizeof(defaults));
		a.defaults = defaults;
		err = watch_loop(cli, &a);
	}
	proc_filters_free(&a.f);
	return err == 1 ? EXIT_OK : err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

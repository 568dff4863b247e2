// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens snapshot: every process's memory in one table (procrank plus DMA-BUF). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "metrics.h"

enum { C_PID, C_COMM, C_VSS, C_RSS, C_PSS, C_USS, C_SWAP, C_SWAPPSS, C_DMABUF_RSS, C_DMABUF_PSS,
       C_USER, C_CGROUP, C_CONTAINER, C_POD, C_NPROCS };

static const struct colinfo cols[] = {
	[C_PID] = { "PID", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "process id" },
	[C_COMM] = { "COMM", 12, 0, SCOLS_JSON_STRING, "command name" },
	[C_VSS] = { "VSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "virtual size, bytes (statm)" },
	[C_RSS] = { "RSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "resident, bytes (smaps_rollup)" },
	[C_PSS] = { "PSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "proportional set size, bytes" },
	[C_USS] = { "USS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "unique: Private_Clean + Private_Dirty, bytes" },
	[C_SWAP] = { "SWAP", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "swapped out, bytes" },
	[C_SWAPPSS] = { "SWAPPSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "proportional swap, bytes" },
	[C_DMABUF_RSS] = { "DMABUF_RSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF buffers held, bytes" },
	[C_DMABUF_PSS] = { "DMABUF_PSS", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "DMA-BUF size / holders, bytes" },
	[C_USER] = { "USER", 8, 0, SCOLS_JSON_STRING, "effective user (name, or uid without one)" },
	[C_CGROUP] = { "CGROUP", 20, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "cgroup: v2 path, or the v1 memory one where v2 is the root" },
	[C_CONTAINER] = { "CONTAINER", 12, 0, SCOLS_JSON_STRING, "container id its cgroup names (docker, containerd, cri-o, podman)" },
	[C_POD] = { "POD", 36, 0, SCOLS_JSON_STRING, "Kubernetes pod uid its cgroup names" },
	[C_NPROCS] = { "NPROCS", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "processes in the group (--group-by)" },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static uint64_t value(const struct memlens_proc_usage *p, int c)
{
	switch (c) {
	case C_PID: return (uint64_t)p->pid;
	case C_VSS: return p->vss;
	case C_RSS: return p->rss;
	case C_PSS: return p->pss;
	case C_USS: return p->uss;
	case C_SWAP: return p->swap;
	case C_SWAPPSS: return p->swap_pss;
	case C_DMABUF_RSS: return p->dmabuf_rss;
	case C_DMABUF_PSS: return p->dmabuf_pss;
	default: return 0;
	}
}

static int sort_col;

static int cmp_rows(const void *a, const void *b)
{
	const struct memlens_proc_usage *x = *(const struct memlens_proc_usage *const *)a;
	const struct memlens_proc_usage *y = *(const struct memlens_proc_usage *const *)b;
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
	uint64_t v[C_DMABUF_PSS + 1];
};

static int cmp_groups(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (sort_col == C_COMM || sort_col == C_PID)
		return strcmp(x->key, y->key);
	return x->v[sort_col] > y->v[sort_col] ? -1 : x->v[sort_col] < y->v[sort_col];
}

/* rows summed by key (like smem -u): groups sorted by the sort column */
static struct group *group_rows(const struct memlens_proc_usage **rows, size_t n, int col, size_t *ng)
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
			for (int c = C_VSS; c <= C_DMABUF_PSS; c++)
				g[k].v[c] += value(rows[order[i]], c);
	}
	if (g)
		qsort(g, *ng, sizeof(*g), cmp_groups);
out:
	free(order);
	free(starts);
	free(names);
	free(keys);
	if (!g)
		*ng = 0;
	return g;
}

int cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	enum { OPT_OM = 256, OPT_NO_DMABUF, OPT_PIN_DIR, OPT_GROUP_BY };
	static const struct option longopts[] = {
		OUTPUT_LONGOPTS,
		{ "sort", required_argument, NULL, 's' },
		{ "openmetrics", no_argument, NULL, OPT_OM },
		{ "no-dmabuf", no_argument, NULL, OPT_NO_DMABUF },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ NULL, 0, NULL, 0 },
	};
	MEMLENS_OPTS(memlens_snapshot_opts, opts, .dmabuf = true);
	const struct memlens_proc_usage **rows;
	struct memlens_snapshot *s = NULL;
	uint64_t tot[NCOLS] = { 0 };
	bool om = false;
	struct out o;
	size_t n, ng = 0;
	int c, err, group = -1;
	struct group *groups = NULL;
	struct memlens_dmabuf *dmabuf = NULL;
	char defaults[160];

	sort_col = C_PSS;
	while ((c = getopt_long(argc, argv, OUTPUT_SHORTOPTS "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sort_col = -1;
			for (size_t i = 0; i < NCOLS; i++)
				if (!strcasecmp(optarg, cols[i].name))
					sort_col = (int)i;
			if (sort_col < 0) {
				cli_err("unknown sort column '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_OM: om = true; break;
		case OPT_NO_DMABUF: opts.dmabuf = false; break;
		case OPT_PIN_DIR: opts.pin_dir = optarg; break;
		case OPT_GROUP_BY:
			for (size_t i = 0; i < sizeof(group_keys) / sizeof(group_keys[0]); i++)
				if (!strcmp(optarg, group_keys[i].name))
					group = group_keys[i].col;
			if (group < 0) {
				cli_err("--group-by %s: comm, user, cgroup, container or pod", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("Usage: memlens snapshot [-s COLUMN] [--group-by KEY] [--json|--openmetrics] [--no-dmabuf] [--pin-dir DIR]\n\n"
			       "Every process's memory: smaps_rollup, statm and DMA-BUF, sorted (default PSS).\n\n"
			       "  -s, --sort COLUMN  sort by this column, largest first\n"
			       "      --group-by KEY sum processes by comm, user, cgroup, container or pod\n"
			       "      --openmetrics  OpenMetrics text\n"
			       "      --no-dmabuf    without the DMA-BUF pass\n"
			       "      --pin-dir DIR  pinned DMA-BUF iterators (default " MEMLENS_PIN_DIR ")\n");
			cli_help_common(false);
			out_help_columns(stdout, cols, NCOLS);
			return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_DMABUF, c, optarg))
				return EXIT_USAGE;
		}
	}
	if (om && cli->mode != OUT_TABLE) {
		cli_err("--openmetrics and -J/-r do not go together");
		return EXIT_USAGE;
	}
	if (optind != argc) {
		cli_err("snapshot takes no arguments");
		return EXIT_USAGE;
	}
	if (om && group >= 0) {
		cli_err("--group-by and --openmetrics do not go together");
		return EXIT_USAGE;
	}
	if (om) {
		/* the exporter's families, every process: cgroups read, and the
		 * DMA-BUF accounting whole (per buffer, kernel-only) */
		opts.cgroups = true;
		if (opts.dmabuf) {
			MEMLENS_OPTS(memlens_dmabuf_opts, dopts, .pin_dir = opts.pin_dir);

			err = memlens__dmabuf(cli->ml, &dopts, &dmabuf);
			if (err && opts.pin_dir) {
				cli_err("--pin-dir %s: %s", opts.pin_dir, strerror(-err));
				return EXIT_RUNTIME;
			}
			opts.dmabuf = false;	/* counted once, from dmabuf */
		}
	} else {
		/* the columns first: they say what is to be read */
		if (group >= 0)
			snprintf(defaults, sizeof(defaults), "%s,NPROCS,VSS,RSS,PSS,USS,SWAP,SWAPPSS%s", cols[group].name,
				 opts.dmabuf ? ",DMABUF_RSS,DMABUF_PSS" : "");
		else
			snprintf(defaults, sizeof(defaults), "PID,COMM,VSS,RSS,PSS,USS,SWAP,SWAPPSS%s",
				 opts.dmabuf ? ",DMABUF_RSS,DMABUF_PSS" : "");
		err = out_init(&o, cli, "snapshot", cols, NCOLS, defaults);
		if (err) {
			out_free(&o);
			return EXIT_USAGE;
		}
		opts.cgroups = out_has(&o, C_CGROUP) || out_has(&o, C_CONTAINER) || out_has(&o, C_POD) ||
			       group == C_CGROUP || group == C_CONTAINER || group == C_POD;
		opts.owner = out_has(&o, C_USER) || group == C_USER;
	}
	err = memlens__snapshot(cli->ml, &opts, &s);
	if (err && opts.pin_dir && opts.dmabuf && (err == -ENOENT || err == -EACCES || err == -EPERM)) {
		cli_err("--pin-dir %s: %s", opts.pin_dir, err == -EPERM ?
			"not a pin directory (on bpffs, owned by root, writable by no one else, our three pins)" :
			strerror(-err));
		if (!om)
			out_free(&o);
		return EXIT_RUNTIME;
	} else if (err) {
		cli_err("snapshot failed: %s", strerror(-err));
		if (!om)
			out_free(&o);
		return EXIT_RUNTIME;
	}
	n = memlens_snapshot__count(s);
	rows = calloc(n ? n : 1, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		rows[i] = memlens_snapshot__get(s, i);
	qsort(rows, n, sizeof(*rows), cmp_rows);
	if (om) {
		struct metrics_in mi = { .snap = s, .dmabuf = dmabuf, .per_process = true, .openmetrics = true };

		err = metrics_write(stdout, &mi);
		free(rows);
		memlens_dmabuf__free(dmabuf);
		memlens_snapshot__free(s);
		return err ? EXIT_RUNTIME : EXIT_OK;
	}
	if (group >= 0) {
		groups = group_rows(rows, n, group, &ng);
		for (size_t i = 0; groups && i < ng; i++) {
			struct libscols_line *ln = out_line(&o);

			out_set(&o, ln, group, "%s", groups[i].key);
			out_set(&o, ln, C_NPROCS, "%zu", groups[i].nprocs);
			for (int k = C_VSS; k <= C_DMABUF_PSS; k++) {
				out_set(&o, ln, k, "%llu", (unsigned long long)groups[i].v[k]);
				tot[k] += groups[i].v[k];
			}
		}
		if (!groups)
			err = -ENOMEM;
	}
	for (size_t i = 0; !err && group < 0 && i < n; i++) {
		struct libscols_line *ln = out_line(&o);
		char ubuf[64];

		out_set(&o, ln, C_PID, "%d", rows[i]->pid);
		out_set(&o, ln, C_COMM, "%s", rows[i]->comm);
		out_set(&o, ln, C_USER, "%s", key_of(rows[i], C_USER, ubuf, sizeof(ubuf)));
		out_set(&o, ln, C_CGROUP, "%s", rows[i]->cgroup ? rows[i]->cgroup : "");
		out_set(&o, ln, C_CONTAINER, "%s", rows[i]->container);
		out_set(&o, ln, C_POD, "%s", rows[i]->pod);
		for (int k = C_VSS; k <= C_DMABUF_PSS; k++) {
			out_set(&o, ln, k, "%llu", (unsigned long long)value(rows[i], k));
			tot[k] += value(rows[i], k);
		}
	}
	/* the TOTAL row and the footer are for people: not with -r, -n or -J */
	if (!err && cli->mode == OUT_TABLE && !cli->no_headings) {
		struct libscols_line *ln = out_line(&o);

		out_set(&o, ln, group >= 0 ? group : C_COMM, "TOTAL");
		if (group >= 0)
			out_set(&o, ln, C_NPROCS, "%zu", n);
		for (int k = C_VSS; k <= C_DMABUF_PSS; k++)
			out_set(&o, ln, k, "%llu", (unsigned long long)tot[k]);
	}
	if (!err && cli->mode == OUT_JSON) {
		/* what the footer says, and the totals, as members of the document */
		char more[1024];
		const char *src = !opts.dmabuf ? "none" : memlens_snapshot__dmabuf_source(s) ?
				  memlens_source__name(memlens_snapshot__dmabuf_source(s)) : "unavailable";

		snprintf(more, sizeof(more),
			 "   \"summary\": {\"processes\": %zu, \"exited\": %zu, \"unreadable\": %zu, \"mem_total\": %llu, "
			 "\"mem_available\": %llu, \"dmabuf_source\": \"%s\",\n      \"total\": {\"vss\": %llu, \"rss\": %llu, "
			 "\"pss\": %llu, \"uss\": %llu, \"swap\": %llu, \"swappss\": %llu, \"dmabuf_rss\": %llu, \"dmabuf_pss\": %llu}}",
			 n, memlens_snapshot__exited(s), memlens_snapshot__unreadable(s),
			 (unsigned long long)memlens_snapshot__mem_total(s), (unsigned long long)memlens_snapshot__mem_available(s),
			 src, (unsigned long long)tot[C_VSS], (unsigned long long)tot[C_RSS], (unsigned long long)tot[C_PSS],
			 (unsigned long long)tot[C_USS], (unsigned long long)tot[C_SWAP], (unsigned long long)tot[C_SWAPPSS],
			 (unsigned long long)tot[C_DMABUF_RSS], (unsigned long long)tot[C_DMABUF_PSS]);
		err = out_print_with(&o, more);
	} else if (!err) {
		err = out_print(&o);
	}
	out_free(&o);
	if (!err && cli->mode == OUT_TABLE && !cli->no_headings)
		printf("MemTotal: %llu kB  MemAvailable: %llu kB  processes: %zu  exited during the snapshot: %zu  unreadable: %zu%s%s\n",
		       (unsigned long long)memlens_snapshot__mem_total(s) / 1024,
		       (unsigned long long)memlens_snapshot__mem_available(s) / 1024, n, memlens_snapshot__exited(s),
		       memlens_snapshot__unreadable(s), opts.dmabuf ? "  DMA-BUF source: " : "",
		       !opts.dmabuf ? "" : memlens_snapshot__dmabuf_source(s) ? memlens_source__name(memlens_snapshot__dmabuf_source(s)) :
		       "unavailable");
	for (size_t i = 0; groups && i < ng; i++)
		free(groups[i].key);
	free(groups);
	free(rows);
	memlens_snapshot__free(s);
	return err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

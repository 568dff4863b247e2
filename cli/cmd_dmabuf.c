// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens dmabuf: who holds which DMA-BUFs.  The default layout is Android
 * dmabuf_dump's per-process tables and closing line, so the two can be diffed;
 * --all-refs the buffer x holder grid, --buffers per-buffer and per-exporter stats, --fds the
 * per-task inode lists, --kernel-only the buffers no process holds.  --json and
 * --csv give the rows of the chosen view.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

enum view { V_PROCS, V_GRID, V_BUFS, V_FDS, V_KONLY };

enum { C_PID, C_TID, C_COMM, C_INODE, C_SIZE, C_EXPORTER, C_NAME, C_RSS, C_PSS, C_NR_PROCS, C_FD_REFS, C_MAP_REFS,
       C_FILE_REFS, C_FD, C_KERNEL_ONLY, C_BUFFERS };

static const struct colinfo cols[] = {
	[C_PID] = { "PID", 5, 0, OUT_NUM, "process id" },
	[C_TID] = { "TID", 5, 0, OUT_NUM, "thread with its own fd table; 0: the process's table" },
	[C_COMM] = { "COMM", 10, 0, OUT_TEXT, "command name" },
	[C_INODE] = { "INODE", 8, 0, OUT_NUM, "buffer inode" },
	[C_SIZE] = { "SIZE", 8, 0, OUT_NUM, "buffer size in bytes" },
	[C_EXPORTER] = { "EXPORTER", 8, 0, OUT_TEXT, "exporter (system, udmabuf, a driver)" },
	[C_NAME] = { "NAME", 10, 0, OUT_TEXT, "buffer name (DMA_BUF_SET_NAME)" },
	[C_RSS] = { "RSS", 8, 0, OUT_NUM, "bytes: the buffer's size for its holder" },
	[C_PSS] = { "PSS", 8, 0, OUT_NUM, "bytes: size / nr_procs" },
	[C_NR_PROCS] = { "NR_PROCS", 4, 0, OUT_NUM, "processes holding it by fd or mapping" },
	[C_FD_REFS] = { "FD_REFS", 4, 0, OUT_NUM, "fds on it" },
	[C_MAP_REFS] = { "MAP_REFS", 4, 0, OUT_NUM, "mappings of it" },
	[C_FILE_REFS] = { "FILE_REFS", 4, 0, OUT_NUM, "references to its file (kernel's count)" },
	[C_FD] = { "FD", 4, 0, OUT_NUM, "file descriptor" },
	[C_KERNEL_ONLY] = { "KERNEL_ONLY", 3, 0, OUT_BOOL, "held by no process" },
	[C_BUFFERS] = { "BUFFERS", 4, 0, OUT_NUM, "number of buffers" },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void help(void)
{
	printf("Usage: memlens dmabuf [PID] [options]\n\n"
	       "Who holds which DMA-BUF buffers, by fd and by mapping; kernel-only buffers included.\n\n"
	       "  -a, --all          every process (the default without PID)\n"
	       "      --all-refs     buffer x holder grid of fd and map references (dmabuf_dump -a)\n"
	       "      --buffers      per-buffer and per-exporter stats (dmabuf_dump -b)\n"
	       "      --fds          per task with its own fd table: one inode per fd\n"
	       "      --kernel-only  buffers no process holds\n"
	       "      --pin-dir DIR  pinned iterators (default " MEMLENS_PIN_DIR ", tried first without -s)\n");
	cli_help_common(MEMLENS_JOB_DMABUF);
	out_help_columns(stdout, cols, NCOLS);
}

static const char *or_unknown(const char *s)
{
	return s && *s ? s : "<unknown>";
}

/* dmabuf_dump's per-process layout */
/* 0, or -ENOMEM */
static int print_dump(const struct memlens_dmabuf *d)
{
	uint64_t total = 0, krss = 0, urss = 0, upss = 0;
	size_t nb = memlens_dmabuf__buf_count(d);
	/* the process that last listed each buffer: a buffer held by two fd
	 * tables of one process (or a table and a mapping) is listed once */
	int32_t *listed = malloc((nb ? nb : 1) * sizeof(*listed));

	if (!listed)
		return -ENOMEM;
	for (size_t i = 0; i < nb; i++)
		listed[i] = -1;
	for (size_t p = 0; p < memlens_dmabuf__proc_count(d); p++) {
		const struct memlens_dmabuf_proc *pr = memlens_dmabuf__proc(d, p);

		printf("%16s:%-5d\n", CLI_SAFE(pr->comm), pr->pid);
		printf("%22s %16s %16s %16s %16s %16s\n", "Name", "Rss", "Pss", "nr_procs", "Inode", "Exporter");
		for (size_t i = 0; i < memlens_dmabuf__ref_count(d); i++) {
			const struct memlens_dmabuf_ref *r = memlens_dmabuf__ref(d, i);
			const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, r->buf);

			if (memlens_dmabuf__holder(d, r->holder)->pid != pr->pid || listed[r->buf] == pr->pid)
				continue;
			listed[r->buf] = pr->pid;
			printf("%22s %13llu kB %13llu kB %16u %16llu %16s\n", CLI_SAFE(or_unknown(b->name)),
			       (unsigned long long)b->size / 1024, (unsigned long long)(b->size / (b->nr_procs ? b->nr_procs : 1)) / 1024,
			       b->nr_procs, (unsigned long long)b->ino, CLI_SAFE(or_unknown(b->exporter)));
		}
		printf("%22s %13llu kB %13llu kB %16s\n", "PROCESS TOTAL", (unsigned long long)pr->rss / 1024,
		       (unsigned long long)pr->pss / 1024, "");
		printf("----------------------\n");
		upss += pr->pss;
	}
	for (size_t i = 0; i < memlens_dmabuf__buf_count(d); i++) {
		const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, i);

		total += b->size;
		if (b->kernel_only)
			krss += b->size;
		else if (b->nr_procs)
			urss += b->size;
	}
	printf("dmabuf total: %llu kB kernel_rss: %llu kB userspace_rss: %llu kB userspace_pss: %llu kB\n",
	       (unsigned long long)total / 1024, (unsigned long long)krss / 1024, (unsigned long long)urss / 1024,
	       (unsigned long long)upss / 1024);
	free(listed);
	return 0;
}

/* the rows of a view, through the output layer (table, raw, JSON, CSV) */
static int print_rows(struct cli *cli, const struct memlens_dmabuf *d, enum view v)
{
	static const char *const defaults[] = {
		[V_PROCS] = "PID,COMM,INODE,NAME,EXPORTER,SIZE,RSS,PSS,NR_PROCS,FD_REFS,MAP_REFS",
		[V_GRID] = "PID,TID,COMM,INODE,SIZE,FD_REFS,MAP_REFS",
		[V_BUFS] = "INODE,SIZE,EXPORTER,NAME,FILE_REFS,NR_PROCS,FD_REFS,MAP_REFS,KERNEL_ONLY",
		[V_FDS] = "PID,TID,COMM,FD,INODE",
		[V_KONLY] = "INODE,SIZE,EXPORTER,NAME,FILE_REFS",
	};
	static const char *const names[] = { "dmabuf", "refs", "buffers", "fds", "kernel_only" };
	struct out o;
	int err;

	err = out_init(&o, cli, names[v], cols, NCOLS, defaults[v]);
	if (err) {
		out_free(&o);
		return err;
	}
	for (size_t i = 0;; i++) {
		const struct memlens_dmabuf_buf *b = NULL;
		const struct memlens_dmabuf_holder *h = NULL;
		const struct memlens_dmabuf_ref *r = NULL;
		const struct memlens_dmabuf_fd *f = NULL;
		struct out_row *ln;

		if (v == V_PROCS || v == V_GRID) {
			if (i >= memlens_dmabuf__ref_count(d))
				break;
			r = memlens_dmabuf__ref(d, i);
			b = memlens_dmabuf__buf(d, r->buf);
			h = memlens_dmabuf__holder(d, r->holder);
		} else if (v == V_FDS) {
			if (i >= memlens_dmabuf__fd_count(d))
				break;
			f = memlens_dmabuf__fd(d, i);
			h = memlens_dmabuf__holder(d, f->holder);
		} else {
			if (i >= memlens_dmabuf__buf_count(d))
				break;
			b = memlens_dmabuf__buf(d, i);
			if (v == V_KONLY && !b->kernel_only)
				continue;
		}
		ln = out_line(&o);
		if (h) {
			out_set(&o, ln, C_PID, "%d", h->pid);
			out_set(&o, ln, C_TID, "%d", h->tid);
			out_set(&o, ln, C_COMM, "%s", h->comm);
		}
		if (f) {
			out_set(&o, ln, C_FD, "%u", f->fd);
			out_set(&o, ln, C_INODE, "%llu", (unsigned long long)f->ino);
		}
		if (r) {
			out_set(&o, ln, C_FD_REFS, "%u", r->fd_refs);
			out_set(&o, ln, C_MAP_REFS, "%u", r->map_refs);
			out_set_size(&o, ln, C_RSS, b->size);
			out_set_size(&o, ln, C_PSS, b->size / (b->nr_procs ? b->nr_procs : 1));
		} else if (b) {
			out_set(&o, ln, C_FD_REFS, "%u", b->fd_refs);
			out_set(&o, ln, C_MAP_REFS, "%u", b->map_refs);
		}
		if (b) {
			out_set(&o, ln, C_INODE, "%llu", (unsigned long long)b->ino);
			out_set_size(&o, ln, C_SIZE, b->size);
			out_set(&o, ln, C_EXPORTER, "%s", b->exporter);
			out_set(&o, ln, C_NAME, "%s", b->name);
			out_set(&o, ln, C_NR_PROCS, "%u", b->nr_procs);
			out_set(&o, ln, C_FILE_REFS, "%llu", (unsigned long long)b->file_refs);
			out_set(&o, ln, C_KERNEL_ONLY, "%s", b->kernel_only ? "yes" : "no");
		}
	}
	err = out_print(&o);
	out_free(&o);
	return err;
}

/* --buffers' second table: per exporter */
static int print_exporters(struct cli *cli, const struct memlens_dmabuf *d)
{
	struct out o;
	int err;

	err = out_init(&o, cli, "exporters", cols, NCOLS, "EXPORTER,BUFFERS,SIZE");
	for (size_t i = 0; !err && i < memlens_dmabuf__buf_count(d); i++) {
		const char *e = memlens_dmabuf__buf(d, i)->exporter;
		uint64_t size = 0;
		size_t n = 0;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(memlens_dmabuf__buf(d, j)->exporter, e);
		if (seen)
			continue;
		for (size_t j = i; j < memlens_dmabuf__buf_count(d); j++)
			if (!strcmp(memlens_dmabuf__buf(d, j)->exporter, e)) {
				n++;
				size += memlens_dmabuf__buf(d, j)->size;
			}
		struct out_row *ln = out_line(&o);
		out_set(&o, ln, C_EXPORTER, "%s", or_unknown(e));
		out_set(&o, ln, C_BUFFERS, "%zu", n);
		out_set_size(&o, ln, C_SIZE, size);
	}
	if (!err)
		err = out_print_section(&o, NULL);
	out_free(&o);
	return err;
}

/* options and the PID: -1 go on, else the exit code (--help, a usage error said) */
static int parse_opts(struct cli *cli, int argc, char **argv, struct memlens_dmabuf_opts *opts, enum view *v)
{
	enum { OPT_FDS = 256, OPT_KONLY, OPT_PIN_DIR, OPT_ALL_REFS, OPT_BUFFERS };
	/* the letters mean what they mean in every command (-a every process,
	 * -b bytes, -s the source): dmabuf_dump's -a and -b are the long
	 * --all-refs and --buffers here */
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "all-refs", no_argument, NULL, OPT_ALL_REFS },
		{ "buffers", no_argument, NULL, OPT_BUFFERS },
		{ "fds", no_argument, NULL, OPT_FDS },
		{ "kernel-only", no_argument, NULL, OPT_KONLY },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ NULL, 0, NULL, 0 },
	};
	bool all = false;
	int c, views = 0;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "a", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case OPT_ALL_REFS: views++; *v = V_GRID; break;
		case OPT_BUFFERS: views++; *v = V_BUFS; break;
		case OPT_FDS: views++; *v = V_FDS; break;
		case OPT_KONLY: views++; *v = V_KONLY; break;
		case OPT_PIN_DIR: opts->pin_dir = optarg; break;
		case 'h': help(); return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_DMABUF, c, optarg))
				return EXIT_USAGE;
		}
	}
	opts->source = cli->source;
	if (views > 1)
		cli_err("choose one view: --all-refs, --buffers, --fds or --kernel-only");
	else if (optind + 1 < argc || (all && optind < argc))
		cli_err(all ? "dmabuf --all takes no PID" : "dmabuf takes at most one PID");
	else if (optind < argc && (cli_parse_pid(argv[optind], &opts->pid) || !opts->pid))
		cli_err("'%s': not a pid", argv[optind]);
	else
		return -1;
	return EXIT_USAGE;
}

/* on stderr: no exporter, the source (for people, or -v), the processes
 * that could not be read, no system-wide list */
static void say_notes(struct cli *cli, const struct memlens_dmabuf *d, enum view v)
{
	if (memlens__probe(cli->ml, MEMLENS_IFACE_DMABUF_EXPORTER) && !memlens_dmabuf__buf_count(d))
		fprintf(stderr, "memlens: %s\n", memlens__probe_reason(cli->ml, MEMLENS_IFACE_DMABUF_EXPORTER));
	if (cli->verbose || (cli_people(cli) && v == V_PROCS))
		fprintf(stderr, "memlens: source %s: %s\n", memlens_source__name(memlens_dmabuf__source(d)),
			memlens_dmabuf__source_reason(d));
	if (memlens_dmabuf__unreadable(d)) {
		int32_t pids[CLI_UNREADABLE_NAMED];

		for (size_t i = 0; i < memlens_dmabuf__unreadable(d) && i < CLI_UNREADABLE_NAMED; i++)
			pids[i] = memlens_dmabuf__unreadable_pid(d, i);
		cli_say_unreadable(cli, memlens_dmabuf__unreadable(d), pids, NULL);
	}
	if (v == V_KONLY && !strcmp(memlens_dmabuf__system_list(d), "none"))
		fprintf(stderr, "memlens: no system-wide buffer list (needs iter/dmabuf, or root with debugfs): kernel-only buffers unknown\n");
}

int cmd_dmabuf(struct cli *cli, int argc, char **argv)
{
	MEMLENS_OPTS(memlens_dmabuf_opts, opts);
	struct memlens_dmabuf *d = NULL;
	enum view v = V_PROCS;
	int err, rc = parse_opts(cli, argc, argv, &opts, &v);

	if (rc >= 0)
		return rc;
	if (opts.pid && kill(opts.pid, 0) && errno == ESRCH) {
		cli_err_pid(cli, opts.pid, -ESRCH);
		return EXIT_RUNTIME;
	}
	err = memlens__dmabuf(cli->ml, &opts, &d);
	if (err) {
		cli_err_dmabuf(cli, opts.pin_dir, err);
		return EXIT_RUNTIME;
	}
	say_notes(cli, d, v);
	if (v == V_PROCS && cli_people(cli) && !cli->columns) {
		err = print_dump(d);
	} else {
		err = print_rows(cli, d, v);
		if (!err && v == V_BUFS)
			err = print_exporters(cli, d);
	}
	rc = err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
	memlens_dmabuf__free(d);
	return rc;
}

static void bpf_help(void)
{
	printf("Usage: memlens bpf pin [DIR] [--group G] [--mode MODE]\n"
	       "       memlens bpf unpin [DIR]\n\n"
	       "pin: load the DMA-BUF iterators and pin them in DIR (default " MEMLENS_PIN_DIR ") on bpffs,\n"
	       "so that readers without CAP_BPF get the system view.  DIR is created, or must already\n"
	       "be root's and writable by no one else.  The pins show every process's buffers, names and\n"
	       "fds, also those /proc hides from the reader (hidepid): by default only root and the\n"
	       "group may read them (pins 0440, DIR 0750, group root).\n"
	       "  -g, --group G   the group that may read them (name or number)\n"
	       "  -m, --mode M    the pins' mode, within 0444 (0444: everyone; DIR gets search to match)\n\n"
	       "unpin: remove our pins from DIR, then DIR when it is empty; nothing else.\n");
}

static int parse_group(const char *s, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s && !*end && !errno && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	g = getgrnam(s);
	if (!g)
		return -ENOENT;
	*gid = g->gr_gid;
	return 0;
}

/* --group, --mode: -1 go on, else the exit code (a usage error said) */
static int bpf_opts(struct cli *cli, int argc, char **argv, struct memlens_pin_opts *popts, bool *set)
{
	static const struct option longopts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "g:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (parse_group(optarg, &popts->gid)) {
				cli_err("'%s': no such group", optarg);
				return EXIT_USAGE;
			}
			*set = true;
			break;
		case 'm':
			errno = 0;
			popts->mode = (mode_t)strtoul(optarg, &end, 8);
			if (!*optarg || *end || errno || (popts->mode & ~(mode_t)0444)) {
				cli_err("'%s': not a mode within 0444 (read bits only, octal)", optarg);
				return EXIT_USAGE;
			}
			*set = true;
			break;
		case 'h': bpf_help(); return EXIT_OK;
		default: cli_try_help(cli); return EXIT_USAGE;
		}
	}
	return -1;
}

int cmd_bpf(struct cli *cli, int argc, char **argv)
{
	MEMLENS_OPTS(memlens_pin_opts, popts);
	const char *dir = MEMLENS_PIN_DIR, *verb = argc > 1 ? argv[1] : "";
	bool pin = !strcmp(verb, "pin"), set = false;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		bpf_help();
		return EXIT_OK;
	}
	err = bpf_opts(cli, argc, argv, &popts, &set);
	if (err >= 0)
		return err;
	if ((!pin && strcmp(verb, "unpin")) || argc - optind > 1 || (!pin && set)) {
		cli_err(!pin && set && !strcmp(verb, "unpin") ? "unpin takes no --group or --mode" :
			"usage: memlens bpf pin [DIR] [--group G] [--mode MODE] | unpin [DIR]");
		return EXIT_USAGE;
	}
	if (optind < argc)
		dir = argv[optind];
	if (!*dir) {
		cli_err("an empty directory name");
		return EXIT_USAGE;
	}
	err = pin ? memlens__bpf_pin(cli->ml, dir, &popts) : memlens__bpf_unpin(cli->ml, dir);
	if (err) {
		cli_err("bpf %s %s: %s%s", verb, dir, strerror(-err),
			err == -EPERM ? (pin ? " (needs CAP_BPF and CAP_PERFMON, and DIR a directory on bpffs owned by root, writable by no one else)" :
					 " (not a pin directory: on bpffs, owned by root, writable by no one else)") :
			err == -ENOENT ? " (is bpffs mounted there? mount -t bpf bpf /sys/fs/bpf)" : "");
		return EXIT_RUNTIME;
	}
	if (pin && (popts.mode & 04))
		fprintf(stderr, "memlens: warning: the pins in %s are readable by everyone: every process's DMA-BUF holders, "
				"also those /proc hides from a reader (hidepid)\n", dir);
	return EXIT_OK;
}

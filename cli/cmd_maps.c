// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens maps: one VMA per row. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "memlens_cli.h"

enum { COL_PID, COL_START, COL_END, COL_PERMS, COL_OFFSET, COL_DEV, COL_INODE, COL_SIZE, COL_PAGESIZE,
       COL_NAME, COL_BUILDID, COL_SOURCE };

static const struct colinfo cols[] = {
	[COL_PID] = { "PID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "process id" },
	[COL_START] = { "START", 14, 0, SCOLS_JSON_STRING, "first address (hex)" },
	[COL_END] = { "END", 14, 0, SCOLS_JSON_STRING, "address after the last (hex)" },
	[COL_PERMS] = { "PERMS", 4, 0, SCOLS_JSON_STRING, "r w x, s shared or p private" },
	[COL_OFFSET] = { "OFFSET", 8, SCOLS_FL_RIGHT, SCOLS_JSON_STRING, "file offset of START (hex)" },
	[COL_DEV] = { "DEV", 5, 0, SCOLS_JSON_STRING, "device major:minor (hex, as maps)" },
	[COL_INODE] = { "INODE", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "inode number" },
	[COL_SIZE] = { "SIZE", 8, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "END - START in bytes" },
	[COL_PAGESIZE] = { "PAGESIZE", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "kernel page size (0: the source does not tell)" },
	[COL_NAME] = { "NAME", 0.3, SCOLS_FL_NOEXTREMES, SCOLS_JSON_STRING, "file path or [heap], [stack], [anon:NAME] ..." },
	[COL_BUILDID] = { "BUILDID", 40, 0, SCOLS_JSON_STRING, "ELF build ID (hex), with --build-id" },
	[COL_SOURCE] = { "SOURCE", 5, 0, SCOLS_JSON_STRING, "where the record came from: ioctl, bpf or text" },
};

static void help(void)
{
	printf("Usage: memlens maps PID|self [options]\n"
	       "       memlens maps --all [options]\n\n"
	       "The process's mappings, one VMA per row.\n\n"
	       "  -B, --build-id    add ELF build IDs of file-backed mappings\n"
	       "  -a, --all         every process (one BPF pass where allowed)\n"
	       "  -m, --proc-maps   print in /proc/<pid>/maps format\n"
	       "  (and the common options: memlens --help)\n");
	out_help_columns(stdout, cols, sizeof(cols) / sizeof(cols[0]));
}

/* exactly show_map_vma()'s layout, so the output diffs against /proc/<pid>/maps */
static void print_proc_maps(const struct memlens_vma *v)
{
	char perms[5];
	int n;

	n = printf("%08llx-%08llx %s %08llx %02x:%02x %llu ", (unsigned long long)v->start,
		   (unsigned long long)v->end, memlens_vma__perms(v, perms), (unsigned long long)v->offset,
		   v->dev_major, v->dev_minor, (unsigned long long)v->inode);
	if (v->name[0])
		printf("%*s%s", n < 73 ? 73 - n : 0, "", v->name);
	putchar('\n');
}

static int render(struct cli *cli, const struct memlens_vma_set *set, bool build_ids, bool all, bool proc_maps)
{
	char defaults[128], perms[5], hex[2 * MEMLENS_BUILD_ID_MAX + 1];
	struct out o;
	int err;

	if (proc_maps) {
		for (size_t i = 0; i < memlens_vma_set__count(set); i++)
			print_proc_maps(memlens_vma_set__get(set, i));
		return 0;
	}
	snprintf(defaults, sizeof(defaults), "%sSTART,END,PERMS,OFFSET,DEV,INODE,NAME%s%s", all ? "PID," : "",
		 build_ids ? ",BUILDID" : "", cli->mode == OUT_JSON ? ",PID,SIZE,PAGESIZE,SOURCE" : "");
	err = out_init(&o, cli, "maps", cols, sizeof(cols) / sizeof(cols[0]), defaults);
	if (err) {
		out_free(&o);
		return err;
	}
	for (size_t i = 0; i < memlens_vma_set__count(set); i++) {
		const struct memlens_vma *v = memlens_vma_set__get(set, i);
		struct libscols_line *ln = out_line(&o);

		out_set(&o, ln, COL_PID, "%d", v->pid);
		out_set(&o, ln, COL_START, "0x%llx", (unsigned long long)v->start);
		out_set(&o, ln, COL_END, "0x%llx", (unsigned long long)v->end);
		out_set(&o, ln, COL_PERMS, "%s", memlens_vma__perms(v, perms));
		out_set(&o, ln, COL_OFFSET, "0x%llx", (unsigned long long)v->offset);
		out_set(&o, ln, COL_DEV, "%02x:%02x", v->dev_major, v->dev_minor);
		out_set(&o, ln, COL_INODE, "%llu", (unsigned long long)v->inode);
		out_set(&o, ln, COL_SIZE, "%llu", (unsigned long long)(v->end - v->start));
		out_set(&o, ln, COL_PAGESIZE, "%u", v->page_size);
		out_set(&o, ln, COL_NAME, "%s", v->name);
		out_set(&o, ln, COL_BUILDID, "%s", memlens_vma__build_id_hex(v, hex, sizeof(hex)));
		out_set(&o, ln, COL_SOURCE, "%s", memlens_backend__name(memlens_vma_set__backend(set)));
	}
	err = out_print(&o);
	out_free(&o);
	return err;
}

int cmd_maps(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "build-id", no_argument, NULL, 'B' },
		{ "all", no_argument, NULL, 'a' },
		{ "proc-maps", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	bool build_ids = false, all = false, proc_maps = false;
	struct memlens_vma_set *set = NULL;
	struct memlens_proc *proc = NULL;
	size_t skipped = 0;
	pid_t pid = 0;
	int c, err, rc;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "Bam", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': build_ids = true; break;
		case 'a': all = true; break;
		case 'm': proc_maps = true; break;
		case 'h': help(); return EXIT_OK;
		default:
			if (cli_common_opt(cli, c, optarg))
				return EXIT_USAGE;
		}
	}
	if (all ? optind != argc : optind + 1 != argc) {
		cli_err(all ? "maps --all takes no PID" : "maps needs one PID (or 'self')");
		return EXIT_USAGE;
	}
	if (!all && cli_parse_pid(argv[optind], &pid)) {
		cli_err("'%s': not a pid", argv[optind]);
		return EXIT_USAGE;
	}
	MEMLENS_OPTS(memlens_maps_opts, mopts, .build_ids = build_ids);
	if (all) {
		err = memlens__maps_all(cli->ml, cli->backend, &mopts, &set, &skipped);
		if (err) {
			if (err == -EOPNOTSUPP)
				cli_err_open(cli, 0, err);
			else
				cli_err("cannot walk all processes: %s", strerror(-err));
			return EXIT_RUNTIME;
		}
		if (skipped && cli->verbose)
			cli_err("%zu processes exited or could not be read", skipped);
	} else {
		MEMLENS_OPTS(memlens_proc_opts, popts, .backend = cli->backend);

		proc = memlens__proc_open(cli->ml, pid, &popts);
		if (!proc) {
			err = -errno;
			cli_err_open(cli, pid, err);
			return EXIT_RUNTIME;
		}
		err = memlens_proc__maps(proc, &mopts, &set);
		if (err) {
			cli_err_pid(memlens_proc__pid(proc), err);
			memlens_proc__close(proc);
			return EXIT_RUNTIME;
		}
	}
	if (cli->verbose)
		cli_say_source(cli, memlens_vma_set__backend(set), all ? MEMLENS_JOB_WALK_ALL : MEMLENS_JOB_WALK,
			       memlens_vma_set__count(set));
	err = render(cli, set, build_ids, all, proc_maps);
	rc = err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
	memlens_vma_set__free(set);
	memlens_proc__close(proc);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * memlens who-maps: which processes map an object and where.  TARGET is a
 * path, MAJ:MIN:INODE (hex:hex:decimal, as maps prints dev and inode) or
 * PID:ADDR (follow what backs that address).  --shared: every object mapped
 * by two or more processes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "memlens_cli.h"
#include "object_view.h"

/* the VMA columns, then these */
enum { W_CHECKED = VCOL_NCOLS, W_PROCS, W_MAPPINGS, W_PIDS, W_RSS, W_PSS };

static const struct colinfo wcols[] = {
	{ "CHECKED", 3, 0, OUT_TEXT, "exact inode opened through map_files: yes, no (why)" },
	{ "PROCS", 4, 0, OUT_NUM, "processes mapping it (--shared)" },
	{ "MAPPINGS", 4, 0, OUT_NUM, "VMAs mapping it (--shared)" },
	{ "PIDS", 20, 0, OUT_NUMS, "the processes, comma-separated (--shared; JSON: an array)" },
	{ "RSS", 6, 0, OUT_NUM, "resident, summed over the mappings (reads their smaps)" },
	{ "PSS", 6, 0, OUT_NUM, "proportional set size, summed over the mappings (smaps)" },
};
static struct colinfo cols[OUT_MAX_COLS];
#define NCOLS vma_columns(cols, wcols, sizeof(wcols) / sizeof(wcols[0]))

/* -o +RSS,PSS: each mapping's smaps record, read after the walk by the
 * library (memlens__vmas_usage(): a mapping gone by then counts 0); NULL
 * where neither column is shown */
static int usage_read(struct cli *cli, const struct out *o, const struct memlens_vma *const *v, size_t n,
		      struct memlens_usage_set **us)
{
	*us = NULL;
	if (!out_has(o, W_RSS) && !out_has(o, W_PSS))
		return 0;
	return memlens__vmas_usage(cli->ml, v, n, us);
}

/* record i's Rss and Pss, bytes, added to *rss and *pss */
static void usage_add(const struct memlens_usage_set *us, size_t i, uint64_t *rss, uint64_t *pss)
{
	const struct memlens_vma_usage *x = memlens_usage_set__get(us, i);

	if (us && x) {
		*rss += x->kb[MEMLENS_USAGE_RSS] * 1024;
		*pss += x->kb[MEMLENS_USAGE_PSS] * 1024;
	}
}

/* every file-backed object two or more processes map */
static int shared(struct cli *cli)
{
	MEMLENS_OPTS(memlens_maps_all_opts, aopts, .source = cli->source);
	struct memlens_vma_set *all = NULL;
	struct memlens_usage_set *us = NULL;
	struct object_view ov = { 0 };
	struct out o;
	int err;

	err = memlens__maps_all(cli->ml, &aopts, &all);
	if (err) {
		cli_err("cannot walk processes: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	err = out_init(&o, cli, "shared", cols, NCOLS, "KIND,DEV,INODE,PROCS,MAPPINGS,PIDS,NAME");
	if (!err)
		err = object_view_build(&ov, all);
	if (!err)
		err = usage_read(cli, &o, ov.v, ov.n, &us);
	for (size_t k = 0; !err && k < ov.nobj; k++) {
		const struct shared_object *ob = &ov.obj[k];
		struct out_row *ln = out_line(&o);
		uint64_t rss = 0, pss = 0;

		for (size_t j = ob->first; j < ob->first + ob->n; j++)
			usage_add(us, j, &rss, &pss);
		vma_columns_fill(cli, &o, ln, ov.v[ob->first], memlens_vma_set__source(all));
		out_set(&o, ln, W_PROCS, "%zu", ob->npids);
		out_set(&o, ln, W_MAPPINGS, "%zu", ob->n);
		out_set_numbers(&o, ln, W_PIDS, &ov.pids[ob->pfirst], ob->npids);
		out_set_size(&o, ln, W_RSS, rss);
		out_set_size(&o, ln, W_PSS, pss);
	}
	if (!err)
		err = out_print(&o);
	out_free(&o);
	memlens_usage_set__free(us);
	object_view_free(&ov);
	cli_say_skipped(cli, all);
	memlens_vma_set__free(all);
	return err ? EXIT_RUNTIME : EXIT_OK;
}

/* TARGET -> (dev, inode) */
static int resolve(struct cli *cli, const char *t, uint32_t *maj, uint32_t *min, uint64_t *ino)
{
	int pid, n = 0;
	char *colon = strchr(t, ':');

	if (t[0] == '/' || t[0] == '.') {
		struct stat st;

		if (stat(t, &st)) {	/* a path that is not there: a runtime error */
			cli_err("%s: %s", t, strerror(errno));
			return -2;
		}
		*maj = major(st.st_dev);
		*min = minor(st.st_dev);
		*ino = st.st_ino;
		return 0;
	}
	if (colon && strchr(colon + 1, ':')) {
		char *e1, *e2, *e3;
		unsigned long x, y;
		unsigned long long z;

		errno = 0;
		x = strtoul(t, &e1, 16);
		y = *e1 == ':' ? strtoul(e1 + 1, &e2, 16) : 0;
		z = *e1 == ':' && *e2 == ':' ? strtoull(e2 + 1, &e3, 10) : 0;
		if (!errno && *e1 == ':' && e1 > t && *e2 == ':' && e2 > e1 + 1 && e3 > e2 + 1 && !*e3 && t[0] != '-' &&
		    x <= 0xfff && y <= 0xfffff) {
			*maj = (uint32_t)x, *min = (uint32_t)y, *ino = z;
			return 0;
		}
	} else if (colon && (pid = 0, cli_parse_pid_prefix(t, &pid, &n) == 0)) {
		uint64_t addr;
		struct memlens_proc *p;
		struct memlens_vma_set *set = NULL;
		int err;

		if (cli_parse_addr(t + n, &addr) || pid <= 0) {
			cli_err("'%s': not PID:ADDR", t);
			return -1;
		}
		p = memlens__proc_open(cli->ml, pid, NULL);
		if (!p) {
			cli_err_pid(cli, pid, -errno);
			return -2;
		}
		err = memlens_proc__find_vma(p, addr, 0, &set);
		memlens_proc__close(p);
		if (err) {
			if (err == -ENOENT)
				cli_err("pid %d: 0x%llx is not mapped", pid, (unsigned long long)addr);
			else
				cli_err_pid(cli, pid, err);
			return -2;
		}
		*maj = memlens_vma_set__get(set, 0)->dev_major;
		*min = memlens_vma_set__get(set, 0)->dev_minor;
		*ino = memlens_vma_set__get(set, 0)->inode;
		memlens_vma_set__free(set);
		if (!*ino) {
			cli_err("pid %d: 0x%llx is private anonymous memory: nothing else maps it", pid, (unsigned long long)addr);
			return -2;
		}
		return 0;
	}
	cli_err("'%s': not a path, MAJ:MIN:INODE or PID:ADDR", t);
	return -1;
}

/* the mappers' rows, their Rss and Pss where asked; *unchecked: mappings
 * map_files would not open for us (why: the errno) */
static int mapper_rows(struct cli *cli, const struct memlens_vma_set *set, struct out *o, size_t *unchecked, int *why)
{
	struct memlens_usage_set *us = NULL;
	const struct memlens_vma **vv = calloc(memlens_vma_set__count(set) + 1, sizeof(*vv));
	int err = vv ? 0 : -ENOMEM;

	for (size_t i = 0; vv && i < memlens_vma_set__count(set); i++)
		vv[i] = memlens_vma_set__get(set, i);
	if (!err)
		err = usage_read(cli, o, vv, memlens_vma_set__count(set), &us);
	free(vv);
	for (size_t i = 0; !err && i < memlens_vma_set__count(set); i++) {
		const struct memlens_vma *v = memlens_vma_set__get(set, i);
		struct out_row *ln = out_line(o);
		int chk = memlens_vma__check_map_file(cli->ml, v);

		if (chk == -EPERM || chk == -EACCES) {
			(*unchecked)++;
			*why = chk;
		}
		vma_columns_fill(cli, o, ln, v, memlens_vma_set__source(set));
		out_set(o, ln, W_CHECKED, "%s", !chk ? "yes" : chk == -ESTALE ? "no (another inode)" : "no (unprivileged)");
		if (us) {
			uint64_t rss = 0, pss = 0;

			usage_add(us, i, &rss, &pss);
			out_set_size(o, ln, W_RSS, rss);
			out_set_size(o, ln, W_PSS, pss);
		}
	}
	memlens_usage_set__free(us);
	return err;
}

/* who maps TARGET */
static int mappers(struct cli *cli, const char *target)
{
	struct memlens_vma_set *set = NULL;
	uint32_t maj, min;
	uint64_t ino;
	size_t unchecked = 0;
	struct out o;
	int err = resolve(cli, target, &maj, &min, &ino), why = 0;

	if (err)
		return err == -1 ? EXIT_USAGE : EXIT_RUNTIME;
	MEMLENS_OPTS(memlens_who_maps_opts, wopts, .source = cli->source);
	err = memlens__who_maps(cli->ml, maj, min, ino, &wopts, &set);
	if (err) {
		cli_err("cannot walk processes: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	err = out_init(&o, cli, "who_maps", cols, NCOLS, "PID,COMM,START,END,PERMS,OFFSET,DEV,INODE,NAME,CHECKED");
	if (!err)
		err = mapper_rows(cli, set, &o, &unchecked, &why);
	if (!err)
		err = out_print(&o);
	out_free(&o);
	if (unchecked)
		cli_err("%zu mappings not opened through map_files: %s (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE); "
			"matched by dev:inode", unchecked, strerror(-why));
	cli_say_skipped(cli, set);
	memlens_vma_set__free(set);
	return err ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_who_maps(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_LONGOPTS, { "shared", no_argument, NULL, 'S' }, { NULL, 0, NULL, 0 } };
	bool want_shared = false;
	int c;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "S", longopts, NULL)) != -1) {
		if (c == 'S')
			want_shared = true;
		else if (c == 'h') {
			printf("Usage: memlens who-maps TARGET | --shared\n\nTARGET: a path, MAJ:MIN:INODE, or PID:ADDR.\n\n"
			       "  -S, --shared      every object mapped by two or more processes\n");
			cli_help_common(MEMLENS_JOB_WALK_ALL);
			out_help_columns(stdout, cols, NCOLS);
			return EXIT_OK;
		} else if (cli_common_opt(cli, MEMLENS_JOB_WALK_ALL, c, optarg))
			return EXIT_USAGE;
	}
	if (want_shared)
		return optind == argc ? shared(cli) : (cli_err("--shared takes no TARGET"), EXIT_USAGE);
	if (optind + 1 != argc) {
		cli_err("who-maps needs one TARGET (or --shared)");
		return EXIT_USAGE;
	}
	return mappers(cli, argv[optind]);
}

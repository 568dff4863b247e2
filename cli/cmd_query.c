// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens query: address normalization, one row per address in input order. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

/* the VMA columns, then these */
enum { Q_ADDR = VCOL_NCOLS, Q_MAPPED, Q_FILE_OFFSET };

static const struct colinfo qcols[] = {
	{ "ADDR", 14, 0, SCOLS_JSON_STRING, "the address (hex)" },
	{ "MAPPED", 3, 0, SCOLS_JSON_BOOLEAN, "whether a VMA covers it" },
	{ "FILE_OFFSET", 10, SCOLS_FL_RIGHT, SCOLS_JSON_STRING, "ADDR - START + OFFSET (hex)" },
};
static struct colinfo cols[OUT_MAX_COLS];

static void help(void)
{
	printf("Usage: memlens query PID|self [ADDR...] [options]\n\n"
	       "For each address (hex, 0x optional; one per line on standard input when none is\n"
	       "given): the VMA covering it, the file offset it maps, the file and its build ID.\n\n"
	       "  --no-build-id     skip build IDs\n"
	       );
	cli_help_common(true);
	out_help_columns(stdout, cols, vma_columns(cols, qcols, sizeof(qcols) / sizeof(qcols[0])));
}

struct addrs {
	uint64_t *v;
	size_t n, cap;
};

static int push(struct addrs *a, uint64_t v)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		uint64_t *nv = realloc(a->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = v;
	return 0;
}

/* one address a line; blank lines and # comments skipped; bad lines said and
 * counted.  A line is read into a fixed buffer: a longer one (no address is)
 * is skipped to its end, never held whole */
#define QUERY_LINE_MAX 256

static int read_stdin(struct addrs *a, size_t *bad)
{
	char line[QUERY_LINE_MAX];
	size_t lineno = 0, len;
	int err = 0;

	while (!err && fgets(line, sizeof(line), stdin)) {
		char *s = line, *e;
		uint64_t v;
		int c;

		len = strlen(line);
		e = line + len;
		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			while ((c = getchar()) != EOF && c != '\n')
				;
			cli_err("stdin line %zu: longer than %d bytes: not an address", lineno, QUERY_LINE_MAX - 1);
			(*bad)++;
			continue;
		}
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = 0;
		if (!*s || *s == '#')
			continue;
		if (strlen(s) != (size_t)(e - s) || cli_parse_addr(s, &v)) {
			cli_err("stdin line %zu: '%.40s': not a hex address", lineno, s);
			(*bad)++;
			continue;
		}
		err = push(a, v);
	}
	return err;
}

static int render(struct cli *cli, const struct memlens_norm *norm, pid_t pid, bool build_ids)
{
	const struct memlens_vma_set *vmas = memlens_norm__vmas(norm);
	enum memlens_source src = memlens_vma_set__source(vmas);
	char defaults[128];
	struct out o;
	int err;

	snprintf(defaults, sizeof(defaults), "%sADDR,FILE_OFFSET,START,END,PERMS,NAME%s%s",
		 cli->mode == OUT_JSON ? "PID," : "", build_ids ? ",BUILDID" : "",
		 cli->mode == OUT_JSON ? ",MAPPED,OFFSET,DEV,INODE,SOURCE" : "");
	err = out_init(&o, cli, "query", cols, vma_columns(cols, qcols, sizeof(qcols) / sizeof(qcols[0])), defaults);
	for (size_t i = 0; !err && i < memlens_norm__count(norm); i++) {
		const struct memlens_norm_addr *a = memlens_norm__get(norm, i);
		const struct memlens_vma *v = a->vma >= 0 ? memlens_vma_set__get(vmas, (size_t)a->vma) : NULL;
		struct libscols_line *ln = out_line(&o);

		out_set(&o, ln, Q_ADDR, "0x%llx", (unsigned long long)a->addr);
		out_set(&o, ln, Q_MAPPED, "%s", v ? "yes" : "no");
		if (!v) {
			out_set(&o, ln, VCOL_PID, "%d", (int)pid);
			out_set(&o, ln, VCOL_SOURCE, "%s", memlens_source__name(src));
			out_set(&o, ln, VCOL_NAME, "[unmapped]");
			continue;
		}
		vma_columns_fill(&o, ln, v, src);
		out_set(&o, ln, Q_FILE_OFFSET, "0x%llx", (unsigned long long)a->file_offset);
	}
	if (!err)
		err = out_print(&o);
	out_free(&o);
	return err;
}

int cmd_query(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "no-build-id", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct memlens_norm *norm = NULL;
	struct memlens_proc *proc;
	struct addrs a = { 0 };
	bool build_ids = true;
	size_t bad = 0;
	pid_t pid;
	int c, err, rc = EXIT_RUNTIME;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'N': build_ids = false; break;
		case 'h': help(); return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_QUERY, c, optarg))
				return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("query needs a PID (or 'self')");
		return EXIT_USAGE;
	}
	if (cli_parse_pid(argv[optind], &pid)) {
		cli_err("'%s': not a pid", argv[optind]);
		return EXIT_USAGE;
	}
	for (int i = optind + 1; i < argc; i++) {
		uint64_t v;

		if (cli_parse_addr(argv[i], &v)) {
			cli_err("'%s': not a hex address", argv[i]);
			free(a.v);
			return EXIT_USAGE;
		}
		if (push(&a, v))
			goto out;
	}
	if (optind + 1 == argc) {
		if (read_stdin(&a, &bad))
			goto out;
		if (!a.n) {
			cli_err(bad ? "no valid address on standard input" :
				      "no addresses: give them as arguments or on standard input, one per line");
			rc = bad ? EXIT_RUNTIME : EXIT_USAGE;
			goto out;
		}
	}
	MEMLENS_OPTS(memlens_proc_opts, popts, .source = cli->source);
	proc = memlens__proc_open(cli->ml, pid, &popts);
	if (!proc) {
		cli_err_open(cli, pid, -errno);
		goto out;
	}
	MEMLENS_OPTS(memlens_normalize_opts, nopts, .build_ids = build_ids);
	err = memlens_proc__normalize(proc, a.v, a.n, &nopts, &norm);
	if (err) {
		cli_err_pid(memlens_proc__pid(proc), err);
	} else {
		if (cli->verbose)
			cli_say_source(cli, memlens_vma_set__source(memlens_norm__vmas(norm)), MEMLENS_JOB_QUERY,
				       memlens_vma_set__count(memlens_norm__vmas(norm)));
		err = render(cli, norm, memlens_proc__pid(proc), build_ids);
		rc = err == -EINVAL ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
	}
	memlens_norm__free(norm);
	memlens_proc__close(proc);
out:
	free(a.v);
	return rc;
}

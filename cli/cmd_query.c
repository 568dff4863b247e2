// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens query: address normalization, one row per address in input order. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memlens_cli.h"

/* the VMA columns, then these */
enum { Q_ADDR = VCOL_NCOLS, Q_MAPPED, Q_FILE_OFFSET, Q_ELF_VADDR, Q_SYMBOL, Q_LINE, Q_FUNC, Q_INLINES, Q_UNSYMBOLIZED };

static const struct colinfo qcols[] = {
	{ "ADDR", 14, 0, OUT_TEXT, "the address (hex)" },
	{ "MAPPED", 3, 0, OUT_BOOL, "whether a VMA covers it" },
	{ "FILE_OFFSET", 10, 0, OUT_HEX, "ADDR - START + OFFSET (hex)" },
	{ "ELF_VADDR", 10, 0, OUT_HEX,
	  "FILE_OFFSET through the file's PT_LOAD headers (hex): what addr2line -e FILE takes" },
	{ "SYMBOL", 24, 0, OUT_TEXT, "the ELF symbol covering it, and the offset into it (name+0xoff)" },
	{ "LINE", 24, 0, OUT_TEXT, "its source line, file:line[:column] (DWARF); SOURCE is the memlens source" },
	{ "FUNC", 16, 0, OUT_TEXT, "the function DWARF names at it (the innermost inlined one)" },
	{ "INLINES", 24, 0, OUT_TEXT,
	  "with --inlines: the inlined calls at it, innermost first (FUNC inlined at FILE:LINE[:COL] in CALLER; ...)" },
	{ "UNSYMBOLIZED", 12, 0, OUT_TEXT, "why there is no symbol or source line" },
};
static struct colinfo cols[OUT_MAX_COLS];

static void help(void)
{
	printf("Usage: memlens query|symbolize PID|self [ADDR...] [options]\n\n"
	       "For each address (hex, 0x optional; one per line on standard input when none is\n"
	       "given): the VMA covering it, the file offset it maps, the file and its build ID;\n"
	       "with symbolize (or -o +SYMBOL,LINE): the function and offset, and the source line.\n\n"
	       "      --no-build-id skip build IDs\n"
	       "      --inlines     the inlined calls at each address (-o +SYMBOL,LINE,INLINES)\n"
	       "      --debuginfod  also fetch debug files from the DEBUGINFOD_URLS servers (off by default)\n"
	       );
	cli_help_common(MEMLENS_JOB_QUERY);
	out_help_columns(stdout, cols, vma_columns(cols, qcols, sizeof(qcols) / sizeof(qcols[0])));
}

/*
 * Standard input is answered in pieces: up to QUERY_CHUNK addresses, or fewer
 * when no more input is waiting (a profiler talking to memlens through a pipe
 * gets each answer as soon as it asked), each piece normalized, printed and
 * dropped.  Memory is the same for ten addresses or ten million.  A line is read
 * into QUERY_LINE_MAX bytes; a longer one (no address is) is skipped to its end,
 * never held whole.  Blank lines and # comments are skipped, bad lines said
 * and counted.
 */
#define QUERY_CHUNK 4096
#define QUERY_LINE_MAX 256

struct input {
	char buf[65536];
	size_t pos, len;
	bool eof;
	size_t lineno;
};

static int fill(struct input *in)
{
	ssize_t r;

	memmove(in->buf, in->buf + in->pos, in->len - in->pos);
	in->len -= in->pos;
	in->pos = 0;
	do
		r = read(STDIN_FILENO, in->buf + in->len, sizeof(in->buf) - in->len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	in->eof = r == 0;
	in->len += (size_t)r;
	return 0;
}

/* whether the next line can be had without waiting */
static bool input_waiting(const struct input *in)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return in->eof || memchr(in->buf + in->pos, '\n', in->len - in->pos) || poll(&p, 1, 0) > 0;
}

/* 1: the next line in line[QUERY_LINE_MAX]; 0: end of input; -E2BIG: a longer
 * line, skipped; other -errno: a read error */
static int next_line(struct input *in, char *line)
{
	bool too_long = false;

	for (;;) {
		char *p = in->buf + in->pos, *nl = memchr(p, '\n', in->len - in->pos);
		size_t n = nl ? (size_t)(nl - p) : in->len - in->pos;
		int err;

		if (nl || in->eof) {
			if (!nl && !n && !too_long)
				return 0;
			in->pos += n + (nl != NULL);
			in->lineno++;
			if (too_long || n >= QUERY_LINE_MAX)
				return -E2BIG;
			memcpy(line, p, n);
			line[n] = 0;
			return 1;
		}
		if (n >= QUERY_LINE_MAX) {
			too_long = true;
			in->pos = in->len;
		}
		err = fill(in);
		if (err)
			return err;
	}
}

/* 1 and *v: an address; 0: nothing on the line; -EINVAL: not an address */
static int parse_line(char *s, uint64_t *v)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = 0;
	if (!*s || *s == '#')
		return 0;
	return cli_parse_addr(s, v) ? -EINVAL : 1;
}

struct query {
	const char *cmd;	/* "query", or "symbolize": the same answers, symbols by default */
	struct cli *cli;
	struct memlens_proc *proc;
	struct out out;
	bool build_ids, said, inlines, debuginfod;
	size_t answered;
};

static bool wants_symbols(const struct query *q)
{
	return out_has(&q->out, Q_SYMBOL) || out_has(&q->out, Q_LINE) || out_has(&q->out, Q_FUNC) ||
	       out_has(&q->out, Q_INLINES) || out_has(&q->out, Q_UNSYMBOLIZED);
}

static const char *unsymbolized(int err)
{
	switch (err) {
	case -ENXIO: return "no mapping";
	case -ENOENT: return "no symbol or line covers it";
	case -EFBIG: return "file too large";
	default: return strerror(-err);
	}
}

/* the symbol columns of one answer */
static void sym_columns(struct out *out, struct out_row *ln, const struct memlens_sym *s)
{
	char buf[4096];
	size_t o = 0;

	if (s->err) {
		out_set(out, ln, Q_UNSYMBOLIZED, "%s", unsymbolized(s->err));
		return;
	}
	if (s->name && s->offset)
		out_set(out, ln, Q_SYMBOL, "%s+0x%llx", s->name, (unsigned long long)s->offset);
	else if (s->name)
		out_set(out, ln, Q_SYMBOL, "%s", s->name);
	if (s->file && s->column)
		out_set(out, ln, Q_LINE, "%s:%u:%u", s->file, s->line, s->column);
	else if (s->file)
		out_set(out, ln, Q_LINE, "%s:%u", s->file, s->line);
	if (s->func)
		out_set(out, ln, Q_FUNC, "%s", s->func);
	buf[0] = 0;
	for (uint32_t i = 0; i < s->ninlines && o < sizeof(buf); i++) {
		const struct memlens_sym_inline *in = &s->inlines[i];

		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s inlined at %s:%u", i ? "; " : "", in->func,
				      in->call_file ? in->call_file : "??", in->call_line);
		if (in->call_column && o < sizeof(buf))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, ":%u", in->call_column);
		if (o < sizeof(buf))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, " in %s", in->caller);
	}
	if (s->ninlines)
		out_set(out, ln, Q_INLINES, "%s", buf);
}

/* one piece: normalized, then its rows */
static int answer(struct query *q, const uint64_t *addrs, size_t n)
{
	MEMLENS_OPTS(memlens_normalize_opts, nopts, .build_ids = q->build_ids || wants_symbols(q),
		     .elf_vaddr = out_has(&q->out, Q_ELF_VADDR) || wants_symbols(q));
	MEMLENS_OPTS(memlens_symbolize_opts, sopts, .inlines = q->inlines, .debuginfod = q->debuginfod);
	struct memlens_syms *syms = NULL;
	struct memlens_norm *norm = NULL;
	const struct memlens_vma_set *vmas;
	enum memlens_source src;
	pid_t pid = memlens_proc__pid(q->proc);
	int err = memlens_proc__normalize(q->proc, addrs, n, &nopts, &norm);

	if (err) {
		cli_err_pid(q->cli, pid, err);
		return err;
	}
	if (wants_symbols(q)) {
		err = memlens_norm__symbolize(q->proc, norm, &sopts, &syms);
		if (err) {
			cli_err_pid(q->cli, pid, err);
			memlens_norm__free(norm);
			return err;
		}
	}
	vmas = memlens_norm__vmas(norm);
	src = memlens_vma_set__source(vmas);
	if (q->cli->verbose && !q->said) {
		cli_say_source(q->cli, src, MEMLENS_JOB_QUERY, memlens_vma_set__count(vmas));
		q->said = true;
	}
	for (size_t i = 0; i < memlens_norm__count(norm); i++) {
		const struct memlens_norm_addr *a = memlens_norm__get(norm, i);
		const struct memlens_vma *v = a->vma >= 0 ? memlens_vma_set__get(vmas, (size_t)a->vma) : NULL;
		struct out_row *ln = out_line(&q->out);

		if (!ln) {
			err = -ENOMEM;
			break;
		}
		out_set(&q->out, ln, Q_ADDR, "0x%llx", (unsigned long long)a->addr);
		out_set(&q->out, ln, Q_MAPPED, "%s", v ? "yes" : "no");
		if (syms)
			sym_columns(&q->out, ln, memlens_syms__get(syms, i));
		if (!v) {
			out_set(&q->out, ln, VCOL_PID, "%d", (int)pid);
			out_set(&q->out, ln, VCOL_SOURCE, "%s", memlens_source__name(src));
			out_set(&q->out, ln, VCOL_NAME, "[unmapped]");
			continue;
		}
		vma_columns_fill(q->cli, &q->out, ln, v, src);
		out_set(&q->out, ln, Q_FILE_OFFSET, "0x%llx", (unsigned long long)a->file_offset);
		if (!a->elf_vaddr_err)
			out_set(&q->out, ln, Q_ELF_VADDR, "0x%llx", (unsigned long long)a->elf_vaddr);
	}
	memlens_syms__free(syms);
	memlens_norm__free(norm);
	q->answered += n;
	return err;
}

static int answer_stdin(struct query *q, size_t *bad)
{
	struct input *in = calloc(1, sizeof(*in));
	uint64_t *v = malloc(QUERY_CHUNK * sizeof(*v));
	char line[QUERY_LINE_MAX];
	size_t n = 0;
	int r, err = 0;

	if (!in || !v) {
		err = -ENOMEM;
		goto out;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "memlens: reading addresses from standard input, one a line (end with Ctrl-D)\n");
	do {
		r = next_line(in, line);
		if (r == -E2BIG) {
			cli_err("stdin line %zu: longer than %d bytes: not an address", in->lineno, QUERY_LINE_MAX - 1);
			(*bad)++;
		} else if (r < 0) {
			cli_err("standard input: %s", strerror(-r));
			err = r;
			break;
		} else if (r > 0) {
			r = parse_line(line, &v[n]);
			if (r < 0) {
				char shown[41];

				/* the line's bytes are anyone's: escaped, no terminal
				 * sequence reaches stderr */
				snprintf(shown, sizeof(shown), "%s", line);
				cli_err("stdin line %zu: '%s': not a hex address", in->lineno, CLI_SAFE(shown));
				(*bad)++;
			}
			n += r > 0;
			r = 1;
		}
		if (n && (!r || n == QUERY_CHUNK || !input_waiting(in))) {
			err = answer(q, v, n);
			if (!err)
				err = out_flush(&q->out);
			n = 0;
		}
	} while (r && !err);
out:
	free(v);
	free(in);
	return err;
}

/* options, the PID and the addresses given (*args, malloc'd): -1 go on,
 * else the exit code (--help, a usage error said) */
static int parse_opts(struct cli *cli, int argc, char **argv, struct query *q, pid_t *pid, uint64_t **args,
		      size_t *nargs)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "no-build-id", no_argument, NULL, 'N' },
		{ "inlines", no_argument, NULL, 'I' },
		{ "debuginfod", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'N': q->build_ids = false; break;
		case 'I': q->inlines = true; break;
		case 'D': q->debuginfod = true; break;
		case 'h': help(); return EXIT_OK;
		default:
			if (cli_common_opt(cli, MEMLENS_JOB_QUERY, c, optarg))
				return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("%s needs a PID (or 'self')", q->cmd);
		return EXIT_USAGE;
	}
	if (cli_parse_pid(argv[optind], pid)) {
		cli_err("'%s': not a pid", argv[optind]);
		return EXIT_USAGE;
	}
	*args = calloc((size_t)(argc - optind), sizeof(**args));
	if (!*args)
		return EXIT_RUNTIME;
	for (int i = optind + 1; i < argc; i++)
		if (cli_parse_addr(argv[i], &(*args)[(*nargs)++])) {
			cli_err("'%s': not a hex address", argv[i]);
			return EXIT_USAGE;
		}
	return -1;
}

/* the answers' columns: 0, or -EINVAL (said) */
static int init_out(struct cli *cli, struct query *q)
{
	char defaults[128], doc[192];

	if (!strcmp(q->cmd, "symbolize"))
		snprintf(defaults, sizeof(defaults), "ADDR,SYMBOL,LINE%s", q->inlines ? ",INLINES" : "");
	else
		snprintf(defaults, sizeof(defaults), "ADDR,FILE_OFFSET,START,END,PERMS,NAME%s",
			 q->build_ids ? ",BUILDID" : "");
	/* a document says whose addresses they are, and how they were read */
	if (!strcmp(q->cmd, "symbolize"))
		snprintf(doc, sizeof(doc), "PID,%s,FUNC,UNSYMBOLIZED,ELF_VADDR,NAME,BUILDID,SOURCE", defaults);
	else
		snprintf(doc, sizeof(doc), "PID,%s,MAPPED,OFFSET,DEV,INODE,SOURCE", defaults);
	return out_init_doc(&q->out, cli, q->cmd, cols, vma_columns(cols, qcols, sizeof(qcols) / sizeof(qcols[0])),
			    defaults, doc);
}

static int run_query(struct cli *cli, int argc, char **argv, const char *cmd)
{
	struct query q = { .cmd = cmd, .cli = cli, .build_ids = true };
	uint64_t *args = NULL;
	size_t nargs = 0, bad = 0;
	pid_t pid;
	int err, rc = parse_opts(cli, argc, argv, &q, &pid, &args, &nargs);

	if (rc >= 0) {
		free(args);
		return rc;
	}
	err = init_out(cli, &q);
	if (err) {
		out_free(&q.out);
		free(args);
		return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	MEMLENS_OPTS(memlens_proc_opts, popts, .source = cli->source);
	q.proc = memlens__proc_open(cli->ml, pid, &popts);
	if (!q.proc) {
		cli_err_open(cli, pid, -errno);
		err = -ESRCH;
	} else {
		err = nargs ? answer(&q, args, nargs) : answer_stdin(&q, &bad);
	}
	if (!err && !q.answered) {
		cli_err(bad ? "no valid address on standard input" :
			      "no addresses: give them as arguments or on standard input, one per line");
		err = bad ? -EINVAL : -ENODATA;
	} else if (out_started(&q.out) || !err) {
		/* rows printed before an error stay, and a JSON document is closed */
		int perr = out_print(&q.out);

		err = err ? err : perr;
	}
	memlens_proc__close(q.proc);
	out_free(&q.out);
	free(args);
	return err == -ENODATA ? EXIT_USAGE : err ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_query(struct cli *cli, int argc, char **argv)
{
	return run_query(cli, argc, argv, "query");
}

/* query's answers, function+offset and source line by default: addresses
 * on standard input streamed as query streams them */
int cmd_symbolize(struct cli *cli, int argc, char **argv)
{
	return run_query(cli, argc, argv, "symbolize");
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens: the command line.  Subcommands in cmd_*.c; this file dispatches. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("memlens: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_err_pid(pid_t pid, int err)
{
	const char *what;

	err = err < 0 ? -err : err;
	switch (err) {
	case ESRCH: what = "no such process"; break;
	case EACCES:
	case EPERM: what = "permission denied (needs PTRACE_MODE_READ: same user, or CAP_SYS_PTRACE)"; break;
	case EOPNOTSUPP: what = "backend unavailable"; break;
	default: what = strerror(err); break;
	}
	cli_err("pid %d: %s", (int)pid, what);
}

void cli_err_open(struct cli *cli, pid_t pid, int err)
{
	if (err == -EOPNOTSUPP)
		cli_err("backend %s unavailable: %s", memlens_backend__name(cli->backend),
			memlens__probe_reason(cli->ml, memlens_backend__iface(cli->backend)));
	else
		cli_err_pid(pid, err);
}

void cli_why_not(struct cli *cli, enum memlens_backend used, enum memlens_job job, char *buf, size_t len)
{
	/* memlens__pick_backend()'s order */
	static const enum memlens_backend one[] = { MEMLENS_BACKEND_IOCTL, MEMLENS_BACKEND_BPF, MEMLENS_BACKEND_TEXT };
	static const enum memlens_backend all[] = { MEMLENS_BACKEND_BPF, MEMLENS_BACKEND_IOCTL, MEMLENS_BACKEND_TEXT };
	const enum memlens_backend *order = job == MEMLENS_JOB_WALK_ALL ? all : one;
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < 3 && order[i] != used && n < len; i++)
		if (memlens__probe(cli->ml, memlens_backend__iface(order[i])))
			n += (size_t)snprintf(buf + n, len - n, "; not %s: %s", memlens_backend__name(order[i]),
					      memlens__probe_reason(cli->ml, memlens_backend__iface(order[i])));
}

void cli_say_source(struct cli *cli, enum memlens_backend used, enum memlens_job job, size_t records)
{
	char why[600] = "";

	if (cli->backend == MEMLENS_BACKEND_AUTO)
		cli_why_not(cli, used, job, why, sizeof(why));
	cli_err("%zu records from %s (%s): %s%s", records, memlens_backend__name(used),
		cli->backend == MEMLENS_BACKEND_AUTO ? "picked" : "forced",
		memlens__probe_reason(cli->ml, memlens_backend__iface(used)), why);
}

int cli_parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	if (strcmp(s, "self") == 0) {
		*pid = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int cli_parse_addr(const char *s, uint64_t *addr)
{
	uint64_t v = 0;
	int digits = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -EINVAL;
		if (++digits > 16)
			return -ERANGE;
		v = v << 4 | (unsigned)d;
	}
	if (!digits)
		return -EINVAL;
	*addr = v;
	return 0;
}

int cli_common_opt(struct cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'b':
		if (memlens_backend__parse(arg, &cli->backend)) {
			cli_err("unknown backend '%s' (ioctl, bpf, text or auto)", arg);
			return -1;
		}
		return 0;
	case 'J': cli->mode = OUT_JSON; return 0;
	case 'r': cli->mode = OUT_RAW; return 0;
	case 'n': cli->no_headings = true; return 0;
	case 'o': cli->columns = arg; return 0;
	case 'v': cli->verbose++; return 0;
	case '?': return -1;	/* getopt said it */
	default: return 1;
	}
}

static int print_cb(enum memlens_print_level lvl, const char *fmt, va_list ap)
{
	(void)lvl;
	fputs("memlens: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fputs("Usage: memlens COMMAND [options]\n"
	      "\n"
	      "Look into Linux process memory through the fastest interface the kernel allows.\n"
	      "\n"
	      "Commands:\n"
	      "  maps PID|self      the process's mappings, one VMA per row (pmap-like)\n"
	      "  query PID [ADDR]   normalize addresses: VMA, file offset, build ID (stdin if no ADDR)\n"
	      "  features           what the kernel and your privileges allow, and which source each job uses\n"
	      "  dmabuf [PID]       who holds which DMA-BUFs (dmabuf_dump layout; -a, -b, --fds, --kernel-only)\n"
	      "  bpf pin|unpin [DIR] pin the DMA-BUF iterators for readers without CAP_BPF\n"
	      "  snapshot           every process: Vss Rss Pss Uss Swap and DMA-BUF (--openmetrics)\n"
	      "  who-maps TARGET    who maps a file, DEV:INODE or PID:ADDR; --shared: every shared object\n"
	      "\n"
	      "Common options:\n"
	      "  -b, --backend B    ioctl | bpf | text | auto (default: the best available)\n"
	      "  -J, --json         JSON output (schema: docs/json.md)\n"
	      "  -r, --raw          raw output, no alignment\n"
	      "  -n, --noheadings   no header line\n"
	      "  -o, --output LIST  columns to print\n"
	      "  -v, --verbose      say which source was used and why\n"
	      "  -h, --help         help (COMMAND --help: its columns)\n"
	      "  -V, --version      version\n"
	      "\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error.\n", f);
}

int main(int argc, char **argv)
{
	struct cli cli = { .backend = MEMLENS_BACKEND_AUTO, .mode = OUT_TABLE };
	MEMLENS_OPTS(memlens_opts, opts);
	const char *cmd;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("memlens %d.%d\n", MEMLENS_VERSION_MAJOR, MEMLENS_VERSION_MINOR);
		return EXIT_OK;
	}
	if (strcmp(cmd, "maps") && strcmp(cmd, "query") && strcmp(cmd, "features") && strcmp(cmd, "dmabuf") &&
	    strcmp(cmd, "bpf") && strcmp(cmd, "snapshot") && strcmp(cmd, "who-maps")) {
		cli_err("unknown command '%s' (try 'memlens --help')", cmd);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			opts.print = print_cb;
	cli.ml = memlens__new(&opts);
	if (!cli.ml) {
		cli_err("cannot create context: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	/* subcommands see argv[0] = command name, as getopt expects */
	if (!strcmp(cmd, "maps"))
		rc = cmd_maps(&cli, argc - 1, argv + 1);
	else if (!strcmp(cmd, "query"))
		rc = cmd_query(&cli, argc - 1, argv + 1);
	else if (!strcmp(cmd, "dmabuf"))
		rc = cmd_dmabuf(&cli, argc - 1, argv + 1);
	else if (!strcmp(cmd, "bpf"))
		rc = cmd_bpf(&cli, argc - 1, argv + 1);
	else if (!strcmp(cmd, "snapshot"))
		rc = cmd_snapshot(&cli, argc - 1, argv + 1);
	else if (!strcmp(cmd, "who-maps"))
		rc = cmd_who_maps(&cli, argc - 1, argv + 1);
	else
		rc = cmd_features(&cli, argc - 1, argv + 1);
	memlens__free(cli.ml);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens: the command line.  The command table and main; commands in cmd_*.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

static int print_cb(enum memlens_print_level lvl, const char *fmt, va_list ap)
{
	(void)lvl;
	fputs("memlens: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static const struct cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
} cmds[] = {
	{ "maps", cmd_maps, "maps PID|self      the process's mappings, one VMA per row (pmap-like)" },
	{ "query", cmd_query, "query PID [ADDR]   normalize addresses: VMA, file offset, build ID (stdin if no ADDR)" },
	{ "symbolize", cmd_symbolize, "symbolize PID [ADDR] function+offset and source line of each address (query -o ADDR,SYMBOL,LINE)" },
	{ "features", cmd_features, "features           what the kernel and your privileges allow, and which source each job uses" },
	{ "dmabuf", cmd_dmabuf, "dmabuf [PID]       who holds which DMA-BUFs (dmabuf_dump layout; --all-refs, --buffers, --fds ...)" },
	{ "bpf", cmd_bpf, "bpf pin|unpin [DIR] pin the DMA-BUF iterators for readers without CAP_BPF" },
	{ "snapshot", cmd_snapshot, "snapshot           every process: Vss Rss Pss Uss Swap and DMA-BUF (--openmetrics)" },
	{ "exporter", cmd_exporter, "exporter           serve the snapshot's metrics to Prometheus on /metrics (or --textfile DIR)" },
	{ "diff", cmd_diff, "diff OLD NEW       what changed between two snapshot -J files: per process, kernel-only DMA-BUFs" },
	{ "report", cmd_report, "report --html FILE  one self-contained page: treemap by cgroup, process, mapping; DMA-BUF; growth" },
	{ "who-maps", cmd_who_maps, "who-maps TARGET    who maps a file, DEV:INODE or PID:ADDR; --shared: every shared object" },
};

static void usage(FILE *f)
{
	fputs("Usage: memlens COMMAND [options]\n"
	      "\n"
	      "Look into Linux process memory through the fastest interface the kernel allows.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].summary);
	fputs("\n"
	      "Common options:\n"
	      "  -s, --source S     the source of the command's job (default: the best available; see features)\n"
	      "  -b, --bytes        sizes in bytes (default 4K, 1.5M as util-linux; JSON always bytes)\n"
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
	struct cli cli = { .source = MEMLENS_SOURCE_AUTO, .mode = OUT_TABLE };
	MEMLENS_OPTS(memlens_opts, opts);
	const struct cmd *cmd = NULL;
	int rc;

	cli_locale_init();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("memlens %d.%d.%d\n", MEMLENS_VERSION_MAJOR, MEMLENS_VERSION_MINOR, MEMLENS_VERSION_PATCH);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd) {
		cli_err("unknown command '%s' (try 'memlens --help')", argv[1]);
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
	/* commands see argv[0] = "memlens: CMD": getopt's own errors then read
	 * "memlens: snapshot: invalid option -- 'z'", as every other line */
	char prog[64];

	snprintf(prog, sizeof(prog), "memlens: %s", cmd->name);
	cli.cmd = cmd->name;
	argv[1] = prog;
	rc = cmd->run(&cli, argc - 1, argv + 1);
	memlens__free(cli.ml);
	return rc;
}

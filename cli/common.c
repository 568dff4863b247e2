// SPDX-License-Identifier: GPL-2.0-or-later
/* What every command shares: errors, pids and addresses, the common options, -v. */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <wchar.h>
#include <wctype.h>
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

void cli_err_pid(struct cli *cli, pid_t pid, int err)
{
	const char *what;
	char buf[400];

	err = err < 0 ? -err : err;
	switch (err) {
	case ESRCH: what = "no such process"; break;
	case EACCES:
	case EPERM:
		snprintf(buf, sizeof(buf), "permission denied (%s)", memlens__denied_reason(cli->ml, pid));
		what = buf;
		break;
	case EOPNOTSUPP: what = "source unavailable"; break;
	case ETIMEDOUT: what = "stalled: a read of its memory map made no progress in the stall timeout (its mmap lock is held)"; break;
	default: what = strerror(err); break;
	}
	cli_err("pid %d: %s", (int)pid, what);
}

void cli_err_open(struct cli *cli, pid_t pid, int err)
{
	if (err == -EOPNOTSUPP)
		cli_err("source %s unavailable: %s", memlens_source__name(cli->source),
			memlens__source_reason(cli->ml, cli->source));
	else if (err == -EINVAL && cli->source != MEMLENS_SOURCE_AUTO)
		cli_err("source %s does not read VMAs", memlens_source__name(cli->source));
	else
		cli_err_pid(cli, pid, err);
}

void cli_say_source(struct cli *cli, enum memlens_source used, enum memlens_job job, size_t records)
{
	cli_err("%zu records from %s (%s): %s", records, memlens_source__name(used),
		cli->source == MEMLENS_SOURCE_AUTO ? "picked" : "forced",
		memlens__explain(cli->ml, job, used, cli->source != MEMLENS_SOURCE_AUTO));
}

/* the locale tables are measured in: set by cli_locale_init() */
static bool locale_utf8;

void cli_locale_init(void)
{
	const char *cs;

	setlocale(LC_ALL, "");
	/* numbers in JSON, CSV and the exposition format keep their '.' */
	setlocale(LC_NUMERIC, "C");
	cs = nl_langinfo(CODESET);
	locale_utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

const char *cli_ellipsis(void)
{
	return locale_utf8 ? "\u2026" : "...";
}

enum {
	ESC_BACKSLASH_KEPT = 1,	/* the text is our escaped form: its backslashes stay */
	ESC_LOCALE = 2,		/* a table cell: only what this locale can measure stays */
};

/* length of the valid UTF-8 sequence at s that is printable (no C0/C1
 * control, no DEL), 0 if there is none.  With ESC_LOCALE, also 0 for what
 * the locale cannot measure: any non-ASCII byte outside a UTF-8 locale, and
 * in one a character wcwidth() has no width for or iswprint() refuses
 * (U+2028, unassigned code points): libsmartcols measures every cell with
 * mbrtowc()/wcwidth() and never ends on a character they refuse */
static size_t utf8_printable(const unsigned char *s, int flags)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned lo = 0x80, hi = 0xbf;
	uint32_t cp;

	if (c >= 0x20 && c < 0x7f && (c != '\\' || (flags & ESC_BACKSLASH_KEPT)))
		return 1;	/* a backslash is escaped too: \x5c, as libsmartcols does */
	if ((flags & ESC_LOCALE) && !locale_utf8)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++, lo = 0x80, hi = 0xbf) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (c == 0xc2 && s[1] < 0xa0)
		return 0;	/* C1 controls */
	if ((flags & ESC_LOCALE) && (!iswprint((wint_t)cp) || wcwidth((wchar_t)cp) < 0))
		return 0;
	return n;
}

static char *escape(const char *in, char *out, size_t len, int flags)
{
	const unsigned char *s = (const unsigned char *)in;
	char *o = out, *end = out + len - 1;

	while (*s && end - o >= 4) {
		size_t n = utf8_printable(s, flags);

		if (n) {
			memcpy(o, s, n);
			o += n;
			s += n;
		} else {
			o += sprintf(o, "\\x%02x", *s++);
		}
	}
	*o = 0;
	return out;
}

char *cli_escape(const char *in, char *out, size_t len)
{
	return escape(in, out, len, 0);
}

char *cli_escape_again(const char *in, char *out, size_t len)
{
	return escape(in, out, len, ESC_BACKSLASH_KEPT);
}

char *cli_escape_cell(const char *in, char *out, size_t len, bool again)
{
	return escape(in, out, len, ESC_LOCALE | (again ? ESC_BACKSLASH_KEPT : 0));
}

void cli_help_source(enum memlens_job job, int width)
{
	char names[128];

	printf("  %-*s%s | auto (default: the first available, in this order)\n", width - 2, "-s, --source S",
	       cli_job_sources(job, " | ", names, sizeof(names)));
}

void cli_help_common(int job)
{
	if (job >= 0)
		cli_help_source((enum memlens_job)job, 20);
	printf("  -b, --bytes         sizes in bytes, not 4K, 1.5M (JSON always has bytes)\n"
	       "  -J, --json          JSON output (schema: docs/json.md)\n"
	       "  -r, --raw           raw output, no alignment\n"
	       "      --csv           CSV (RFC 4180) of the rows, sizes in bytes\n"
	       "  -n, --noheadings    no header line\n"
	       "  -o, --output LIST   columns to print (-o +LIST adds to the defaults)\n"
	       "  -v, --verbose       say which source was used and why\n"
	       "  -h, --help          this help\n");
}

void cli_say_unreadable(struct cli *cli, size_t n, const int32_t *pids, const char *const *comms)
{
	if (!n)
		return;
	fprintf(stderr, "memlens: %zu process%s could not be read (%s):", n, n == 1 ? "" : "es",
		memlens__denied_reason(cli->ml, pids[0]));
	for (size_t i = 0; i < n && i < CLI_UNREADABLE_NAMED; i++) {
		char comm[16];

		if (!comms)
			memlens__comm(cli->ml, pids[i], comm);
		fprintf(stderr, " %d (%s)", pids[i], CLI_SAFE(comms ? comms[i] : comm));
	}
	fprintf(stderr, "%s\n", n > CLI_UNREADABLE_NAMED ? " ..." : "");
}

void cli_say_stalled(struct cli *cli, const struct memlens_snapshot *s)
{
	size_t n = memlens_snapshot__stalled(s);

	(void)cli;
	if (!n)
		return;
	fprintf(stderr, "memlens: %zu process%s stalled, left out (a read of its memory map made no progress in the "
		"stall timeout: its mmap lock is held):", n, n == 1 ? "" : "es");
	for (size_t i = 0; i < n && i < CLI_UNREADABLE_NAMED; i++)
		fprintf(stderr, " %d (%s)", memlens_snapshot__stalled_pid(s, i),
			CLI_SAFE(memlens_snapshot__stalled_comm(s, i)));
	fprintf(stderr, "%s\n", n > CLI_UNREADABLE_NAMED ? " ..." : "");
}

void cli_say_skipped(struct cli *cli, const struct memlens_vma_set *set)
{
	int32_t pids[CLI_UNREADABLE_NAMED];
	size_t n = memlens_vma_set__unreadable(set);

	if (memlens_vma_set__exited(set) && cli->verbose)
		cli_err("%zu processes exited during the walk", memlens_vma_set__exited(set));
	for (size_t i = 0; i < n && i < CLI_UNREADABLE_NAMED; i++)
		pids[i] = memlens_vma_set__unreadable_pid(set, i);
	cli_say_unreadable(cli, n, pids, NULL);
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

int cli_parse_pid_prefix(const char *s, int *pid, int *used)
{
	long v = 0;
	int i = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > INT_MAX)
			return -ERANGE;
	}
	if (!i || s[i] != ':' || v <= 0)
		return -EINVAL;
	*pid = (int)v;
	*used = i + 1;
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

const char *cli_job_sources(enum memlens_job job, const char *sep, char *buf, size_t len)
{
	enum memlens_source order[16];
	size_t n = memlens_job__sources(job, order, 16), o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && i < 16 && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? sep : "", memlens_source__name(order[i]));
	return buf;
}

int cli_common_opt(struct cli *cli, enum memlens_job job, int c, const char *arg)
{
	char names[128];

	switch (c) {
	case 's':
		if (memlens_source__parse(job, arg, &cli->source)) {
			cli_err("unknown source '%s' (%s, or auto)", arg, cli_job_sources(job, ", ", names, sizeof(names)));
			return -1;
		}
		return 0;
	case 'b': cli->bytes = true; return 0;
	case 'J':
	case 'r':
	case CLI_OPT_CSV: {
		enum out_mode m = c == 'J' ? OUT_JSON : c == 'r' ? OUT_RAW : OUT_CSV;

		if (cli->mode != OUT_TABLE && cli->mode != m) {
			cli_err("-J, -r and --csv do not go together");
			return -1;
		}
		cli->mode = m;
		return 0;
	}
	case 'n': cli->no_headings = true; return 0;
	case 'o': cli->columns = arg; return 0;
	case 'v': cli->verbose++; return 0;
	case '?': cli_try_help(cli); return -1;	/* getopt said what */
	default: return 1;
	}
}

void cli_err_dmabuf(struct cli *cli, const char *pin_dir, int err)
{
	enum memlens_source src = cli->source != MEMLENS_SOURCE_AUTO ? cli->source : MEMLENS_SOURCE_DMABUF_BPF;

	if (pin_dir && (err == -ENOENT || err == -EACCES || err == -EPERM))
		cli_err("--pin-dir %s: %s", pin_dir, err == -EPERM ?
			"not a pin directory (on bpffs, owned by root, writable by no one else, our three pins)" :
			strerror(-err));
	else if (err == -EOPNOTSUPP)
		cli_err("DMA-BUF source %s unavailable: %s", memlens_source__name(src), memlens__source_reason(cli->ml, src));
	else
		cli_err("DMA-BUF scan failed: %s", strerror(-err));
}

void cli_try_help(const struct cli *cli)
{
	fprintf(stderr, "Try 'memlens %s --help' for more information.\n", cli->cmd);
}

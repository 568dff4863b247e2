/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MEMLENS_CLI_H
#define MEMLENS_CLI_H

#include <libsmartcols.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "memlens.h"
#include "jsonw.h"

/* exit codes */
#define EXIT_OK		0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

enum out_mode { OUT_TABLE, OUT_RAW, OUT_JSON, OUT_CSV };

struct cli {
	struct memlens *ml;
	const char *cmd;	/* the command's name: "snapshot" */
	enum memlens_source source;	/* -s/--source, for the command's job; AUTO */
	enum out_mode mode;
	bool bytes;		/* -b/--bytes: sizes in bytes, not 4K, 1.5M (JSON: always bytes) */
	const char *columns;	/* -o */
	bool no_headings;
	int verbose;
};

/* ---- common.c: what every command shares ---- */
/* One line on stderr, "memlens: ..." */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memlens: pid N: <what errno says>", with the library's words for its errnos */
void cli_err_pid(struct cli *cli, pid_t pid, int err);
/* a failed DMA-BUF pass (memlens__dmabuf(), or a snapshot's): pins named
 * with --pin-dir that cannot be read, the source unavailable (and why), or
 * the errno */
void cli_err_dmabuf(struct cli *cli, const char *pin_dir, int err);
/* a failed memlens__proc_open(): forced source unavailable (and why), or the pid's error */
void cli_err_open(struct cli *cli, pid_t pid, int err);
/* -v: which source answered job, and why the better ones did not (the library's order) */
void cli_say_source(struct cli *cli, enum memlens_source used, enum memlens_job job, size_t records);
/* What a process, file or buffer owner named is printed the same way in every
 * format: valid printable UTF-8 as it is, every other byte (controls, DEL,
 * C1, invalid UTF-8) as \xHH; nothing is cut when len >= 4 * strlen(in) + 1. */
char *cli_escape(const char *in, char *out, size_t len);
/* cli_escape() of a name that already went through it once (read back from
 * memlens' own JSON): its backslashes stay, any other byte that is not
 * printable UTF-8 is still escaped */
char *cli_escape_again(const char *in, char *out, size_t len);
/* a table cell: cli_escape() (cli_escape_again() with again), and every
 * character the locale cannot measure escaped too (outside a UTF-8 locale,
 * all non-ASCII), so libsmartcols can size every cell it is given */
char *cli_escape_cell(const char *in, char *out, size_t len, bool again);
/* setlocale(LC_ALL, "") as util-linux does, and what cells may hold under it */
void cli_locale_init(void);
/* what marks text cut short in a cell: U+2026 in a UTF-8 locale, else "..." */
const char *cli_ellipsis(void);
/* cli_escape() of a name the kernel bounds (comm, DMA-BUF name and exporter:
 * under 256 bytes) into a buffer that lives to the end of the block */
#define CLI_SAFE(s) cli_escape((s), (char[4 * 256 + 1]){ 0 }, 4 * 256 + 1)
/* the names of a job's sources, best first, between sep */
const char *cli_job_sources(enum memlens_job job, const char *sep, char *buf, size_t len);
/* the common options' lines of a command's --help; job >= 0: it takes
 * -s/--source for that job, whose line cli_help_source() prints */
void cli_help_common(int job);
/* "-s, --source S" padded to width, then the job's sources from the
 * library's table, best first: what -s accepts, and nothing else */
void cli_help_source(enum memlens_job job, int width);
/* the n processes that could not be read, named on stderr ("pid (comm)", the
 * first CLI_UNREADABLE_NAMED: pids, their comms or NULL to read them now) */
#define CLI_UNREADABLE_NAMED 32
void cli_say_unreadable(struct cli *cli, size_t n, const int32_t *pids, const char *const *comms);
/* after a snapshot: the processes it found stalled, on one line */
void cli_say_stalled(struct cli *cli, const struct memlens_snapshot *s);
/* after a whole-system walk: cli_say_unreadable(); with -v, how many exited during it */
void cli_say_skipped(struct cli *cli, const struct memlens_vma_set *set);
int cli_parse_pid(const char *s, pid_t *pid);
int cli_parse_addr(const char *s, uint64_t *addr);
/* "PID:..." -> pid and the length of "PID:"; -ERANGE past INT_MAX */
int cli_parse_pid_prefix(const char *s, int *pid, int *used);

/* ---- output.c: the sink. A command declares its columns, fills rows and
 * hands them over; the sink writes them as the user asked: an aligned table
 * or raw through libsmartcols (lsfd's way), one JSON document (jsonw.h), or
 * CSV.  Totals, footers, second tables and a document's other members are
 * the sink's too: a command never asks which format it writes. */
enum out_kind {
	OUT_TEXT,	/* a string (JSON: null when empty) */
	OUT_NUM,	/* a number (JSON: null when empty), right-aligned */
	OUT_BOOL,	/* "yes"/"no" (JSON: true/false) */
	OUT_HEX,	/* a number in hex, right-aligned (JSON: a string) */
	OUT_NUMS,	/* a list of numbers (out_set_numbers(); JSON: an array) */
};
/* how a column is laid out beyond its kind (libsmartcols' flags) */
#define OUT_FL_TRUNC SCOLS_FL_TRUNC
#define OUT_FL_WRAP SCOLS_FL_WRAP
#define OUT_FL_NOEXTREMES SCOLS_FL_NOEXTREMES

struct colinfo {
	const char *name;	/* the column; its JSON key is the name in lower case */
	double whint;
	int flags;		/* OUT_FL_*: beyond the kind's */
	enum out_kind kind;
	const char *help;
};

#define OUT_MAX_COLS 48

/* a row being filled: opaque to commands */
struct out_row;

struct out {
	struct libscols_table *tb;
	const struct colinfo *cols;
	size_t ncols;
	int sel[OUT_MAX_COLS];	/* selected column ids, in output order */
	int pos[OUT_MAX_COLS];	/* column id -> output position, -1 if not selected */
	size_t nsel;
	bool named[OUT_MAX_COLS];	/* column id -> the user named it in -o */
	bool raw;	/* libsmartcols escapes raw output itself (\xHH, as lsblk -r) */
	bool table;	/* aligned: every cell measured in the locale (cli_escape_cell) */
	bool people;	/* aligned with headings: totals and footers are shown */
	bool json;	/* -J: one document */
	bool bytes;	/* sizes as bytes: -b, JSON (and CSV) */
	bool escaped;	/* the cells' text is memlens' escaped form already (cli_escape_again) */
	bool csv;	/* --csv: RFC 4180 from the cells (escaped by out_set()), sizes in bytes */
	bool noheadings;
	size_t pieces;	/* printed by out_flush() so far */
	int failed;	/* a row or cell that could not be stored (-ENOMEM): nothing is printed */
	struct jw jw;	/* -J: the document */
	struct libscols_line *total;	/* out_total()'s row, kept apart from the others */
	int total_label;	/* the column it says TOTAL in; -1: a footer line instead */
	const char *total_key;	/* JSON: the member it is, or NULL */
	char *footer;	/* out_footer()'s lines */
	char *heading;	/* out_heading()'s */
};

/* defaults: comma-separated; spec: -o LIST, "+A,B" appends to the defaults;
 * doc_defaults: the defaults of a JSON document, NULL: the same */
int out_init(struct out *o, struct cli *cli, const char *name, const struct colinfo *cols, size_t ncols,
	     const char *defaults);
int out_init_doc(struct out *o, struct cli *cli, const char *name, const struct colinfo *cols, size_t ncols,
		 const char *defaults, const char *doc_defaults);
bool out_has(const struct out *o, int id);
struct out_row *out_line(struct out *o);
void out_set(struct out *o, struct out_row *ln, int id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* the totals' row, after every other: for people (an aligned table with
 * headings) a row saying TOTAL in the first of labels shown, else in the
 * first text column shown, else a footer line naming each total; in JSON,
 * with json_key, a member of the document after the rows; NULL (a row that
 * takes nothing) where the format shows no totals */
struct out_row *out_total(struct out *o, const int *labels, size_t nlabels, const char *json_key);
/* a line after the table, and one before it, for people only */
void out_footer(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_heading(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* out_flush(): print the lines so far and drop them (a long stream in pieces,
 * headings once, JSON still one document); out_print(): the rest, the total,
 * the footer, the end */
int out_flush(struct out *o);
int out_print(struct out *o);
/* some rows were printed already (out_flush()) */
bool out_started(const struct out *o);
/* out_print(), and in JSON the document's other members, written by members
 * after the rows' array */
typedef void out_members_fn(struct jw *w, void *ctx);
int out_print_doc(struct out *o, out_members_fn *members, void *ctx);
/* a second table after the first, for people only: a blank line, the title
 * (NULL: none) and the table, when it has rows */
int out_print_section(struct out *o, const char *title);
/* a table's rows as an array member of another's document (out_members_fn) */
void out_json_rows(struct jw *w, const char *key, struct out *o);
/* a list of numbers: comma-separated, in JSON an array;
 * in an aligned table where -o did not name the column, the first
 * OUT_LIST_HEAD and an ellipsis (a count column says how many) */
#define OUT_LIST_HEAD 5
void out_set_numbers(struct out *o, struct out_row *ln, int id, const int32_t *v, size_t n);
/* a size: bytes with -b, in JSON and CSV; else util-linux's human form (4K, 1.5M) */
void out_set_size(struct out *o, struct out_row *ln, int id, uint64_t bytes);
/* a signed change of size: +1.5M, -4K, 0B (+1536 with -b); a number in JSON and CSV */
void out_set_delta(struct out *o, struct out_row *ln, int id, int64_t v);
/* a size as every output prints it: bytes (-b, JSON, CSV: as_bytes), else
 * util-linux's size_to_human_string() form (B K M G T P E, one decimal) */
char *cli_size(uint64_t bytes, bool as_bytes, char *buf, size_t len);
/* a signed change of size the same way, with its sign: +1.5M, -4K, 0B */
char *cli_delta(int64_t v, bool as_bytes, char *buf, size_t len);
void out_free(struct out *o);
void out_help_columns(FILE *f, const struct colinfo *cols, size_t ncols);
/* what a command may know of the format asked for, to choose what to read
 * or a renderer of its own: a person's aligned table (dmabuf_dump's layout,
 * the source said on stderr), or one JSON document (members that cost a
 * read: the kernel-only buffers) */
static inline bool cli_people(const struct cli *cli)
{
	return cli->mode == OUT_TABLE;
}
static inline bool cli_document(const struct cli *cli)
{
	return cli->mode == OUT_JSON;
}

/* options every command takes; cli_common_opt(): 0 handled, 1 not ours, -1 bad (said).
 * One meaning per letter in every command: -s/--source names a source of the
 * command's job (memlens_source__parse), -b/--bytes, -a/--all, -x/--sort. */
#define COMMON_SHORTOPTS "s:bJrno:vh"
/* output options, for commands without a source to choose */
#define OUTPUT_SHORTOPTS "bJrno:vh"
#define CLI_OPT_CSV 1000	/* --csv (long only; commands number theirs from 256) */
#define OUTPUT_LONGOPTS                                              \
	{ "bytes", no_argument, NULL, 'b' },                         \
	{ "json", no_argument, NULL, 'J' },                          \
	{ "csv", no_argument, NULL, CLI_OPT_CSV },                   \
	{ "raw", no_argument, NULL, 'r' },                           \
	{ "noheadings", no_argument, NULL, 'n' },                    \
	{ "output", required_argument, NULL, 'o' },                  \
	{ "verbose", no_argument, NULL, 'v' },                       \
	{ "help", no_argument, NULL, 'h' }
#define COMMON_LONGOPTS                                              \
	{ "source", required_argument, NULL, 's' },                  \
	OUTPUT_LONGOPTS
int cli_common_opt(struct cli *cli, enum memlens_job job, int c, const char *arg);
/* after getopt's own line for a bad option (its argv[0] is "memlens: CMD"),
 * where to look, as util-linux says it */
void cli_try_help(const struct cli *cli);

/* ---- vma_columns.c: the one VMA column table, for maps, query, who-maps, --smaps ---- */
enum { VCOL_PID, VCOL_COMM, VCOL_START, VCOL_END, VCOL_PERMS, VCOL_OFFSET, VCOL_DEV, VCOL_INODE, VCOL_SIZE, VCOL_PAGESIZE,
       VCOL_NAME, VCOL_KIND, VCOL_BUILDID, VCOL_SOURCE, VCOL_NCOLS };
/* the VMA columns, then a command's own (ids VCOL_NCOLS + i), into cols[OUT_MAX_COLS]; the count */
size_t vma_columns(struct colinfo *cols, const struct colinfo *extra, size_t nextra);
/* one VMA's columns of a row; COMM through the library, once per run of rows of one pid */
void vma_columns_fill(struct cli *cli, struct out *o, struct out_row *ln, const struct memlens_vma *v,
		      enum memlens_source src);

int cmd_maps(struct cli *cli, int argc, char **argv);
int cmd_query(struct cli *cli, int argc, char **argv);
int cmd_symbolize(struct cli *cli, int argc, char **argv);
int cmd_features(struct cli *cli, int argc, char **argv);
int cmd_dmabuf(struct cli *cli, int argc, char **argv);
int cmd_bpf(struct cli *cli, int argc, char **argv);
int cmd_snapshot(struct cli *cli, int argc, char **argv);
int cmd_who_maps(struct cli *cli, int argc, char **argv);
int cmd_exporter(struct cli *cli, int argc, char **argv);
int cmd_diff(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);

#endif

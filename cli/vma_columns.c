// SPDX-License-Identifier: GPL-2.0-or-later
/* The VMA columns, once: maps, query, who-maps and --smaps add their own after them. */
#include <stdio.h>
#include <string.h>
#include "memlens_cli.h"

static const struct colinfo vcols[VCOL_NCOLS] = {
	[VCOL_PID] = { "PID", 5, 0, OUT_NUM, "process id" },
	[VCOL_COMM] = { "COMM", 10, 0, OUT_TEXT, "command name (read when printed)" },
	[VCOL_START] = { "START", 14, 0, OUT_TEXT, "first address of the VMA (hex)" },
	[VCOL_END] = { "END", 14, 0, OUT_TEXT, "address after its last (hex)" },
	[VCOL_PERMS] = { "PERMS", 4, 0, OUT_TEXT, "r w x, s shared or p private" },
	[VCOL_OFFSET] = { "OFFSET", 8, 0, OUT_HEX, "file offset of START (hex)" },
	[VCOL_DEV] = { "DEV", 5, 0, OUT_TEXT, "device major:minor (hex, as maps)" },
	[VCOL_INODE] = { "INODE", 8, 0, OUT_NUM, "inode number" },
	[VCOL_SIZE] = { "SIZE", 8, 0, OUT_NUM, "END - START (bytes with -b and in JSON)" },
	[VCOL_PAGESIZE] = { "PAGESIZE", 6, 0, OUT_NUM, "kernel page size (0: the source does not tell)" },
	[VCOL_NAME] = { "NAME", 0.3, OUT_FL_NOEXTREMES, OUT_TEXT, "file path or [heap], [stack], [anon:NAME] ..." },
	[VCOL_KIND] = { "KIND", 6, 0, OUT_TEXT, "file, deleted, memfd, shm (shared anonymous), sysv, dmabuf, anon, special" },
	[VCOL_BUILDID] = { "BUILDID", 40, 0, OUT_TEXT, "ELF build ID (hex)" },
	[VCOL_SOURCE] = { "SOURCE", 5, 0, OUT_TEXT, NULL },	/* its help: the sources' names, from the library */
};

size_t vma_columns(struct colinfo *cols, const struct colinfo *extra, size_t nextra)
{
	size_t n = VCOL_NCOLS;

	static char source_help[160];
	char names[96];

	memcpy(cols, vcols, sizeof(vcols));
	snprintf(source_help, sizeof(source_help), "where the record came from: %s",
		 cli_job_sources(MEMLENS_JOB_WALK, ", ", names, sizeof(names)));
	cols[VCOL_SOURCE].help = source_help;
	for (size_t i = 0; i < nextra && n < OUT_MAX_COLS; i++)
		cols[n++] = extra[i];
	return n;
}

void vma_columns_fill(struct cli *cli, struct out *o, struct out_row *ln, const struct memlens_vma *v,
		      enum memlens_source src)
{
	static pid_t comm_pid = -1;
	static char comm[16];
	char perms[5], hex[2 * MEMLENS_BUILD_ID_MAX + 1];

	out_set(o, ln, VCOL_PID, "%d", v->pid);
	if (out_has(o, VCOL_COMM)) {
		if (v->pid != comm_pid)
			memlens__comm(cli->ml, v->pid, comm);
		comm_pid = v->pid;
		out_set(o, ln, VCOL_COMM, "%s", comm);
	}
	out_set(o, ln, VCOL_START, "0x%llx", (unsigned long long)v->start);
	out_set(o, ln, VCOL_END, "0x%llx", (unsigned long long)v->end);
	out_set(o, ln, VCOL_PERMS, "%s", memlens_vma__perms(v, perms));
	out_set(o, ln, VCOL_OFFSET, "0x%llx", (unsigned long long)v->offset);
	out_set(o, ln, VCOL_DEV, "%02x:%02x", v->dev_major, v->dev_minor);
	out_set(o, ln, VCOL_INODE, "%llu", (unsigned long long)v->inode);
	out_set_size(o, ln, VCOL_SIZE, v->end - v->start);
	out_set_size(o, ln, VCOL_PAGESIZE, v->page_size);
	out_set(o, ln, VCOL_NAME, "%s", v->name);
	out_set(o, ln, VCOL_KIND, "%s", memlens_vma__kind(v));
	if (out_has(o, VCOL_BUILDID))
		out_set(o, ln, VCOL_BUILDID, "%s", memlens_vma__build_id_hex(v, hex, sizeof(hex)));
	if (src != MEMLENS_SOURCE_AUTO)
		out_set(o, ln, VCOL_SOURCE, "%s", memlens_source__name(src));
}

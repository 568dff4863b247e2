/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The quantities of a process's memory a snapshot carries, declared once.
 * Each line: its id, its column (snapshot -o and -x, diff's columns), its
 * JSON key (snapshot -J, diff's input: libsmartcols writes the column name
 * lowercased), its metric memtype (memlens_*_memory_bytes), the field of
 * struct memlens_proc_usage it reads, whether groups, totals and diff sum it
 * (a sum of address-space sizes means nothing), whether it comes from the
 * DMA-BUF pass (no column without it), whether it needs smaps_rollup's page
 * walk (without one, RSS, SWAP and VSS come from the mm counters), whether
 * it is the counters' split of RSS (not a default column; with rollups read
 * only when shown), and its help line.  Adding
 * a quantity is its library field plus one line here.
 */
#ifndef MEMLENS_CLI_QUANTITY_H
#define MEMLENS_CLI_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "memlens.h"

#define QUANTITIES(X)                                                                                                 \
	X(VSS, "VSS", "vss", "vss", vss, false, false, false, false, "virtual size, bytes (statm)")                          \
	X(RSS, "RSS", "rss", "rss", rss, true, false, false, false, "resident, bytes (smaps_rollup; the mm counters without a page walk)") \
	X(RSS_ANON, "RSS_ANON", "rss_anon", "rss_anon", rss_anon, true, false, false, true, "resident anonymous pages, bytes (status's RssAnon: the mm counters)") \
	X(RSS_FILE, "RSS_FILE", "rss_file", "rss_file", rss_file, true, false, false, true, "resident file pages, bytes (RssFile: the mm counters)") \
	X(RSS_SHMEM, "RSS_SHMEM", "rss_shmem", "rss_shmem", rss_shmem, true, false, false, true, "resident shmem pages (shared anonymous, memfd, tmpfs), bytes (RssShmem)") \
	X(PSS, "PSS", "pss", "pss", pss, true, false, true, false, "proportional set size, bytes")                           \
	X(USS, "USS", "uss", "uss", uss, true, false, true, false, "unique: Private_Clean + Private_Dirty, bytes")           \
	X(SWAP, "SWAP", "swap", "swap", swap, true, false, false, false, "swapped out, bytes")                               \
	X(SWAPPSS, "SWAPPSS", "swappss", "swap_pss", swap_pss, true, false, true, false, "proportional swap, bytes")         \
	X(KSM, "KSM", "ksm", "ksm", ksm, true, false, true, false, "KSM-merged pages mapped, bytes (6.6+)")                  \
	X(DMABUF_RSS, "DMABUF_RSS", "dmabuf_rss", "dmabuf_rss", dmabuf_rss, true, true, false, false, "DMA-BUF buffers held, bytes") \
	X(DMABUF_PSS, "DMABUF_PSS", "dmabuf_pss", "dmabuf_pss", dmabuf_pss, true, true, false, false, "DMA-BUF size / holders, bytes")

#define QUANTITY_ID(id, ...) Q_##id,
enum { QUANTITIES(QUANTITY_ID) Q_N };
#undef QUANTITY_ID

struct quantity {
	const char *col, *key, *memtype;
	size_t off;		/* in struct memlens_proc_usage, a uint64_t */
	bool summed, dmabuf;
	bool walk;		/* smaps_rollup's page walk, not the mm counters */
	bool split;		/* the mm counters' split of RSS: only when asked */
	const char *help;
};

extern const struct quantity quantities[Q_N];

static inline uint64_t quantity_get(const struct memlens_proc_usage *p, int q)
{
	return *(const uint64_t *)(const void *)((const char *)p + quantities[q].off);
}

#endif

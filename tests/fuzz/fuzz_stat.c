// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the /proc/<pid>/stat, statm and status (Uid, the mm counters) parsers on any text (comm is its owner's). */
#include <stdlib.h>
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_proc_stat st;
	char *copy = malloc(size + 1);
	uint64_t pages;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = 0;
	if (ml_proc_stat_parse(copy, &st) && (st.state || st.flags || st.start_time))
		abort();	/* a refused line leaves nothing half-filled */
	ml_statm_parse(copy, &pages);
	{
		uint32_t uid;

		if (ml_status_uid_parse(copy, &uid) && uid != UINT32_MAX)
			abort();	/* refused: no uid */
	}
	{
		struct ml_counters c;

		if (ml_status_counters_parse(copy, &c) &&
		    (c.vss || c.rss || c.anon || c.file || c.shmem || c.swap))
			abort();	/* refused: nothing half-filled */
	}
	free(copy);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: memlens diff's input reader on any bytes (a file someone handed over). */
#include <stdlib.h>
#include <string.h>
#include "diff_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc d;

	if (doc_parse((const char *)data, size, "fuzz", &d) == 0) {
		/* accepted: sorted, every row whole */
		for (size_t i = 0; i < d.n; i++) {
			if (!d.p[i].comm || d.p[i].pid <= 0 || (i && diff_cmp_proc(&d.p[i - 1], &d.p[i]) >= 0))
				abort();
			for (int k = 0; k < Q_N; k++)
				if (d.p[i].v[k] < 0)
					abort();
		}
		for (size_t i = 0; i < d.nk; i++)
			if (!d.k[i].exporter || !d.k[i].name)
				abort();
		doc_free(&d);
	} else if (d.p || d.k || d.n || d.nk) {
		abort();	/* refused: nothing half-kept */
	}
	return 0;
}

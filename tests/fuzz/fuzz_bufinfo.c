// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the debugfs bufinfo parser on any text. */
#include <stdlib.h>
#include "dmabuf_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_dmabuf_raw raw = { 0 };
	char *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	ml_dmabuf_bufinfo_parse(copy, size, &raw);
	for (size_t i = 0; i < raw.nbufs; i++)
		if (strnlen(raw.bufs[i].exp, sizeof(raw.bufs[i].exp)) == sizeof(raw.bufs[i].exp) ||
		    strnlen(raw.bufs[i].name, sizeof(raw.bufs[i].name)) == sizeof(raw.bufs[i].name))
			abort();	/* not NUL-terminated */
	free(raw.bufs);
	free(copy);
	return 0;
}

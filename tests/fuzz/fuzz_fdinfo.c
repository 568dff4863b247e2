// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the DMA-BUF fdinfo parser on any text (a buffer's owner picks its name). */
#include <stdlib.h>
#include "dmabuf_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_dfd r;
	char *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	memset(&r, 0, sizeof(r));
	ml_dmabuf_fdinfo_parse(copy, size, &r);
	if (strnlen(r.exp, sizeof(r.exp)) == sizeof(r.exp) || strnlen(r.name, sizeof(r.name)) == sizeof(r.name))
		abort();	/* not NUL-terminated */
	free(copy);
	return 0;
}

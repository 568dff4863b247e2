// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: reading a build ID note never crashes on any file contents. */
#include <stdlib.h>
#include "build_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	uint32_t n = 0;
	char *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (ml_elf_build_id_mem(copy, size, id, &n) == 0 && (n == 0 || n > MEMLENS_BUILD_ID_MAX))
		abort();
	free(copy);
	return 0;
}

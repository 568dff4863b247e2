// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the maps text parser never reads out of bounds, and what it keeps is sane. */
#include <stdlib.h>
#include "vma_maps_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memlens_vma_set *s = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	char *copy = malloc(size ? size : 1);	/* exact size: ASan sees any overread */

	if (!s || !copy)
		abort();
	memcpy(copy, data, size);
	ml_maps_text_parse(copy, size, 1, s);
	for (size_t i = 0; i < memlens_vma_set__count(s); i++) {
		const struct memlens_vma *v = memlens_vma_set__get(s, i);

		if (v->end < v->start || strlen(v->name) > size || memchr(v->name, '\n', strlen(v->name)))
			abort();
	}
	memlens_vma_set__free(s);
	free(copy);
	return 0;
}

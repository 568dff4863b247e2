// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the smaps and smaps_rollup parsers on any text (a VMA's name is its owner's). */
#include <stdlib.h>
#include "vma_smaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memlens_usage_set *set = ml_usage_set_new();
	struct ml_usage u;
	char *copy = malloc(size ? size : 1);

	if (!copy || !set)
		abort();
	memcpy(copy, data, size);
	ml_smaps_parse(copy, size, 1, set);
	for (size_t i = 0; i < memlens_usage_set__count(set); i++) {
		const struct memlens_vma_usage *v = memlens_usage_set__get(set, i);

		if (!v->vma.name || !v->vm_flags || !v->kb || v->vma.start > v->vma.end)
			abort();
	}
	memlens_usage_set__free(set);
	ml_rollup_parse(copy, size, &u);
	if (!u.u.vm_flags || u.u.kb != u.kb)
		abort();
	free(copy);
	return 0;
}

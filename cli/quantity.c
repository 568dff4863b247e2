// SPDX-License-Identifier: GPL-2.0-or-later
/* The quantities' table, from the one list in quantity.h. */
#include "quantity.h"

#define QUANTITY_ROW(id, col, key, memtype, field, summed, dmabuf, walk, split, help)                                      \
	[Q_##id] = { col, key, memtype, offsetof(struct memlens_proc_usage, field), summed, dmabuf, walk, split, help },
const struct quantity quantities[Q_N] = { QUANTITIES(QUANTITY_ROW) };
#undef QUANTITY_ROW

#define QUANTITY_IS_U64(id, col, key, memtype, field, summed, dmabuf, walk, split, help)                                          \
	_Static_assert(sizeof(((struct memlens_proc_usage *)0)->field) == sizeof(uint64_t), #field " is a uint64_t");
QUANTITIES(QUANTITY_IS_U64)
#undef QUANTITY_IS_U64

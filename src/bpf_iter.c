// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the BPF iterator sources share (bpf_iter.h). */
#include <stdlib.h>
#include "bpf_iter.h"

#define ML_PID_MAX_LIMIT (4 * 1024 * 1024)	/* the kernel's PID_MAX_LIMIT on 64-bit */

/* whether tgid was already marked; marks it */
static int seen_test_set(struct ml_seen *s, int32_t tgid, bool *was)
{
	size_t need = (size_t)tgid + 1;

	if (tgid < 0 || tgid > ML_PID_MAX_LIMIT)
		return -EPROTO;
	if (need > s->nbits) {
		size_t nbits = need * 2;
		uint8_t *b = realloc(s->bits, (nbits + 7) / 8);

		if (!b)
			return -ENOMEM;
		memset(b + (s->nbits + 7) / 8, 0, (nbits + 7) / 8 - (s->nbits + 7) / 8);
		s->bits = b;
		s->nbits = nbits;
	}
	*was = s->bits[tgid / 8] & (1u << (tgid % 8));
	s->bits[tgid / 8] |= (uint8_t)(1u << (tgid % 8));
	return 0;
}

int ml_seen_first_task(struct ml_seen *s, int32_t tgid, int32_t tid, bool *skip)
{
	int err = 0;

	if (tid != s->cur_tid) {
		s->cur_tid = tid;
		err = seen_test_set(s, tgid, &s->skip);
	}
	*skip = s->skip;
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the BPF iterator sources share (bpf_iter.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* a read of a BPF iterator returns at most its seq_file buffer (8 pages) */
#define ML_ITER_RD_CAP (64 * 1024)

int ml_iter_rd_init(struct ml_iter_rd *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = ML_ITER_RD_CAP;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -ENOMEM;
}

void ml_iter_rd_free(struct ml_iter_rd *r)
{
	free(r->buf);
	r->buf = NULL;
}

int ml_iter_rd_next(struct ml_iter_rd *r, size_t n, const char **p)
{
	while (r->len - r->off < n) {
		ssize_t got;

		if (r->eof)
			return r->len == r->off ? 1 : -EPROTO;
		/* keep what is left of the record at the front, then fill */
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
		if (n > r->cap) {
			char *nb = realloc(r->buf, n);

			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			r->cap = n;
		}
		got = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			r->eof = true;
		r->len += (size_t)got;
	}
	*p = r->buf + r->off;
	r->off += n;
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * debugfs /sys/kernel/debug/dma_buf/bufinfo (root, debugfs mounted): every
 * buffer, one line each from dma_buf_debug_show():
 *   size \t flags \t mode \t count \t exp_name \t ino \t name
 * followed by indented fence and attachment lines we skip.  The name is its
 * owner's and may hold newlines, but at most 31 bytes: a line it forges after
 * its own cannot have the six zero-padded 8-digit fields (48 bytes) a buffer
 * line has.  A name is kept up to its first newline (where it ends cannot be
 * told from the lines after it); the job prefers a holder's fdinfo name,
 * which is whole.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "dmabuf_raw.h"
#include "procfs.h"

/* a field the kernel prints zero-padded to 8 digits ("%08zu", "%08x"), then a tab */
static bool field_u64(const char **p, const char *end, int base, uint64_t *out)
{
	char tmp[32];
	size_t n = 0;
	char *e;

	while (*p < end && **p != '\t' && n < sizeof(tmp) - 1)
		tmp[n++] = *(*p)++;
	if (*p >= end || **p != '\t' || n < 8)
		return false;
	(*p)++;
	tmp[n] = 0;
	*out = strtoull(tmp, &e, base);
	return *e == 0;
}

int ml_dmabuf_bufinfo_parse(const char *buf, size_t len, struct ml_dmabuf_raw *raw)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q = p, *exp;
		uint64_t size, flags, mode, count, ino;
		struct ml_dbuf *b;
		size_t n;

		p = nl ? nl + 1 : end;
		/* buffer lines start with the zero-padded size; the rest is headers,
		 * fences, attachments and totals */
		if (q == le || *q < '0' || *q > '9')
			continue;
		if (!field_u64(&q, le, 10, &size) || !field_u64(&q, le, 16, &flags) || !field_u64(&q, le, 16, &mode) ||
		    !field_u64(&q, le, 10, &count))
			continue;
		exp = q;
		while (q < le && *q != '\t')
			q++;
		if (q >= le)
			continue;
		n = (size_t)(q - exp);
		q++;
		if (!field_u64(&q, le, 10, &ino))
			continue;
		b = ML_VEC_PUSH(raw->bufs, raw->nbufs, raw->capbufs);
		if (!b)
			return -ENOMEM;
		b->ino = ino;
		b->size = size;
		b->file_refs = count;
		memcpy(b->exp, exp, n < sizeof(b->exp) - 1 ? n : sizeof(b->exp) - 1);
		n = (size_t)(le - q);
		if (!(n == 6 && !memcmp(q, "<none>", 6)))
			memcpy(b->name, q, n < sizeof(b->name) - 1 ? n : sizeof(b->name) - 1);
	}
	return 0;
}

int ml_dmabuf_debugfs_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw)
{
	char *buf;
	size_t len;
	int err = ml_read_file("/sys/kernel/debug/dma_buf/bufinfo", &buf, &len);

	(void)ml;
	(void)pin_dir;
	if (err)
		return err;
	err = ml_dmabuf_bufinfo_parse(buf, len, raw);
	free(buf);
	if (!err)
		raw->system_list = "debugfs";
	return err;
}

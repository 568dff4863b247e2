// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer: the DMA-BUF iterators' records (what a pin gives whoever reads
 * it) and the model built from them.  Input: two little-endian u32 lengths,
 * then the buffer, fd and map streams back to back (the map stream is the
 * rest).  Whatever the bytes, a clean error or a model whose counts add up.
 */
#include <stdlib.h>
#include "dmabuf_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_dmabuf_raw raw = { .system_list = "bpf" };
	struct memlens_dmabuf *d = NULL;
	uint32_t l0, l1;
	char *buf[3];
	size_t len[3];

	if (size < 8)
		return 0;
	memcpy(&l0, data, 4);
	memcpy(&l1, data + 4, 4);
	data += 8;
	size -= 8;
	len[0] = l0 < size ? l0 : size;
	len[1] = l1 < size - len[0] ? l1 : size - len[0];
	len[2] = size - len[0] - len[1];
	for (int i = 0, o = 0; i < 3; o += (int)len[i], i++) {
		buf[i] = malloc(len[i] ? len[i] : 1);
		if (!buf[i])
			abort();
		memcpy(buf[i], data + o, len[i]);
	}
	if (ml_dmabuf_records_parse(buf, len, &raw) == 0 && ml_dmabuf_model(&raw, 0, &d) == 0) {
		size_t fds = 0;

		for (size_t i = 0; i < memlens_dmabuf__ref_count(d); i++)
			fds += memlens_dmabuf__ref(d, i)->fd_refs;
		if (fds != raw.nfds)
			abort();	/* every fd record is one fd ref */
		for (size_t i = 0; i < memlens_dmabuf__buf_count(d); i++) {
			const struct memlens_dmabuf_buf *b = memlens_dmabuf__buf(d, i);

			if (!b->name || !b->exporter || strlen(b->name) >= 64)
				abort();
		}
		memlens_dmabuf__free(d);
	}
	ml_dmabuf_raw_free(&raw);
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: symbolizing addresses in any file contents (an ELF a hostile
 * user wrote and mapped) never crashes or hangs: symbols, lines, DWARF
 * scopes and inlined calls through libdwfl, and memlens's own memo and
 * strings.  The last 8 bytes choose two of the addresses (the file is
 * whole: a real ELF seed stays one). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "build_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 0x1130, v[6];
	struct memlens_syms *syms = NULL;
	int fd;

	if (size >= 8)
		memcpy(&seed, data + size - 8, 8);
	v[0] = seed & 0xffffff, v[1] = 0x1000, v[2] = 0x1130, v[3] = 0x401000, v[4] = (seed >> 24) & 0xffffff, v[5] = 0;
	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (ml_symbolize_fd(fd, v, 6, true, &syms) == 0) {
		for (size_t i = 0; i < memlens_syms__count(syms); i++) {
			const struct memlens_sym *s = memlens_syms__get(syms, i);

			/* every string readable (ASan checks the reads), every
			 * inline entry whole */
			volatile size_t len = (s->name ? strlen(s->name) : 0) + (s->file ? strlen(s->file) : 0) +
					      (s->func ? strlen(s->func) : 0);

			(void)len;
			if (s->ninlines && !s->inlines)
				abort();
			for (uint32_t k = 0; k < s->ninlines; k++)
				if (!s->inlines[k].func || !s->inlines[k].caller || strlen(s->inlines[k].func) > (1u << 30))
					abort();
		}
		memlens_syms__free(syms);
	}
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context object: options, print callback, and what hangs off it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "memlens_internal.h"

void ml_log(struct memlens *ml, enum memlens_print_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!ml || !ml->print)
		return;
	va_start(ap, fmt);
	ml->print(lvl, fmt, ap);
	va_end(ap);
}

static unsigned parse_kver(const char *rel)
{
	unsigned a = 0, b = 0, c = 0;
	const char *p = rel;

	/* "6.18.44-fc" or "7.0-rc1": digits up to the first non-digit */
	for (; *p >= '0' && *p <= '9'; p++)
		a = a * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			b = b * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			c = c * 10 + (*p - '0');
	return ML_KVER(a, b, c);
}

struct memlens *memlens__new(const struct memlens_opts *opts)
{
	struct memlens *ml;
	struct utsname u;

	if (opts && opts->sz < sizeof(size_t)) {
		errno = EINVAL;
		return NULL;
	}
	ml = calloc(1, sizeof(*ml));
	if (!ml) {
		errno = ENOMEM;
		return NULL;
	}
	ml->print = OPTS_GET(opts, print, NULL);
	ml->page_size = sysconf(_SC_PAGESIZE);
	if (uname(&u) == 0) {
		snprintf(ml->release, sizeof(ml->release), "%s", u.release);
		ml->kver = parse_kver(u.release);
	}
	return ml;
}

void memlens__free(struct memlens *ml)
{
	if (!ml)
		return;
	ml_bpf_free(ml->bpf);
	ml_bid_cache_free(ml->bid);
	free(ml->scratch);
	free(ml);
}

static const char *const backend_names[] = {
	[MEMLENS_BACKEND_AUTO] = "auto",
	[MEMLENS_BACKEND_IOCTL] = "ioctl",
	[MEMLENS_BACKEND_BPF] = "bpf",
	[MEMLENS_BACKEND_TEXT] = "text",
};

const char *memlens_backend__name(enum memlens_backend b)
{
	return (unsigned)b < ARRAY_SIZE(backend_names) ? backend_names[b] : "unknown";
}

int memlens_backend__parse(const char *s, enum memlens_backend *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(backend_names); i++) {
		if (strcmp(s, backend_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return ml_err(EINVAL);
}

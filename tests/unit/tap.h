/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal TAP producer: tests/run.sh adds up every binary's lines. */
#ifndef MEMLENS_TAP_H
#define MEMLENS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;
#define TAP_UNUSED __attribute__((unused))

__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

__attribute__((format(printf, 1, 2))) TAP_UNUSED static void skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* tests/helpers/expect.sh's rules, exported by tests/run.sh as
 * MEMLENS_EXPECT="name=yes|no ...": 1 if name must work on this kernel with
 * these privileges (the last word on a name wins: a guest's known facts) */
TAP_UNUSED static int expected(const char *name)
{
	const char *e = getenv("MEMLENS_EXPECT"), *p;
	size_t len = strlen(name);
	int v = 0;

	for (p = e; p && (p = strstr(p, name)); p += len) {
		if ((p == e || p[-1] == ' ') && p[len] == '=')
			v = !strncmp(p + len + 1, "yes", 3);
	}
	return v;
}

/* an interface or source unavailable: a skip, or a failure where the rules
 * say this kernel and these privileges must have it */
__attribute__((format(printf, 2, 3))) TAP_UNUSED static void unavailable(const char *name, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (expected(name))
		ok(0, "%s: %s is expected on this kernel and privileges (MEMLENS_EXPECT), and is unavailable", why, name);
	else
		skip("%s", why);
}

/* a failed check says what it expected and what it got */
#define is_u64(got, want, ...)                                                              \
	({                                                                                  \
		unsigned long long g_ = (got), w_ = (want);                                 \
		int r_ = ok(g_ == w_, __VA_ARGS__);                                         \
		if (!r_)                                                                    \
			printf("#   expected 0x%llx (%llu), got 0x%llx (%llu)\n", w_, w_, g_, g_); \
		r_;                                                                         \
	})

/* a string on one TAP line: newlines, tabs and other bytes outside printable
 * ASCII as \xHH, so a failure's details stay on its "#   " line */
TAP_UNUSED static const char *tap_esc(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (!s)
		return "(null)";
	for (; *s && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	buf[n] = 0;
	return buf;
}

#define is_str(got, want, ...)                                                   \
	({                                                                       \
		const char *g_ = (got), *w_ = (want);                            \
		int r_ = ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__);       \
		if (!r_) {                                                       \
			char gb_[512], wb_[512];                                 \
			printf("#   expected '%s', got '%s'\n", tap_esc(w_, wb_, sizeof(wb_)), \
			       tap_esc(g_, gb_, sizeof(gb_)));                   \
		}                                                                \
		r_;                                                              \
	})

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/* A small ELF with DWARF, inlined calls and a few functions: the seed the
 * symbolization fuzzer mutates (built by make fuzz, not committed). */
#include <stdio.h>

static inline __attribute__((always_inline)) int sq(int x)
{
	return x * x + 1;
}

static inline __attribute__((always_inline)) int twice(int x)
{
	return sq(x) + sq(x + 1);
}

__attribute__((noinline)) int work(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += twice(i) ^ (s >> 3);
	return s;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", work(argc));
	return 0;
}

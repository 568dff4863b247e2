// SPDX-License-Identifier: GPL-2.0-or-later
/* A program built against libmemlens as a user builds one (pkg-config): a
 * snapshot of every process; prints "ERR COUNT".  tests/packaging.sh and
 * tests/dist/check.sh build it against the tree, an install, a package. */
#include <stdio.h>
#include <memlens.h>

int main(void)
{
	struct memlens *ml = memlens__new(NULL);
	struct memlens_snapshot *s = NULL;
	int err = memlens__snapshot(ml, NULL, &s);

	printf("%d %zu\n", err, memlens_snapshot__count(s));
	memlens_snapshot__free(s);
	memlens__free(ml);
	return err != 0;
}

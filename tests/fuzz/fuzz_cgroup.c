// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: /proc/<pid>/cgroup and the container/pod of a path, on any text
 * (a delegated subtree's owner names its cgroups). */
#include <stdlib.h>
#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1), path[512], container[ML_CONTAINER_ID_LEN + 1], pod[ML_POD_UID_LEN + 1];

	if (!copy)
		abort();
	memcpy(copy, data, size);
	ml_cgroup_parse(copy, size, path, sizeof(path));
	if (strnlen(path, sizeof(path)) == sizeof(path))
		abort();	/* not NUL-terminated */
	ml_cgroup_ids(path, container, pod);
	if ((container[0] && strlen(container) != ML_CONTAINER_ID_LEN) || (pod[0] && strlen(pod) != ML_POD_UID_LEN))
		abort();
	free(copy);
	return 0;
}

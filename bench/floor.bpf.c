// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel's own walk, for the benchmarks' floor: iterators that visit
 * every fd and every VMA of every task and emit nothing.  A memlens pass
 * cannot cost less than the walk its programs ride on.
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task_file")
int floor_fds(struct bpf_iter__task_file *ctx)
{
	return 0;
}

SEC("iter/task_vma")
int floor_vmas(struct bpf_iter__task_vma *ctx)
{
	return 0;
}

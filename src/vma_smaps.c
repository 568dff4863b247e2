// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/smaps and smaps_rollup: a maps header line, then "Key: N kB"
 * lines, THPeligible and VmFlags.  One pass, no scanf.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include "stall.h"
#include "procfs.h"
#include "vma.h"
#include "vma_smaps.h"
#include "vma_maps_text.h"

static const char *const field_names[__MEMLENS_USAGE_MAX] = {
	"Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
	"Referenced", "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
	"Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
};

const char *memlens_usage_field__name(enum memlens_usage_field f)
{
	return (unsigned)f < __MEMLENS_USAGE_MAX ? field_names[f] : "unknown";
}

static int field_by_key(const char *k, size_t len)
{
	for (int i = 0; i < __MEMLENS_USAGE_MAX; i++)
		if (strlen(field_names[i]) == len && !memcmp(field_names[i], k, len))
			return i;
	return -1;
}

/* "Key:   123 kB" / "THPeligible:  1" / "VmFlags: rd wr" into u; false if not a key line */
static bool parse_key_line(const char *p, const char *end, struct memlens_vma_usage *u, struct ml_arena *a)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *v;
	uint64_t n = 0;
	int f;

	if (!colon || colon == p)
		return false;
	for (const char *q = p; q < colon; q++)
		if (*q == ' ' || *q == '-')
			return false;	/* a header line: "start-end perms ..." */
	v = colon + 1;
	while (v < end && *v == ' ')
		v++;
	if (colon - p == 7 && !memcmp(p, "VmFlags", 7)) {
		const char *e = end;

		while (e > v && e[-1] == ' ')
			e--;
		u->vm_flags = a ? ml_arena_strndup(a, v, (size_t)(e - v)) : "";
		return true;
	}
	while (v < end && *v >= '0' && *v <= '9' && n < UINT64_MAX / 10)
		n = n * 10 + (uint64_t)(*v++ - '0');
	if (colon - p == 11 && !memcmp(p, "THPeligible", 11)) {
		u->thp_eligible = (int32_t)n;
		return true;
	}
	f = field_by_key(p, (size_t)(colon - p));
	if (f >= 0) {
		u->kb[f] = n;
		u->present |= 1ULL << f;
	}
	return true;	/* other keys (KernelPageSize, KSM, Pss_Anon, ...) are skipped */
}

static void usage_init(struct memlens_vma_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->thp_eligible = -1;
	u->vm_flags = "";
	u->vma.name = "";
}

int ml_smaps_parse(const char *buf, size_t len, pid_t pid, struct memlens_usage_set *set)
{
	const char *p = buf, *end = buf + len;
	struct memlens_vma_usage *cur = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *name;
		size_t name_len;

		if (cur && parse_key_line(p, le, cur, &set->arena)) {
			p = nl ? nl + 1 : end;
			continue;
		}
		cur = ML_VEC_PUSH(set->u, set->n, set->cap);
		if (!cur)
			return -ENOMEM;
		usage_init(cur);
		if (!ml_maps_text_parse_line(p, le, pid, &cur->vma, &name, &name_len)) {
			set->n--;
			return -EINVAL;
		}
		cur->vma.name = ml_arena_strndup(&set->arena, name, name_len);
		if (!cur->vma.name) {
			set->n--;
			return -ENOMEM;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < set->n; i++)
		if (!set->u[i].vm_flags)
			return -ENOMEM;
	return 0;
}

int memlens_proc__smaps(struct memlens_proc *proc, struct memlens_usage_set **out)
{
	struct memlens_usage_set *set;
	char path[64], *buf;
	size_t len;
	int err;

	if (!proc || !out)
		return ml_err(EINVAL);
	set = ml_usage_set_new();
	if (!set)
		return ml_err(ENOMEM);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)proc->pid);
	err = ml_read_bounded(proc->ml, proc->pid, path, &buf, &len);
	if (!err) {
		err = ml_smaps_parse(buf, len, proc->pid, set);
		free(buf);
	}
	if (!err && ((!set->n && ml_pid_gone(proc->pid)) || ml_proc_reused(proc)))
		err = -ESRCH;
	if (err) {
		memlens_usage_set__free(set);
		return ml_err(err);
	}
	*out = set;
	return 0;
}

void ml_rollup_parse(const char *buf, size_t len, struct memlens_vma_usage *out)
{
	const char *p = buf, *end = buf + len;

	usage_init(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		parse_key_line(p, le, out, NULL);
		p = nl ? nl + 1 : end;
	}
}

int ml_rollup_result(pid_t pid, ssize_t n, const char *buf, struct memlens_vma_usage *out)
{
	usage_init(out);
	/* ESRCH on open: no mm, a kernel thread (or it is exiting); no mm on
	 * read (ESRCH or nothing): a zombie, or a kernel thread, which has no
	 * memory of its own */
	if (n == 0 || n == -ESRCH || n == -ENOENT)
		return ml_pid_gone(pid) ? -ESRCH : 0;
	if (n < 0)
		return (int)n;
	ml_rollup_parse(buf, (size_t)n, out);
	out->vma.pid = pid;
	return 0;
}

int memlens__rollup(struct memlens *ml, pid_t pid, struct memlens_vma_usage *out)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int err;

	if (!ml || !out)
		return ml_err(EINVAL);
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	err = ml_read_bounded(ml, pid, path, &buf, &len);
	err = ml_rollup_result(pid, err ? err : (ssize_t)len, buf, out);
	free(buf);
	return err ? ml_err(-err) : 0;
}

/* the pages job's last resort: smaps totals per VMA, no ranges */
const struct ml_source ml_src_smaps = {
	.id = MEMLENS_SOURCE_SMAPS,
	.name = "smaps",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
	.rank = { [MEMLENS_JOB_PAGES] = 3 },
};

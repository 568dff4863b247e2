// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/maps text: the source every kernel has.  One read of the whole
 * file, then a single pass over it; no scanf, no allocation per line (names
 * go to the set's arena).  Line layout from show_vma_header_prefix() and
 * show_map_vma() in fs/proc/task_mmu.c:
 *   start-end perms offset major:minor inode [spaces name]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "procfs.h"
#include "source.h"
#include "vma_maps_text.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* hex number ending at a character in stop; advances *pp past it */
static bool take_hex(const char **pp, const char *end, char stop, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int d, digits = 0;

	while (p < end && (d = hexval(*p)) >= 0) {
		if (++digits > 16)
			return false;
		v = v << 4 | (unsigned)d;
		p++;
	}
	if (!digits || p >= end || *p != stop)
		return false;
	*out = v;
	*pp = p + 1;
	return true;
}

static bool take_dec(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int digits = 0;

	while (p < end && *p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return false;
		v = v * 10 + d;
		p++;
		digits++;
	}
	if (!digits)
		return false;
	*out = v;
	*pp = p;
	return true;
}

bool ml_maps_text_parse_line(const char *p, const char *end, pid_t pid, struct memlens_vma *v,
		       const char **name, size_t *name_len)
{
	uint64_t maj, min;
	static const char flag_chars[4][2] = { { 'r', '-' }, { 'w', '-' }, { 'x', '-' }, { 's', 'p' } };

	memset(v, 0, sizeof(*v));
	v->pid = pid;
	if (!take_hex(&p, end, '-', &v->start) || !take_hex(&p, end, ' ', &v->end) || v->end < v->start)
		return false;
	if (end - p < 5 || p[4] != ' ')
		return false;
	for (int i = 0; i < 4; i++) {
		if (p[i] == flag_chars[i][0])
			v->flags |= 1u << i;
		else if (p[i] != flag_chars[i][1])
			return false;
	}
	p += 5;
	if (!take_hex(&p, end, ' ', &v->offset) || !take_hex(&p, end, ':', &maj) ||
	    !take_hex(&p, end, ' ', &min) || !take_dec(&p, end, &v->inode))
		return false;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return false;
	v->dev_major = (uint32_t)maj;
	v->dev_minor = (uint32_t)min;
	if (p < end && *p != ' ')
		return false;
	while (p < end && *p == ' ')
		p++;
	*name = p;
	*name_len = (size_t)(end - p);
	return true;
}

int ml_maps_text_parse(const char *buf, size_t len, pid_t pid, struct memlens_vma_set *set)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct memlens_vma v;
		const char *name;
		size_t name_len;
		int err;

		if (!ml_maps_text_parse_line(p, le, pid, &v, &name, &name_len))
			return -EINVAL;
		err = ml_set_push(set, &v, name, name_len);
		if (err)
			return err;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int ml_maps_text_read_pid(pid_t pid, struct memlens_vma_set *set)
{
	char path[64], *buf;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = ml_read_file(path, &buf, &len);
	if (err)
		return err;
	err = ml_maps_text_parse(buf, len, pid, set);
	free(buf);
	return err;
}

static int text_walk(const struct ml_vma_req *r, struct memlens_vma_set *set)
{
	char *buf;
	size_t len;
	int err;

	err = ml_read_file_fd(r->maps_fd, &buf, &len);
	if (err)
		return err;
	err = ml_maps_text_parse(buf, len, r->pid, set);
	free(buf);
	return err;
}

const struct ml_source ml_src_maps_text = {
	.id = MEMLENS_SOURCE_MAPS_TEXT,
	.name = "text",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
	.caps = ML_CAP_GATE_VMA,
	/* a read per ~40 VMAs: the cheapest whole walk of one process, one-shot
	 * (no program to load); for all processes, second to one BPF pass */
	.cost = { [MEMLENS_JOB_WALK] = "a whole walk reads maps once: up to 1.4-9x cheaper than an ioctl per VMA (large processes), no BPF program to load",
		  [MEMLENS_JOB_QUERY] = "no PROCMAP_QUERY: one read of maps, cheaper one-shot than loading a BPF program",
		  [MEMLENS_JOB_WALK_ALL] = "no BPF: a maps read per process, as cheap as an ioctl per VMA or cheaper" },
	.vma = { .walk = text_walk },
};

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/cgroup (proc_cgroup_show(): one "ID:controllers:path" line per
 * v1 hierarchy, then "0::path" for the unified one, last), and the container
 * and pod a path names.
 */
#include <stdio.h>
#include <stdlib.h>
#include "cgroup.h"
#include "procfs.h"

static void put(char *dst, size_t dst_len, const char *src, size_t n)
{
	if (!dst_len)
		return;
	if (n > dst_len - 1)
		n = dst_len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* does the v1 line [p, e) list controller ctl? */
static bool has_controller(const char *p, const char *e, const char *ctl)
{
	const char *c = memchr(p, ':', (size_t)(e - p)), *ce;
	size_t n = strlen(ctl);

	if (!c)
		return false;
	c++;
	ce = memchr(c, ':', (size_t)(e - c));
	if (!ce)
		return false;
	while (c < ce) {
		const char *comma = memchr(c, ',', (size_t)(ce - c)), *we = comma ? comma : ce;

		if ((size_t)(we - c) == n && !memcmp(c, ctl, n))
			return true;
		c = we + 1;
	}
	return false;
}

/* the path of the v1 line [p, e): after its second ':' */
static bool v1_path(const char *p, const char *e, const char **ps, size_t *pn)
{
	const char *c = memchr(p, ':', (size_t)(e - p));

	if (!c || !(c = memchr(c + 1, ':', (size_t)(e - c - 1))))
		return false;
	*ps = c + 1;
	*pn = (size_t)(e - c - 1);
	return true;
}

int ml_cgroup_parse(const char *buf, size_t len, char *path, size_t path_len)
{
	const char *end = buf + len, *v2 = NULL, *p, *mem = NULL, *first = NULL;
	size_t mem_n = 0, first_n = 0;
	bool any = false;

	put(path, path_len, "", 0);
	/* the unified line: "0::" at the start of the text or of a line */
	for (p = buf; p + 3 <= end; p++) {
		if ((p == buf || p[-1] == '\n') && !memcmp(p, "0::", 3)) {
			v2 = p;
			break;
		}
	}
	if (v2) {
		const char *ps = v2 + 3, *pe = end;

		if (pe > ps && pe[-1] == '\n')
			pe--;	/* the line's own newline; earlier ones are the name's */
		any = true;
		if (!(pe - ps == 1 && *ps == '/') && pe > ps) {
			put(path, path_len, ps, (size_t)(pe - ps));
			return 0;
		}
	}
	/* v2 is the root, or there is none: the v1 lines before it */
	for (p = buf; p < (v2 ? v2 : end);) {
		const char *nl = memchr(p, '\n', (size_t)((v2 ? v2 : end) - p)), *le = nl ? nl : (v2 ? v2 : end);
		const char *ps;
		size_t pn;

		if (v1_path(p, le, &ps, &pn)) {
			any = true;
			if (!(pn == 1 && *ps == '/') && pn) {
				if (!mem && has_controller(p, le, "memory"))
					mem = ps, mem_n = pn;
				if (!first)
					first = ps, first_n = pn;
			}
		}
		p = nl ? nl + 1 : le;
	}
	if (mem)
		put(path, path_len, mem, mem_n);
	else if (first)
		put(path, path_len, first, first_n);
	else if (any)
		put(path, path_len, "/", 1);
	return any ? 0 : -EPROTO;
}

static bool all_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* component [c, c + n) is PREFIX<64 hex>SUFFIX: the id */
static bool id_in(const char *c, size_t n, const char *prefix, const char *suffix, char id[ML_CONTAINER_ID_LEN + 1])
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (n != pl + ML_CONTAINER_ID_LEN + sl || memcmp(c, prefix, pl) || memcmp(c + n - sl, suffix, sl) ||
	    !all_hex(c + pl, ML_CONTAINER_ID_LEN))
		return false;
	put(id, ML_CONTAINER_ID_LEN + 1, c + pl, ML_CONTAINER_ID_LEN);
	return true;
}

/* a pod uid at [p, p + 36): 8-4-4-4-12 hex, with sep between the groups */
static bool pod_uid(const char *p, size_t n, char sep, char pod[ML_POD_UID_LEN + 1])
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (n < ML_POD_UID_LEN)
		return false;
	for (int i = 0, d = 0; i < ML_POD_UID_LEN; i++) {
		if (d < 4 && i == dash[d]) {
			if (p[i] != sep)
				return false;
			d++;
		} else if (!all_hex(p + i, 1)) {
			return false;
		}
	}
	put(pod, ML_POD_UID_LEN + 1, p, ML_POD_UID_LEN);
	for (int i = 0; i < ML_POD_UID_LEN; i++)
		if (pod[i] == sep)
			pod[i] = '-';
	return true;
}

/* a pod component: cgroupfs driver pod<uid>; systemd kubepods[-qos]-pod<uid>.slice */
static bool pod_in(const char *c, size_t n, char pod[ML_POD_UID_LEN + 1])
{
	if (n == 3 + ML_POD_UID_LEN && !memcmp(c, "pod", 3))
		return pod_uid(c + 3, n - 3, '-', pod);
	if (n >= 8 + 3 + ML_POD_UID_LEN + 6 && !memcmp(c, "kubepods", 8) && !memcmp(c + n - 6, ".slice", 6) &&
	    !memcmp(c + n - 6 - ML_POD_UID_LEN - 3, "pod", 3))
		return pod_uid(c + n - 6 - ML_POD_UID_LEN, ML_POD_UID_LEN, '_', pod);
	return false;
}

static bool is(const char *c, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(c, s, n);
}

/*
 * The container (and pod) of a path, only where the path is the runtime's
 * own: a user with a delegated subtree (systemd's user@UID.service) makes
 * any name below it, docker-<id>.scope included, so an id counts only at the
 * place its runtime puts it, counted from the hierarchy's root:
 *   /docker/<id>                               docker, cgroupfs driver
 *   /system.slice/docker-<id>.scope            docker, systemd driver
 *   /system.slice/{cri-containerd,crio}-<id>.scope
 *   /machine.slice/libpod-<id>.scope           podman as root
 *   /kubepods[.slice]/[QOS/]POD/<container>    kubelet: the component right
 *     below the pod: <id>, docker-, cri-containerd- or crio-<id>.scope
 * (the container's own cgroups below that are its own).  Rootless
 * containers live in their user's subtree: their path, but no id.
 */
void ml_cgroup_ids(const char *path, char container[ML_CONTAINER_ID_LEN + 1], char pod[ML_POD_UID_LEN + 1])
{
	enum { MAXC = 4 };
	const char *comp[MAXC], *c = path;
	size_t len[MAXC], nc = 0;

	container[0] = pod[0] = 0;
	for (const char *q = path; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return;
	/* the first components, past a cgroup namespace's leading ".."s */
	while (*c && nc < MAXC) {
		const char *e;
		size_t n;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		e = strchr(c, '/');
		n = e ? (size_t)(e - c) : strlen(c);
		if (!(nc == 0 && is(c, n, "..")))
			comp[nc] = c, len[nc++] = n;
		c += n;
	}
	if (nc >= 2 && is(comp[0], len[0], "docker")) {
		id_in(comp[1], len[1], "", "", container);
	} else if (nc >= 2 && is(comp[0], len[0], "system.slice")) {
		if (!id_in(comp[1], len[1], "docker-", ".scope", container) &&
		    !id_in(comp[1], len[1], "cri-containerd-", ".scope", container))
			id_in(comp[1], len[1], "crio-", ".scope", container);
	} else if (nc >= 2 && is(comp[0], len[0], "machine.slice")) {
		id_in(comp[1], len[1], "libpod-", ".scope", container);
	} else if (nc >= 2 && (is(comp[0], len[0], "kubepods") || is(comp[0], len[0], "kubepods.slice"))) {
		/* the pod right below kubepods, or below its QoS class */
		size_t p = pod_in(comp[1], len[1], pod) ? 1 : nc >= 3 && pod_in(comp[2], len[2], pod) ? 2 : 0;

		if (p && p + 1 < nc && !id_in(comp[p + 1], len[p + 1], "", "", container) &&
		    !id_in(comp[p + 1], len[p + 1], "cri-containerd-", ".scope", container) &&
		    !id_in(comp[p + 1], len[p + 1], "crio-", ".scope", container))
			id_in(comp[p + 1], len[p + 1], "docker-", ".scope", container);
	}
}

int ml_proc_cgroup(pid_t pid, char *path, size_t path_len)
{
	char file[64], *buf = NULL;
	size_t len = 0;
	int err;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	err = ml_read_file(file, &buf, &len);
	if (err)
		return err;
	err = ml_cgroup_parse(buf, len, path, path_len);
	free(buf);
	return err;
}

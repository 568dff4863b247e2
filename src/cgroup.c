// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/cgroup (proc_cgroup_show(): one "ID:controllers:path" line per
 * v1 hierarchy, then "0::path" for the unified one, last), and the container
 * and pod a path names.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

/* does the comma-separated list [c, ce) hold word? */
static bool list_has(const char *c, const char *ce, const char *word)
{
	size_t n = strlen(word);

	while (c < ce) {
		const char *comma = memchr(c, ',', (size_t)(ce - c)), *we = comma ? comma : ce;

		if ((size_t)(we - c) == n && !memcmp(c, word, n))
			return true;
		c = we + 1;
	}
	return false;
}

/* does the v1 line [p, e) list controller ctl? */
static bool has_controller(const char *p, const char *e, const char *ctl)
{
	const char *c = memchr(p, ':', (size_t)(e - p)), *ce;

	if (!c)
		return false;
	c++;
	ce = memchr(c, ':', (size_t)(e - c));
	return ce && list_has(c, ce, ctl);
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
	return ml_cgroup_parse_from(buf, len, path, path_len, NULL);
}

int ml_cgroup_parse_from(const char *buf, size_t len, char *path, size_t path_len, enum ml_cgroup_from *from)
{
	const char *end = buf + len, *v2 = NULL, *p, *mem = NULL, *first = NULL;
	size_t mem_n = 0, first_n = 0;
	bool any = false, v1 = false;
	enum ml_cgroup_from dummy;

	if (!from)
		from = &dummy;
	*from = ML_CGROUP_FROM_NONE;
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
			*from = ML_CGROUP_FROM_V2;
			return 0;
		}
	}
	/* v2 is the root, or there is none: the v1 lines before it */
	for (p = buf; p < (v2 ? v2 : end);) {
		const char *nl = memchr(p, '\n', (size_t)((v2 ? v2 : end) - p)), *le = nl ? nl : (v2 ? v2 : end);
		const char *ps;
		size_t pn;

		if (v1_path(p, le, &ps, &pn)) {
			any = v1 = true;
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
		put(path, path_len, mem, mem_n), *from = ML_CGROUP_FROM_MEMORY;
	else if (first)
		put(path, path_len, first, first_n), *from = ML_CGROUP_FROM_V1;
	else if (any)	/* the root everywhere: of v2 alone, a v2 path */
		put(path, path_len, "/", 1), *from = v1 ? ML_CGROUP_FROM_V1 : ML_CGROUP_FROM_V2;
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

/* /proc/<pid>/cgroup parsed, and where its path came from */
static int proc_cgroup(pid_t pid, char *path, size_t path_len, enum ml_cgroup_from *from)
{
	char file[64], small[4096], *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, err;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	fd = ml_open_proc(file);
	if (fd < 0)
		return fd;
	/* one read is the whole file where it is shorter than the buffer (a
	 * single-record seq_file hands all it has); a longer one (v1's many
	 * hierarchies, long names) is read again whole */
	n = read(fd, small, sizeof(small));
	if (n >= 0 && (size_t)n < sizeof(small)) {
		close(fd);
		return ml_cgroup_parse_from(small, (size_t)n, path, path_len, from);
	}
	err = n < 0 ? -errno : ml_read_file_fd(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	err = ml_cgroup_parse_from(buf, len, path, path_len, from);
	free(buf);
	return err;
}

int ml_proc_cgroup(pid_t pid, char *path, size_t path_len)
{
	return proc_cgroup(pid, path, path_len, NULL);
}

/* dir, opened, if it is a cgroup filesystem's root of the given magic */
static int root_open(const char *dir, long magic, dev_t *dev)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sf) || sf.f_type != magic || fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	*dev = st.st_dev;
	return fd;
}

/* mountinfo's octal escapes (\\040 for ' ', ...) undone in place */
static void unescape(char *p)
{
	char *o = p;

	for (; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

void ml_cgroup_roots_open(struct ml_cgroup_roots *r)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	r->v2 = r->mem = -1;
	/* the first mount of each hierarchy's root (a mount of a subtree
	 * shows paths relative to another place: skipped), wherever it is:
	 * mountinfo is the reader's own mount namespace's.  A root found
	 * wrong only costs the cache, each path being checked against its id */
	while (f && getline(&line, &cap, f) > 0 && (r->v2 < 0 || r->mem < 0)) {
		char *fld[6], *sep = strstr(line, " - "), *save = NULL, *t, *opts;
		char *fstype, *src;
		int i = 0;

		if (!sep)
			continue;
		*sep = 0;
		for (t = strtok_r(line, " ", &save); t && i < 6; t = strtok_r(NULL, " ", &save))
			fld[i++] = t;
		fstype = strtok_r(sep + 3, " ", &save);
		src = fstype ? strtok_r(NULL, " ", &save) : NULL;
		opts = src ? strtok_r(NULL, " \n", &save) : NULL;
		if (i < 5 || !opts || strcmp(fld[3], "/"))
			continue;
		unescape(fld[4]);
		if (r->v2 < 0 && !strcmp(fstype, "cgroup2"))
			r->v2 = root_open(fld[4], CGROUP2_SUPER_MAGIC, &r->v2_dev);
		else if (r->mem < 0 && !strcmp(fstype, "cgroup") && list_has(opts, opts + strlen(opts), "memory"))
			r->mem = root_open(fld[4], CGROUP_SUPER_MAGIC, &r->mem_dev);
	}
	free(line);
	if (f)
		fclose(f);
}

void ml_cgroup_roots_close(struct ml_cgroup_roots *r)
{
	if (r->v2 >= 0)
		close(r->v2);
	if (r->mem >= 0)
		close(r->mem);
	r->v2 = r->mem = -1;
}

/* is path (as /proc/<pid>/cgroup shows it) the cgroup of inode id below the
 * root at fd, of device dev? */
static bool path_is(int fd, dev_t dev, const char *path, size_t path_len, uint64_t id)
{
	const char *rel = path + 1;
	struct stat st;
	size_t n = strlen(path);

	if (fd < 0 || !id || path[0] != '/' || n + 1 >= path_len)
		return false;	/* no root; truncated */
	/* ".." only begins a path outside the reader's cgroup namespace (no
	 * cgroup may be named so) */
	for (const char *c = path; (c = strstr(c, "/..")); c += 3)
		if (c[3] == '/' || !c[3])
			return false;
	if (!*rel)
		rel = ".";
	return !fstatat(fd, rel, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode) && st.st_dev == dev &&
	       (uint64_t)st.st_ino == id;
}

/* the cache: open addressing, (id, memid) to a path */
struct ml_cgroup_cache {
	struct slot {
		uint64_t id, memid;
		char *path;	/* NULL: empty */
	} *v;
	size_t n, cap;	/* cap: a power of two */
};

static size_t slot_of(const struct ml_cgroup_cache *c, uint64_t id, uint64_t memid)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) ^ (memid * 0xc2b2ae3d27d4eb4fULL);
	size_t i = (size_t)(h ^ (h >> 29)) & (c->cap - 1);

	while (c->v[i].path && (c->v[i].id != id || c->v[i].memid != memid))
		i = (i + 1) & (c->cap - 1);
	return i;
}

static void cache_put(struct ml_cgroup_cache *c, uint64_t id, uint64_t memid, const char *path)
{
	char *copy;
	size_t i;

	if (c->n + 1 > c->cap / 2) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct slot *nv = calloc(ncap, sizeof(*nv)), *old = c->v;
		size_t ocap = c->cap;

		if (!nv)
			return;	/* no memory: only not kept */
		c->v = nv;
		c->cap = ncap;
		for (size_t j = 0; j < ocap; j++)
			if (old[j].path)
				c->v[slot_of(c, old[j].id, old[j].memid)] = old[j];
		free(old);
	}
	if (!(copy = strdup(path)))
		return;
	i = slot_of(c, id, memid);
	free(c->v[i].path);
	c->n += !c->v[i].path;
	c->v[i] = (struct slot){ id, memid, copy };
}

void ml_cgroup_cache_free(struct ml_cgroup_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		free(c->v[i].path);
	free(c->v);
	free(c);
}

int ml_cgroup_path(struct ml_cgroup_cache **cp, const struct ml_cgroup_roots *roots, pid_t pid, uint64_t id,
		   uint64_t memid, char *path, size_t path_len)
{
	struct ml_cgroup_cache *c = *cp;
	enum ml_cgroup_from from;
	bool keep;
	int err;

	if (!roots || !id || (roots->v2 < 0 && roots->mem < 0))
		return ml_proc_cgroup(pid, path, path_len);
	if (c && c->cap) {
		size_t i = slot_of(c, id, memid);

		if (c->v[i].path) {
			put(path, path_len, c->v[i].path, strlen(c->v[i].path));
			return 1;
		}
	}
	err = proc_cgroup(pid, path, path_len, &from);
	if (err)
		return err;
	/* kept where the ids name it: the v2 path is the unified cgroup's,
	 * the v1 memory path the memory cgroup's, checked on the
	 * filesystem now (the process may have moved since the ids were
	 * read); the id pair decides which one a process shows */
	keep = from == ML_CGROUP_FROM_V2 ? path_is(roots->v2, roots->v2_dev, path, path_len, id) :
	       from == ML_CGROUP_FROM_MEMORY ? path_is(roots->mem, roots->mem_dev, path, path_len, memid) : false;
	if (keep && !c)
		c = *cp = calloc(1, sizeof(*c));
	if (keep && c)
		cache_put(c, id, memid, path);
	return 0;
}

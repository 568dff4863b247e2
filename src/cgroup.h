/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process's cgroup and what its path says: the container and the
 * Kubernetes pod.  From /proc/<pid>/cgroup, whose paths are names that
 * whoever may create cgroups there chose (a delegated subtree: any bytes
 * but '/', NUL and, since the kernel refuses it in cgroup_mkdir(), '\n').
 */
#ifndef MEMLENS_CGROUP_H
#define MEMLENS_CGROUP_H

#include "core.h"

#define ML_CONTAINER_ID_LEN 64	/* hex digits of a docker/containerd/cri-o/podman id */
#define ML_POD_UID_LEN 36	/* 8-4-4-4-12 */

/*
 * The text of /proc/<pid>/cgroup, len bytes (fuzzed): the unified (v2)
 * path, or, where it is the root ("/") and v1 hierarchies exist (v1-only or
 * hybrid machines), the memory controller's path, else the first v1 path
 * that is not the root.  The kernel prints the unified line ("0::") last, so
 * everything after its "0::" is its path (were a newline ever let into a
 * name, it could not forge a line after it).  Writes at most len - 1
 * bytes and a NUL to path; -EPROTO when the text has no cgroup line.
 */
ML_HIDDEN int ml_cgroup_parse(const char *buf, size_t len, char *path, size_t path_len);

/* where the path ml_cgroup_parse() wrote came from */
enum ml_cgroup_from {
	ML_CGROUP_FROM_NONE,
	ML_CGROUP_FROM_V2,	/* the unified line (the root only where there is no v1) */
	ML_CGROUP_FROM_MEMORY,	/* the v1 memory controller's line */
	ML_CGROUP_FROM_V1,	/* another v1 line, or the root of all */
};
ML_HIDDEN int ml_cgroup_parse_from(const char *buf, size_t len, char *path, size_t path_len,
				   enum ml_cgroup_from *from);

/*
 * The container id and pod uid a cgroup path names, "" where none (fuzzed):
 *   docker:      /docker/<id>, docker-<id>.scope
 *   containerd:  cri-containerd-<id>.scope, /kubepods/.../pod<uid>/<id>
 *   cri-o:       crio-<id>.scope
 *   podman:      libpod-<id>.scope (not libpod-conmon-)
 *   pods:        a first component starting with "kubepods" (the kubelet's
 *                root, both cgroup drivers), then pod<uid> or
 *                kubepods-<qos>-pod<uid with '_' for '-'>.slice below it
 * A path carrying control characters names neither (it was made to look
 * like something else).
 */
ML_HIDDEN void ml_cgroup_ids(const char *path, char container[ML_CONTAINER_ID_LEN + 1],
			     char pod[ML_POD_UID_LEN + 1]);

/* /proc/<pid>/cgroup read and parsed; -ESRCH if the process is gone */
ML_HIDDEN int ml_proc_cgroup(pid_t pid, char *path, size_t path_len);

/*
 * A process's path by its cgroups' ids (a BPF pass's: the unified cgroup's
 * and the v1 memory cgroup's inode numbers), read once per id pair: the
 * first process of a pair has its /proc/<pid>/cgroup read, and the path is
 * kept for the pair only if the filesystem says it is that cgroup's now
 * (stat() of it below the hierarchy's root: its inode is the id).  The
 * same pair then shows the same path, as /proc would (a v2 cgroup is never
 * renamed).  roots: where the hierarchies are mounted (ml_cgroup_roots_open);
 * NULL or id 0: the file read, as ml_proc_cgroup().  *cache starts NULL,
 * one per thread.  0: read from the file; 1: from the cache; -errno.
 */
struct ml_cgroup_roots {
	int v2, mem;		/* their roots' fds, or -1 */
	dev_t v2_dev, mem_dev;
};
struct ml_cgroup_cache;
ML_HIDDEN void ml_cgroup_roots_open(struct ml_cgroup_roots *r);
ML_HIDDEN void ml_cgroup_roots_close(struct ml_cgroup_roots *r);
ML_HIDDEN int ml_cgroup_path(struct ml_cgroup_cache **cache, const struct ml_cgroup_roots *roots, pid_t pid,
			     uint64_t id, uint64_t memid, char *path, size_t path_len);
ML_HIDDEN void ml_cgroup_cache_free(struct ml_cgroup_cache *c);

#endif

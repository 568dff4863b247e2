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

#endif

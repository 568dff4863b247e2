/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small readers of /proc, used by every source and job that reads it. */
#ifndef MEMLENS_PROCFS_H
#define MEMLENS_PROCFS_H

#include <dirent.h>
#include "core.h"

/* the whole file, from its start; the caller frees *buf */
ML_HIDDEN int ml_read_file_fd(int fd, char **buf, size_t *len);
/* the whole file; a missing /proc/<pid>/... is -ESRCH */
ML_HIDDEN int ml_read_file(const char *path, char **buf, size_t *len);
/* at most len - 1 bytes of a small file, NUL-terminated; -ESRCH as above */
ML_HIDDEN int ml_read_small(const char *path, char *buf, size_t len);
/* state letter and flags from /proc/<pid>/stat; -ESRCH if it is not there */
ML_HIDDEN int ml_proc_stat(pid_t pid, char *state, unsigned long *flags);
/* the process's start time (field 22 of /proc/<pid>/stat, clock ticks since
 * boot): with the pid, what names one process, since pids are reused */
ML_HIDDEN int ml_proc_start_time(pid_t pid, unsigned long long *start);
/* 1 if the process is gone or a zombie (no memory left to look at) */
ML_HIDDEN int ml_pid_gone(pid_t pid);
/* a kernel thread (PF_KTHREAD): no memory and no fd table of its own */
ML_HIDDEN bool ml_pid_is_kthread(pid_t pid);
/* /proc/<pid>/comm without its newline; "" if it cannot be read */
ML_HIDDEN void ml_proc_comm(pid_t pid, char comm[16]);
/* open /proc/<pid>/maps; -ESRCH if there is no such process */
ML_HIDDEN int ml_open_maps(pid_t pid, int *fd);

/* every process in /proc: the one pid walker */
struct ml_pids {
	DIR *d;
};
ML_HIDDEN int ml_pids_open(struct ml_pids *it);
/* the next pid, 0 at the end */
ML_HIDDEN pid_t ml_pids_next(struct ml_pids *it);
ML_HIDDEN void ml_pids_close(struct ml_pids *it);
/* a /proc/<pid>/task directory entry's name as a tid, 0 if not one */
ML_HIDDEN pid_t ml_parse_pid(const char *name);

#endif

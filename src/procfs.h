/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small readers of /proc, used by every source and job that reads it. */
#ifndef MEMLENS_PROCFS_H
#define MEMLENS_PROCFS_H

#include <dirent.h>
#include "core.h"

/* open(path, O_RDONLY): the fd, or -errno (a missing /proc/<pid>/... is
 * -ESRCH: the process is gone) */
ML_HIDDEN int ml_open_proc(const char *path);
/* the whole file, from its start; the caller frees *buf */
ML_HIDDEN int ml_read_file_fd(int fd, char **buf, size_t *len);
/* the whole file; a missing /proc/<pid>/... is -ESRCH */
ML_HIDDEN int ml_read_file(const char *path, char **buf, size_t *len);
/* at most len - 1 bytes of a small file, NUL-terminated; -ESRCH as above */
ML_HIDDEN int ml_read_small(const char *path, char *buf, size_t len);
/* from /proc/<pid>/stat: the state letter, the flags (PF_*), and the start
 * time (clock ticks since boot), which with the pid names one process since
 * pids are reused; -ESRCH if it is not there */
struct ml_proc_stat {
	char state;
	unsigned long flags;
	unsigned long long start_time;
	unsigned long long vsize;	/* bytes: statm's size times the page size */
	char comm[16];			/* as /proc/<pid>/comm, without its newline */
};
ML_HIDDEN int ml_proc_stat(pid_t pid, struct ml_proc_stat *st);
/* the text of /proc/<pid>/stat, NUL-terminated (fuzzed); -EPROTO if not its layout */
ML_HIDDEN int ml_proc_stat_parse(const char *buf, struct ml_proc_stat *st);
/* the first field of /proc/<pid>/statm (size in pages), NUL-terminated text (fuzzed) */
ML_HIDDEN int ml_statm_parse(const char *buf, uint64_t *pages);
/* the effective uid from /proc/<pid>/status ("Uid:" real, effective, ...);
 * its Name line is escaped by the kernel, so a name cannot forge the line */
ML_HIDDEN int ml_proc_uid(pid_t pid, uint32_t *uid);
/* the same from the status text, NUL-terminated (fuzzed); -EPROTO if absent */
ML_HIDDEN int ml_status_uid_parse(const char *buf, uint32_t *uid);
/* the mm counters /proc/<pid>/status gives, bytes (no page walk, no mmap lock) */
struct ml_counters {
	uint64_t vss, rss, anon, file, shmem, swap;
};
/* -ESRCH gone, -EPROTO no counters (a kernel thread), -errno */
ML_HIDDEN int ml_proc_counters(pid_t pid, struct ml_counters *c);
/* the same from the status text, NUL-terminated (fuzzed) */
ML_HIDDEN int ml_status_counters_parse(const char *buf, struct ml_counters *c);
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

/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libmemlens: look into Linux process memory through the fastest kernel
 * interface the running kernel and the caller's privileges allow.
 *
 * Conventions (libbpf's): opaque objects named object__verb, options structs
 * whose first field is their size (MEMLENS_OPTS), functions returning int give
 * 0 or a negative errno and also set errno, functions returning pointers give
 * NULL and set errno.  The library never prints except through the print
 * callback given in struct memlens_opts, never exits, and keeps no global
 * state: everything lives in a struct memlens context.  A context and the
 * objects made from it are not thread-safe; use one context per thread.
 */
#ifndef MEMLENS_H
#define MEMLENS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>	/* memset, for MEMLENS_OPTS */
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMLENS_API __attribute__((visibility("default")))

#define MEMLENS_VERSION_MAJOR 0
#define MEMLENS_VERSION_MINOR 7
#define MEMLENS_VERSION_PATCH 0

/* Declare and zero an options struct, setting its size (libbpf's LIBBPF_OPTS):
 *   MEMLENS_OPTS(memlens_maps_opts, o, .build_ids = true);
 * Fields the library does not know must be zero: a newer caller's non-zero
 * field an older library cannot honour is -EINVAL, never silently ignored. */
#define MEMLENS_OPTS(TYPE, NAME, ...)                                        \
	struct TYPE NAME = ({                                                \
		memset(&NAME, 0, sizeof(struct TYPE));                       \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };     \
	})

enum memlens_print_level {
	MEMLENS_WARN,
	MEMLENS_INFO,
	MEMLENS_DEBUG,
};

typedef int (*memlens_print_fn_t)(enum memlens_print_level level, const char *fmt, va_list ap);

/*
 * Where records come from: one kernel interface each.  Every job (below) has
 * its own sources; AUTO takes the best one the kernel and the caller's
 * privileges allow, in the order memlens_job__sources() gives.
 */
enum memlens_source {
	MEMLENS_SOURCE_AUTO = 0,
	/* VMAs */
	MEMLENS_SOURCE_PROCMAP_QUERY,	/* "ioctl": PROCMAP_QUERY on /proc/<pid>/maps (6.11+) */
	MEMLENS_SOURCE_BPF_TASK_VMA,	/* "bpf": BPF iter/task_vma (5.12+, CAP_BPF+CAP_PERFMON) */
	MEMLENS_SOURCE_MAPS_TEXT,	/* "text": /proc/<pid>/maps */
	/* DMA-BUF holders and buffers */
	MEMLENS_SOURCE_DMABUF_BPF,	/* "bpf": iter/dmabuf + task_file + task_vma (6.16+), or their pins */
	MEMLENS_SOURCE_DMABUF_PROCFS,	/* "procfs": /proc/<pid>/fd, fdinfo, maps; debugfs or sysfs list */
	/* page backing */
	MEMLENS_SOURCE_PAGEMAP_SCAN,	/* "pagemap_scan": PAGEMAP_SCAN ioctl (6.7+) */
	MEMLENS_SOURCE_PAGEMAP,		/* "pagemap": /proc/<pid>/pagemap, + /proc/kpageflags (root) */
	MEMLENS_SOURCE_SMAPS,		/* "smaps": smaps totals per VMA, no ranges */
	/* ELF build IDs */
	MEMLENS_SOURCE_BUILD_ID_KERNEL,	/* "procmap_query": with each VMA from PROCMAP_QUERY (6.12+) */
	MEMLENS_SOURCE_MAP_FILES,	/* "map_files": the note read through /proc/<pid>/map_files */
	MEMLENS_SOURCE_PROC_ROOT,	/* "proc_root": through /proc/<pid>/root/<path>, inode checked */
	/* 0.6: the mm counters of every process (rss by kind, swap, vss) */
	MEMLENS_SOURCE_COUNTERS_BPF,	/* "bpf": BPF iter/task, one pass (5.8+, CAP_BPF+CAP_PERFMON) */
	MEMLENS_SOURCE_COUNTERS_PROCFS,	/* "procfs": /proc/<pid>/status, one file per process */
	__MEMLENS_SOURCE_MAX,
};

/* What a source is chosen for. */
enum memlens_job {
	MEMLENS_JOB_WALK,	/* "maps": every VMA of one process */
	MEMLENS_JOB_QUERY,	/* "query": the VMAs covering some addresses */
	MEMLENS_JOB_WALK_ALL,	/* "maps_all": every VMA of every process */
	MEMLENS_JOB_DMABUF,	/* "dmabuf": DMA-BUF holders, system-wide */
	MEMLENS_JOB_PAGES,	/* "pages": present/swapped/huge ranges */
	MEMLENS_JOB_BUILD_ID,	/* "build_id": ELF build IDs of mapped files */
	MEMLENS_JOB_COUNTERS,	/* 0.6, "counters": the mm counters of every process */
	__MEMLENS_JOB_MAX,
};

/* Kernel interfaces memlens probes (once per context). */
enum memlens_iface {
	MEMLENS_IFACE_PROCMAP_QUERY,	/* ioctl(PROCMAP_QUERY) */
	MEMLENS_IFACE_PROCMAP_BUILD_ID,	/* build IDs from PROCMAP_QUERY that can be trusted (6.12+) */
	MEMLENS_IFACE_BPF_TASK_VMA,	/* BPF iter/task_vma program loads */
	MEMLENS_IFACE_BPF_ITER_PID,	/* task iterators take a pid in link_info (6.1+) */
	MEMLENS_IFACE_MAPS_TEXT,	/* /proc/<pid>/maps */
	MEMLENS_IFACE_MAP_FILES,	/* /proc/<pid>/map_files/ readable (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) */
	MEMLENS_IFACE_BTF,		/* /sys/kernel/btf/vmlinux */
	MEMLENS_IFACE_BPF_ITER_DMABUF,	/* the kernel has iter/dmabuf (6.16+): told by its BTF */
	MEMLENS_IFACE_DMABUF_EXPORTER,	/* a DMA-BUF exporter userspace can allocate from: /dev/dma_heap/<heap>, /dev/udmabuf */
	MEMLENS_IFACE_BPF_DMABUF,	/* the three DMA-BUF iterator programs load */
	MEMLENS_IFACE_PAGEMAP_SCAN,	/* ioctl(PAGEMAP_SCAN) on /proc/<pid>/pagemap (6.7+) */
	MEMLENS_IFACE_PAGEMAP,		/* /proc/<pid>/pagemap */
	MEMLENS_IFACE_KPAGEFLAGS,	/* /proc/kpageflags (root): tells huge pages from pagemap PFNs */
	MEMLENS_IFACE_BPF_TASK_MM,	/* 0.6: the BPF iter/task program over the mm counters loads */
	__MEMLENS_IFACE_MAX,
};

struct memlens_opts {
	size_t sz;
	/* where the library's messages go; NULL: nowhere */
	memlens_print_fn_t print;
	/* a read of a process's smaps, smaps_rollup or cmdline that makes no
	 * progress for this long is abandoned and the process reported
	 * stalled (its mmap lock is held, maybe on purpose): 0 is 2000 ms.
	 * Those reads run in threads of the library's that the caller's thread
	 * watches (stall.h). */
	unsigned int stall_ms;
	/* the most threads one call runs at once, the caller's included.  0:
	 * the library's choice (a snapshot: two readers and the caller
	 * watching them, where there are two CPUs; the DMA-BUF walks: a
	 * helper on another CPU).  1: none of the library's own: every read in
	 * the caller's thread, so a process that parks its mmap lock holds
	 * the call up for as long as it likes (no stall_ms bound).  N: at most
	 * N - 1 helpers. */
	unsigned int threads;
	size_t :0;
};
#define memlens_opts__last_field threads

struct memlens;

MEMLENS_API struct memlens *memlens__new(const struct memlens_opts *opts);
MEMLENS_API void memlens__free(struct memlens *ml);

/**
 * memlens__probe() - is a kernel interface usable by this caller?
 * Return: 0 if usable, else a negative errno: -ENOTTY/-EOPNOTSUPP the kernel
 * lacks it, -EPERM/-EACCES privilege, other: see memlens__probe_reason().
 * The probe runs once per context; later calls return the cached answer.
 */
MEMLENS_API int memlens__probe(struct memlens *ml, enum memlens_iface iface);
/* One line saying why the interface is (un)usable; never NULL. */
MEMLENS_API const char *memlens__probe_reason(struct memlens *ml, enum memlens_iface iface);
MEMLENS_API const char *memlens_iface__name(enum memlens_iface iface);

/* ---- sources and the choice between them ----------------------------- */

/* "ioctl", "bpf", "text", "procfs", "pagemap_scan", ...; "auto" for AUTO */
MEMLENS_API const char *memlens_source__name(enum memlens_source source);
/* The kernel interface a source reads. */
MEMLENS_API enum memlens_iface memlens_source__iface(enum memlens_source source);
/* A source of @job by name ("auto" included); -EINVAL if the job has none of that name. */
MEMLENS_API int memlens_source__parse(enum memlens_job job, const char *name, enum memlens_source *out);
/* "maps", "query", "maps_all", "dmabuf", "pages", "build_id", "counters" */
MEMLENS_API const char *memlens_job__name(enum memlens_job job);
/**
 * memlens_job__sources() - the sources of @job, best first: the order AUTO tries.
 * Return: how many there are; the first min(that, @max) are stored in @out.
 */
MEMLENS_API size_t memlens_job__sources(enum memlens_job job, enum memlens_source *out, size_t max);
/**
 * memlens__source_usable() - can this caller use @source now?
 * Return: 0, or a negative errno; memlens__source_reason() says why.
 */
MEMLENS_API int memlens__source_usable(struct memlens *ml, enum memlens_source source);
/* One line: why the source is (un)usable; never NULL. */
MEMLENS_API const char *memlens__source_reason(struct memlens *ml, enum memlens_source source);
/**
 * memlens__select() - the source a job uses: @forced if it is usable, else
 * with MEMLENS_SOURCE_AUTO the first usable one of memlens_job__sources().
 * The sources passed over are the ones before it in that order; for each,
 * memlens__source_reason() says why.
 * Return: 0 and *out; -EOPNOTSUPP @forced is unusable (*out = @forced);
 * -EINVAL @forced is not a source of @job.
 */
MEMLENS_API int memlens__select(struct memlens *ml, enum memlens_job job, enum memlens_source forced,
				enum memlens_source *out);
/**
 * memlens__explain() - one line for -v and features: why @used answers @job
 * (its reason, after "forced: " when @forced), then "; not X: why" for each
 * better source AUTO passed over.  The line is kept in the context until the
 * next call; never NULL.
 */
MEMLENS_API const char *memlens__explain(struct memlens *ml, enum memlens_job job, enum memlens_source used,
					 bool forced);

/* ---- VMA records ---------------------------------------------------- */

#define MEMLENS_VMA_READ	0x01
#define MEMLENS_VMA_WRITE	0x02
#define MEMLENS_VMA_EXEC	0x04
#define MEMLENS_VMA_SHARED	0x08	/* 's' in maps: VM_MAYSHARE */

#define MEMLENS_BUILD_ID_MAX	32

struct memlens_vma {
	uint64_t start;
	uint64_t end;
	uint64_t offset;	/* file offset of start; 0 if not file-backed */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t flags;		/* MEMLENS_VMA_* */
	uint32_t page_size;	/* kernel page size; 0 when the source does not give it */
	int32_t pid;		/* process (tgid) the VMA belongs to */
	uint32_t build_id_size;	/* 0: no build ID (not asked, not ELF, or unreadable) */
	const char *name;	/* as /proc/<pid>/maps names it; "" if none; never NULL */
	unsigned char build_id[MEMLENS_BUILD_ID_MAX];
	/* why there is no build ID: 0 (not asked or not an ELF with a note), or -errno */
	int32_t build_id_err;
};

/* perms string as maps prints it ("r-xp"); buf needs 5 bytes. */
MEMLENS_API const char *memlens_vma__perms(const struct memlens_vma *vma, char buf[5]);
/* lowercase hex of the build ID; buf needs 2*MEMLENS_BUILD_ID_MAX+1 bytes; "" if none */
MEMLENS_API const char *memlens_vma__build_id_hex(const struct memlens_vma *vma, char *buf, size_t len);
/* what backs the VMA, by its name: "file", "deleted", "memfd", "shm" (shared
 * anonymous), "sysv", "dmabuf", "anon" (no inode), "special" ([vdso], ...) */
MEMLENS_API const char *memlens_vma__kind(const struct memlens_vma *vma);

struct memlens_vma_set;

MEMLENS_API size_t memlens_vma_set__count(const struct memlens_vma_set *set);
/* NULL and errno ERANGE past the end (every _get of the library does the same) */
MEMLENS_API const struct memlens_vma *memlens_vma_set__get(const struct memlens_vma_set *set, size_t i);
/* the source that produced the set */
MEMLENS_API enum memlens_source memlens_vma_set__source(const struct memlens_vma_set *set);
/* whole-system sets: processes that exited during the walk, and that could
 * not be read (every whole-system result counts these two the same way) */
MEMLENS_API size_t memlens_vma_set__exited(const struct memlens_vma_set *set);
MEMLENS_API size_t memlens_vma_set__unreadable(const struct memlens_vma_set *set);
/* the i-th process that could not be read, in pid order; -1 past the end */
MEMLENS_API int32_t memlens_vma_set__unreadable_pid(const struct memlens_vma_set *set, size_t i);
MEMLENS_API void memlens_vma_set__free(struct memlens_vma_set *set);

/* ---- one process --------------------------------------------------- */

struct memlens_proc_opts {
	size_t sz;
	enum memlens_source source;	/* a VMA source; AUTO: the best per job */
	size_t :0;
};
#define memlens_proc_opts__last_field source

struct memlens_proc;

/**
 * memlens__proc_open() - open a process for VMA queries.
 * @pid: a process id; 0 means the caller itself.
 * The handle pins the process's memory descriptor (through /proc/<pid>/maps),
 * so a recycled pid is never answered for.  Errors: -ESRCH no such process,
 * -EACCES/-EPERM not allowed (PTRACE_MODE_READ), -EOPNOTSUPP forced source
 * unavailable (memlens__source_reason() says why), -EINVAL not a VMA source.
 */
MEMLENS_API struct memlens_proc *memlens__proc_open(struct memlens *ml, pid_t pid,
						    const struct memlens_proc_opts *opts);
MEMLENS_API void memlens_proc__close(struct memlens_proc *proc);
MEMLENS_API pid_t memlens_proc__pid(const struct memlens_proc *proc);
/* a process's command name now (/proc/<pid>/comm, at most 15 bytes the
 * process chose): 0, or -ESRCH and "" when it cannot be read */
MEMLENS_API int memlens__comm(struct memlens *ml, pid_t pid, char comm[16]);
/* why a process could not be read (EACCES/EPERM on its /proc files): the
 * caller lacks PTRACE_MODE_READ (not the same user, no CAP_SYS_PTRACE), or,
 * with CAP_SYS_PTRACE held, a security module refused (the active ones named,
 * where the kernel lists them) or the process is in a user namespace the
 * caller's capabilities do not reach.  pid: one such process (0: none known).
 * Always a string; valid until the next call with this context. */
MEMLENS_API const char *memlens__denied_reason(struct memlens *ml, pid_t pid);

struct memlens_maps_opts {
	size_t sz;
	bool build_ids;		/* fill build_id of file-backed VMAs */
	size_t :0;
};
#define memlens_maps_opts__last_field build_ids

/**
 * memlens_proc__maps() - every VMA of the process, in address order.
 * Return: 0 and *out set, or a negative errno (-ESRCH if it exited).
 */
MEMLENS_API int memlens_proc__maps(struct memlens_proc *proc, const struct memlens_maps_opts *opts,
				   struct memlens_vma_set **out);

/* Flags for memlens_proc__find_vma(); permission flags are ANDed. */
#define MEMLENS_FIND_READABLE		0x01
#define MEMLENS_FIND_WRITABLE		0x02
#define MEMLENS_FIND_EXECUTABLE		0x04
#define MEMLENS_FIND_SHARED		0x08
#define MEMLENS_FIND_COVERING_OR_NEXT	0x10
#define MEMLENS_FIND_FILE_BACKED	0x20
#define MEMLENS_FIND_BUILD_ID		0x100

/**
 * memlens_proc__find_vma() - the VMA covering @addr (or, with
 * MEMLENS_FIND_COVERING_OR_NEXT, the first one after it) that matches the filters.
 * Return: 0 and *out set (a one-record set), -ENOENT if none, other -errno.
 */
MEMLENS_API int memlens_proc__find_vma(struct memlens_proc *proc, uint64_t addr, uint32_t flags,
				       struct memlens_vma_set **out);

/* ---- address normalization ------------------------------------------ */

struct memlens_normalize_opts {
	size_t sz;
	bool build_ids;
	/* fill elf_vaddr: the file's program headers are read (opened as for
	 * build IDs: map_files, or the path in the process's root) */
	bool elf_vaddr;
	size_t :0;
};
#define memlens_normalize_opts__last_field elf_vaddr

struct memlens_norm_addr {
	uint64_t addr;
	uint64_t file_offset;	/* addr - vma.start + vma.offset; 0 if unmapped */
	int64_t vma;		/* index into memlens_norm__vmas(), -1 if unmapped */
	/* with .elf_vaddr: file_offset as an ELF virtual address (through the
	 * PT_LOAD holding it), what addr2line-style symbolizers take;
	 * elf_vaddr_err 0 when known, else -ENOENT (not ELF, in no PT_LOAD,
	 * not a file) or why the file could not be opened */
	uint64_t elf_vaddr;
	int32_t elf_vaddr_err;
};

struct memlens_norm;

/**
 * memlens_proc__normalize() - for each address, the VMA covering it and the
 * file offset it maps.  Addresses are sorted internally and answered in one
 * pass; results keep the input order.  A missing build ID never fails it.
 */
MEMLENS_API int memlens_proc__normalize(struct memlens_proc *proc, const uint64_t *addrs, size_t n,
					const struct memlens_normalize_opts *opts,
					struct memlens_norm **out);
MEMLENS_API size_t memlens_norm__count(const struct memlens_norm *norm);
MEMLENS_API const struct memlens_norm_addr *memlens_norm__get(const struct memlens_norm *norm, size_t i);
/* the distinct VMAs the addresses fell in */
MEMLENS_API const struct memlens_vma_set *memlens_norm__vmas(const struct memlens_norm *norm);
MEMLENS_API void memlens_norm__free(struct memlens_norm *norm);

/* ---- symbolization (0.5) ---------------------------------------------- */

struct memlens_symbolize_opts {
	size_t sz;
	/* the inlined calls at each address, innermost first (DWARF) */
	bool inlines;
	/* also ask the debuginfod servers of DEBUGINFOD_URLS for a debug file
	 * (off by default: a request names the build IDs a process maps; at
	 * most 30 s a file; asked when a file's DWARF is first wanted) */
	bool debuginfod;
	size_t :0;
};
#define memlens_symbolize_opts__last_field debuginfod

/* one inlined call at an address: func was inlined into caller at the call site */
struct memlens_sym_inline {
	const char *func;	/* the inlined function */
	const char *caller;	/* the function (or inlined function) it was inlined into; "??" unknown */
	const char *call_file;	/* the call site's source file; NULL unknown */
	uint32_t call_line, call_column;
};

struct memlens_sym {
	uint64_t addr;
	/* 0: symbolized (a symbol or a source line or both); else why not:
	 * -ENXIO no mapping covers it, -ENOENT no symbol or line covers it (or
	 * not an ELF file, or in none of its PT_LOADs), -EFBIG a file past the
	 * size limit, or why the file could not be opened (-EACCES, ...) */
	int32_t err;
	uint32_t ninlines;
	/* the ELF symbol covering it (.symtab, .dynsym or MiniDebugInfo), and
	 * the address's offset into it; NULL: none */
	const char *name;
	uint64_t offset;
	/* the function as DWARF names it at the address (the innermost
	 * inlined function, else the subprogram); NULL: no DWARF */
	const char *func;
	/* the source line of the address; NULL: no line table covers it */
	const char *file;
	uint32_t line, column;
	const struct memlens_sym_inline *inlines;	/* ninlines of them, with .inlines */
};

struct memlens_syms;

/**
 * memlens_norm__symbolize() - function, offset, source line (and inlined
 * calls) of each address of a normalization made with .elf_vaddr.  Symbols
 * come from the mapped file (opened as for its build ID); DWARF from it or
 * from a separate debug file under /usr/lib/debug, found by build ID
 * (.build-id/xx/rest.debug) or by .gnu_debuglink name next to the file's
 * path there, and used only if its build ID is the file's.  Files are kept
 * in the context by build ID (else device and inode): a second batch parses
 * nothing.  A missing symbol never fails it (the answer's err says why).
 */
MEMLENS_API int memlens_norm__symbolize(struct memlens_proc *proc, const struct memlens_norm *norm,
					const struct memlens_symbolize_opts *opts, struct memlens_syms **out);
MEMLENS_API size_t memlens_syms__count(const struct memlens_syms *syms);
MEMLENS_API const struct memlens_sym *memlens_syms__get(const struct memlens_syms *syms, size_t i);
MEMLENS_API void memlens_syms__free(struct memlens_syms *syms);

/* ---- memory use per VMA (smaps) and per process (smaps_rollup) ------- */

enum memlens_usage_field {
	MEMLENS_USAGE_RSS, MEMLENS_USAGE_PSS, MEMLENS_USAGE_PSS_DIRTY, MEMLENS_USAGE_SHARED_CLEAN,
	MEMLENS_USAGE_SHARED_DIRTY, MEMLENS_USAGE_PRIVATE_CLEAN, MEMLENS_USAGE_PRIVATE_DIRTY,
	MEMLENS_USAGE_REFERENCED, MEMLENS_USAGE_ANONYMOUS, MEMLENS_USAGE_LAZYFREE, MEMLENS_USAGE_ANON_HUGE,
	MEMLENS_USAGE_SHMEM_PMD, MEMLENS_USAGE_FILE_PMD, MEMLENS_USAGE_SHARED_HUGETLB,
	MEMLENS_USAGE_PRIVATE_HUGETLB, MEMLENS_USAGE_SWAP, MEMLENS_USAGE_SWAP_PSS, MEMLENS_USAGE_LOCKED,
	MEMLENS_USAGE_KSM,	/* 0.5; the kernel prints it from 6.6 */
	/* new fields are added here, before the end: a caller built with an
	 * older header indexes kb[] only with the fields it knows */
	__MEMLENS_USAGE_MAX,
};

/* one VMA's smaps entry, or a process's smaps_rollup (vma zeroed); the
 * library's record (memlens_usage_set__get()), never the caller's */
struct memlens_vma_usage {
	struct memlens_vma vma;
	uint64_t present;			/* bit per field the kernel printed */
	int32_t thp_eligible;			/* -1: not printed */
	const char *vm_flags;			/* VmFlags, e.g. "rd wr mr mw me ac"; "" if absent */
	/* kB as smaps prints them, by enum memlens_usage_field: the library's
	 * array of its __MEMLENS_USAGE_MAX, which is never less than the
	 * caller's (0.5; before, an array in the struct's middle, which no
	 * field could be added to without moving the ones after it) */
	const uint64_t *kb;
};

/* the smaps key of a field ("Rss", "AnonHugePages", ...) */
MEMLENS_API const char *memlens_usage_field__name(enum memlens_usage_field f);

struct memlens_usage_set;
/* /proc/<pid>/smaps per VMA; -ETIMEDOUT if the read made no progress for
 * memlens_opts.stall_ms (the process's mmap lock is held: stalled) */
MEMLENS_API int memlens_proc__smaps(struct memlens_proc *proc, struct memlens_usage_set **out);
MEMLENS_API size_t memlens_usage_set__count(const struct memlens_usage_set *set);
MEMLENS_API const struct memlens_vma_usage *memlens_usage_set__get(const struct memlens_usage_set *set, size_t i);
MEMLENS_API void memlens_usage_set__free(struct memlens_usage_set *set);
/* /proc/<pid>/smaps_rollup (4.14+): a set of one record (present 0: a
 * kernel thread, no memory of its own); -ESRCH if it exited, -ETIMEDOUT if
 * it is stalled (as memlens_proc__smaps).  0.5: before, it filled a
 * caller's struct (kept for programs built against 0.4) */
MEMLENS_API int memlens__rollup(struct memlens *ml, pid_t pid, struct memlens_usage_set **out);
/* 0.5: the smaps figures of each of n VMAs (of any processes, from any
 * source): record i is v[i]'s VMA with the fields of its smaps entry, read
 * once per process; present 0 where the process is gone, unreadable or
 * stalled, or the mapping changed since (not the same end and inode).
 * librank's per-object Rss and Pss are these summed. */
MEMLENS_API int memlens__vmas_usage(struct memlens *ml, const struct memlens_vma *const *v, size_t n,
				    struct memlens_usage_set **out);

/* ---- page backing: present, swapped, huge ---------------------------- */

#define MEMLENS_PAGE_PRESENT	0x01
#define MEMLENS_PAGE_SWAPPED	0x02
#define MEMLENS_PAGE_FILE	0x04	/* file page or shared anonymous */
#define MEMLENS_PAGE_THP	0x08	/* a transparent huge page maps it */
#define MEMLENS_PAGE_HUGETLB	0x10	/* a hugetlbfs page maps it */

struct memlens_page_range {
	uint64_t start, end;
	uint32_t flags;		/* MEMLENS_PAGE_*; ranges with none are not listed */
};

struct memlens_pages_opts {
	size_t sz;
	enum memlens_source source;	/* PAGEMAP_SCAN, PAGEMAP, SMAPS or AUTO */
	uint64_t start, end;	/* 0, 0: every VMA */
	size_t :0;
};
#define memlens_pages_opts__last_field end

struct memlens_pages;
MEMLENS_API int memlens_proc__pages(struct memlens_proc *proc, const struct memlens_pages_opts *opts,
				    struct memlens_pages **out);
MEMLENS_API size_t memlens_pages__count(const struct memlens_pages *p);
MEMLENS_API const struct memlens_page_range *memlens_pages__get(const struct memlens_pages *p, size_t i);
MEMLENS_API enum memlens_source memlens_pages__source(const struct memlens_pages *p);
/* why this source; for pagemap without root: huge pages unknown */
MEMLENS_API const char *memlens_pages__reason(const struct memlens_pages *p);
/* false when the source cannot tell huge pages apart (pagemap without PFNs, smaps) */
MEMLENS_API bool memlens_pages__knows_huge(const struct memlens_pages *p);
MEMLENS_API void memlens_pages__free(struct memlens_pages *p);

/* ---- whole-system snapshot ------------------------------------------ */

struct memlens_proc_usage {
	int32_t pid;
	char comm[16];
	uint64_t vss, rss, pss, uss, swap, swap_pss;	/* bytes */
	uint64_t dmabuf_rss, dmabuf_pss;		/* bytes */
	/* with memlens_snapshot_opts.cgroups (else NULL and ""): the unified
	 * (v2) cgroup path, or where that is the root on a hybrid or v1
	 * machine the memory controller's v1 path ("" if unreadable); the
	 * container id (64 hex: docker, containerd, cri-o, podman) and the
	 * Kubernetes pod uid the path names, "" where none */
	const char *cgroup;
	char container[65];
	char pod[37];
	/* with memlens_snapshot_opts.owner: the effective uid, else UINT32_MAX */
	uint32_t uid;
	/* with memlens_snapshot_opts.cmdline: /proc/<pid>/cmdline, its NULs as
	 * spaces, at most 4095 bytes (the process chose them: any bytes but
	 * NUL); "" if it has none or it could not be read; else NULL */
	const char *cmdline;
	/* 0.5: KSM-merged pages it maps, bytes (smaps_rollup's KSM, 6.6+; 0 before) */
	uint64_t ksm;
	/* 0.6: what was read (MEMLENS_USAGE_F_*).  Without F_ROLLUP only the
	 * mm counters were read (no page walk): pss, uss, swap_pss and ksm
	 * are then 0 because unknown, not because there are none */
	uint32_t flags;
	/* 0.6, with F_COUNTERS: the resident pages by kind, bytes (status's
	 * RssAnon, RssFile, RssShmem: the kernel's mm counters) */
	uint64_t rss_anon, rss_file, rss_shmem;
	/* 0.6: when it started, clock ticks after boot (stat's starttime): with
	 * the pid, which process this is across snapshots */
	uint64_t start_time;
};

/* memlens_proc_usage.flags */
enum {
	MEMLENS_USAGE_F_ROLLUP = 1,	/* smaps_rollup read: pss, uss, swap_pss, ksm are its */
	MEMLENS_USAGE_F_COUNTERS = 2,	/* the mm counters read: rss_anon, rss_file, rss_shmem */
	MEMLENS_USAGE_F_OVER_BUDGET = 4,	/* its rollup was due, but the budget ran out first */
};

struct memlens_snapshot_opts {
	size_t sz;
	bool dmabuf;		/* add DMA-BUF Rss/Pss (one pass of the DMA-BUF sources) */
	const char *pin_dir;
	bool cgroups;		/* fill cgroup, container, pod (one more read per process) */
	bool owner;		/* fill uid (one more read per process) */
	bool cmdline;		/* fill cmdline (one more read per process) */
	/* with .dmabuf: keep the DMA-BUF pass (memlens_snapshot__dmabuf()) */
	bool keep_dmabuf;
	/* only these processes (npids of them; NULL: every process in /proc):
	 * the others are not read, so not counted as exited or unreadable */
	const int32_t *pids;
	size_t npids;
	/* with .dmabuf: its source, MEMLENS_SOURCE_DMABUF_BPF or _PROCFS; AUTO:
	 * the best available (pins, then bpf, then procfs) */
	enum memlens_source dmabuf_source;
	/* 0.6: the mm counters only, for every process: rss by kind, swap and
	 * vss, no smaps_rollup (no page walk, no mmap lock): the cheap tier */
	bool counters_only;
	/* 0.6: at most this long (ms; 0: no bound) reading smaps_rollups: no
	 * read starts after it, one in progress is abandoned at it (the process
	 * then counts as over budget, and stays so while that read lasts);
	 * the processes not read get counter rows flagged F_OVER_BUDGET */
	unsigned int budget_ms;
	/* 0.6: counter rows only for these processes (nskip of them): the
	 * caller has recent rollups of theirs (large processes read less often) */
	const int32_t *skip_rollup;
	size_t nskip_rollup;
	/* 0.6: where counter rows come from (job MEMLENS_JOB_COUNTERS):
	 * MEMLENS_SOURCE_COUNTERS_BPF (one pass for every process) or _PROCFS
	 * (status, one file each); AUTO: the best usable */
	enum memlens_source counters_source;
	/* 0.6: rows with a rollup get the mm counters' split too (rss_anon,
	 * rss_file, rss_shmem; F_COUNTERS), from that source */
	bool counters;
	size_t :0;
};
#define memlens_snapshot_opts__last_field counters

struct memlens_snapshot;
MEMLENS_API int memlens__snapshot(struct memlens *ml, const struct memlens_snapshot_opts *opts,
				  struct memlens_snapshot **out);
MEMLENS_API size_t memlens_snapshot__count(const struct memlens_snapshot *s);
MEMLENS_API const struct memlens_proc_usage *memlens_snapshot__get(const struct memlens_snapshot *s, size_t i);
/* processes that exited during the snapshot (dropped), and that could not be read */
MEMLENS_API size_t memlens_snapshot__exited(const struct memlens_snapshot *s);
MEMLENS_API size_t memlens_snapshot__unreadable(const struct memlens_snapshot *s);
/* the i-th process that could not be read (in pid order): its pid, and its
 * comm ("" if that was hidden too); -1 and NULL past the end */
MEMLENS_API int32_t memlens_snapshot__unreadable_pid(const struct memlens_snapshot *s, size_t i);
MEMLENS_API const char *memlens_snapshot__unreadable_comm(const struct memlens_snapshot *s, size_t i);
/* with .owner: its effective uid (status is readable where maps is not);
 * (uint32_t)-1 when unknown */
MEMLENS_API uint32_t memlens_snapshot__unreadable_uid(const struct memlens_snapshot *s, size_t i);
/* processes whose smaps_rollup (or cmdline) made no progress for
 * memlens_opts.stall_ms: their mmap lock is held (a FUSE fault that never
 * ends, say); left out of the rows, the others answered.  In pid order;
 * -1 and NULL past the end. */
MEMLENS_API size_t memlens_snapshot__stalled(const struct memlens_snapshot *s);
/* 0.6: the source of the counter rows; AUTO when no row needed one */
MEMLENS_API enum memlens_source memlens_snapshot__counters_source(const struct memlens_snapshot *s);
/* 0.6: rows flagged MEMLENS_USAGE_F_OVER_BUDGET (memlens_snapshot_opts.budget_ms) */
MEMLENS_API size_t memlens_snapshot__over_budget(const struct memlens_snapshot *s);
MEMLENS_API int32_t memlens_snapshot__stalled_pid(const struct memlens_snapshot *s, size_t i);
MEMLENS_API const char *memlens_snapshot__stalled_comm(const struct memlens_snapshot *s, size_t i);
/* with .keep_dmabuf: the DMA-BUF pass the figures came from (buffers,
 * kernel-only ones included), owned by the snapshot; else NULL */
struct memlens_dmabuf;
MEMLENS_API const struct memlens_dmabuf *memlens_snapshot__dmabuf(const struct memlens_snapshot *s);
/* 0.7: when s was taken (its start): the wall clock (CLOCK_REALTIME) and
 * the time since boot, suspend included (CLOCK_BOOTTIME); either may be
 * NULL.  0, or -EINVAL */
struct timespec;
MEMLENS_API int memlens_snapshot__time(const struct memlens_snapshot *s, struct timespec *wall,
				       struct timespec *since_boot);
/* 0.7: the boot it was taken in (/proc/sys/kernel/random/boot_id: 36
 * characters, "" if unreadable), and the host's name (uname's nodename:
 * the UTS namespace's) */
MEMLENS_API const char *memlens_snapshot__boot_id(const struct memlens_snapshot *s);
MEMLENS_API const char *memlens_snapshot__hostname(const struct memlens_snapshot *s);
/* /proc/meminfo MemTotal and MemAvailable, bytes */
MEMLENS_API uint64_t memlens_snapshot__mem_total(const struct memlens_snapshot *s);
MEMLENS_API uint64_t memlens_snapshot__mem_available(const struct memlens_snapshot *s);
/* where the DMA-BUF columns came from; AUTO: not asked, or no source could answer */
MEMLENS_API enum memlens_source memlens_snapshot__dmabuf_source(const struct memlens_snapshot *s);
/* with .dmabuf: why the DMA-BUF pass gave nothing, as memlens__dmabuf()
 * returned it (-ENOENT: pins or source unavailable, -EACCES/-EPERM: pins
 * that cannot be read, ...); 0 when it answered or was not asked.  The
 * processes' figures are still there: a failed DMA-BUF pass never fails
 * the snapshot, and the caller says what it means (the CLI fails a source
 * or pin directory the user named, the exporter counts it). */
MEMLENS_API int memlens_snapshot__dmabuf_error(const struct memlens_snapshot *s);
MEMLENS_API void memlens_snapshot__free(struct memlens_snapshot *s);

/* ---- every process ------------------------------------------------- */

struct memlens_maps_all_opts {
	size_t sz;
	enum memlens_source source;	/* a VMA source; AUTO: the best for MEMLENS_JOB_WALK_ALL */
	bool build_ids;
	size_t :0;
};
#define memlens_maps_all_opts__last_field build_ids

/**
 * memlens__maps_all() - every VMA of every process the caller may read, in
 * (pid, address) order; with the BPF source in one pass over all tasks.
 * Processes that exit or cannot be read during the walk are left out and
 * counted: memlens_vma_set__exited() and memlens_vma_set__unreadable().
 */
MEMLENS_API int memlens__maps_all(struct memlens *ml, const struct memlens_maps_all_opts *opts,
				  struct memlens_vma_set **out);

/* ---- DMA-BUF accounting -------------------------------------------- */

struct memlens_dmabuf_opts {
	size_t sz;
	enum memlens_source source;	/* DMABUF_BPF, DMABUF_PROCFS or AUTO */
	pid_t pid;		/* 0: every process; else only this one (the system list stays whole) */
	/* pinned iterators (memlens bpf pin).  NULL: MEMLENS_PIN_DIR when its pins
	 * are readable, else the next source.  Set: these pins are asked for, and
	 * unreadable ones are an error (-ENOENT, -EACCES, -EPERM), not a fallback */
	const char *pin_dir;
	size_t :0;
};
#define memlens_dmabuf_opts__last_field pin_dir

#define MEMLENS_PIN_DIR "/sys/fs/bpf/memlens"

struct memlens_dmabuf_buf {
	uint64_t ino;
	uint64_t size;
	uint64_t file_refs;	/* references to its struct file; 0 if unknown */
	const char *exporter;	/* "" if unknown */
	const char *name;	/* "" if unnamed */
	uint32_t nr_procs;	/* processes holding it by fd or mapping */
	uint32_t fd_refs;	/* fds on it, all processes */
	uint32_t map_refs;	/* VMAs mapping it, all processes */
	bool kernel_only;	/* in the system list, held by no process */
};

/* One fd table or address space holding buffers: a process, or a thread of it
 * with an fd table of its own (tid != 0). */
struct memlens_dmabuf_holder {
	int32_t pid;
	int32_t tid;		/* 0: the process; else a thread with its own fd table */
	const char *comm;
};

/* fd and map references of one holder to one buffer */
struct memlens_dmabuf_ref {
	uint32_t holder;	/* index into holders */
	uint32_t buf;		/* index into buffers */
	uint32_t fd_refs;
	uint32_t map_refs;
};

/* one fd on a buffer, in the order the kernel lists them (the seed's per-task view) */
struct memlens_dmabuf_fd {
	uint32_t holder;
	uint32_t fd;
	uint64_t ino;
};

struct memlens_dmabuf_proc {
	int32_t pid;
	const char *comm;
	uint64_t rss;		/* sum of sizes of the distinct buffers it holds by fd or mapping */
	uint64_t pss;		/* sum of size / nr_procs */
};

struct memlens_dmabuf;

/**
 * memlens__dmabuf() - who holds which DMA-BUFs, system-wide.
 * Return: 0 and *out, or a negative errno (-EOPNOTSUPP: forced source unavailable).
 */
MEMLENS_API int memlens__dmabuf(struct memlens *ml, const struct memlens_dmabuf_opts *opts,
				struct memlens_dmabuf **out);
MEMLENS_API void memlens_dmabuf__free(struct memlens_dmabuf *d);
MEMLENS_API size_t memlens_dmabuf__buf_count(const struct memlens_dmabuf *d);
MEMLENS_API const struct memlens_dmabuf_buf *memlens_dmabuf__buf(const struct memlens_dmabuf *d, size_t i);
MEMLENS_API size_t memlens_dmabuf__holder_count(const struct memlens_dmabuf *d);
MEMLENS_API const struct memlens_dmabuf_holder *memlens_dmabuf__holder(const struct memlens_dmabuf *d, size_t i);
MEMLENS_API size_t memlens_dmabuf__ref_count(const struct memlens_dmabuf *d);
MEMLENS_API const struct memlens_dmabuf_ref *memlens_dmabuf__ref(const struct memlens_dmabuf *d, size_t i);
MEMLENS_API size_t memlens_dmabuf__fd_count(const struct memlens_dmabuf *d);
MEMLENS_API const struct memlens_dmabuf_fd *memlens_dmabuf__fd(const struct memlens_dmabuf *d, size_t i);
MEMLENS_API size_t memlens_dmabuf__proc_count(const struct memlens_dmabuf *d);
MEMLENS_API const struct memlens_dmabuf_proc *memlens_dmabuf__proc(const struct memlens_dmabuf *d, size_t i);
/* which source answered, and where the system-wide list came from ("bpf", "debugfs", "sysfs", "none") */
MEMLENS_API enum memlens_source memlens_dmabuf__source(const struct memlens_dmabuf *d);
MEMLENS_API const char *memlens_dmabuf__source_reason(const struct memlens_dmabuf *d);
MEMLENS_API const char *memlens_dmabuf__system_list(const struct memlens_dmabuf *d);
/* processes that exited during the scan, and that could not be read (permission) */
MEMLENS_API size_t memlens_dmabuf__exited(const struct memlens_dmabuf *d);
MEMLENS_API size_t memlens_dmabuf__unreadable(const struct memlens_dmabuf *d);
/* the i-th process that could not be read; -1 and errno ERANGE past the end */
MEMLENS_API int32_t memlens_dmabuf__unreadable_pid(const struct memlens_dmabuf *d, size_t i);

struct memlens_pin_opts {
	size_t sz;
	/* who may read the pins: a subset of 0444, owner's read always added;
	 * 0: 0440 (root and @gid).  The pinned iterators report every process's
	 * buffers, names and fds, also those /proc hides from the reader
	 * (hidepid): readable by everyone (0444) only when asked */
	mode_t mode;
	gid_t gid;		/* the group of the directory and pins (0: root's) */
	size_t :0;
};
#define memlens_pin_opts__last_field gid

/**
 * memlens__bpf_pin() - load the DMA-BUF iterators and pin their links in
 * @dir (NULL: MEMLENS_PIN_DIR), so that readers without CAP_BPF can read
 * them.  The directory is created, or must already be a pin directory (on
 * bpffs, owned by root, writable by no one else); it and the pins get @opts'
 * group and mode (the directory 0700 plus search for whoever may read).
 * Return: 0, -EINVAL for a mode outside 0444, -EPERM for a directory that
 * is not a pin directory, other -errno.  memlens__bpf_unpin() removes the
 * pins and the directory, and nothing else.
 */
MEMLENS_API int memlens__bpf_pin(struct memlens *ml, const char *dir, const struct memlens_pin_opts *opts);
MEMLENS_API int memlens__bpf_unpin(struct memlens *ml, const char *dir);

/* ---- who maps what ------------------------------------------------ */

struct memlens_who_maps_opts {
	size_t sz;
	enum memlens_source source;	/* a VMA source; AUTO: the best for MEMLENS_JOB_WALK_ALL */
	size_t :0;
};
#define memlens_who_maps_opts__last_field source

/**
 * memlens__who_maps() - every VMA, in every process the caller may read, that
 * maps the object (dev major:minor, inode): a file, memfd, SysV segment,
 * DMA-BUF or shared anonymous region.  Processes that exited or could not be
 * read are counted as memlens__maps_all() counts them.
 */
MEMLENS_API int memlens__who_maps(struct memlens *ml, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
				  const struct memlens_who_maps_opts *opts, struct memlens_vma_set **out);
/**
 * memlens_vma__check_map_file() - open the exact inode behind a file-backed VMA
 * through /proc/<pid>/map_files (deleted files included) and check it is the
 * one the record names.  Return: 0 it is, -ESTALE it is not, -EPERM/-EACCES no
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, -ENOENT the mapping is gone.
 */
MEMLENS_API int memlens_vma__check_map_file(struct memlens *ml, const struct memlens_vma *vma);

#ifdef __cplusplus
}
#endif
#endif

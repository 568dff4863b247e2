/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ELF build IDs read from the mapped file (build_id.c). */
#ifndef MEMLENS_BUILD_ID_H
#define MEMLENS_BUILD_ID_H

#include "source.h"

/* the build ID of v's file, opened by the build ID source how (its
 * bid.open: map_files or proc_root), cached by (dev, inode) in the context */
ML_HIDDEN int ml_build_id_fill(struct memlens *ml, const struct ml_source *how, struct memlens_vma *v);
ML_HIDDEN void ml_bid_cache_free(struct ml_bid_cache *c);
/* symbolize.c's cache of opened files */
ML_HIDDEN void ml_sym_cache_free(struct ml_sym_cache *c);
/* symbolize.c's answers at vaddrs in the ELF file open at fd (consumed): the fuzzer's way in */
ML_HIDDEN int ml_symbolize_fd(int fd, const uint64_t *vaddrs, size_t n, bool inlines, struct memlens_syms **out);
/* the GNU build ID note of an ELF image in memory; 0 and *size, -ENOENT none, -ENOEXEC not ELF */
ML_HIDDEN int ml_elf_build_id_mem(const void *data, size_t len, unsigned char *id, uint32_t *size);
ML_HIDDEN int ml_elf_build_id_fd(int fd, unsigned char *id, uint32_t *size);
/* the ELF virtual address of file_offset in v's file, through its PT_LOAD
 * headers (the file opened as for the build ID, cached with it): 0, or
 * -ENOENT (not ELF, no PT_LOAD holds it), or why the file could not be opened */
ML_HIDDEN int ml_elf_vaddr(struct memlens *ml, const struct ml_source *how, const struct memlens_vma *v,
			   uint64_t file_offset, uint64_t *vaddr);
/* the build ID of a [vdso] VMA, read from the process's memory */
ML_HIDDEN int ml_vdso_build_id(struct memlens_vma *v);

#endif

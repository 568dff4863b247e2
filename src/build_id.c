// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF build IDs for sources that do not give them (text, BPF, PROCMAP_QUERY
 * before 6.12): the NT_GNU_BUILD_ID note read with libelf from the exact
 * mapped inode (/proc/<pid>/map_files, needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE) or from /proc/<pid>/root/<path> when its inode
 * matches.  Results, failures included, are cached by (dev, inode).
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include <unistd.h>
#include "build_id.h"
#include "source.h"

#define NT_GNU_BUILD_ID_TYPE 3

/* a PT_LOAD: file bytes [offset, offset + filesz) are at vaddr */
struct elf_load {
	uint64_t offset, filesz, vaddr;
};
#define ML_LOADS_MAX 16

struct bid_entry {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	int32_t err;
	uint32_t size;
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	bool used;
	uint8_t nload;		/* the first ML_LOADS_MAX PT_LOADs */
	struct elf_load load[ML_LOADS_MAX];
};

struct ml_bid_cache {
	struct bid_entry *e;
	size_t cap, n;
};

void ml_bid_cache_free(struct ml_bid_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

static size_t bid_hash(uint32_t maj, uint32_t min, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)maj << 32 | min) * 0xc2b2ae3d27d4eb4fULL;

	return (size_t)(h ^ h >> 29);
}

static struct bid_entry *bid_slot(struct ml_bid_cache *c, const struct memlens_vma *v)
{
	size_t i = bid_hash(v->dev_major, v->dev_minor, v->inode) & (c->cap - 1);

	for (;; i = (i + 1) & (c->cap - 1)) {
		struct bid_entry *e = &c->e[i];

		if (!e->used || (e->inode == v->inode && e->dev_major == v->dev_major && e->dev_minor == v->dev_minor))
			return e;
	}
}

static int bid_grow(struct ml_bid_cache *c)
{
	struct ml_bid_cache n = { .cap = c->cap ? c->cap * 2 : 64 };

	n.e = calloc(n.cap, sizeof(*n.e));
	if (!n.e)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->e[i].used) {
			struct memlens_vma k = { .inode = c->e[i].inode, .dev_major = c->e[i].dev_major,
						 .dev_minor = c->e[i].dev_minor };
			*bid_slot(&n, &k) = c->e[i];
		}
	}
	free(c->e);
	c->e = n.e;
	c->cap = n.cap;
	return 0;
}

static int note_scan(Elf_Data *data, unsigned char *id, uint32_t *size)
{
	size_t off = 0, name_off, desc_off, next;
	GElf_Nhdr nh;

	while (off < data->d_size && (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID_TYPE && nh.n_namesz == 4 && nh.n_descsz > 0 &&
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0) {
			uint32_t n = nh.n_descsz > MEMLENS_BUILD_ID_MAX ? MEMLENS_BUILD_ID_MAX : nh.n_descsz;

			memcpy(id, (char *)data->d_buf + desc_off, n);
			*size = n;
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

/*
 * Bounds: the file belongs to the target, which may make it a sparse
 * gigabyte of "notes" or truncate it while we read.  Nothing is mmapped
 * (libelf reads with pread: a truncated file is a read error, not SIGBUS),
 * and at most ML_NOTE_MAX bytes of one note segment or section, ML_NOTES_MAX
 * in all, 512 program headers and 4096 section headers are looked at.  The
 * kernel's own build_id_parse() looks at the first page of notes only.
 */
#define ML_NOTE_MAX (64 * 1024)
#define ML_NOTES_MAX (256 * 1024)
#define ML_PHDRS_MAX 512
#define ML_SHDRS_MAX 4096

static int elf_build_id(Elf *elf, unsigned char *id, uint32_t *size)
{
	size_t nph = 0, nsh = 0, budget = ML_NOTES_MAX;
	Elf_Scn *scn = NULL;

	if (elf_kind(elf) != ELF_K_ELF)
		return -ENOEXEC;
	/* program headers first, as the kernel does; then sections */
	if (elf_getphdrnum(elf, &nph) == 0 && nph <= ML_PHDRS_MAX) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			Elf_Data *d;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			if (ph.p_filesz > ML_NOTE_MAX || ph.p_filesz > budget)
				continue;
			budget -= ph.p_filesz;
			d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (d && note_scan(d, id, size) == 0)
				return 0;
		}
	}
	if (elf_getshdrnum(elf, &nsh) || nsh > ML_SHDRS_MAX)
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d = NULL;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || sh.sh_size > ML_NOTE_MAX || sh.sh_size > budget)
			continue;
		budget -= sh.sh_size;
		while ((d = elf_getdata(scn, d)))
			if (note_scan(d, id, size) == 0)
				return 0;
	}
	return -ENOENT;
}

static void elf_loads(Elf *elf, struct bid_entry *e)
{
	size_t nph = 0;

	e->nload = 0;
	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph) || nph > ML_PHDRS_MAX)
		return;
	for (size_t i = 0; i < nph && e->nload < ML_LOADS_MAX; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_filesz &&
		    ph.p_offset + ph.p_filesz > ph.p_offset)
			e->load[e->nload++] = (struct elf_load){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
}

/* the build ID and the PT_LOADs of the file fd */
static int file_info(int fd, struct bid_entry *e)
{
	Elf *elf;
	int err;

	e->nload = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ELIBBAD;
	/* ELF_C_READ: pread, never mmap, of a file someone else may truncate */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	err = elf_build_id(elf, e->id, &e->size);
	elf_loads(elf, e);
	elf_end(elf);
	return err;
}

int ml_elf_build_id_fd(int fd, unsigned char *id, uint32_t *size)
{
	struct bid_entry e;
	int err = file_info(fd, &e);

	if (!err) {
		memcpy(id, e.id, e.size);
		*size = e.size;
	}
	return err;
}

int ml_elf_build_id_mem(const void *data, size_t len, unsigned char *id, uint32_t *size)
{
	Elf *elf;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ELIBBAD;
	elf = elf_memory((char *)data, len);
	if (!elf)
		return -ENOEXEC;
	err = elf_build_id(elf, id, size);
	elf_end(elf);
	return err;
}

/* the mapped file itself: a regular file with the mapping's device and inode */
static int check_mapped(int fd, const struct memlens_vma *v)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != v->inode || major(st.st_dev) != v->dev_major ||
	    minor(st.st_dev) != v->dev_minor) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * The path maps names, opened inside the target's root: never following a
 * symlink, magic or not, that the target may have planted since (openat2,
 * 5.6+); before 5.6 the last component is not followed and the device and
 * inode check below refuses any other file.
 */
static int open_in_root(pid_t pid, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	char path[4200];
	int dfd, fd;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, name + 1, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dfd, name + 1, (int)how.flags);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

/* the proc_root source: the path in the process's root, when its inode is
 * still the mapped one; deleted files have none */
static int open_root(pid_t pid, const struct memlens_vma *v)
{
	static const char deleted[] = " (deleted)";
	size_t nl = strlen(v->name), dl = sizeof(deleted) - 1;
	int fd;

	/* a deleted file is reachable only through map_files */
	if (v->name[0] != '/' || (nl >= dl && strcmp(v->name + nl - dl, deleted) == 0))
		return -EPERM;
	if (nl >= 4096)
		return -ENAMETOOLONG;
	fd = open_in_root(pid, v->name);
	/* the path may now name another file than the mapped one */
	return fd < 0 ? fd : check_mapped(fd, v);
}

/* the map_files source: the mapping's own file, else as proc_root */
static int open_map_files(pid_t pid, const struct memlens_vma *v)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)v->start,
		 (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0)
		return check_mapped(fd, v);
	return open_root(pid, v);
}

static int open_mapped(const struct ml_source *how, pid_t pid, const struct memlens_vma *v)
{
	return how && how->bid.open ? how->bid.open(pid, v) : -EINVAL;
}

int ml_build_id_fill(struct memlens *ml, const struct ml_source *how, struct memlens_vma *v)
{
	struct bid_entry *e;
	int fd;

	if (!ml->bid) {
		ml->bid = calloc(1, sizeof(*ml->bid));
		if (!ml->bid)
			return -ENOMEM;
	}
	if (ml->bid->n * 2 >= ml->bid->cap && bid_grow(ml->bid))
		return -ENOMEM;
	e = bid_slot(ml->bid, v);
	if (!e->used) {
		e->used = true;
		e->inode = v->inode;
		e->dev_major = v->dev_major;
		e->dev_minor = v->dev_minor;
		e->size = 0;
		fd = open_mapped(how, v->pid, v);
		if (fd < 0) {
			/* -ENOENT here is a path gone, not a file without a note */
			e->err = fd == -ENOENT ? -ESTALE : fd;
		} else {
			e->err = file_info(fd, e);
			close(fd);
			/* not an ELF file, or one without the note: no build ID, no error */
			if (e->err == -ENOEXEC || e->err == -ENOENT)
				e->err = 0;
		}
		v->build_id_size = e->size;
		v->build_id_err = e->err;
		memcpy(v->build_id, e->id, e->size);
		/* failures to open belong to this process and this moment: keep
		 * only answers about the file.  The slot was empty and nothing was
		 * added after it, so freeing it keeps the probe chains intact. */
		if (e->err)
			e->used = false;
		else
			ml->bid->n++;
		return 0;
	}
	v->build_id_size = e->size;
	v->build_id_err = e->err;
	memcpy(v->build_id, e->id, e->size);
	return 0;
}

int ml_elf_vaddr(struct memlens *ml, const struct ml_source *how, const struct memlens_vma *v, uint64_t file_offset,
		 uint64_t *vaddr)
{
	struct memlens_vma tmp = *v;	/* the caller's build ID fields stay as they are */
	struct bid_entry *e;
	int err;

	if (!v->inode)
		return -ENOENT;
	e = ml->bid && ml->bid->cap ? bid_slot(ml->bid, v) : NULL;
	if (!e || !e->used) {
		tmp.build_id_size = 0;
		err = ml_build_id_fill(ml, how, &tmp);
		if (err)
			return err;
		if (tmp.build_id_err)
			return tmp.build_id_err;
		e = bid_slot(ml->bid, v);
		if (!e->used)
			return -ENOENT;
	}
	for (uint8_t i = 0; i < e->nload; i++)
		if (file_offset >= e->load[i].offset && file_offset - e->load[i].offset < e->load[i].filesz) {
			*vaddr = file_offset - e->load[i].offset + e->load[i].vaddr;
			return 0;
		}
	return -ENOENT;	/* not ELF, or the offset is in no PT_LOAD */
}

/* our own [vdso]'s address and size, from our maps (once) */
static int own_vdso(uint64_t *start, uint64_t *len)
{
	static uint64_t s, l;
	static int known;	/* 0 not yet, 1 found, -1 none */

	if (!known) {
		char line[512];
		FILE *f = fopen("/proc/self/maps", "re");
		unsigned long long a, b;

		known = -1;
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, " [vdso]") && sscanf(line, "%llx-%llx", &a, &b) == 2) {
				s = a, l = b - a, known = 1;
				break;
			}
		if (f)
			fclose(f);
	}
	*start = s, *len = l;
	return known == 1 ? 0 : -ENOENT;
}

/* whether pid is a 64-bit process whose vDSO starts at start: its auxv,
 * read as 64-bit pairs, has AT_SYSINFO_EHDR at exactly that address (read
 * as 32-bit pairs it could not) */
static bool vdso_like_ours(pid_t pid, uint64_t start)
{
	uint64_t aux[128];
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, aux, sizeof(aux));
	close(fd);
	for (ssize_t i = 0; n > 0 && sizeof(void *) == 8 && i + 1 < n / 8; i += 2)
		if (aux[i] == 33 /* AT_SYSINFO_EHDR */)
			return aux[i + 1] == start;
	return false;
}

/*
 * [vdso] has no file: its image is read from the target's memory
 * (/proc/<pid>/mem, PTRACE_MODE_ATTACH), at most 64 KiB, and parsed as any
 * ELF the target may have written to (a debugger's breakpoints are private
 * copies of vDSO pages).  Without the right to read it, a 64-bit process's
 * vDSO is the kernel's one 64-bit image, ours: read from our own memory.
 */
int ml_vdso_build_id(struct memlens_vma *v)
{
	uint64_t len = v->end - v->start, own, own_len;
	char path[64];
	void *buf;
	ssize_t n = -1;
	int fd, err;

	v->build_id_size = 0;
	if (!len || len > 64 * 1024)
		return v->build_id_err = -E2BIG;
	buf = malloc(len);
	if (!buf)
		return v->build_id_err = -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)v->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		n = pread(fd, buf, len, (off_t)v->start);
		err = n < 0 ? -errno : (uint64_t)n != len ? -EIO : 0;
		close(fd);
	}
	if (err && err != -ENOMEM && own_vdso(&own, &own_len) == 0 && own_len == len && vdso_like_ours(v->pid, v->start)) {
		memcpy(buf, (void *)(uintptr_t)own, len);
		err = 0;
	}
	if (!err) {
		err = ml_elf_build_id_mem(buf, len, v->build_id, &v->build_id_size);
		if (err == -ENOENT || err == -ENOEXEC)
			err = 0;
	}
	free(buf);
	v->build_id_err = err;
	return err;
}

const struct ml_source ml_src_map_files = {
	.id = MEMLENS_SOURCE_MAP_FILES,
	.name = "map_files",
	.iface = MEMLENS_IFACE_MAP_FILES,
	.also = -1,
	.bid = { .open = open_map_files },
};

/* where map_files cannot be opened: the path in the process's root, when
 * its inode is still the mapped one; deleted files have none */
const struct ml_source ml_src_proc_root = {
	.id = MEMLENS_SOURCE_PROC_ROOT,
	.name = "proc_root",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
	.bid = { .open = open_root },
};

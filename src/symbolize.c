// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization (blazesym's symbolize, after normalize): a normalized
 * address's ELF virtual address -> the ELF symbol covering it and the offset
 * into it, its source line, and the inlined calls at it.  elfutils' libdwfl
 * reads the files: .symtab, .dynsym and MiniDebugInfo (.gnu_debugdata) of the
 * mapped file; DWARF from the file, or from a separate debug file.
 *
 * The files are anyone's.  The mapped file is opened as for its build ID
 * (map_files, or the path inside the target's root, regular files only).
 * Debug files are looked for only under /usr/lib/debug, opened beneath it
 * (openat2 RESOLVE_BENEATH: no symlink or ".." out of it, no magic links),
 * regular files only, and used only if their build ID is the mapped file's:
 * a debuglink naming /dev/zero or a build-ID symlink out of /usr/lib/debug
 * gives an answer without DWARF, never a read elsewhere.  Files past
 * ML_SYM_FILE_MAX are not parsed.
 *
 * Each file is reported once into a Dwfl of its own and kept in the context
 * by build ID (else device and inode): a profiler's second batch parses
 * nothing.  Answers own copies of their strings: they outlive the cache.
 */
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "build_id.h"
#include "vma.h"

#define ML_SYM_FILE_MAX (4ULL << 30)	/* a mapped or debug file larger than this is not parsed */
#define ML_DEBUG_ROOT "/usr/lib/debug"
#define ML_SYM_FILES_MAX 256	/* files kept parsed in a context */

static void *arena_alloc(struct ml_arena *a, size_t n)
{
	return ml_arena_alloc(a, n, _Alignof(max_align_t));
}

static const char *arena_str(struct ml_arena *a, const char *s)
{
	return s ? ml_arena_strndup(a, s, strlen(s)) : NULL;
}

/* a file's answers by ELF address: batches repeat addresses (a profile's hot
 * functions), and a DWARF scope walk costs far more than a lookup */
#define ML_SYM_MEMO_MAX (1u << 16)

struct ml_sym_memo {
	uint64_t vaddr;
	bool used, with_inlines;
	struct memlens_sym ans;	/* strings in libdw's memory or the file's arena */
};

struct ml_sym_file {
	/* the key: the build ID when the VMA has one, else device and inode */
	unsigned char bid[MEMLENS_BUILD_ID_MAX];
	uint32_t bid_size;
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	int err;	/* why there is no module (cached as well) */
	bool debuginfod;	/* created for a batch that asked debuginfod servers */
	struct ml_sym_memo *memo;	/* open addressing, memo_cap a power of two */
	size_t memo_n, memo_cap;
	struct ml_arena arena;		/* the memo's own strings (composed paths) and inline arrays */
};

struct ml_sym_cache {
	struct ml_sym_file *v;
	size_t n, cap;
};

struct memlens_syms {
	struct memlens_sym *s;
	size_t n;
	struct ml_arena arena;	/* the answers' strings and inline arrays */
};

static void file_free(struct ml_sym_file *f);

void ml_sym_cache_free(struct ml_sym_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		file_free(&c->v[i]);
	free(c->v);
	free(c);
}

/* 0 if fd is a regular file within the size limit, else -EFBIG (a FIFO,
 * a device or a huge file is never parsed) */
static int parsable(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= ML_SYM_FILE_MAX ? 0 : -EFBIG;
}

/* a file beneath /usr/lib/debug: regular, within the size limit; -errno */
static int open_debug(const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int dir, fd;

	dir = open(ML_DEBUG_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* before 5.6: no symlink at all, and no ".." in the name */
		fd = strstr(rel, "..") ? (errno = EXDEV, -1) : openat(dir, rel, how.flags | O_NOFOLLOW);
	}
	if (fd < 0) {
		int err = -errno;

		close(dir);
		return err;
	}
	close(dir);
	if (parsable(fd)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* fd if its build ID is want's, else closed and -1 */
static int same_build_id(int fd, const unsigned char *want, int want_len)
{
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	uint32_t size = 0;

	if (fd >= 0 && want_len > 0 && !ml_elf_build_id_fd(fd, id, &size) && size == (uint32_t)want_len &&
	    !memcmp(id, want, size))
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- libdw: loaded when a first file is symbolized, not at start.
 * Most commands, and the exporter, never symbolize: they need not map
 * libdw, liblzma and libbz2 (about 0.3 MB of resident pages). */
#define ML_DW_SYMS(X)                                                                                    \
	X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_child) X(dwarf_diecu) X(dwarf_diename)             \
	X(dwarf_filesrc) X(dwarf_formstring) X(dwarf_formudata) X(dwarf_getscopes_die)                   \
	X(dwarf_getsrcfiles) X(dwarf_haspc) X(dwarf_siblingof) X(dwarf_tag) X(dwfl_begin) X(dwfl_end)    \
	X(dwfl_linecu) X(dwfl_lineinfo) X(dwfl_module_addrdie) X(dwfl_module_addrinfo)                   \
	X(dwfl_module_build_id) X(dwfl_module_getsrc) X(dwfl_module_info) X(dwfl_offline_section_address) \
	X(dwfl_report_elf) X(dwfl_report_end)
#define ML_DW_PTR(f) static __typeof__(f) *dw_##f;
ML_DW_SYMS(ML_DW_PTR)
#define ML_DW_LOAD(f) ok = ok && (*(void **)&dw_##f = dlsym(h, #f));

static Dwfl_Callbacks callbacks;	/* defined below, find_debuginfo's */

/* libdw's functions resolved: 0, or -ELIBACC where it cannot be loaded */
static int dw_load(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int err = 1;
	void *h;
	bool ok = true;

	pthread_mutex_lock(&lock);
	if (err > 0) {
		h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
		ok = h;
		ML_DW_SYMS(ML_DW_LOAD)
		if (ok)
			callbacks.section_address = dw_dwfl_offline_section_address;
		else if (h)
			dlclose(h);
		err = ok ? 0 : -ELIBACC;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

/* from here on, libdw's names call the loaded functions */
#define dwarf_attr dw_dwarf_attr
#define dwarf_attr_integrate dw_dwarf_attr_integrate
#define dwarf_child dw_dwarf_child
#define dwarf_diecu dw_dwarf_diecu
#define dwarf_diename dw_dwarf_diename
#define dwarf_filesrc dw_dwarf_filesrc
#define dwarf_formstring dw_dwarf_formstring
#define dwarf_formudata dw_dwarf_formudata
#define dwarf_getscopes_die dw_dwarf_getscopes_die
#define dwarf_getsrcfiles dw_dwarf_getsrcfiles
#define dwarf_haspc dw_dwarf_haspc
#define dwarf_siblingof dw_dwarf_siblingof
#define dwarf_tag dw_dwarf_tag
#define dwfl_begin dw_dwfl_begin
#define dwfl_end dw_dwfl_end
#define dwfl_linecu dw_dwfl_linecu
#define dwfl_lineinfo dw_dwfl_lineinfo
#define dwfl_module_addrdie dw_dwfl_module_addrdie
#define dwfl_module_addrinfo dw_dwfl_module_addrinfo
#define dwfl_module_build_id dw_dwfl_module_build_id
#define dwfl_module_getsrc dw_dwfl_module_getsrc
#define dwfl_module_info dw_dwfl_module_info
#define dwfl_report_elf dw_dwfl_report_elf
#define dwfl_report_end dw_dwfl_report_end

/* ---- debuginfod: the client library loaded when first asked, as libdwfl
 * itself loads it; only with DEBUGINFOD_URLS set ---- */
#define ML_DEBUGINFOD_MAX_S 30	/* a fetch taking longer is given up */

static struct {
	bool tried;
	debuginfod_client *(*begin)(void);
	int (*find)(debuginfod_client *, const unsigned char *, int, char **);
	void (*progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	void (*set_user_data)(debuginfod_client *, void *);
	void *(*get_user_data)(debuginfod_client *);
	void (*end)(debuginfod_client *);
} dinfod;

static int dinfod_progress(debuginfod_client *c, long a, long b)
{
	const struct timespec *start = dinfod.get_user_data(c);
	struct timespec now;

	(void)a, (void)b;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - start->tv_sec > ML_DEBUGINFOD_MAX_S;
}

static bool dinfod_load(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	void *h;

	pthread_mutex_lock(&lock);
	if (!dinfod.tried) {
		dinfod.tried = true;
		h = dlopen(DEBUGINFOD_SONAME, RTLD_LAZY | RTLD_LOCAL);
		if (h) {
			*(void **)&dinfod.begin = dlsym(h, "debuginfod_begin");
			*(void **)&dinfod.find = dlsym(h, "debuginfod_find_debuginfo");
			*(void **)&dinfod.progressfn = dlsym(h, "debuginfod_set_progressfn");
			*(void **)&dinfod.set_user_data = dlsym(h, "debuginfod_set_user_data");
			*(void **)&dinfod.get_user_data = dlsym(h, "debuginfod_get_user_data");
			*(void **)&dinfod.end = dlsym(h, "debuginfod_end");
			if (!dinfod.begin || !dinfod.find || !dinfod.progressfn || !dinfod.set_user_data ||
			    !dinfod.get_user_data || !dinfod.end)
				dinfod.begin = NULL;
		}
	}
	pthread_mutex_unlock(&lock);
	return dinfod.begin;
}

/* the debug file of build ID bits from the DEBUGINFOD_URLS servers: a
 * regular file in the client's cache, or -1 */
static int dinfod_fetch(const unsigned char *bits, int len)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct timespec start;
	debuginfod_client *c;
	char *path = NULL;
	int fd;

	if (!urls || !*urls || !dinfod_load())
		return -1;
	c = dinfod.begin();
	if (!c)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	dinfod.set_user_data(c, &start);
	dinfod.progressfn(c, dinfod_progress);
	fd = dinfod.find(c, bits, len, &path);
	free(path);
	dinfod.end(c);
	if (fd >= 0 && parsable(fd)) {
		close(fd);
		fd = -1;
	}
	return fd < 0 ? -1 : fd;
}

/* libdwfl's question: a separate debug file for mod.  By build ID under
 * /usr/lib/debug/.build-id, then by debuglink name in /usr/lib/debug
 * followed by the file's directory; only one whose build ID is the file's. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink, GElf_Word crc, char **debuginfo_file_name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr), fd = -1;
	char rel[4096];

	(void)modname, (void)base, (void)crc;
	*debuginfo_file_name = NULL;
	if (len <= 0 || len > MEMLENS_BUILD_ID_MAX)
		return -1;
	{
		int o = snprintf(rel, sizeof(rel), ".build-id/%02x/", bits[0]);

		for (int i = 1; i < len; i++)
			o += snprintf(rel + o, sizeof(rel) - (size_t)o, "%02x", bits[i]);
		snprintf(rel + o, sizeof(rel) - (size_t)o, ".debug");
	}
	fd = same_build_id(open_debug(rel), bits, len);
	if (fd < 0 && debuglink && *debuglink && !strchr(debuglink, '/') && file_name && file_name[0] == '/') {
		const char *slash = strrchr(file_name, '/');

		if (slash == file_name)
			snprintf(rel, sizeof(rel), "%s", debuglink);
		else if ((size_t)snprintf(rel, sizeof(rel), "%.*s/%s", (int)(slash - file_name - 1), file_name + 1,
					  debuglink) >= sizeof(rel))
			return -1;
		fd = same_build_id(open_debug(rel), bits, len);
	}
	/* last, the servers, where this batch asked for them (the module's
	 * user data says so) */
	if (fd < 0 && userdata && *userdata) {
		fd = same_build_id(dinfod_fetch(bits, len), bits, len);
		return fd;
	}
	/* its name, as libdwfl's own search gives it: relative source
	 * directories are read against it, as eu-addr2line reads them */
	if (fd >= 0 && asprintf(debuginfo_file_name, ML_DEBUG_ROOT "/%s", rel) < 0)
		*debuginfo_file_name = NULL;
	return fd;
}


static Dwfl_Callbacks callbacks = {
	.find_elf = NULL,
	.find_debuginfo = find_debuginfo,
};

/* an open file reported into a Dwfl of its own: at base 0, the module's
 * addresses are the file's ELF virtual addresses, PIE or not; fd is
 * libdwfl's from here (closed on failure) */
static void file_report(struct ml_sym_file *f, int fd, const char *name, bool debuginfod)
{
	f->err = parsable(fd);
	if (!f->err)
		f->err = dw_load();
	if (f->err) {
		close(fd);
		return;
	}
	f->dwfl = dwfl_begin(&callbacks);
	if (!f->dwfl) {
		f->err = -ENOMEM;
		close(fd);
		return;
	}
	f->mod = dwfl_report_elf(f->dwfl, name, name, fd, 0, true);
	if (!f->mod) {
		close(fd);
		f->err = -ENOENT;
	} else if (debuginfod) {
		void **ud = NULL;

		/* read by find_debuginfo, when DWARF is first wanted */
		dwfl_module_info(f->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		if (ud)
			*ud = (void *)1;
		f->debuginfod = true;
	}
	dwfl_report_end(f->dwfl, NULL, NULL);
}

static void file_free(struct ml_sym_file *f)
{
	if (f->dwfl)
		dwfl_end(f->dwfl);
	free(f->memo);
	ml_arena_free(&f->arena);
}

/* the cached file of v, opened and reported on first use */
static struct ml_sym_file *sym_file(struct memlens *ml, const struct ml_source *how, const struct memlens_vma *v,
				    bool debuginfod)
{
	struct ml_sym_cache *c = ml->syms;
	struct ml_sym_file *f;
	int fd;

	for (size_t i = 0; i < c->n; i++) {
		f = &c->v[i];
		if (v->build_id_size ? f->bid_size == v->build_id_size && !memcmp(f->bid, v->build_id, f->bid_size)
				     : !f->bid_size && f->inode == v->inode && f->dev_major == v->dev_major &&
					       f->dev_minor == v->dev_minor)
			return f;
	}
	/* bounded: parsed DWARF can be large; past the limit, start again
	 * (answers own their strings, none points into a file) */
	if (c->n >= ML_SYM_FILES_MAX) {
		for (size_t i = 0; i < c->n; i++)
			file_free(&c->v[i]);
		c->n = 0;
	}
	f = ML_VEC_PUSH(c->v, c->n, c->cap);
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->bid_size = v->build_id_size;
	memcpy(f->bid, v->build_id, v->build_id_size);
	f->dev_major = v->dev_major;
	f->dev_minor = v->dev_minor;
	f->inode = v->inode;
	fd = how && how->bid.open ? how->bid.open(v->pid, v) : -EINVAL;
	if (fd < 0)
		f->err = fd;
	else
		file_report(f, fd, v->name, debuginfod);
	return f;
}

/* a source file name as addr2line prints it (--absolute, its default): a
 * relative one read against its CU's compilation directory */
static const char *src_name(struct ml_arena *a, Dwarf_Die *cu, const char *src)
{
	Dwarf_Attribute attr;
	const char *dir = src && src[0] != '/' && cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
	size_t ld, ls;
	char *full;

	if (!dir)
		return src;
	ld = strlen(dir), ls = strlen(src);
	full = arena_alloc(a, ld + ls + 2);
	if (!full)
		return NULL;
	memcpy(full, dir, ld);
	full[ld] = '/';
	memcpy(full + ld + 1, src, ls + 1);
	return full;
}

/* the name addr2line gives a DIE: its linkage name, else its name */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) ?:
					    dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));

	return name ? name : dwarf_diename(die) ? dwarf_diename(die) : "??";
}

/* a DIE that may hold scopes: what libdw's scope walk descends into */
static bool holds_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

/*
 * The innermost DIE under cu whose ranges hold addr, and the function
 * there (the innermost subprogram or inlined subroutine on the way): the
 * first scope dwarf_getscopes() gives.  Walked here because libdw's
 * dwarf_getscopes() leaks the scopes it found when an inlined instance
 * names no abstract origin, or one it cannot find: a hostile file's
 * choice (the fuzzer found it).  Bounded in depth and in DIEs looked at,
 * against a file whose siblings loop.  Imported (partial) units hold no
 * code and are not entered.
 */
static bool innermost_at(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *out, const char **func)
{
	Dwarf_Die die = *cu, child;
	unsigned looks = 1u << 20;
	bool found = false;

	for (unsigned depth = 0; depth < 256 && holds_scopes(dwarf_tag(&die)); depth++) {
		bool in = false;
		int tag;

		if (dwarf_child(&die, &child) != 0)
			break;
		do {
			if (!looks--)
				return found;
			in = dwarf_haspc(&child, addr) > 0;
		} while (!in && dwarf_siblingof(&child, &child) == 0);
		if (!in)
			break;
		die = child;
		*out = child;
		found = true;
		tag = dwarf_tag(&child);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
			*func = die_name(&child);
	}
	return found;
}

/* the function DWARF names at addr (the innermost inlined subroutine or
 * subprogram among its scopes) and, when asked, the inlined calls there,
 * innermost first, as eu-addr2line -f -i lists them; strings in libdw's
 * memory, composed ones and the array in the file's arena */
static int scopes_at(struct ml_sym_file *f, struct memlens_sym *out, Dwarf_Addr addr, bool want_inlines)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(f->mod, addr, &bias), *scopes = NULL, sub, cudie;
	struct memlens_sym_inline *v;
	Dwarf_Files *files;
	int n;

	if (!cu || !innermost_at(cu, addr - bias, &sub, &out->func) || !want_inlines)
		return 0;
	n = dwarf_getscopes_die(&sub, &scopes);
	if (n <= 1 || !dwarf_diecu(&scopes[0], &cudie, NULL, NULL) || dwarf_getsrcfiles(cu, &files, NULL)) {
		free(scopes);
		return 0;
	}
	v = arena_alloc(&f->arena, (size_t)n * sizeof(*v));
	if (!v) {
		free(scopes);
		return -ENOMEM;
	}
	for (int i = 0; i < n - 1; i++) {
		struct memlens_sym_inline *in = &v[out->ninlines];
		Dwarf_Attribute attr;
		Dwarf_Word val;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		memset(in, 0, sizeof(*in));
		in->func = die_name(&scopes[i]);
		in->caller = "??";
		for (int j = i + 1; j < n; j++) {
			int tag = dwarf_tag(&scopes[j]);

			if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point || tag == DW_TAG_subprogram) {
				in->caller = die_name(&scopes[j]);
				break;
			}
		}
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &val))
			in->call_file = src_name(&f->arena, &cudie, dwarf_filesrc(files, val, NULL, NULL));
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &val))
			in->call_line = (uint32_t)val;
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_column, &attr), &val))
			in->call_column = (uint32_t)val;
		out->ninlines++;
	}
	out->inlines = v;
	free(scopes);
	return 0;
}

/* the answer at vaddr, worked out (strings in the file's keeping) */
static int work_out(struct ml_sym_file *f, struct memlens_sym *out, uint64_t vaddr, bool want_inlines)
{
	GElf_Sym sym;
	GElf_Off off = 0;
	const char *name = dwfl_module_addrinfo(f->mod, vaddr, &off, &sym, NULL, NULL, NULL);
	Dwfl_Line *line = dwfl_module_getsrc(f->mod, vaddr);
	int lineno = 0, col = 0;
	const char *src = line ? dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL) : NULL;

	memset(out, 0, sizeof(*out));
	out->name = name;
	out->offset = name ? off : 0;
	if (src) {
		out->file = src_name(&f->arena, dwfl_linecu(line), src);
		out->line = lineno > 0 ? (uint32_t)lineno : 0;
		out->column = col > 0 ? (uint32_t)col : 0;
	}
	if (!out->name && !out->file)
		out->err = -ENOENT;
	return scopes_at(f, out, vaddr, want_inlines);
}

/* the memo's slot for vaddr (found, or the empty one it goes in) */
static struct ml_sym_memo *memo_slot(struct ml_sym_file *f, uint64_t vaddr)
{
	size_t mask = f->memo_cap - 1, i = (size_t)((vaddr * 0x9E3779B97F4A7C15ULL) >> 32) & mask;

	while (f->memo[i].used && f->memo[i].vaddr != vaddr)
		i = (i + 1) & mask;
	return &f->memo[i];
}

static int memo_grow(struct ml_sym_file *f)
{
	size_t cap = f->memo_cap ? f->memo_cap * 2 : 1024;
	struct ml_sym_memo *old = f->memo;
	size_t oldcap = f->memo_cap;

	if (f->memo_n >= ML_SYM_MEMO_MAX) {
		/* full: start again, and free the composed paths and inline
		 * arrays only the old answers pointed to (answers given out own
		 * copies in their batch's arena) */
		memset(f->memo, 0, f->memo_cap * sizeof(*f->memo));
		f->memo_n = 0;
		ml_arena_free(&f->arena);
		return 0;
	}
	f->memo = calloc(cap, sizeof(*f->memo));
	if (!f->memo) {
		f->memo = old;
		return -ENOMEM;
	}
	f->memo_cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*memo_slot(f, old[i].vaddr) = old[i];
	free(old);
	return 0;
}

/* out: a copy of the answer at vaddr, its strings in the batch's arena */
static int answer_at(struct memlens_syms *s, struct ml_sym_file *f, struct memlens_sym *out, uint64_t vaddr,
		     bool want_inlines)
{
	struct ml_sym_memo *m;
	struct memlens_sym_inline *v = NULL;
	uint64_t addr;
	int err;

	if (f->memo_n * 2 >= f->memo_cap && (err = memo_grow(f)))
		return err;
	m = memo_slot(f, vaddr);
	/* an answer memoized without inlines is worked out again with them */
	if (!m->used || (want_inlines && !m->with_inlines)) {
		err = work_out(f, &m->ans, vaddr, want_inlines);
		if (err)
			return err;
		if (!m->used)
			f->memo_n++;
		m->used = true, m->vaddr = vaddr, m->with_inlines = want_inlines;
	}
	addr = out->addr;	/* the memo's answers are by ELF address: the caller's stays */
	*out = m->ans;
	out->addr = addr;
	if (!want_inlines)
		out->ninlines = 0;
	out->name = arena_str(&s->arena, m->ans.name);
	out->func = arena_str(&s->arena, m->ans.func);
	out->file = arena_str(&s->arena, m->ans.file);
	if (out->ninlines) {
		v = arena_alloc(&s->arena, out->ninlines * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (uint32_t i = 0; i < out->ninlines; i++) {
			v[i] = m->ans.inlines[i];
			v[i].func = arena_str(&s->arena, v[i].func);
			v[i].caller = arena_str(&s->arena, v[i].caller);
			v[i].call_file = arena_str(&s->arena, v[i].call_file);
		}
	}
	out->inlines = v;
	return 0;
}

int memlens_norm__symbolize(struct memlens_proc *proc, const struct memlens_norm *norm,
			    const struct memlens_symbolize_opts *opts, struct memlens_syms **out)
{
	bool want_inlines = OPTS_GET(opts, inlines, false), want_debuginfod = OPTS_GET(opts, debuginfod, false);
	const struct memlens_vma_set *vmas = memlens_norm__vmas(norm);
	const struct ml_source *how;
	struct memlens_syms *s;
	struct memlens *ml;
	int err = 0;

	if (!proc || !norm || !out || !OPTS_VALID(opts, memlens_symbolize_opts))
		return ml_err(EINVAL);
	ml = proc->ml;
	if (!ml->syms) {
		ml->syms = calloc(1, sizeof(*ml->syms));
		if (!ml->syms)
			return ml_err(ENOMEM);
	}
	how = ml_file_build_id_source(ml);
	s = calloc(1, sizeof(*s));
	if (!s)
		return ml_err(ENOMEM);
	s->n = memlens_norm__count(norm);
	s->s = calloc(s->n ? s->n : 1, sizeof(*s->s));
	if (!s->s) {
		free(s);
		return ml_err(ENOMEM);
	}
	for (size_t i = 0; i < s->n && !err; i++) {
		const struct memlens_norm_addr *a = memlens_norm__get(norm, i);
		struct memlens_sym *o = &s->s[i];
		struct ml_sym_file *f;

		o->addr = a->addr;
		if (a->vma < 0) {
			o->err = -ENXIO;
			continue;
		}
		if (a->elf_vaddr_err) {
			o->err = a->elf_vaddr_err;
			continue;
		}
		f = sym_file(ml, how, memlens_vma_set__get(vmas, (size_t)a->vma), want_debuginfod);
		if (!f) {
			err = -ENOMEM;
			break;
		}
		if (f->err)
			o->err = f->err;
		else
			err = answer_at(s, f, o, a->elf_vaddr, want_inlines);
	}
	if (err) {
		memlens_syms__free(s);
		return ml_err(err);
	}
	*out = s;
	return 0;
}

size_t memlens_syms__count(const struct memlens_syms *syms)
{
	return syms ? syms->n : 0;
}

const struct memlens_sym *memlens_syms__get(const struct memlens_syms *syms, size_t i)
{
	return syms && i < syms->n ? &syms->s[i] : ml_get_none(syms);
}

void memlens_syms__free(struct memlens_syms *syms)
{
	if (!syms)
		return;
	ml_arena_free(&syms->arena);
	free(syms->s);
	free(syms);
}

/* the fuzzer's way in: the answers at vaddrs in the ELF file open at fd
 * (consumed), as if a process mapped it, without a context */
int ml_symbolize_fd(int fd, const uint64_t *vaddrs, size_t n, bool inlines, struct memlens_syms **out)
{
	struct ml_sym_file f;
	struct memlens_syms *s = calloc(1, sizeof(*s));
	int err = 0;

	memset(&f, 0, sizeof(f));
	if (!s || !(s->s = calloc(n ? n : 1, sizeof(*s->s)))) {
		free(s);
		close(fd);
		return -ENOMEM;
	}
	s->n = n;
	file_report(&f, fd, "fuzz", false);
	for (size_t i = 0; i < n && !err; i++) {
		if (f.err)
			s->s[i].err = f.err;
		else
			err = answer_at(s, &f, &s->s[i], vaddrs[i], inlines);
		s->s[i].addr = vaddrs[i];
	}
	file_free(&f);
	if (err) {
		memlens_syms__free(s);
		return err;
	}
	*out = s;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Real DMA-BUFs: allocate from /dev/dma_heap/system and /dev/udmabuf, name
 * them, map them, and check what the kernel shows (fdinfo, the /dmabuf: line
 * in maps) and that every memlens VMA source names the mapping the same.
 * MEMLENS_EXPECT_EXPORTER=yes|no (set by the VM runner) makes the presence of
 * exporters an assertion; without it a machine without them skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "memlens.h"
#include "tap.h"

static long pg;

struct fdinfo {
	unsigned long long size, ino;
	char exp_name[64], name[64];
};

static int read_fdinfo(int fd, struct fdinfo *fi)
{
	char path[64], line[256];
	FILE *f;

	memset(fi, 0, sizeof(*fi));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "size:", 5))
			fi->size = strtoull(line + 5, NULL, 10);
		else if (!strncmp(line, "ino:", 4))
			fi->ino = strtoull(line + 4, NULL, 10);
		else if (!strncmp(line, "exp_name:", 9))
			snprintf(fi->exp_name, sizeof(fi->exp_name), "%s", line + 9 + strspn(line + 9, " \t"));
		else if (!strncmp(line, "name:", 5))
			snprintf(fi->name, sizeof(fi->name), "%s", line + 5 + strspn(line + 5, " \t"));
	}
	fclose(f);
	return 0;
}

/* the maps line of the mapping at addr: its inode and name */
static int maps_line(void *addr, unsigned long long *ino, char *name, size_t len)
{
	char line[512];
	unsigned long s;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%*x %*s %*x %*x:%*x %llu %n", &s, ino, &n) >= 2 && s == (unsigned long)addr) {
			line[strcspn(line, "\n")] = 0;
			snprintf(name, len, "%s", line + n);
			fclose(f);
			return 0;
		}
	}
	if (f)
		fclose(f);
	return -ENOENT;
}

static void check_buffer(struct memlens *ml, const char *what, int fd, size_t size, const char *exporter, const char *name)
{
	struct fdinfo fi;
	struct stat st;
	unsigned long long ino = 0;
	char mname[256] = "", want[128];
	void *p;

	ok(ioctl(fd, DMA_BUF_SET_NAME_B, name) == 0, "%s: DMA_BUF_SET_NAME", what);
	fstat(fd, &st);
	if (!ok(read_fdinfo(fd, &fi) == 0, "%s: fdinfo readable", what))
		return;
	is_u64(fi.size, size, "%s: fdinfo size", what);
	is_u64(fi.ino, st.st_ino, "%s: fdinfo ino is the file's inode", what);
	is_str(fi.exp_name, exporter, "%s: fdinfo exp_name", what);
	is_str(fi.name, name, "%s: fdinfo name", what);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!ok(p != MAP_FAILED, "%s: mmap", what))
		return;
	memset(p, 0x5a, size);
	snprintf(want, sizeof(want), "/dmabuf:%s", name);
	ok(maps_line(p, &ino, mname, sizeof(mname)) == 0, "%s: mapping in /proc/self/maps", what);
	is_str(mname, want, "%s: maps names it /dmabuf:NAME", what);
	is_u64(ino, st.st_ino, "%s: maps inode is the buffer's", what);
	enum memlens_source vma_sources[8];
	size_t nvs = memlens_job__sources(MEMLENS_JOB_WALK, vma_sources, 8);

	for (size_t i = 0; i < nvs && i < 8; i++) {
		enum memlens_source b = vma_sources[i];

		MEMLENS_OPTS(memlens_proc_opts, po, .source = b);
		struct memlens_proc *proc;
		struct memlens_vma_set *set = NULL;

		if (memlens__probe(ml, memlens_source__iface(b))) {
			unavailable(memlens_iface__name(memlens_source__iface(b)), "%s: %s unavailable: %s", what,
				    memlens_source__name(b), memlens__probe_reason(ml, memlens_source__iface(b)));
			continue;
		}
		proc = memlens__proc_open(ml, 0, &po);
		if (proc && memlens_proc__find_vma(proc, (uintptr_t)p, 0, &set) == 0) {
			const struct memlens_vma *v = memlens_vma_set__get(set, 0);

			ok(!strcmp(v->name, want) && v->inode == st.st_ino && v->start == (uintptr_t)p &&
				   v->end == (uintptr_t)p + size && (v->flags & MEMLENS_VMA_SHARED),
			   "%s: memlens %s record: %s ino %llu", what, memlens_source__name(b), v->name,
			   (unsigned long long)v->inode);
		} else {
			ok(0, "%s: memlens %s finds the mapping", what, memlens_source__name(b));
		}
		memlens_vma_set__free(set);
		memlens_proc__close(proc);
	}
	munmap(p, size);
}

int main(void)
{
	const char *expect = getenv("MEMLENS_EXPECT_EXPORTER");
	struct memlens *ml = memlens__new(NULL);
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	int udma = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	bool present = heap >= 0 && udma >= 0;

	pg = sysconf(_SC_PAGESIZE);
	if (expect) {
		ok(present == !strcmp(expect, "yes"), "DMA-BUF exporters %s, as this kernel should (heap %s, udmabuf %s)",
		   present ? "present" : "absent", heap >= 0 ? "yes" : "no", udma >= 0 ? "yes" : "no");
		ok((memlens__probe(ml, MEMLENS_IFACE_DMABUF_EXPORTER) == 0) == present, "memlens features agrees: %s",
		   memlens__probe_reason(ml, MEMLENS_IFACE_DMABUF_EXPORTER));
	}
	if (heap >= 0) {
		struct dma_heap_allocation_data d = { .len = 3 * pg, .fd_flags = O_RDWR | O_CLOEXEC };

		if (ok(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0, "allocate 3 pages from /dev/dma_heap/system")) {
			check_buffer(ml, "system heap", (int)d.fd, 3 * pg, "system", "smoke-heap");
			close((int)d.fd);
		}
	} else if (!expect) {
		unavailable("dmabuf_exporter", "no /dev/dma_heap/system here: DMA-BUF tests run in the VM guests");
	}
	if (udma >= 0) {
		int memfd = memfd_create("smoke-udmabuf", MFD_ALLOW_SEALING);
		struct udmabuf_create c = { .memfd = (__u32)memfd, .flags = UDMABUF_FLAGS_CLOEXEC, .size = 4 * pg };
		int fd;

		ok(memfd >= 0 && ftruncate(memfd, 4 * pg) == 0 && fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0,
		   "memfd of 4 pages sealed against shrinking");
		fd = ioctl(udma, UDMABUF_CREATE, &c);
		if (ok(fd >= 0, "UDMABUF_CREATE (%s)", fd < 0 ? strerror(errno) : "ok")) {
			check_buffer(ml, "udmabuf", fd, 4 * pg, "udmabuf", "smoke-udmabuf");
			close(fd);
		}
		close(memfd);
	} else if (!expect) {
		unavailable("dmabuf_exporter", "no /dev/udmabuf here: DMA-BUF tests run in the VM guests");
	}
	memlens__free(ml);
	return tap_done();
}

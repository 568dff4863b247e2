// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the kernel and the caller's privileges allow, probed once per context
 * and kept (CRIU's kerndat), one table entry per kernel interface (libbpf's
 * feature_probes[]).  An entry names the interface it needs first; probes
 * that load a program keep it in the context for the job to use.  No job
 * logic here: which source a job uses is select.c's business.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/btf.h>
#include "core.h"
#include "probes.h"
#include "procfs.h"
#include "uapi/pagemap_scan.h"

/* an interface that is a file of /proc anyone may open for itself: whether it opens */
static int probe_open(struct ml_probe *p, const char *path, const char *ok_reason, const char *fail_hint)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ml_probe_set(p, -errno, "cannot open %s: %s%s", path, strerror(errno), fail_hint);
		return p->err;
	}
	close(fd);
	ml_probe_set(p, 0, "%s", ok_reason);
	return 0;
}

static int probe_maps_text(struct memlens *ml, struct ml_probe *p)
{
	(void)ml;
	return probe_open(p, "/proc/self/maps", "/proc/<pid>/maps is readable (PTRACE_MODE_READ on the target)",
			  " (is /proc mounted?)");
}

static int probe_map_files(struct memlens *ml, struct ml_probe *p)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int err = -ENOENT;

	(void)ml;
	d = opendir("/proc/self/map_files");
	if (!d) {
		err = -errno;
		goto out;
	}
	/* what memlens needs is to open the mapped inode: newer kernels let
	 * anyone readlink an entry but check the capability on open */
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		err = fd < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		break;
	}
	if (!de && errno)
		err = -errno;
	closedir(d);
out:
	if (err == 0)
		ml_probe_set(p, 0, "map_files entries open: CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE held");
	else if (err == -EPERM || err == -EACCES)
		ml_probe_set(p, err, "needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in the initial user namespace");
	else if (err == -ENOENT)
		ml_probe_set(p, err, "kernel has no /proc/<pid>/map_files (3.3+, CONFIG_CHECKPOINT_RESTORE before 4.3)");
	else
		ml_probe_set(p, err, "/proc/self/map_files: %s", strerror(-err));
	return err;
}

static int probe_btf(struct memlens *ml, struct ml_probe *p)
{
	(void)ml;
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0) {
		ml_probe_set(p, 0, "/sys/kernel/btf/vmlinux present");
		return 0;
	}
	ml_probe_set(p, -errno, "no kernel BTF (/sys/kernel/btf/vmlinux: %s): CONFIG_DEBUG_INFO_BTF off, CO-RE programs cannot load",
		     strerror(errno));
	return p->err;
}

/* DEFINE_BPF_ITER_FUNC(dmabuf, ...) leaves struct bpf_iter__dmabuf in the
 * kernel's BTF.  Its name is looked up in the BTF string section directly:
 * parsing the 5 MB of types with libbpf costs ~35 ms, this ~2 ms */
static int probe_bpf_iter_dmabuf(struct memlens *ml, struct ml_probe *p)
{
	static const char name[] = "\0bpf_iter__dmabuf";	/* with both NULs */
	struct btf_header h;
	struct stat st;
	char *buf = NULL, *map = MAP_FAILED;
	size_t len = 0;
	bool found = false;
	int err = 0, fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);

	/* mapped where the kernel allows it (6.16+): sysfs hands out reads of
	 * 4 KiB, 1300 of them for the whole file */
	if (fd >= 0 && !fstat(fd, &st) && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED) {
		buf = map;
		len = (size_t)st.st_size;
	} else {
		err = fd >= 0 ? ml_read_file_fd(fd, &buf, &len) : -errno;
	}
	if (fd >= 0)
		close(fd);
	if (err) {
		ml_probe_set(p, err, "cannot read kernel BTF: %s", strerror(-err));
		return p->err;
	}
	memcpy(&h, buf, len >= sizeof(h) ? sizeof(h) : 0);
	err = len < sizeof(h) || h.magic != BTF_MAGIC || h.hdr_len > len || h.str_off > len - h.hdr_len ||
	      h.str_len > len - h.hdr_len - h.str_off ? -EPROTO : 0;
	found = !err && memmem(buf + h.hdr_len + h.str_off, h.str_len, name, sizeof(name)) != NULL;
	if (map != MAP_FAILED)
		munmap(map, len);
	else
		free(buf);
	if (err)
		ml_probe_set(p, err, "kernel BTF is not BTF");
	else if (!found)
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s has no iter/dmabuf (6.16+)", ml->release);
	else
		ml_probe_set(p, 0, "kernel BTF has iter/dmabuf");
	return p->err;
}

static int probe_dmabuf_exporter(struct memlens *ml, struct ml_probe *p)
{
	char found[160] = "";
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir("/dev/dma_heap");

	(void)ml;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && n < sizeof(found))
			n += (size_t)snprintf(found + n, sizeof(found) - n, "%s/dev/dma_heap/%s", n ? ", " : "", de->d_name);
	if (d)
		closedir(d);
	if (access("/dev/udmabuf", F_OK) == 0 && n < sizeof(found))
		n += (size_t)snprintf(found + n, sizeof(found) - n, "%s/dev/udmabuf", n ? ", " : "");
	if (n)
		ml_probe_set(p, 0, "%s", found);
	else
		ml_probe_set(p, -ENODEV, "no DMA-BUF exporter: no /dev/dma_heap/* and no /dev/udmabuf");
	return p->err;
}

static int probe_procmap_build_id(struct memlens *ml, struct ml_probe *p)
{
	/* 6.11 gave up on build IDs whose ELF page was not in the page cache */
	if (ml->kver < ML_KVER(6, 12, 0)) {
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s < 6.12: PROCMAP_QUERY build IDs may be missing, read from the ELF file instead",
			     ml->release);
		return p->err;
	}
	ml_probe_set(p, 0, "PROCMAP_QUERY returns build IDs (6.12+: reads the ELF page if needed)");
	return 0;
}

static int probe_pagemap(struct memlens *ml, struct ml_probe *p)
{
	(void)ml;
	return probe_open(p, "/proc/self/pagemap",
			  "/proc/<pid>/pagemap is readable (PTRACE_MODE_READ; PFNs need CAP_SYS_ADMIN)", "");
}

static int probe_pagemap_scan(struct memlens *ml, struct ml_probe *p)
{
	struct pm_scan_arg a = { .size = sizeof(a), .start = 0, .end = 0 };
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		ml_probe_set(p, -errno, "cannot open /proc/self/pagemap: %s", strerror(errno));
		return p->err;
	}
	/* ENOTTY where the ioctl does not exist; an empty range is otherwise fine */
	if (ioctl(fd, PAGEMAP_SCAN, &a) < 0 && errno == ENOTTY)
		err = -ENOTTY;
	close(fd);
	if (err)
		ml_probe_set(p, err, "no PAGEMAP_SCAN (kernel %s, needs 6.7+)", ml->release);
	else
		ml_probe_set(p, 0, "PAGEMAP_SCAN ioctl (6.7+)");
	return err;
}

static int probe_kpageflags(struct memlens *ml, struct ml_probe *p)
{
	(void)ml;
	return probe_open(p, "/proc/kpageflags", "/proc/kpageflags tells THP and hugetlb pages",
			  " (root only): huge pages unknown from pagemap");
}

#define NONE (-1)
static const struct {
	const char *name;
	int needs;		/* an interface that must probe usable first; NONE */
	int (*probe)(struct memlens *ml, struct ml_probe *p);
} probes[__MEMLENS_IFACE_MAX] = {
	[MEMLENS_IFACE_PROCMAP_QUERY] = { "procmap_query", NONE, ml_procmap_query_probe },
	[MEMLENS_IFACE_PROCMAP_BUILD_ID] = { "procmap_query_build_id", MEMLENS_IFACE_PROCMAP_QUERY, probe_procmap_build_id },
	[MEMLENS_IFACE_BPF_TASK_VMA] = { "bpf_task_vma", MEMLENS_IFACE_BTF, ml_bpf_task_vma_probe },
	[MEMLENS_IFACE_BPF_ITER_PID] = { "bpf_iter_pid", MEMLENS_IFACE_BPF_TASK_VMA, ml_bpf_iter_pid_probe },
	[MEMLENS_IFACE_MAPS_TEXT] = { "maps_text", NONE, probe_maps_text },
	[MEMLENS_IFACE_MAP_FILES] = { "map_files", NONE, probe_map_files },
	[MEMLENS_IFACE_BTF] = { "btf", NONE, probe_btf },
	[MEMLENS_IFACE_BPF_ITER_DMABUF] = { "bpf_iter_dmabuf", MEMLENS_IFACE_BTF, probe_bpf_iter_dmabuf },
	[MEMLENS_IFACE_DMABUF_EXPORTER] = { "dmabuf_exporter", NONE, probe_dmabuf_exporter },
	[MEMLENS_IFACE_BPF_DMABUF] = { "bpf_dmabuf", MEMLENS_IFACE_BPF_ITER_DMABUF, ml_dmabuf_bpf_probe },
	[MEMLENS_IFACE_PAGEMAP_SCAN] = { "pagemap_scan", MEMLENS_IFACE_PAGEMAP, probe_pagemap_scan },
	[MEMLENS_IFACE_PAGEMAP] = { "pagemap", NONE, probe_pagemap },
	[MEMLENS_IFACE_KPAGEFLAGS] = { "kpageflags", NONE, probe_kpageflags },
	[MEMLENS_IFACE_BPF_TASK_MM] = { "bpf_task_mm", MEMLENS_IFACE_BTF, ml_bpf_task_mm_probe },
};

int memlens__probe(struct memlens *ml, enum memlens_iface iface)
{
	struct ml_probe *p;

	if (!ml || (unsigned)iface >= __MEMLENS_IFACE_MAX)
		return ml_err(EINVAL);
	p = &ml->probe[iface];
	if (!p->done) {
		int need = probes[iface].needs;

		if (need != NONE && memlens__probe(ml, need))
			ml_probe_set(p, ml->probe[need].err, "%s", ml->probe[need].reason);
		else
			probes[iface].probe(ml, p);
		p->done = true;
		ml_log(ml, MEMLENS_DEBUG, "probe %s: %s\n", probes[iface].name, p->reason);
	}
	return p->err ? ml_err(p->err) : 0;
}

const char *memlens__probe_reason(struct memlens *ml, enum memlens_iface iface)
{
	if (!ml || (unsigned)iface >= __MEMLENS_IFACE_MAX)
		return "unknown interface";
	memlens__probe(ml, iface);
	return ml->probe[iface].reason;
}

const char *memlens_iface__name(enum memlens_iface iface)
{
	return (unsigned)iface < __MEMLENS_IFACE_MAX ? probes[iface].name : "unknown";
}

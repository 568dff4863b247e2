// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the kernel and the caller's privileges allow, probed once per context
 * and kept (CRIU's kerndat): every code path asks here instead of probing again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "memlens_internal.h"

void ml_probe_set(struct ml_probe *p, int err, const char *fmt, ...)
{
	va_list ap;

	p->done = true;
	p->err = err > 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

static int probe_maps_text(struct memlens *ml, struct ml_probe *p)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	(void)ml;
	if (fd < 0) {
		ml_probe_set(p, -errno, "cannot open /proc/self/maps: %s (is /proc mounted?)", strerror(errno));
		return p->err;
	}
	close(fd);
	ml_probe_set(p, 0, "/proc/<pid>/maps is readable (PTRACE_MODE_READ on the target)");
	return 0;
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

static int probe_bpf_iter_dmabuf(struct memlens *ml, struct ml_probe *p)
{
	struct btf *btf;
	void *old;
	int id;

	if (memlens__probe(ml, MEMLENS_IFACE_BTF)) {
		ml_probe_set(p, -EOPNOTSUPP, "%s", ml->probe[MEMLENS_IFACE_BTF].reason);
		return p->err;
	}
	old = ml_libbpf_quiet();
	btf = btf__load_vmlinux_btf();
	ml_libbpf_restore(old);
	if (!btf) {
		ml_probe_set(p, -errno, "cannot read kernel BTF: %s", strerror(errno));
		return p->err;
	}
	/* DEFINE_BPF_ITER_FUNC(dmabuf, ...) leaves struct bpf_iter__dmabuf in BTF */
	id = btf__find_by_name_kind(btf, "bpf_iter__dmabuf", BTF_KIND_STRUCT);
	btf__free(btf);
	if (id < 0)
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
	int err = memlens__probe(ml, MEMLENS_IFACE_PROCMAP_QUERY);

	if (err) {
		ml_probe_set(p, err, "no PROCMAP_QUERY: %s", ml->probe[MEMLENS_IFACE_PROCMAP_QUERY].reason);
		return err;
	}
	/* 6.11 gave up on build IDs whose ELF page was not in the page cache */
	if (ml->kver < ML_KVER(6, 12, 0)) {
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s < 6.12: PROCMAP_QUERY build IDs may be missing, read from the ELF file instead",
			     ml->release);
		return p->err;
	}
	ml_probe_set(p, 0, "PROCMAP_QUERY returns build IDs (6.12+: reads the ELF page if needed)");
	return 0;
}

int memlens__probe(struct memlens *ml, enum memlens_iface iface)
{
	struct ml_probe *p;

	if (!ml || (unsigned)iface >= __MEMLENS_IFACE_MAX)
		return ml_err(EINVAL);
	p = &ml->probe[iface];
	if (p->done)
		return p->err ? ml_err(p->err) : 0;
	switch (iface) {
	case MEMLENS_IFACE_PROCMAP_QUERY: ml_pq_probe(ml, p); break;
	case MEMLENS_IFACE_PROCMAP_BUILD_ID: probe_procmap_build_id(ml, p); break;
	case MEMLENS_IFACE_BPF_TASK_VMA: ml_bpf_probe(ml, p); break;
	case MEMLENS_IFACE_BPF_ITER_PID: ml_bpf_iter_pid_probe(ml, p); break;
	case MEMLENS_IFACE_MAPS_TEXT: probe_maps_text(ml, p); break;
	case MEMLENS_IFACE_MAP_FILES: probe_map_files(ml, p); break;
	case MEMLENS_IFACE_BTF: probe_btf(ml, p); break;
	case MEMLENS_IFACE_BPF_ITER_DMABUF: probe_bpf_iter_dmabuf(ml, p); break;
	case MEMLENS_IFACE_DMABUF_EXPORTER: probe_dmabuf_exporter(ml, p); break;
	default: return ml_err(EINVAL);
	}
	p->done = true;
	ml_log(ml, MEMLENS_DEBUG, "probe %s: %s\n", memlens_iface__name(iface), p->reason);
	return p->err ? ml_err(p->err) : 0;
}

const char *memlens__probe_reason(struct memlens *ml, enum memlens_iface iface)
{
	if (!ml || (unsigned)iface >= __MEMLENS_IFACE_MAX)
		return "unknown interface";
	memlens__probe(ml, iface);
	return ml->probe[iface].reason;
}

static const char *const iface_names[] = {
	[MEMLENS_IFACE_PROCMAP_QUERY] = "procmap_query",
	[MEMLENS_IFACE_PROCMAP_BUILD_ID] = "procmap_query_build_id",
	[MEMLENS_IFACE_BPF_TASK_VMA] = "bpf_task_vma",
	[MEMLENS_IFACE_BPF_ITER_PID] = "bpf_iter_pid",
	[MEMLENS_IFACE_MAPS_TEXT] = "maps_text",
	[MEMLENS_IFACE_MAP_FILES] = "map_files",
	[MEMLENS_IFACE_BTF] = "btf",
	[MEMLENS_IFACE_BPF_ITER_DMABUF] = "bpf_iter_dmabuf",
	[MEMLENS_IFACE_DMABUF_EXPORTER] = "dmabuf_exporter",
};

const char *memlens_iface__name(enum memlens_iface iface)
{
	return (unsigned)iface < ARRAY_SIZE(iface_names) ? iface_names[iface] : "unknown";
}

static const enum memlens_iface backend_iface[] = {
	[MEMLENS_BACKEND_IOCTL] = MEMLENS_IFACE_PROCMAP_QUERY,
	[MEMLENS_BACKEND_BPF] = MEMLENS_IFACE_BPF_TASK_VMA,
	[MEMLENS_BACKEND_TEXT] = MEMLENS_IFACE_MAPS_TEXT,
};

enum memlens_iface memlens_backend__iface(enum memlens_backend b)
{
	return b > MEMLENS_BACKEND_AUTO && b < __MEMLENS_BACKEND_MAX ? backend_iface[b] : MEMLENS_IFACE_MAPS_TEXT;
}

int ml_backend_usable(struct memlens *ml, enum memlens_backend b)
{
	if (b <= MEMLENS_BACKEND_AUTO || b >= __MEMLENS_BACKEND_MAX)
		return -EINVAL;
	return memlens__probe(ml, backend_iface[b]);
}

enum memlens_backend memlens__pick_backend(struct memlens *ml, enum memlens_job job)
{
	/* One process: a point query per VMA beats loading a BPF program for
	 * a one-shot walk.  Every process: one BPF pass beats a file per process. */
	static const enum memlens_backend one[] = { MEMLENS_BACKEND_IOCTL, MEMLENS_BACKEND_BPF, MEMLENS_BACKEND_TEXT };
	static const enum memlens_backend all[] = { MEMLENS_BACKEND_BPF, MEMLENS_BACKEND_IOCTL, MEMLENS_BACKEND_TEXT };
	const enum memlens_backend *order = job == MEMLENS_JOB_WALK_ALL ? all : one;

	for (int i = 0; i < 2; i++)
		if (ml_backend_usable(ml, order[i]) == 0)
			return order[i];
	return MEMLENS_BACKEND_TEXT;
}

int ml_probe_gate(struct memlens *ml)
{
	struct memlens_vma_set *set;
	int err;

	if (ml->gate_known)
		return 0;
	ml->gate_known = true;
	set = ml_set_new(MEMLENS_BACKEND_TEXT);
	if (!set)
		return -ENOMEM;
	err = ml_maps_text_read_pid(getpid(), set);
	/* the gate area sits above the user address space, listed last */
	if (!err && set->n && (set->v[set->n - 1].start >> 63)) {
		ml->gate = set->v[set->n - 1];
		snprintf(ml->gate_name, sizeof(ml->gate_name), "%s", ml->gate.name);
		ml->gate.name = ml->gate_name;
	} else {
		ml->gate.end = 0;
	}
	memlens_vma_set__free(set);
	return err;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* The maps text parser on recorded /proc/<pid>/maps text, tricky lines and broken ones. */
#include <stdlib.h>
#include <string.h>
#include "build_id.h"
#include "dmabuf_raw.h"
#include "vma_maps_text.h"
#include "tap.h"

/* recorded on Linux 6.18 (x86_64), plus lines older kernels and other machines print */
static const char recorded[] =
	"5609c4de2000-5609c4de3000 r--p 00000000 fe:00 5308617                    /work/main/build/tests/mapper\n"
	"5609d3e92000-5609d3eb3000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f148fec4000-7f148fec5000 r--p 00000000 00:00 0 \n"
	"7f148fed5000-7f148feda000 rw-s 00000000 00:01 25                         /dev/zero (deleted)\n"
	"7f14900c2000-7f14900c5000 rw-s 00000000 00:01 24                         /memfd:mapper-memfd (deleted)\n"
	"7f14900c5000-7f14900c7000 r-xp 00001000 fe:00 10952785                   /tmp/mapper\\012newline.bin\n"
	"7f14900c7000-7f14900c9000 r--p 00001000 fe:00 10952770                   /tmp/mapper with  spaces.bin\n"
	"7f14900d0000-7f14900d1000 rw-p 00000000 00:00 0                          [anon:my name]\n"
	"7f14900d1000-7f14900d2000 rw-s 00000000 00:0d 4242                       /dmabuf:camera\n"
	"7ffd2a0f1000-7ffd2a112000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffd2a1d4000-7ffd2a1d6000 r-xp 00000000 00:00 0                          [vdso]\n"
	"08048000-08049000 r-xp 00000000 103:02 18446744073709551615       /system/bin/app_process32\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static void check_recorded(void)
{
	struct memlens_vma_set *s = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	const struct memlens_vma *v;
	int err = ml_maps_text_parse(recorded, sizeof(recorded) - 1, 42, s);

	ok(err == 0, "recorded text parses (err %d)", err);
	is_u64(memlens_vma_set__count(s), 13, "13 records");
	v = memlens_vma_set__get(s, 0);
	is_u64(v->start, 0x5609c4de2000, "start");
	is_u64(v->end, 0x5609c4de3000, "end");
	is_u64(v->dev_major, 0xfe, "dev major");
	is_u64(v->inode, 5308617, "inode");
	is_u64(v->pid, 42, "pid from the caller");
	is_str(v->name, "/work/main/build/tests/mapper", "path");
	is_str(memlens_vma_set__get(s, 1)->name, "[heap]", "[heap]");
	is_str(memlens_vma_set__get(s, 2)->name, "", "anonymous: empty name, trailing space ignored");
	v = memlens_vma_set__get(s, 3);
	is_str(v->name, "/dev/zero (deleted)", "shared anonymous");
	is_u64(v->flags, MEMLENS_VMA_READ | MEMLENS_VMA_WRITE | MEMLENS_VMA_SHARED, "rw-s flags");
	is_str(memlens_vma_set__get(s, 4)->name, "/memfd:mapper-memfd (deleted)", "memfd");
	v = memlens_vma_set__get(s, 5);
	is_str(v->name, "/tmp/mapper\\012newline.bin", "escaped newline kept as maps writes it");
	is_u64(v->offset, 0x1000, "offset");
	is_u64(v->flags, MEMLENS_VMA_READ | MEMLENS_VMA_EXEC, "r-xp flags");
	is_str(memlens_vma_set__get(s, 6)->name, "/tmp/mapper with  spaces.bin", "inner spaces kept");
	is_str(memlens_vma_set__get(s, 7)->name, "[anon:my name]", "anon name with a space");
	is_str(memlens_vma_set__get(s, 8)->name, "/dmabuf:camera", "dmabuf");
	v = memlens_vma_set__get(s, 11);
	is_u64(v->start, 0x08048000, "32-bit start");
	is_u64(v->dev_major, 0x103, "3-digit major");
	is_u64(v->inode, 18446744073709551615ULL, "64-bit inode");
	v = memlens_vma_set__get(s, 12);
	is_str(v->name, "[vsyscall]", "last line without newline");
	is_u64(v->flags, MEMLENS_VMA_EXEC, "--xp flags");
	memlens_vma_set__free(s);
}

static void check_broken(void)
{
	static const char *const bad[] = {
		"zz-1000 r--p 00000000 00:00 0\n",
		"1000-2000 r--q 00000000 00:00 0\n",
		"1000-2000 r--p 0000000g 00:00 0\n",
		"2000-1000 r--p 00000000 00:00 0\n",
		"1000-2000 r--p 00000000 00:00\n",
		"1000-2000 r--p 00000000 0000 0\n",
		"1000-2000 r--p\n",
		"1000-2000 r--p 00000000 00:00 0x12\n",
		"1000-2000 r--p 00000000 00:00 99999999999999999999999\n",
		"11111111111111111-2000 r--p 00000000 00:00 0\n",
		"\n",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct memlens_vma_set *s = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
		int n = snprintf(buf, sizeof(buf), "1000-2000 r--p 00000000 00:00 0 \n%s", bad[i]);
		int err = ml_maps_text_parse(buf, (size_t)n, 1, s);

		ok(err == -EINVAL && memlens_vma_set__count(s) == 1, "broken line %zu: -EINVAL, good line before it kept", i);
		memlens_vma_set__free(s);
	}
	{
		struct memlens_vma_set *s = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);

		ok(ml_maps_text_parse("", 0, 1, s) == 0 && memlens_vma_set__count(s) == 0, "empty text: no records");
		memlens_vma_set__free(s);
	}
}

/* A name longer than an arena block still gets its own block. */
static void check_long_name(void)
{
	size_t len = 200000;
	char *buf = malloc(len + 64);
	struct memlens_vma_set *s = ml_set_new(MEMLENS_SOURCE_MAPS_TEXT);
	int n = sprintf(buf, "1000-2000 r--p 00000000 00:00 0 /");

	memset(buf + n, 'a', len);
	buf[n + len] = '\n';
	ok(ml_maps_text_parse(buf, n + len + 1, 1, s) == 0 && strlen(memlens_vma_set__get(s, 0)->name) == len + 1,
	   "a 200,000-byte name survives");
	memlens_vma_set__free(s);
	free(buf);
}

static void check_elf(void)
{
	unsigned char id[MEMLENS_BUILD_ID_MAX];
	uint32_t size = 0;
	char junk[4096];
	FILE *f = fopen("/proc/self/exe", "rb");
	char *img = malloc(64 << 20);
	size_t len = f && img ? fread(img, 1, 64 << 20, f) : 0;
	int err;

	if (f)
		fclose(f);
	err = ml_elf_build_id_mem(img, len, id, &size);
	ok(err == 0 && size == 20, "build ID of our own executable read from memory (err %d, %u bytes)", err, size);
	for (size_t cut = 0; cut < 8192 && cut < len; cut += 61)
		ml_elf_build_id_mem(img, cut, id, &size);
	ok(1, "truncated ELF images from 0 to 8 KiB do not crash");
	memset(junk, 0x7f, sizeof(junk));
	ok(ml_elf_build_id_mem(junk, sizeof(junk), id, &size) == -ENOEXEC, "not an ELF: -ENOEXEC");
	free(img);
}


/* DMA-BUF names are their owner's: newlines in them must not forge fields */
static void check_dmabuf_text(void)
{
	/* dma_buf_show_fdinfo() of a 4 KiB buffer named "x\nsize:\t1099511627776\nino:\t7" */
	static const char fdinfo[] = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1063\nsize:\t4096\ncount:\t1\n"
				     "exp_name:\tsystem\nname:\tx\nsize:\t1099511627776\nino:\t7\n";
	/* dma_buf_debug_show() with a buffer named "a\n99999999999\t0\t0\t1\tz\t5\tq" (27 bytes) and
	 * one named "b\n" followed by a line of zero-padded fields it cannot fit */
	static const char bufinfo[] =
		"\nDma-buf Objects:\nsize\tflags\tmode\tcount\texp_name\tino\tname\n"
		"00004096\t00000002\t00080007\t00000001\tsystem\t00000077\ta\n99999999999\t0\t0\t1\tz\t5\tq\n"
		"\tAttached Devices:\nTotal 0 devices attached\n\n"
		"00008192\t00000002\t00080007\t00000003\tsystem\t00000078\tb\n\n"
		"\nTotal 2 objects, 12288 bytes\n";
	struct ml_dmabuf_raw raw = { .system_list = "none" };
	struct ml_dfd r;

	memset(&r, 0, sizeof(r));
	ml_dmabuf_fdinfo_parse(fdinfo, sizeof(fdinfo) - 1, &r);
	is_u64(r.size, 4096, "fdinfo: a name carrying a size line does not change the size");
	is_u64(r.ino, 1063, "fdinfo: ... nor the inode");
	is_str(r.exp, "system", "fdinfo: exporter");
	is_str(r.name, "x\nsize:\t1099511627776\nino:\t7", "fdinfo: the name is everything after name:, newlines included");
	ok(ml_dmabuf_bufinfo_parse(bufinfo, sizeof(bufinfo) - 1, &raw) == 0, "bufinfo with hostile names parses");
	if (is_u64(raw.nbufs, 2, "bufinfo: a line forged inside a name is no buffer")) {
		is_u64(raw.bufs[0].size, 4096, "bufinfo: first buffer's size");
		is_u64(raw.bufs[0].ino, 77, "bufinfo: first buffer's inode");
		is_u64(raw.bufs[1].size, 8192, "bufinfo: second buffer's size");
		is_u64(raw.bufs[1].file_refs, 3, "bufinfo: second buffer's file references");
		is_str(raw.bufs[1].name, "b", "bufinfo: second buffer's name");
	}
	free(raw.bufs);
}

int main(void)
{
	check_dmabuf_text();
	check_recorded();
	check_broken();
	check_long_name();
	check_elf();
	return tap_done();
}

# memlens: libmemlens (static + shared), the memlens CLI, tests and benchmarks.
#   make            library and CLI in build/
#   make check      every test (host suite, sanitizer build, fuzzers)
#   make SANITIZE=1 the same tree built with ASan+UBSan in build-asan/

# the version is memlens.h's (MEMLENS_VERSION_*); debian/changelog must agree (tests/deb.sh)
VERSION    := $(shell sed -n 's/^\#define MEMLENS_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' include/memlens.h | paste -sd.)
SOVERSION  := 0
PREFIX     ?= /usr/local
# Debian's multiarch directory (lib/x86_64-linux-gnu) where the compiler names one
MULTIARCH  ?= $(shell $(or $(CC),cc) -print-multiarch 2>/dev/null)
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# systemd looks in /usr/local/lib/systemd/system too; Debian 12's packages use /lib/systemd/system
UNITDIR    ?= $(PREFIX)/lib/systemd/system
LDCONFIG   ?= /sbin/ldconfig

SANITIZE   ?= 0
ifeq ($(SANITIZE),1)
BUILD      ?= build-asan
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD      ?= build
SANFLAGS   :=
endif

CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf libelf libdw smartcols libmicrohttpd json-c yaml-0.1 gnutls 2>/dev/null)
# libdw is not linked: symbolize.c loads it when first asked (its headers only)
LIB_LIBS    := $(shell $(PKG_CONFIG) --libs libbpf libelf 2>/dev/null || echo -lbpf -lelf) -lz
CLI_LIBS    := $(shell $(PKG_CONFIG) --libs smartcols libmicrohttpd json-c yaml-0.1 gnutls libcrypt 2>/dev/null || \
		 echo -lsmartcols -lmicrohttpd -ljson-c -lyaml -lgnutls -lcrypt) -lpthread

CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wstrict-prototypes
ALL_CFLAGS := -std=gnu11 $(CPPFLAGS) $(CFLAGS) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) $(DEPS_CFLAGS)
LDFLAGS    += $(SANFLAGS)

# one file per kernel source (vma_*, dmabuf_*, pages_*, build_id), the jobs
# (vma, normalize, dmabuf, pages, snapshot), the selector and probe table, and
# what they all share (core, procfs, records)
LIB_SRCS := $(sort $(wildcard src/*.c))
LIB_HDRS := $(wildcard src/*.h) include/memlens.h
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
BPF_PROGS := task_vma task_vma_nopath dmabuf task_file task_vma_dmabuf task_mm task_mm_procs
BPF_SKELS := $(BPF_PROGS:%=$(BUILD)/%.skel.h) $(BPF_PROGS:%=$(BUILD)/%.lskel.h)

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o) $(BUILD)/cli/report_assets.o
# what report_assets.S embeds: the report page's script, style and vendored layout
REPORT_ASSETS := cli/report/report.css cli/report/report.js third_party/d3-hierarchy/d3-hierarchy.js \
		 third_party/d3-hierarchy/LICENSE

TEST_BINS := $(BUILD)/tests/mapper $(BUILD)/tests/bigpt $(BUILD)/tests/dmabuf_holder $(BUILD)/tests/sharer $(BUILD)/tests/fuse_stall $(BUILD)/tests/leaker $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all lib cli tests check vm-check dist-check fuzz bench screenshot install uninstall clean
# keep the BPF objects and skeletons (intermediates of pattern rules)
.SECONDARY:
all: lib cli

lib: $(BPF_SKELS) $(BUILD)/libmemlens.a $(BUILD)/libmemlens.so $(BUILD)/memlens.pc $(BUILD)/memlens-uninstalled.pc
cli: $(BUILD)/memlens

# a skeleton carries its object whole, and CO-RE reads BTF, not DWARF:
# bpftool's linker (as libbpf-bootstrap builds) writes the object without it
BPF_STRIP = $(BPFTOOL) gen object $@ $@.full.o && rm -f $@.full.o

$(BUILD)/bpf/%.bpf.o: src/bpf/%.bpf.c src/bpf/memlens_core.h src/bpf/dmabuf_file.h src/bpf/pidns.h src/vma_record.h src/dmabuf_record.h src/counters_record.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Isrc -Isrc/bpf $(DEPS_CFLAGS) -c $< -o $@.full.o
	$(BPF_STRIP)

# the VMA walk without bpf_d_path(): paths asked for by userspace (vma_bpf_iter.c)
$(BUILD)/bpf/task_vma_nopath.bpf.o: src/bpf/task_vma.bpf.c src/bpf/memlens_core.h src/bpf/pidns.h src/vma_record.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -DML_VMA_NO_D_PATH -Isrc -Isrc/bpf $(DEPS_CFLAGS) -c $< -o $@.full.o
	$(BPF_STRIP)

# the mm counters by the open-coded task iterator (6.7+; counters_bpf_iter.c)
$(BUILD)/bpf/task_mm_procs.bpf.o: src/bpf/task_mm.bpf.c src/bpf/memlens_core.h src/bpf/pidns.h src/counters_record.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -DML_MM_PROCS -Isrc -Isrc/bpf $(DEPS_CFLAGS) -c $< -o $@.full.o
	$(BPF_STRIP)

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# light skeletons: a loader program relocates in the kernel (bpf_prog.c)
$(BUILD)/%.lskel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton -L $< name $*_lskel > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(LIB_HDRS) $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/libmemlens.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libmemlens.so.$(VERSION): $(LIB_OBJS) src/libmemlens.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libmemlens.so.$(SOVERSION) -Wl,--version-script=src/libmemlens.map \
		-o $@ $(LIB_OBJS) $(LIB_LIBS)

$(BUILD)/libmemlens.so: $(BUILD)/libmemlens.so.$(VERSION)
	ln -sf libmemlens.so.$(VERSION) $(BUILD)/libmemlens.so.$(SOVERSION)
	ln -sf libmemlens.so.$(VERSION) $@

$(BUILD)/memlens.pc: src/memlens.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# pkg-config picks NAME-uninstalled.pc over NAME.pc when both are on its path:
# PKG_CONFIG_PATH=$(BUILD) builds against this tree before any install
$(BUILD)/memlens-uninstalled.pc: src/memlens.pc.in Makefile
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(abspath $(BUILD))|' -e 's|@INCLUDEDIR@|$(CURDIR)/include|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/cli/%.o: cli/%.c cli/memlens_cli.h cli/webconfig.h cli/metrics.h cli/diff_doc.h cli/quantity.h cli/group.h cli/jsonw.h cli/proc_view.h cli/object_view.h include/memlens.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/cli/report_assets.o: cli/report_assets.S $(REPORT_ASSETS)
	@mkdir -p $(@D)
	$(CC) -c $< -o $@

$(BUILD)/cli/report_html.o $(BUILD)/cli/report.o $(BUILD)/cli/cmd_report.o $(BUILD)/cli/cmd_exporter.o: cli/report.h

# the commit built, for memlens_build_info's revision: rewritten only when it
# changes; "unknown" outside a git checkout of this tree (a tarball, a package)
$(BUILD)/revision.h: FORCE
	@mkdir -p $(@D)
	@r=unknown; [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
	    r=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	echo "#define MEMLENS_REVISION \"$$r\"" > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/cli/cmd_exporter.o: $(BUILD)/revision.h

.PHONY: FORCE
FORCE:

# The CLI links the static library: one file to copy, no rpath.
$(BUILD)/memlens: $(CLI_OBJS) $(BUILD)/libmemlens.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libmemlens.a $(LIB_LIBS) $(CLI_LIBS)

# ---- tests ----
$(BUILD)/tests/mapper: tests/helpers/mapper.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

# static, without the sanitizers: it shares no library page with anyone
$(BUILD)/tests/sharer: tests/helpers/sharer.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -static -o $@ $<

# static too: its Pss, shared with nobody, stays put between two reads
$(BUILD)/tests/bigpt: tests/helpers/bigpt.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -static -o $@ $<

# static too: nothing of its own grows but what it leaks
$(BUILD)/tests/leaker: tests/helpers/leaker.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -static -o $@ $<

$(BUILD)/tests/fuse_stall: tests/helpers/fuse_stall.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread $(LDFLAGS)

$(BUILD)/tests/dmabuf_holder: tests/helpers/dmabuf_holder.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/tap.h tests/unit/mapper_client.h $(BUILD)/libmemlens.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests/unit -o $@ $< $(BUILD)/libmemlens.a $(LIB_LIBS) -lpthread $(LDFLAGS)

tests: all $(TEST_BINS)

# Every test: the host suite on the normal build and again under ASan+UBSan
# (the benchmark is built too, so an API change cannot leave it behind),
# the fuzzers for a bounded time, then the same suite inside each kernel of
# the QEMU matrix (tests/vm/run.sh).  The last line adds everything up.
check:
	$(MAKE) tests $(BUILD)/bench/bench
	$(MAKE) SANITIZE=1 tests
	$(MAKE) fuzz
	tests/check.sh

# How memlens reaches a machine: the build list used, the README's first
# command in a minimal Debian 12 root, the .debs built, linted, installed
# there and purged (tests/dist/check.sh); the exporter's image built from
# contrib/container/Containerfile and run (tests/dist/container.sh); also a
# phase of make check
dist-check:
	tests/run.sh --only tests/dist/check.sh tests/dist/container.sh

# One kernel of the matrix: make vm-check KERNEL=6.12 (6.1, 6.12, newest)
KERNEL ?= all
vm-check: tests
	tests/vm/run.sh $(KERNEL)

# ---- fuzzers (clang libFuzzer, ASan+UBSan) ----
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Iinclude -Isrc -Ibuild $(DEPS_CFLAGS)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(LIB_HDRS) $(BPF_PROGS:%=build/%.skel.h) $(BPF_PROGS:%=build/%.lskel.h)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRCS) $(LIB_LIBS)

# the one CLI parser: memlens diff's input (json-c)
# diff's reader, and the report's page of what it accepts
build-fuzz/fuzz_diff_doc: tests/fuzz/fuzz_diff_doc.c cli/diff_doc.c cli/diff_doc.h cli/quantity.c cli/quantity.h cli/common.c \
		cli/report.c cli/report_html.c cli/report.h cli/report_assets.S $(REPORT_ASSETS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CLANG) -c cli/report_assets.S -o build-fuzz/report_assets.o
	$(CLANG) $(FUZZ_FLAGS) -Icli -o $@ $< cli/diff_doc.c cli/quantity.c cli/common.c cli/report.c cli/report_html.c \
		build-fuzz/report_assets.o $(LIB_SRCS) $(LIB_LIBS) -ljson-c -lgnutls

# the symbolization fuzzer's seed: a small ELF with DWARF and inlined calls
build-fuzz/seed_symbolize: tests/fuzz/seed_symbolize.c
	@mkdir -p $(@D)
	$(CC) -g -O2 -o $@ $<

# a regression input: the seed with its inlined calls' origins taken away
# (libdw's dwarf_getscopes leaked on it)
build-fuzz/seed_noorigin: build-fuzz/seed_symbolize tests/fuzz/noorigin.py
	python3 tests/fuzz/noorigin.py $< $@

FUZZERS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz: $(FUZZERS) build-fuzz/seed_symbolize build-fuzz/seed_noorigin

# every file install writes, for uninstall
INSTALLED := $(BINDIR)/memlens $(INCLUDEDIR)/memlens.h $(LIBDIR)/libmemlens.a $(LIBDIR)/libmemlens.so.$(VERSION) \
	     $(LIBDIR)/libmemlens.so.$(SOVERSION) $(LIBDIR)/libmemlens.so $(LIBDIR)/pkgconfig/memlens.pc \
	     $(MANDIR)/man1/memlens.1 $(BASHCOMPDIR)/memlens $(UNITDIR)/memlens-exporter.service

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/memlens $(DESTDIR)$(BINDIR)/
	install -m 644 include/memlens.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libmemlens.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libmemlens.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmemlens.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmemlens.so.$(SOVERSION)
	ln -sf libmemlens.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmemlens.so
	# written here, not copied from the build: PREFIX and LIBDIR as given to install
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' src/memlens.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/memlens.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/memlens.pc
	install -m 644 docs/man/memlens.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 contrib/bash-completion/memlens $(DESTDIR)$(BASHCOMPDIR)/memlens
	sed 's|@BINDIR@|$(BINDIR)|' contrib/systemd/memlens-exporter.service.in > $(DESTDIR)$(UNITDIR)/memlens-exporter.service
	chmod 644 $(DESTDIR)$(UNITDIR)/memlens-exporter.service
	@$(call ldconfig_live)

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@[ -n "$(DESTDIR)" ] || $(LDCONFIG) 2> /dev/null || true

# Installed to the live root (no DESTDIR), the dynamic linker's cache is
# refreshed, as Debian's packages do in their triggers; a package build
# (DESTDIR) leaves that to the package.  Where ldconfig cannot run (not root)
# or LIBDIR is not on the linker's path, the one line to run is printed.
define ldconfig_live
if [ -z "$(DESTDIR)" ]; then \
	d=$$(readlink -f $(LIBDIR)); \
	if ! $(LDCONFIG) -N -X -v 2> /dev/null | sed -n 's/^\(\/[^:]*\):.*/\1/p' | \
	     while read -r x; do [ "$$(readlink -f "$$x")" != "$$d" ] || echo on; done | grep -q on; then \
		echo "memlens: $(LIBDIR) is not on the dynamic linker's path; run: echo $(LIBDIR) > /etc/ld.so.conf.d/memlens.conf && ldconfig"; \
	elif ! $(LDCONFIG) 2> /dev/null; then \
		echo "memlens: run 'sudo ldconfig' so that programs find libmemlens.so.$(SOVERSION)"; \
	fi; \
fi
endef

clean:
	rm -rf build build-asan build-fuzz

# ---- benchmarks (not tests): make bench ----
# the floor: the kernel's fd and VMA walks with programs that emit nothing
$(BUILD)/bench/floor.bpf.o: bench/floor.bpf.c src/bpf/memlens_core.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Isrc -Isrc/bpf $(DEPS_CFLAGS) -c $< -o $@.full.o
	$(BPF_STRIP)

$(BUILD)/bench/floor.lskel.h: $(BUILD)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton -L $< name floor_lskel > $@.tmp && mv $@.tmp $@

$(BUILD)/bench/bench: bench/bench.c bench/harness.c bench/bench.h $(BUILD)/bench/floor.lskel.h $(BUILD)/libmemlens.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/bench -o $@ bench/bench.c bench/harness.c $(BUILD)/libmemlens.a $(LIB_LIBS) $(LDFLAGS)

bench: tests $(BUILD)/bench/bench
	$(BUILD)/bench/bench all
	bench/report.sh $(BUILD)
	tests/vm/run.sh --bench newest

# The README's picture of the report: drawn by Chromium from a scripted
# scenario (scripts/screenshot.sh; root, for its cgroups), never by hand
screenshot: tests
	scripts/screenshot.sh $(BUILD) docs/report.png

# Mutation testing: each mutation in tests/mutations.txt against the suite
# (docs/testing.md has the last score and the survivors)
mutate:
	scripts/mutate.sh

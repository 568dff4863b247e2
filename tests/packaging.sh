#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Packaging: make install into a DESTDIR (multiarch libdir, man page, bash
# completion, a .pc whose libdir is where the library went), make uninstall
# leaves nothing; the uninstalled .pc builds a program against the tree before
# any install; the man page renders cleanly and names every option --help
# lists; the completion completes commands, options and columns.
set -u
B=${1:-${MEMLENS_BUILD:-build}}
. "$(dirname "$0")/helpers/tap.sh"
cd "$(dirname "$0")/.."
if ! command -v make > /dev/null || ! command -v cc > /dev/null || [ ! -f Makefile ]; then
	skip "no compiler or source tree here (a VM guest): packaging is checked on the host"
	echo "1..$n"; exit 0
fi
B=$(cd "$B" && pwd)
ML=$B/memlens
tmp=$(mktemp -d /tmp/memlens-pkg-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
san=()
case "$(basename "$B")" in build-asan) san=(SANITIZE=1) ;; esac

# ---- the ABI: what libmemlens.so exports is what memlens.h declares ----
# (the version script is kept by hand: a name it lists that the header does
# not, or a declared function it forgets, shows here)
declared=$(sed -n 's/^MEMLENS_API[^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' include/memlens.h | sort)
listed=$(sed -n 's/^\t\t\([A-Za-z_0-9]*\);$/\1/p' src/libmemlens.map | sort -u)
exported=$(nm -D --defined-only "$B/libmemlens.so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort -u)
is "libmemlens.map lists exactly the functions memlens.h declares" "" "$(diff <(echo "$declared") <(echo "$listed"))"
is "libmemlens.so exports exactly those" "" "$(diff <(echo "$declared") <(echo "$exported"))"

# ---- install and uninstall ----
ma=$(cc -print-multiarch)
make -s install "${san[@]}" DESTDIR="$tmp/root" > "$tmp/install.log" 2>&1
ok $? "make install DESTDIR=..."
files=$(cd "$tmp/root" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
ver=$("$ML" --version | awk '{print $2}')
is "installed: the binary, the header, the libraries in the multiarch libdir, the .pc, the man page, the completion, the exporter's unit" \
	"./usr/local/bin/memlens ./usr/local/include/memlens.h ./usr/local/lib/systemd/system/memlens-exporter.service ./usr/local/lib/$ma/libmemlens.a ./usr/local/lib/$ma/libmemlens.so ./usr/local/lib/$ma/libmemlens.so.0 ./usr/local/lib/$ma/libmemlens.so.$ver ./usr/local/lib/$ma/pkgconfig/memlens.pc ./usr/local/share/bash-completion/completions/memlens ./usr/local/share/man/man1/memlens.1 " \
	"$files"
is "the unit starts the installed binary" "ExecStart=/usr/local/bin/memlens exporter --listen 127.0.0.1:9848" \
	"$(grep '^ExecStart=' "$tmp/root/usr/local/lib/systemd/system/memlens-exporter.service")"
is "a DESTDIR install leaves the linker's cache to the package: no ldconfig advice" "" "$(grep '^memlens:' "$tmp/install.log")"
is "memlens.pc: libdir is where the library went, version the binary's" \
	"/usr/local/lib/$ma $("$ML" --version | awk '{print $2}')" \
	"$(PKG_CONFIG_PATH="$tmp/root/usr/local/lib/$ma/pkgconfig" pkg-config --variable=libdir memlens) $(PKG_CONFIG_PATH="$tmp/root/usr/local/lib/$ma/pkgconfig" pkg-config --modversion memlens)"
make -s install "${san[@]}" DESTDIR="$tmp/root2" PREFIX=/opt/ml LIBDIR=/opt/ml/lib64 > /dev/null 2>&1
is "PREFIX and LIBDIR are honoured" "yes /opt/ml/lib64" \
	"$([ -f "$tmp/root2/opt/ml/lib64/libmemlens.so.$ver" ] && [ -f "$tmp/root2/opt/ml/bin/memlens" ] && echo yes) $(sed -n 's/^libdir=//p' "$tmp/root2/opt/ml/lib64/pkgconfig/memlens.pc")"
make -s uninstall "${san[@]}" DESTDIR="$tmp/root" > /dev/null 2>&1
ok $? "make uninstall DESTDIR=..."
is "make uninstall: no file left" "" "$(cd "$tmp/root" && find . \( -type f -o -type l \))"

# ---- before install: the uninstalled .pc ----
is "PKG_CONFIG_PATH=BUILD: memlens-uninstalled.pc points into the tree" \
	"-I$PWD/include -L$B -lmemlens" "$(PKG_CONFIG_PATH="$B" pkg-config --cflags --libs memlens | sed 's/ *$//')"
cp tests/helpers/consumer.c "$tmp/pc.c"
sanflags=(); [ ${#san[@]} = 0 ] || sanflags=(-fsanitize=address,undefined)
cc -std=c11 -Wall -Wextra -Werror "${sanflags[@]}" $(PKG_CONFIG_PATH="$B" pkg-config --cflags memlens) -o "$tmp/pc" "$tmp/pc.c" \
	$(PKG_CONFIG_PATH="$B" pkg-config --libs memlens) > "$tmp/cc.log" 2>&1
ok $? "a program builds against the tree through the uninstalled .pc ($(head -c 200 "$tmp/cc.log"))"
out=$(LD_LIBRARY_PATH=$B "$tmp/pc")
ok "$([ "${out%% *}" = 0 ] && [ "${out#* }" -gt 0 ]; echo $?)" "... and runs: a snapshot of $out processes"

# ---- make install to the live root: programs run with no LD_LIBRARY_PATH ----
# In a private mount namespace: /usr/local and /opt empty tmpfs, /etc an
# overlay whose writes (the linker's cache, its conf.d) go to a tmpfs, so
# that the machine's own stay untouched.
if command -v unshare > /dev/null && [ "$(id -u)" = 0 ]; then
	MAKE_SAN="${san[*]}" SANF="${sanflags[*]}" unshare -m bash -c '
		. tests/helpers/tap.sh
		set -u
		mount --make-rprivate / && mount -t tmpfs tmpfs /usr/local && mount -t tmpfs tmpfs /opt &&
		mkdir "$1/ov" && mount -t tmpfs tmpfs "$1/ov" && mkdir "$1/ov/up" "$1/ov/work" &&
		mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/ov/up",workdir="$1/ov/work" /etc || {
			res 1 "live install: the private mounts"; exit 0; }
		unset LD_LIBRARY_PATH
		cc_pc() { cc -std=c11 $SANF $(PKG_CONFIG_PATH=$2 pkg-config --cflags memlens) -o "$1" "$3" $(PKG_CONFIG_PATH=$2 pkg-config --libs memlens); }
		make -s install $MAKE_SAN > "$1/live.log" 2>&1
		check "make install (PREFIX=/usr/local, no DESTDIR): no advice printed, the linker finds the library" \
			"rc 0, advice [], cache => /usr/local/lib/$2/libmemlens.so.0" \
			"rc $?, advice [$(grep "^memlens:" "$1/live.log")], cache$(/sbin/ldconfig -p | grep -o " => .*libmemlens.so.0$")"
		cc_pc "$1/live" "" "$1/pc.c" 2> "$1/live.cc"
		out=$("$1/live" 2>&1)
		check "... a program built with pkg-config runs without LD_LIBRARY_PATH, on the installed library" \
			"0 /usr/local/lib/$2/libmemlens.so.0" \
			"${out%% *} $(ldd "$1/live" | sed -n "s/.*libmemlens.so.0 => \([^ ]*\) .*/\1/p")"
		make -s uninstall $MAKE_SAN > /dev/null 2>&1
		"$1/live" > /dev/null 2> "$1/gone"
		check "make uninstall: the cache forgets it (the program no longer loads)" "yes" \
			"$(grep -q "libmemlens.so.0: cannot open shared object file" "$1/gone" && echo yes)"
		make -s install $MAKE_SAN PREFIX=/opt/ml > "$1/opt.log" 2>&1
		line=$(grep "^memlens:" "$1/opt.log")
		check "make install PREFIX=/opt/ml: one line says what to run, as LIBDIR is off the linker'"'"'s path" \
			"memlens: /opt/ml/lib/$2 is not on the dynamic linker'"'"'s path; run: echo /opt/ml/lib/$2 > /etc/ld.so.conf.d/memlens.conf && ldconfig" \
			"$line"
		sh -c "${line#*run: }" > /dev/null 2>&1
		cc_pc "$1/opt" /opt/ml/lib/$2/pkgconfig "$1/pc.c" 2> "$1/opt.cc"
		out=$("$1/opt" 2>&1)
		check "... after that line, a program built against it runs without LD_LIBRARY_PATH" \
			"0 /opt/ml/lib/$2/libmemlens.so.0" \
			"${out%% *} $(ldd "$1/opt" | sed -n "s/.*libmemlens.so.0 => \([^ ]*\) .*/\1/p")"
	' _ "$tmp" "$ma" > "$tmp/live.res" 2>&1
	tap_results "$tmp/live.res" "the live install"
else
	skip "the live-root install needs root and unshare (a private /usr/local): run as root"
fi

# ---- a program built against 0.4 keeps working ----
# memlens_vma_usage held kb[] in its middle until 0.5; a program built then
# references memlens__rollup and memlens_usage_set__get at MEMLENS_0.1 and
# reads that layout.  This one binds those versions as such a program's
# links do, and checks the fields after the array (the mlocked 64 KiB in
# Locked, THPeligible, VmFlags) and a canary after its own struct.
cat > "$tmp/abi.c" <<'EOS'
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <memlens.h>
struct usage_0_4 {
	struct memlens_vma vma;
	uint64_t kb[18];
	uint64_t present;
	int32_t thp_eligible;
	const char *vm_flags;
};
int rollup_0_4(struct memlens *ml, pid_t pid, struct usage_0_4 *out);
const struct usage_0_4 *get_0_4(const struct memlens_usage_set *set, size_t i);
__asm__(".symver rollup_0_4,memlens__rollup@MEMLENS_0.1");
__asm__(".symver get_0_4,memlens_usage_set__get@MEMLENS_0.1");
int main(void)
{
	struct memlens *ml = memlens__new(NULL);
	struct { struct usage_0_4 u; uint64_t canary; } r = { .canary = 0x5a5a5a5a5a5a5a5aULL };
	struct memlens_proc *p;
	struct memlens_usage_set *set = NULL, *one = NULL;
	char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	/* the system call itself: ASan's mlock() does nothing */
	if (m == MAP_FAILED || syscall(SYS_mlock, m, 65536))
		return 2;
	err = rollup_0_4(ml, getpid(), &r.u);
	printf("rollup %d %llu %d %s %d %llx\n", err, (unsigned long long)r.u.kb[17], r.u.thp_eligible,
	       r.u.vm_flags && !*r.u.vm_flags ? "empty" : "bad", !!(r.u.present >> 17 & 1),
	       (unsigned long long)r.canary);
	p = memlens__proc_open(ml, getpid(), NULL);
	err = memlens_proc__smaps(p, &set);
	for (size_t i = 0; !err && i < memlens_usage_set__count(set); i++) {
		const struct usage_0_4 *u = get_0_4(set, i);

		if (u->vma.start == (uintptr_t)m)
			printf("smaps %llu %s %d\n", (unsigned long long)u->kb[17],
			       strstr(u->vm_flags, "lo") ? "lo" : "no-lo", u->thp_eligible >= 0);
	}
	err = memlens__rollup(ml, getpid(), &one);
	printf("rollup 0.5 %d %llu\n", err, (unsigned long long)memlens_usage_set__get(one, 0)->kb[MEMLENS_USAGE_LOCKED]);
	memlens_usage_set__free(one);
	memlens_usage_set__free(set);
	memlens_proc__close(p);
	memlens__free(ml);
	return 0;
}
EOS
cc -std=gnu11 -Wall -Werror "${sanflags[@]}" $(PKG_CONFIG_PATH="$B" pkg-config --cflags memlens) -o "$tmp/abi" "$tmp/abi.c" \
	$(PKG_CONFIG_PATH="$B" pkg-config --libs memlens) > "$tmp/cc.log" 2>&1
ok $? "a program with 0.4's memlens_vma_usage builds against the tree ($(head -c 200 "$tmp/cc.log"))"
is "... it references memlens__rollup and memlens_usage_set__get at both versions (0.1 as built against 0.4)" \
	"memlens__rollup@MEMLENS_0.1 memlens__rollup@MEMLENS_0.5 memlens_usage_set__get@MEMLENS_0.1 memlens_usage_set__get@MEMLENS_0.5 " \
	"$(nm -D "$tmp/abi" | awk '$1 == "U" && /memlens__rollup|memlens_usage_set__get/ {print $2}' | sort | tr '\n' ' ')"
is "... reads 0.4's layout: Locked 64 kB, no THPeligible, VmFlags \"\", the Locked bit, nothing written past its struct; the smaps record too; 0.5's rollup the same Locked" \
	"rollup 0 64 -1 empty 1 5a5a5a5a5a5a5a5a
smaps 64 lo 1
rollup 0.5 0 64" "$(LD_LIBRARY_PATH=$B "$tmp/abi" 2>&1)"

# ---- the man page ----
groff -man -ww -z docs/man/memlens.1 > "$tmp/groff" 2>&1
is "man page: groff -man -ww renders it without a warning" "" "$(cat "$tmp/groff")"
# the vendored script is inlined in a <script> element: it must not end it
is "third_party/d3-hierarchy: no '</script' or '<!--' in the inlined script, its licence present" "0 yes" \
	"$(grep -c '</script\|<!--' third_party/d3-hierarchy/d3-hierarchy.js) $(grep -q 'ISC\|Permission to use' third_party/d3-hierarchy/LICENSE && echo yes)"
missing=$(for c in maps query features dmabuf snapshot who-maps exporter bpf diff report; do
	"$ML" $c --help | sed -n 's/^ *\(-[A-Za-z]\), \(--[a-z-]*\).*/\2/p; s/^ *\(--[a-z-]*\).*/\1/p'; done | sort -u |
	while read -r o; do grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" docs/man/memlens.1 || echo "$o"; done | tr '\n' ' ')
is "man page: every long option any --help lists is in it" "" "$missing"
# the sources the man page names for -s are those the commands accept
man_src=$(sed -n '/^\.BR \\-s ", " \\-\\-source/,/^\.TP/p' docs/man/memlens.1 | grep '^\.BR [a-z]' |
	  tr -d '",' | sed 's/^\.BR //; s/ or / /' | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
bin_src=$(for c in maps dmabuf; do "$ML" $c --help | sed -n 's/^  -s, --source S *\(.*\) (default.*/\1/p'; done |
	  tr -d '|' | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
is "man page: the -s sources are the ones the commands accept ($bin_src)" "$bin_src" "$man_src"
is "man page: its version is the binary's" "$("$ML" --version | awk '{print $2}')" \
	"$(sed -n 's/^\.TH .*"memlens \([0-9.]*\)".*/\1/p' docs/man/memlens.1)"

# ---- bash completion ----
comp() {	# comp WORDS...: what completing the last word offers
	bash -c '. /usr/share/bash-completion/bash_completion; . contrib/bash-completion/memlens
		PATH="'"$B"':$PATH"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_memlens; printf "%s\n" "${COMPREPLY[@]}"' _ "$@" | sort | tr '\n' ' '
}
if [ -f /usr/share/bash-completion/bash_completion ]; then
	is "completion: memlens sn -> snapshot" "snapshot " "$(comp memlens sn)"
	is "completion: memlens snapshot --gr -> --group-by" "--group-by " "$(comp memlens snapshot --gr)"
	is "completion: memlens maps -s t -> text" "text " "$(comp memlens maps -s t)"
	is "completion: memlens dmabuf -s p -> procfs" "procfs " "$(comp memlens dmabuf -s p)"
	# what -s completes is what -s accepts, for every command that takes it
	for cmd in maps query who-maps dmabuf snapshot exporter; do
		bad=""
		for w in $(comp memlens $cmd -s ''); do
			"$ML" $cmd -s "$w" --help > /dev/null 2>&1 || bad+=" $w"
		done
		is "completion: $cmd -s offers only sources it accepts, and some ($(comp memlens $cmd -s '' | tr -s ' '))" "" \
			"$bad$([ -z "$(comp memlens $cmd -s '')" ] && echo ' (none offered)')"
	done
	is "completion: diff and features offer no -s (they take none)" "" "$({ comp memlens diff -s ''; comp memlens features -s ''; } | tr -d " ")"
	is "completion: memlens maps self -o PID,ST -> PID,START" "PID,START " "$(comp memlens maps self -o PID,ST)"
	is "completion: memlens snapshot -x PS -> PSS" "PSS " "$(comp memlens snapshot -x PS)"
	is "completion: memlens diff -x sw -> swap swappss (from diff --help, as -x takes them)" "swap swappss " "$(comp memlens diff -x sw)"
	is "completion: memlens snapshot --group-by c -> cgroup comm container" "cgroup comm container " "$(comp memlens snapshot --group-by c)"
	is "completion: memlens query --no -> --no-build-id --noheadings" "--no-build-id --noheadings " "$(comp memlens query --no)"
else
	skip "no bash-completion here (scripts/deps.sh installs it)"
fi
echo "1..$n"

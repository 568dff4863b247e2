#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# How memlens reaches a machine, checked for real (make dist-check; the
# second phase of make check):
#  - every package in scripts/deps.sh's build list is used by a clean build
#    (a file of it opened or run, under strace);
#  - in a minimal Debian 12 root (debootstrap --variant=minbase from the
#    machine's own mirror), the README's first command installs only the
#    build list and what it depends on, builds memlens and prints its answer;
#  - the .debs build with dpkg-buildpackage, lintian finds no error or
#    warning, the symbols file is libmemlens.map's, the version memlens.h's;
#  - installed in that root with apt-get install ./*.deb: memlens features,
#    man memlens, and a program built with pkg-config (shared and static)
#    run; the exporter's unit passes systemd-analyze verify;
#  - purged (with what apt pulled in for them), nothing of them is left.
# The root lives in a private mount namespace (its /proc, /sys and /dev go
# with it) and is removed afterwards.  TAP; a root that cannot be built (no
# mirror, no network) is a failure, as a kernel the matrix cannot fetch is.
set -u
cd "$(dirname "$0")/../.."
. tests/helpers/tap.sh
. tests/helpers/mirror.sh
if [ "$(id -u)" != 0 ]; then
	skip "the install checks need root (debootstrap, chroot, apt-get in the root)"
	echo "1..$n"; exit 0
fi
top=$PWD
tmp=$(mktemp -d /var/tmp/memlens-dist-XXXXXX)
root=$tmp/root
cleanup() {
	# never remove a tree something is still mounted under
	if grep -q " $tmp/" /proc/self/mountinfo; then
		echo "# $tmp: still mounted, left in place" >&2
	else
		rm -rf --one-file-system "$tmp"
	fi
}
trap cleanup EXIT
[ -z "${MEMLENS_KEEP:-}" ] || trap 'echo "# kept $tmp"' EXIT

# the tree as git knows it (tracked, and new files not ignored): no build output
copy_tree() {
	mkdir -p "$1"
	git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar -cf - --null -T - | tar -xf - -C "$1"
}
BUILD=$(scripts/deps.sh --print)
ALL=$(scripts/deps.sh --print --test)
TESTONLY=$(for p in $ALL; do case " $BUILD " in *" $p "*) ;; *) echo "$p" ;; esac; done)

# ---- the build list: each package used by a clean build ----
copy_tree "$tmp/src"
(cd "$tmp/src" && strace -f -qq -o "$tmp/strace" -e trace=execve,open,openat,stat,newfstatat,lstat,access,faccessat,faccessat2,statx,readlink \
	make -j2 all > "$tmp/build.log" 2>&1)
ok $? "a clean build of the tree, under strace ($(tail -c 200 "$tmp/build.log" | tr '\n' ' '))"
unused=$(python3 - "$tmp/strace" $BUILD <<'EOF'
import os, re, subprocess, sys
# every absolute path a successful call named, each symlink hop of it, and
# the same with its directory resolved (/lib is /usr/lib on Debian 12)
seen = set()
call = re.compile(r'^\d+ +(\w+)\((?:AT_FDCWD, |-?\d+, )?"(/[^"]*)".*\) = (\d+|0x[0-9a-f]+)')
for line in open(sys.argv[1], errors='replace'):
    m = call.match(line)
    if m:
        seen.add(os.path.normpath(m.group(2)))
def variants(p):
    out, hop = set(), p
    for _ in range(40):
        out.add(hop)
        out.add(os.path.join(os.path.realpath(os.path.dirname(hop)), os.path.basename(hop)))
        if not os.path.islink(hop):
            break
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return out
used = set()
for p in seen:
    used |= variants(p)
for pkg in sys.argv[2:]:
    files = subprocess.run(['dpkg', '-L', pkg], capture_output=True, text=True).stdout.split('\n')
    if not any(f and not os.path.isdir(f) and
               (f in used or os.path.join(os.path.realpath(os.path.dirname(f)), os.path.basename(f)) in used)
               for f in files):
        print(pkg)
EOF
)
is "every package in the build list is used by the build ($(echo $BUILD))" "" "$(echo $unused)"

# ---- a minimal Debian 12 root ----
mirror=$(debian_mirror)
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$tmp/debootstrap.log" 2>&1
ok $? "debootstrap --variant=minbase bookworm from the machine's mirror ($(tail -1 "$tmp/debootstrap.log"))"
[ -s "$root/etc/resolv.conf" ] || cp /etc/resolv.conf "$root/etc/resolv.conf"
# inroot CMD...: CMD in the root, with its own /proc, and the host's /sys and
# /dev, in a private mount and pid namespace (gone when CMD exits)
inroot() {
	unshare --mount --pid --fork --kill-child bash -c '
		r=$1; shift
		mount --make-rprivate / && mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" &&
		mount --rbind /dev "$r/dev" || exit 99
		exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' _ "$root" "$@"
}
installed() { inroot dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort; }

# ---- the README's first command, in that root ----
readme=$(awk '/^```sh$/ {getline; print; exit}' README.md)
copy_tree "$root/src"
installed > "$tmp/pkgs.before"
# as a script, as a user's shell runs it: bash -c would exec the last command
# in place of the shell whose $$ the line names
printf 'cd /src\n%s\n' "$readme" > "$root/tmp/readme.sh"
inroot bash /tmp/readme.sh > "$tmp/readme.out" 2> "$tmp/readme.err"
rc=$?
installed > "$tmp/pkgs.after"
ok $rc "the README's first command runs in a minimal Debian 12 root ($(tail -c 300 "$tmp/readme.err" | tr '\n' ' '))"
is "... it prints the shell's mappings and normalizes an address in its libc (file offset, mapping, build ID)" "yes yes" \
	"$(grep -q '\[stack\]' "$tmp/readme.out" && echo yes) $(grep -Eq '^0x[0-9a-f]+ +0x[0-9a-f]+ .*/libc\.so\.6 +[0-9a-f]{40}' "$tmp/readme.out" && echo yes || tail -2 "$tmp/readme.out")"
new=$(comm -13 "$tmp/pkgs.before" "$tmp/pkgs.after")
closure=$(inroot apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
	--no-enhances $BUILD 2>/dev/null | grep '^[a-z0-9]' | sort -u)
bad=$(for p in $TESTONLY; do
	echo "$new" | grep -qx "$p" && ! echo "$closure" | grep -qx "$p" && echo "$p"; done)
is "... and installs no test-only package (only the build list and what it depends on)" "" "$(echo $bad)"
size=$(inroot dpkg-query -W -f '${Package} ${Installed-Size}\n' $new | awk '{s += $2} END {printf "%.0f", s / 1024}')
get=$(sed -n 's/^Need to get \([^ ]* [kMG]B\).*/\1/p' "$tmp/readme.out" | head -1)
echo "# the README's first command: $(echo "$new" | grep -c .) packages, $get fetched, $size MB installed"
inroot apt-get install -s --no-install-recommends $TESTONLY > "$tmp/test.sim" 2>&1
tsize=$(inroot apt-cache show --no-all-versions $(awk '$1 == "Inst" {print $2}' "$tmp/test.sim") 2>/dev/null |
	awk '/^Installed-Size:/ {s += $2} END {printf "%.0f", s / 1024}')
echo "# --test adds $(grep -c '^Inst ' "$tmp/test.sim") packages, $tsize MB installed"
is "the README's first command did not run the tests' list: no qemu-system-x86, prometheus or lintian" "" \
	"$(echo "$new" | grep -x -e qemu-system-x86 -e prometheus -e lintian)"

# ---- the Debian packages ----
copy_tree "$tmp/pkg/memlens"
(cd "$tmp/pkg/memlens" && dpkg-buildpackage -us -uc -b > "$tmp/deb.log" 2>&1)
ok $? "dpkg-buildpackage -us -uc -b builds the packages ($(grep -m3 -i 'error' "$tmp/deb.log" | tr '\n' ' '))"
debs=$(cd "$tmp/pkg" && ls memlens_*.deb libmemlens0_*.deb libmemlens-dev_*.deb 2>/dev/null | tr '\n' ' ')
ver=$(sed -n 's/^#define MEMLENS_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' include/memlens.h | paste -sd.)
is "three packages: memlens, libmemlens0, libmemlens-dev, at memlens.h's version" \
	"libmemlens-dev_${ver}_amd64.deb libmemlens0_${ver}_amd64.deb memlens_${ver}_amd64.deb " "$(echo $debs | tr ' ' '\n' | sort | tr '\n' ' ')"
is "debian/changelog's version is memlens.h's" "$ver" "$(dpkg-parsechangelog -l debian/changelog -S Version)"
is "debian/libmemlens0.symbols is libmemlens.map's (scripts/gen-symbols.sh; dpkg-gensymbols held it to the library at level 4)" "" \
	"$(diff <(scripts/gen-symbols.sh) debian/libmemlens0.symbols)"
lintian --no-tag-display-limit "$tmp/pkg"/memlens_*.changes > "$tmp/lintian" 2>&1
is "lintian: no error and no warning" "" "$(grep -E '^[EW]: ' "$tmp/lintian" | tr '\n' ';')"
files() { for d in "$tmp/pkg"/$1_*.deb; do dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's/^\.//'; done | tr '\n' ' '; }
is "memlens: the CLI, the man page, the completion, the exporter's unit" \
	"/lib/systemd/system/memlens-exporter.service /usr/bin/memlens /usr/share/bash-completion/completions/memlens /usr/share/doc/memlens/changelog.gz /usr/share/doc/memlens/copyright /usr/share/man/man1/memlens.1.gz " \
	"$(files memlens | tr ' ' '\n' | sort | tr '\n' ' ')"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
is "libmemlens0: the shared library; libmemlens-dev: header, .pc, static library, the .so link" \
	"/usr/lib/$ma/libmemlens.so.$ver /usr/share/doc/libmemlens0/changelog.gz /usr/share/doc/libmemlens0/copyright /usr/lib/$ma/libmemlens.so.0 | /usr/include/memlens.h /usr/lib/$ma/libmemlens.a /usr/lib/$ma/pkgconfig/memlens.pc /usr/share/doc/libmemlens-dev/changelog.gz /usr/share/doc/libmemlens-dev/copyright /usr/lib/$ma/libmemlens.so " \
	"$(files libmemlens0)| $(files libmemlens-dev)"
mkdir -p "$tmp/unit" && dpkg-deb -x "$tmp/pkg"/memlens_*.deb "$tmp/unit"
sed "s|^ExecStart=/usr/bin/memlens|ExecStart=$tmp/unit/usr/bin/memlens|" "$tmp/unit/lib/systemd/system/memlens-exporter.service" \
	> "$tmp/memlens-exporter.service"
out=$(systemd-analyze verify --man=no "$tmp/memlens-exporter.service" 2>&1)
ok $? "systemd-analyze verify accepts the exporter's unit ($out)"

# ---- installed in the root, then purged ----
inroot apt-get install -y -q --no-install-recommends man-db > "$tmp/mandb.log" 2>&1
snap() {	# every file of the root but apt's and dpkg's state, caches, logs and /tmp
	inroot find / -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
		-o -path /tmp -o -path /src -o -path /debs \) -prune -o -print | sort
}
snap > "$tmp/files.before"
mkdir -p "$root/debs" && cp "$tmp/pkg"/*.deb "$root/debs/"
inroot bash -c 'cd /debs && apt-get install -y -q --no-install-recommends ./memlens_*.deb ./libmemlens0_*.deb ./libmemlens-dev_*.deb' \
	> "$tmp/install.log" 2>&1
ok $? "apt-get install ./*.deb in the root, with their dependencies from the mirror ($(grep -m2 -E '^E:' "$tmp/install.log" | tr '\n' ' '))"
out=$(inroot memlens features 2>&1)
ok "$([ $? = 0 ] && echo "$out" | grep -q "^kernel" ; echo $?)" "memlens features runs ($(echo "$out" | head -2 | tr '\n' ' '))"
is "memlens --version is the package's" "memlens $ver" "$(inroot memlens --version)"
out=$(inroot env MANPAGER=cat MANWIDTH=80 man memlens 2>&1)
is "man memlens renders the installed page" "NAME memlens - " "$(echo "$out" | grep -m1 -o '^NAME') $(echo "$out" | grep -A1 '^NAME' | tail -1 | tr -s ' ' | grep -o 'memlens - ' || echo "$out" | head -3)"
cp tests/helpers/consumer.c "$root/tmp/pc.c"
inroot bash -c 'cc -o /tmp/pc /tmp/pc.c $(pkg-config --cflags --libs memlens) && /tmp/pc && ldd /tmp/pc | grep -o "libmemlens.so.0 => [^ ]*"' > "$tmp/pc.out" 2>&1
is "a program built with pkg-config runs on the packaged library, no LD_LIBRARY_PATH" "0 libmemlens.so.0 => /lib/$ma/libmemlens.so.0" \
	"$(awk 'NR == 1 {print $1} NR == 2' "$tmp/pc.out" | tr '\n' ' ' | sed 's/ $//')"
inroot bash -c 'cc -o /tmp/pcs /tmp/pc.c $(pkg-config --cflags memlens) -Wl,-Bstatic -lmemlens -Wl,-Bdynamic \
	$(pkg-config --static --libs memlens | sed "s/-lmemlens//") && /tmp/pcs && ldd /tmp/pcs | grep -c libmemlens' > "$tmp/pcs.out" 2>&1
is "... and linked with the static library (pkg-config --static: its libbpf, libelf, zlib)" "0 0" \
	"$(awk 'NR == 1 {print $1} NR == 2' "$tmp/pcs.out" | tr '\n' ' ' | sed 's/ $//')"
inroot bash -c 'apt-get purge -y -q memlens libmemlens0 libmemlens-dev && apt-get autoremove --purge -y -q' > "$tmp/purge.log" 2>&1
ok $? "apt-get purge, then autoremove --purge what they pulled in"
is "... no package of them is left" "" "$(installed | grep -x -e memlens -e libmemlens0 -e libmemlens-dev)"
is "... and no file: the root is file for file what it was before the install" "" \
	"$(diff "$tmp/files.before" <(snap) | grep '^[<>]' | head -20 | tr '\n' ' ')"
echo "1..$n"

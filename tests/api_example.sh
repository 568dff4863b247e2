#!/bin/bash
# The docs/api.md example, compiled as a user would: against the library that
# `make install DESTDIR=...` installs, through its pkg-config file, with
# -std=c11 -Wall -Wextra -Werror; then run, and its answer checked against
# /proc/<pid>/maps read by awk and readelf's build ID.
# Usage: tests/api_example.sh BUILD_DIR    (TAP on stdout)
set -u
B=${1:-build}
. "$(dirname "$0")/helpers/tap.sh"
cd "$(dirname "$0")/.."
if ! command -v make > /dev/null || ! command -v cc > /dev/null || [ ! -f Makefile ]; then
	skip "no compiler or source tree here (a VM guest): the API example is built on the host"
	echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-api-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
san=(); sanflags=()
case "$(basename "$B")" in build-asan) san=(SANITIZE=1); sanflags=(-fsanitize=address,undefined) ;; esac
make -s install "${san[@]}" DESTDIR="$tmp/root" > "$tmp/install.log" 2>&1
ok $? "make install DESTDIR=... (${san[*]:-normal build})"
pc=$(find "$tmp/root" -name memlens.pc | head -1)
ok "$([ -n "$pc" ]; echo $?)" "the pkg-config file is installed ($pc)"
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$tmp/root
# the first ```c block that holds main()
awk '/^```c$/ {blk = ""; inb = 1; next} /^```$/ {if (inb && blk ~ /int main\(/ && ++k == 1) printf "%s", blk; inb = 0; next}
     inb {blk = blk $0 "\n"}' docs/api.md > "$tmp/example.c"
ok "$(grep -q 'int main' "$tmp/example.c"; echo $?)" "docs/api.md holds the example program"
cc -std=c11 -Wall -Wextra -Werror "${sanflags[@]}" $(pkg-config --cflags memlens) -o "$tmp/example" "$tmp/example.c" \
	$(pkg-config --libs memlens) > "$tmp/cc.log" 2>&1
ok $? "the example compiles with -std=c11 -Wall -Wextra -Werror against the installed library"
sed 's/^/#   /' "$tmp/cc.log" | head -20
libdir=$(dirname "$(find "$tmp/root" -name 'libmemlens.so.*' | head -1)")
LD_LIBRARY_PATH=$libdir "$tmp/example" > "$tmp/out" 2> "$tmp/err"
ok $? "the example runs ($(head -1 "$tmp/out"))"
read -r _ addr _ off _ file _ bid < <(head -1 "$tmp/out")
# ground truth: the VMA covering main in the example's own maps, by awk, and readelf -n
want_file=$(readlink -f "$tmp/example")
ok "$([ -n "$file" ] && [ "$file" = "$want_file" ]; echo $?)" "main is in the example's own file ($file)"
want_bid=$(readelf -n "$tmp/example" | awk '/Build ID/ {print $3; exit}')
ok "$([ -n "$bid" ] && [ "$bid" = "$want_bid" ]; echo $?)" "its build ID is readelf's ($bid, readelf $want_bid)"
# file offset: main's address in the file, through the PT_LOAD that holds it
vaddr=$(readelf -sW "$tmp/example" | awk '$8 == "main" {print $2; exit}')
want_off=
while read -r _ o v _ fs _; do
	if [ -n "$vaddr" ] && (( 16#$vaddr >= v && 16#$vaddr < v + fs )); then
		want_off=$(printf '0x%x' $(( 16#$vaddr - v + o ))); break
	fi
done < <(readelf -lW "$tmp/example" | awk '$1 == "LOAD" {print}')
ok "$([ -n "$off" ] && [ "$off" = "$want_off" ]; echo $?)" "main's file offset is what its PT_LOAD says ($off, readelf $want_off)"
ok "$(grep -q '^source ' "$tmp/out"; echo $?)" "the example says which source answered ($(tail -1 "$tmp/out"))"

# ---- the profiler's loop: the second block holding main() ----
awk '/^```c$/ {blk = ""; inb = 1; next} /^```$/ {if (inb && blk ~ /int main\(/ && ++k == 2) printf "%s", blk; inb = 0; next}
     inb {blk = blk $0 "\n"}' docs/api.md > "$tmp/loop.c"
ok "$(grep -q 'memlens_norm__symbolize' "$tmp/loop.c"; echo $?)" "docs/api.md holds the profiler's loop"
cc -g -std=c11 -Wall -Wextra -Werror "${sanflags[@]}" $(pkg-config --cflags memlens) -o "$tmp/loop" "$tmp/loop.c" \
	$(pkg-config --libs memlens) > "$tmp/cc.log" 2>&1
ok $? "it compiles with -g -std=c11 -Wall -Wextra -Werror ($(head -c 200 "$tmp/cc.log"))"
LD_LIBRARY_PATH=$libdir "$tmp/loop" > "$tmp/loop.out" 2>&1
ok $? "it runs ($(head -1 "$tmp/loop.out"))"
# as eu-addr2line prints them: no "+0x0", no ":0" column
got=$(awk 'NF == 4 {sub(/\+0x0$/, "", $3); sub(/:0$/, "", $4); print $3 " at " $4}' "$tmp/loop.out")
want=$(awk 'NF == 4 {print $2}' "$tmp/loop.out" | xargs eu-addr2line -S --pretty-print -e "$tmp/loop" 2>&1)
is "main and leaf: symbol+offset and line as eu-addr2line -S gives them for the same ELF addresses" "$want" "$got"
is "both are the example's own functions, at offset 0" "main+0x0 leaf+0x0" \
	"$(awk 'NF == 4 {print $3}' "$tmp/loop.out" | tr '\n' ' ' | sed 's/ $//')"
is "the unmapped address says why (-ENXIO)" "0x10 unsymbolized -6" "$(grep unsymbolized "$tmp/loop.out")"
echo "1..$n"

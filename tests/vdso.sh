#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# [vdso]'s build ID: read from the process's memory (root), and, where
# /proc/<pid>/mem is refused (Yama ptrace_scope 1: a reader that is not the
# target's ancestor), from memlens' own vDSO for a 64-bit process.  Ground
# truth: the vDSO's bytes dumped here with dd and its note read by readelf.
set -u
B=$(cd "${MEMLENS_BUILD:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-vdso-XXXXXX)
kids=()
scope=
cleanup() {
	[ -n "$scope" ] && echo "$scope" > /proc/sys/kernel/yama/ptrace_scope
	for k in "${kids[@]}"; do kill "$k" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v readelf > /dev/null; then
	skip "needs root and readelf"
	echo "1..$n"; exit 0
fi
sleep 600 & kids+=($!); p=$!
sleep 0.1
# (no <(...): the guests have no /dev/fd)
range=$(awk '$6 == "[vdso]" {split($1, a, "-"); print a[1], a[2]}' /proc/$p/maps)
s=${range% *} e=${range#* }
if [ -z "$range" ]; then
	skip "no [vdso] in this kernel's processes"
	echo "1..$n"; exit 0
fi
pages=$(( (16#$e - 16#$s) / 4096 ))
dd if=/proc/$p/mem of="$tmp/vdso" bs=4096 skip=$(( 16#$s / 4096 )) count=$pages 2> /dev/null
want=$(readelf -n "$tmp/vdso" 2>/dev/null | awk '/Build ID/ {print $3; exit}')
ok "$([ -n "$want" ]; echo $?)" "the vDSO dumped with dd has a build ID note (readelf: $want)"
is "maps -B as root: [vdso]'s build ID is the dumped image's" "$want" \
	"$("$ML" maps $p -B -n -r -o NAME,BUILDID | awk '$1 == "[vdso]" {print $2}')"
is "query of an address in [vdso]: the same" "$want" "$("$ML" query $p "$s" -n -r -o BUILDID)"

# Yama: as nobody, a nobody process that is not a child of the reader
if [ -w /proc/sys/kernel/yama/ptrace_scope ] && [ -n "${MEMLENS_EXPECT:-}" ] && command -v setpriv > /dev/null; then
	# only in the VM guests (MEMLENS_EXPECT): the host's setting is not ours to change
	scope=$(cat /proc/sys/kernel/yama/ptrace_scope)
	echo 1 > /proc/sys/kernel/yama/ptrace_scope
	setpriv --reuid=65534 --regid=65534 --clear-groups sleep 600 & kids+=($!); nb=$!
	sleep 0.1
	cp "$ML" "$tmp/memlens"; chmod 755 "$tmp" "$tmp/memlens"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		dd if=/proc/$nb/mem of=/dev/null bs=1 count=1 2> /dev/null
	ok "$([ $? != 0 ]; echo $?)" "ptrace_scope 1: nobody cannot read a nobody process's memory it did not start"
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$tmp/memlens" maps $nb -B -n -r -o NAME,BUILDID 2> "$tmp/err" | awk '$1 == "[vdso]" {print $2}')
	is "ptrace_scope 1, as nobody: [vdso]'s build ID still known (the kernel's one 64-bit image, ours)" "$want" "$got"
	echo "$scope" > /proc/sys/kernel/yama/ptrace_scope; scope=
else
	skip "no Yama to set, or not a VM guest: the /proc/<pid>/mem-refused path runs in the guests"
fi
echo "1..$n"

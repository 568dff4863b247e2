#!/bin/bash
# Swap, for real: a swap file (when the machine has no swap), a process that
# writes 16 MiB of private memory and asks the kernel to page it out
# (MADV_PAGEOUT), stopped.  memlens snapshot's SWAP and SWAPPSS against its
# smaps_rollup, maps --smaps's Swap of the region against smaps, and
# maps --pages's swapped ranges, with each pages source, against
# /proc/<pid>/pagemap's swap bit read here page by page.
# Usage: tests/swap.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
PY=/usr/bin/python3
. "$(dirname "$0")/helpers/tap.sh"
if [ "$(id -u)" != 0 ] || ! command -v swapon > /dev/null || ! command -v mkswap > /dev/null || [ ! -x $PY ]; then
	skip "making swap needs root, swapon, mkswap and python3"; echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-swap-XXXXXX)
swapfile="" child=""
cleanup() {
	[ -n "$child" ] && pkill -KILL -P "$child" 2> /dev/null && kill -KILL "$child" 2> /dev/null
	[ -n "$child" ] && kill -KILL "$child" 2> /dev/null
	wait 2> /dev/null
	if [ -n "$swapfile" ]; then swapoff "$swapfile" 2> /dev/null; rm -f "$swapfile"; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(awk 'NR > 1' /proc/swaps | wc -l)" = 0 ]; then
	# a swap file on a disk filesystem (not tmpfs), 64 MiB
	for d in /var/tmp /var/cache /root; do
		[ "$(stat -f -c %T "$d" 2> /dev/null)" = tmpfs ] && continue
		f=$d/memlens-test-swap.$$
		if dd if=/dev/zero of="$f" bs=1M count=64 status=none 2> /dev/null && chmod 600 "$f" &&
		   mkswap "$f" > /dev/null 2>&1 && swapon "$f" 2> /dev/null; then
			swapfile=$f; break
		fi
		rm -f "$f"
	done
	if [ -z "$swapfile" ]; then
		skip "no swap here and none could be made (a guest without a disk, or swap refused)"; echo "1..$n"; exit 0
	fi
fi

# the process: 16 MiB written, paged out, then forked (the swapped pages
# shared by two: SwapPss half of Swap), both stopped; prints the region
$PY -c '
import mmap, os, signal, sys
size = 16 << 20
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
m.write(b"\x5a" * size)
m.madvise(getattr(mmap, "MADV_PAGEOUT", 21))	# 21: older Pythons lack the name
import ctypes
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
print("%x %x" % (addr, addr + size), flush=True)
if os.fork() == 0:
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(0)
os.kill(os.getpid(), signal.SIGSTOP)
' > "$tmp/region" &
child=$!
for _ in $(seq 100); do [ "$(awk '{print $3}' /proc/$child/stat 2> /dev/null)" = T ] && break; sleep 0.05; done
read -r rs re < "$tmp/region"
swap_kb=$(awk '$1 == "Swap:" {print $2}' /proc/$child/smaps_rollup)
if [ -z "$swap_kb" ] || [ "$swap_kb" -lt 1024 ]; then
	skip "the kernel paged out only ${swap_kb:-no} kB (MADV_PAGEOUT needs 5.4+ and swap)"; echo "1..$n"; exit 0
fi
ok 0 "a stopped process with ${swap_kb} kB swapped out"

# snapshot: SWAP and SWAPPSS (bytes) of that row against smaps_rollup
"$ML" snapshot --no-dmabuf -b -r -n -o PID,SWAP,SWAPPSS > "$tmp/snap" 2> /dev/null
is "snapshot: the process's SWAP and SWAPPSS are its smaps_rollup Swap and SwapPss" \
	"$child $((swap_kb * 1024)) $(( $(awk '$1 == "SwapPss:" {print $2}' /proc/$child/smaps_rollup) * 1024 ))" \
	"$(awk -v p=$child '$1 == p {print $1, $2, $3}' "$tmp/snap")"

# maps --smaps: the region's Swap against smaps
want=$(awk -v s="$rs" 'index($1, s "-") == 1 {on = 1; next} /^[0-9a-f]+-[0-9a-f]+ / {on = 0} on && $1 == "Swap:" {print $2}' /proc/$child/smaps)
"$ML" maps $child --smaps -b -r -n -o START,Swap > "$tmp/smaps" 2> /dev/null
is "maps --smaps -b: the region's Swap (smaps' kB, in bytes)" "$((want * 1024))" \
	"$(awk -v s="0x$rs" '$1 == s {print $2}' "$tmp/smaps")"

# maps --pages: swapped ranges inside the region, per source, against pagemap
$PY -c '
import struct, sys
pid, s, e = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3], 16)
pg = 4096
with open("/proc/%d/pagemap" % pid, "rb") as f:
    f.seek(s // pg * 8)
    data = f.read((e - s) // pg * 8)
runs, cur = [], None
for i in range((e - s) // pg):
    sw = (struct.unpack_from("<Q", data, i * 8)[0] >> 62) & 1
    a = s + i * pg
    if sw and cur and cur[1] == a:
        cur[1] = a + pg
    elif sw:
        cur = [a, a + pg]; runs.append(cur)
print(" ".join("%x-%x" % (a, b) for a, b in runs))
' "$child" "$rs" "$re" > "$tmp/truth"
for src in pagemap_scan pagemap; do
	if ! "$ML" maps $child --pages --pages-source $src -J > "$tmp/pages" 2> "$tmp/err"; then
		skip "--pages-source $src: $(head -1 "$tmp/err")"; continue
	fi
	got=$(jq -r --arg s "$rs" --arg e "$re" '
		def h: ltrimstr("0x") | explode | map(if . >= 97 then . - 87 else . - 48 end) | reduce .[] as $d (0; . * 16 + $d);
		($s | h) as $S | ($e | h) as $E |
		[.pages[] | select(.swapped) | {a: (.start | h), b: (.end | h)} | select(.b > $S and .a < $E)
		 | [([.a, $S] | max), ([.b, $E] | min)]]
		| reduce .[] as $r ([]; if length > 0 and .[-1][1] == $r[0] then .[-1][1] = $r[1] else . + [$r] end)
		| map("\(.[0] | tostring)-\(.[1] | tostring)") | join(" ")' "$tmp/pages")
	want=$($PY -c 'import sys; print(" ".join("%d-%d" % tuple(int(x, 16) for x in r.split("-")) for r in sys.argv[1].split()))' "$(cat "$tmp/truth")")
	is "maps --pages --pages-source $src: the swapped ranges of the region are pagemap's" "$want" "$got"
done
echo "1..$n"

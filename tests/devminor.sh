#!/bin/bash
# Device numbers past one byte: in a private mount namespace the test mounts
# tmpfs until the kernel hands out an anonymous device whose minor is over 255
# (most machines never map a file from one, so a source that keeps only the
# low byte, or swaps major and minor, would pass every other test), maps a
# file from it, and checks every VMA source's DEV and INODE for that mapping,
# and who-maps FILE, against /proc/<pid>/maps read here.
# Usage: tests/devminor.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/helpers/tap.sh"
if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null; then
	skip "mounts in a private namespace need root and unshare"; echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-devminor-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/inner.sh" << 'EOF'
B=$1; d=$2; . "$3"	# tap.sh: res, check
ML=$B/memlens
mount --make-rprivate / 2> /dev/null
mnt=""
for i in $(seq 600); do
	mkdir -p "$d/m$i" && mount -t tmpfs -o size=64k none "$d/m$i" || break
	minor=$(( $(stat -c '%d' "$d/m$i") & 0xff | ($(stat -c '%d' "$d/m$i") >> 12 & 0xfff00) ))
	if [ "$minor" -gt 255 ]; then mnt=$d/m$i; break; fi
done
if [ -z "$mnt" ]; then res S "no anonymous device with a minor over 255 after $i tmpfs mounts"; exit 0; fi
head -c 16384 /dev/zero > "$mnt/f"
mkfifo "$d/in"
"$B/tests/mapper" --dir "$d" --map "$mnt/f" < "$d/in" > "$d/out" 2>&1 &
a=$!
exec 7> "$d/in"
for _ in $(seq 100); do grep -q ready "$d/out" && break; sleep 0.05; done
addr=$(awk '$1 == "extra" {print $2}' "$d/out")
line=$(grep "^$addr-" /proc/$a/maps)
want="$(echo "$line" | awk '{print $4, $5}')"
res 0 "a file mapped from a tmpfs with device $(echo "$want" | cut -d' ' -f1) (minor $minor)"
for b in text bpf ioctl; do
	if ! "$ML" maps $a -s $b -r -n -o START,DEV,INODE > "$d/maps.$b" 2> "$d/err"; then
		res S "maps -s $b: $(head -1 "$d/err")"; continue
	fi
	check "maps -s $b: DEV and INODE of the mapping are maps's" "$want" \
		"$(awk -v s="0x$addr" '$1 == s {print $2, $3}' "$d/maps.$b")"
done
"$ML" who-maps "$mnt/f" -r -n -o PID,START > "$d/who" 2> "$d/err"
check "who-maps FILE on that device: the mapper at its address" "$a 0x$addr" "$(head -1 "$d/who")"
exec 7>&-
wait
EOF
unshare -m bash "$tmp/inner.sh" "$B" "$tmp" "$(cd "$(dirname "$0")" && pwd)/helpers/tap.sh" > "$tmp/result" 2>&1
tap_results "$tmp/result" "the namespace"
[ $n -ge 1 ] || ok 1 "the namespace part ran"
echo "1..$n"

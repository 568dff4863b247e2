#!/bin/bash
# The pin directory is trusted only when it is ours: on bpffs, owned by root,
# writable by no one else, reached without a symlink, pins that are bpffs
# entries.  An unprivileged user who can write the bpffs (mounted 1777, as
# the guests and some distributions do) plants directories, symlinks to
# /dev/zero, FIFOs and forged record files; root's memlens neither reads,
# hangs on, pins into, nor removes them.  A private bpffs is mounted for the
# test and unmounted after it.
# Usage: tests/pins.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null; then
	skip "pins need root (to mount a bpffs) and setpriv"; echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-pins-XXXXXX); chmod 755 "$tmp"
M=$tmp/bpffs; mkdir "$M"
cleanup() { umount "$M" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
if ! mount -t bpf bpf "$M" 2> "$tmp/mount.err"; then
	ok 1 "mount a private bpffs ($(cat "$tmp/mount.err"))"; echo "1..$n"; exit 1
fi
chmod 1777 "$M"
cp "$B/memlens" "$tmp/ml"; chmod 755 "$tmp/ml"
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
ML=$B/memlens

"$ML" bpf pin "$M/ours" 2> "$tmp/e"; rc=$?
if grep -qiE 'iter/dmabuf|6.16|not supported' "$tmp/e"; then
	skip "no DMA-BUF iterators to pin on this kernel: $(cat "$tmp/e")"
else
	ok $rc "root pins into a directory it creates"
	ok "$([ "$(stat -c '%U %a' "$M/ours")" = "root 755" ] && [ "$(stat -c '%a' "$M/ours"/dmabuf_* | sort -u)" = 444 ]; echo $?)" \
		"the directory is root's 0755, the pins 0444"
	asnobody "$tmp/ml" dmabuf --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"
	ok "$(grep -q 'source bpf: pinned iterators' "$tmp/e"; echo $?)" "nobody reads the pins ($(grep source "$tmp/e"))"
	# a symlink to the real pin directory, planted by nobody
	asnobody ln -s "$M/ours" "$M/link"
	timeout 20 "$ML" dmabuf --pin-dir "$M/link" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 0 ] && ! grep -q 'pinned iterators' "$tmp/e"; echo $?)" "a pin directory reached through nobody's symlink is not used (rc $rc)"
	"$ML" bpf unpin "$M/ours"; ok $? "unpin removes them"
	ok "$([ ! -e "$M/ours" ]; echo $?)" "... and the directory"
fi

# nobody's directory with a symlink to /dev/zero, a FIFO and forged records
asnobody bash -c "mkdir '$M/evil' && ln -s /dev/zero '$M/evil/dmabuf_buffers' && ln -s /dev/zero '$M/evil/dmabuf_fds' &&
	ln -s /dev/zero '$M/evil/dmabuf_maps'"
# and off bpffs, where nobody can make FIFOs and files of forged records
mkdir "$tmp/forged"; chown nobody "$tmp/forged"
asnobody bash -c "mkfifo '$tmp/forged/dmabuf_fds' && head -c 4096 /dev/urandom > '$tmp/forged/dmabuf_maps' &&
	printf '\\377%.0s' \$(seq 512) > '$tmp/forged/dmabuf_buffers'"
"$ML" bpf pin "$M/evil" 2> "$tmp/e"; rc=$?
ok "$([ $rc = 1 ] && [ -L "$M/evil/dmabuf_fds" ] && [ -L "$M/evil/dmabuf_buffers" ]; echo $?)" \
	"root refuses to pin into nobody's directory (rc $rc: $(cat "$tmp/e"))"
timeout 20 "$ML" dmabuf --pin-dir "$M/evil" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 0 ] && ! grep -q 'pinned iterators' "$tmp/e"; echo $?)" \
	"root's dmabuf does not read nobody's directory of symlinks to /dev/zero (rc $rc)"
timeout 20 "$ML" dmabuf --pin-dir "$tmp/forged" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 0 ] && ! grep -q 'pinned iterators' "$tmp/e"; echo $?)" \
	"... nor hangs on a FIFO or reads forged records off bpffs (rc $rc)"
"$ML" bpf unpin "$M/evil" 2> /dev/null; rc=$?
ok "$([ $rc = 1 ] && [ -L "$M/evil/dmabuf_buffers" ]; echo $?)" "unpin leaves nobody's directory alone (rc $rc)"

# unpin of a directory that is not a pin directory removes nothing
mkdir "$tmp/plain"; touch "$tmp/plain/dmabuf_buffers" "$tmp/plain/dmabuf_fds" "$tmp/plain/dmabuf_maps"
"$ML" bpf unpin "$tmp/plain" 2> /dev/null; rc=$?
ok "$([ $rc = 1 ] && [ -e "$tmp/plain/dmabuf_buffers" ]; echo $?)" "unpin of a directory off bpffs removes nothing (rc $rc)"
(cd "$tmp" && "$ML" bpf pin --help > /dev/null 2>&1); rc=$?
ok "$([ $rc = 2 ] && [ ! -e "$tmp/--help" ]; echo $?)" "bpf pin --help creates no directory named --help (rc $rc)"
echo "1..$n"

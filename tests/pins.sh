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
. "$(dirname "$0")/helpers/tap.sh"
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
	# the pins show every process's buffers: by default not to users whom
	# /proc (hidepid) may hide processes from
	is_mode() { [ "$(stat -c '%U:%G %a' "$M/ours")" = "$1" ] && [ "$(stat -c '%U:%G %a' "$M/ours"/dmabuf_* | sort -u)" = "$2" ]; }
	ok "$(is_mode 'root:root 750' 'root:root 440'; echo $?)" "by default the directory is root:root 0750, the pins 0440 ($(stat -c '%U:%G %a' "$M/ours"))"
	asnobody "$tmp/ml" dmabuf --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 1 ] && grep -qx "memlens: --pin-dir $M/ours: Permission denied" "$tmp/e"; echo $?)" \
		"nobody cannot read them: --pin-dir says so, exit 1 (rc $rc: $(cat "$tmp/e"))"
	asnobody cat "$M/ours/dmabuf_buffers" > /dev/null 2>&1
	ok "$([ $? != 0 ]; echo $?)" "... nor can cat"
	"$ML" bpf pin "$M/ours" --group nogroup 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 0 ] && is_mode 'root:nogroup 750' 'root:nogroup 440'; echo $?)" "--group nogroup: the group may read (rc $rc)"
	asnobody "$tmp/ml" dmabuf --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"
	ok "$(grep -q 'source bpf: pinned iterators' "$tmp/e"; echo $?)" "a member of the group reads the pins ($(grep source "$tmp/e"))"
	setpriv --reuid=nobody --regid=12345 --clear-groups "$tmp/ml" dmabuf --pin-dir "$M/ours" > /dev/null 2>&1
	ok "$([ $? = 1 ]; echo $?)" "... someone outside it does not"
	asnobody "$tmp/ml" snapshot --pin-dir "$M/ours" > "$tmp/o" 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 0 ] && grep -q 'DMA-BUF source: bpf$' "$tmp/o"; echo $?)" "snapshot --pin-dir: the group member's DMA-BUF part comes from the pins (rc $rc: $(tail -1 "$tmp/o") $(cat "$tmp/e"))"
	setpriv --reuid=nobody --regid=12345 --clear-groups "$tmp/ml" snapshot --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 1 ] && grep -qx "memlens: --pin-dir $M/ours: Permission denied" "$tmp/e"; echo $?)" \
		"snapshot --pin-dir of pins one may not read: one line, exit 1, no snapshot without its DMA-BUF part (rc $rc: $(cat "$tmp/e"))"
	"$ML" bpf pin "$M/ours" --mode 0444 > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 0 ] && is_mode 'root:root 755' 'root:root 444' && grep -q 'warning: .*readable by everyone.*hidepid' "$tmp/e"; echo $?)" \
		"--mode 0444: everyone may read, with a warning about hidepid (rc $rc)"
	setpriv --reuid=nobody --regid=12345 --clear-groups "$tmp/ml" dmabuf --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"
	ok "$(grep -q 'source bpf: pinned iterators' "$tmp/e"; echo $?)" "... and anyone reads them"
	"$ML" bpf pin "$M/ours" --mode 0644 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 2 ] && [ "$(wc -l < "$tmp/e")" = 1 ]; echo $?)" "--mode 0644 (write bits): usage error, one line (rc $rc)"
	"$ML" bpf unpin "$M/ours" --group nogroup 2> /dev/null; rc=$?
	ok "$([ $rc = 2 ] && [ -e "$M/ours/dmabuf_fds" ]; echo $?)" "unpin --group: usage error, nothing removed (rc $rc)"
	# root's pin directory made writable by others: anyone could swap a pin
	chmod o+w "$M/ours"
	timeout 20 "$ML" dmabuf --pin-dir "$M/ours" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 1 ] && grep -q 'not a pin directory' "$tmp/e"; echo $?)" "a root pin directory others may write is refused (rc $rc)"
	chmod o-w "$M/ours"
	# a symlink to the real pin directory, planted by nobody
	asnobody ln -s "$M/ours" "$M/link"
	timeout 20 "$ML" dmabuf --pin-dir "$M/link" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 1 ] && grep -q 'not a pin directory' "$tmp/e"; echo $?)" "a pin directory reached through nobody's symlink is refused (rc $rc)"
	"$ML" bpf unpin "$M/ours"; ok $? "unpin removes them"
	ok "$([ ! -e "$M/ours" ]; echo $?)" "... and the directory"
fi
timeout 20 "$ML" dmabuf --pin-dir "$tmp/nonexistent" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 1 ] && [ "$(cat "$tmp/e")" = "memlens: --pin-dir $tmp/nonexistent: No such file or directory" ]; echo $?)" \
	"dmabuf --pin-dir of a missing directory: one line, exit 1, no silent fallback (rc $rc: $(cat "$tmp/e"))"
timeout 20 "$ML" snapshot --pin-dir "$tmp/nonexistent" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 1 ] && [ "$(cat "$tmp/e")" = "memlens: --pin-dir $tmp/nonexistent: No such file or directory" ]; echo $?)" \
	"snapshot --pin-dir of a missing directory: one line, exit 1 (rc $rc: $(cat "$tmp/e"))"

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
ok "$([ $rc = 1 ] && grep -q 'not a pin directory' "$tmp/e"; echo $?)" \
	"root's dmabuf refuses nobody's directory of symlinks to /dev/zero (rc $rc: $(cat "$tmp/e"))"
timeout 20 "$ML" dmabuf --pin-dir "$tmp/forged" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 1 ] && grep -q 'not a pin directory' "$tmp/e"; echo $?)" \
	"... nor hangs on a FIFO or reads forged records off bpffs (rc $rc)"
"$ML" bpf unpin "$M/evil" 2> /dev/null; rc=$?
ok "$([ $rc = 1 ] && [ -L "$M/evil/dmabuf_buffers" ]; echo $?)" "unpin leaves nobody's directory alone (rc $rc)"

# unpin of a directory that is not a pin directory removes nothing
mkdir "$tmp/plain"; touch "$tmp/plain/dmabuf_buffers" "$tmp/plain/dmabuf_fds" "$tmp/plain/dmabuf_maps"
"$ML" bpf unpin "$tmp/plain" 2> /dev/null; rc=$?
ok "$([ $rc = 1 ] && [ -e "$tmp/plain/dmabuf_buffers" ]; echo $?)" "unpin of a directory off bpffs removes nothing (rc $rc)"
(cd "$tmp" && "$ML" bpf pin --help > /dev/null 2>&1); rc=$?
ok "$([ $rc = 0 ] && [ ! -e "$tmp/--help" ]; echo $?)" "bpf pin --help is help and creates no directory named --help (rc $rc)"
echo "1..$n"

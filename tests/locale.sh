#!/bin/bash
# No name hangs a table, in any locale.  libsmartcols measures every cell with
# mbrtowc()/wcwidth() in the caller's locale and never ends on a character it
# cannot measure, so every table command runs here, under a time limit, on a
# process whose executable path, command line, comm and cgroup carry valid
# non-ASCII UTF-8 (é, an emoji, U+00AD, CJK, a combining accent), characters
# no locale can measure (U+2028, an unassigned code point), invalid UTF-8 and
# control bytes; with LANG unset, C, C.UTF-8 and, where one can be built, a
# non-UTF-8 locale.  Each cell is checked against the form this script builds
# itself: in a UTF-8 locale the printable characters as they are, everything
# else \xHH; in any other locale every byte outside printable ASCII \xHH.
# Usage: tests/locale.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
supp=$(cd "$(dirname "$0")" && pwd)/helpers/lsan-locpath.supp
LIMIT=${LOCALE_TIMEOUT:-30}	# a hang, not a slow machine: the commands take well under a second
hung=""	# a locale one command hung in: its other commands are failed, not waited for
tmp=$(mktemp -d /tmp/memlens-locale-XXXXXX); chmod 755 "$tmp"
pids=() cgdirs=()
cleanup() {
	exec 3>&- 2> /dev/null
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	wait 2> /dev/null
	for d in "${cgdirs[@]}"; do rmdir "$d" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# the name, one piece at a time: its bytes, then the cell a UTF-8 locale
# shows, then the cell any other locale shows
raw="" utf="" asc=""
piece() { raw+=$(printf -- "$1"); utf+=$2; asc+=$3; }
piece 'm-' 'm-' 'm-'
piece '\xc3\xa9' 'é' '\xc3\xa9'				# é
piece '\xf0\x9f\x98\x80' '😀' '\xf0\x9f\x98\x80'		# an emoji, two columns wide
piece '\xc2\xad' $'\xc2\xad' '\xc2\xad'			# U+00AD soft hyphen: printable, width 1
piece '\xe6\xbc\xa2' '漢' '\xe6\xbc\xa2'			# CJK, two columns
piece 'e\xcc\x81' $'e\xcc\x81' 'e\xcc\x81'		# e + combining acute: width 0
piece '\xe2\x80\xa8' '\xe2\x80\xa8' '\xe2\x80\xa8'	# U+2028: no width in any locale
piece '\xcd\xb8' '\xcd\xb8' '\xcd\xb8'			# U+0378, unassigned
piece '\xff-\xe2\x82' '\xff-\xe2\x82' '\xff-\xe2\x82'	# invalid, and a sequence cut short
piece '\x01\x1b[1m\t' '\x01\x1b[1m\x09' '\x01\x1b[1m\x09'	# controls
piece '\\' '\x5c' '\x5c'					# a backslash, escaped as libsmartcols does
piece '-z' '-z' '-z'

# the process: a copy of the static sharer helper under that name (sleep may
# be busybox, which takes its name for the applet's), in a cgroup of that
# name from its start; it forks its child there, a second mapper of the file
mkdir "$tmp/d" && cp "$B/tests/sharer" "$tmp/d/$raw" || { ok 1 "make an executable named with the test's bytes"; echo "1..$n"; exit 1; }
chmod 755 "$tmp/d/$raw"
head -c 16384 /dev/zero > "$tmp/obj"
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
MEM=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ {print $5; exit}' /proc/self/mountinfo)
cg=""
if [ "$(id -u)" = 0 ]; then
	for h in $V2 $MEM; do mkdir "$h/$raw" 2> /dev/null && cgdirs+=("$h/$raw") && cg=/$raw; done
fi
mkfifo "$tmp/in"
(for d in "${cgdirs[@]}"; do echo $BASHPID > "$d/cgroup.procs"; done; exec "$tmp/d/$raw" "$tmp/obj" 2 1 < "$tmp/in" > "$tmp/sharer.out") &
pids+=($!)
exec 3> "$tmp/in"
for _ in $(seq 200); do [ "$(grep -c '^child\|^parent' "$tmp/sharer.out" 2> /dev/null)" = 2 ] && break; sleep 0.05; done
P=$(awk '$1 == "parent" {print $2}' "$tmp/sharer.out"); P2=$(awk '$1 == "child" {print $2}' "$tmp/sharer.out")
[ -n "$P" ] && [ -n "$P2" ] || { ok 1 "the named helper started (${P:-no parent} ${P2:-no child})"; echo "1..$n"; exit 1; }
pids+=("$P2")
addr=$(awk -v f="$tmp/d/" 'index($0, f) && $2 ~ /x/ {split($1, a, "-"); print a[1]; exit}' /proc/$P/maps)
[ -n "$addr" ] || { ok 1 "the executable's text mapping is in /proc/$P/maps"; echo "1..$n"; exit 1; }
dev=$(stat -c '%D' "$tmp/d/$raw"); ino=$(stat -c '%i' "$tmp/d/$raw")
# the comm: the name's first 15 bytes (cut inside the emoji)
comm_raw=$(head -c 15 /proc/$P/comm)
cut15() { # the first 15 bytes of the name, in the form of $1 (utf or asc): cut in the combining accent
	if [ "$1" = utf ]; then printf '%s' 'm-é😀'$'\xc2\xad''漢e\xcc'; else printf '%s' 'm-\xc3\xa9\xf0\x9f\x98\x80\xc2\xad\xe6\xbc\xa2e\xcc'; fi
}
is "the kernel's comm is the name's first 15 bytes" "$(printf '%s' "$raw" | head -c 15 | od -An -tx1)" "$(printf '%s' "$comm_raw" | od -An -tx1)"

"$ML" snapshot -J --pid 1 > "$tmp/old.json" 2> /dev/null
"$ML" snapshot -J --pid "$P" > "$tmp/new.json" 2> /dev/null

# the locales: unset, C, C.UTF-8 (where installed), and a non-UTF-8 one built
# with localedef where the locale sources are installed
locales=("unset" "C")
if [ -d /usr/lib/locale/C.utf8 ]; then
	locales+=("C.UTF-8")
else
	skip "no C.UTF-8 locale installed here (/usr/lib/locale/C.utf8)"
fi
if [ -d /usr/lib/locale/en_US.ISO-8859-1 ]; then	# the guests' initramfs brings it built
	locales+=("en_US.ISO-8859-1")
elif command -v localedef > /dev/null && [ -f /usr/share/i18n/locales/en_US ] &&
   mkdir -p "$tmp/loc" && localedef -c -i en_US -f ISO-8859-1 "$tmp/loc/en_US.ISO-8859-1" > /dev/null 2>&1; then
	locales+=("en_US.ISO-8859-1")
else
	skip "no non-UTF-8 locale: localedef or the locale sources (package locales) are missing"
fi

# run LOCALE NAME CMD...: CMD under the locale and the limit; its output in $out
run() {
	local loc=$1 what=$2 rc; shift 2
	if [ "$hung" = "$loc" ]; then
		ok 1 "[$loc] $what: not run (a command already hung in this locale)"
		return 1
	fi
	if [ "$loc" = unset ]; then
		env -u LANG -u LC_ALL -u LC_CTYPE -u LANGUAGE timeout "$LIMIT" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	else
		# LOCPATH replaces the system's locale directory: only for the one built here
		local lp=()
		[ "$loc" = en_US.ISO-8859-1 ] && [ -d "$tmp/loc" ] &&
			lp=("LOCPATH=$tmp/loc" "LSAN_OPTIONS=suppressions=$supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}")
		env -u LC_CTYPE -u LANGUAGE "${lp[@]}" LANG="$loc" LC_ALL="$loc" timeout "$LIMIT" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	fi
	rc=$?
	out=$(cat "$tmp/out")
	if [ $rc = 124 ]; then
		ok 1 "[$loc] $what: finished (killed after ${LIMIT}s)"
		hung=$loc
		return 1
	fi
	is "[$loc] $what: exit 0 ($(head -c 200 "$tmp/err"))" 0 "$rc"
}
# has LOCALE WHAT TEXT: a line of the output holds TEXT
has() {
	if grep -qF -- "$3" "$tmp/out"; then ok 0 "[$1] $2"; else ok 1 "[$1] $2"; echo "#   wanted a line with: $3"; head -5 "$tmp/out" | sed 's/^/#   got: /'; fi
}

for loc in "${locales[@]}"; do
	case $loc in *UTF-8) want=$utf; form=utf ;; *) want=$asc; form=asc ;; esac
	path="$tmp/d/$want"
	comm=$(cut15 $form)
	run "$loc" "maps PID" "$ML" maps "$P" && has "$loc" "maps PID: the path's cell" "$path"
	run "$loc" "maps PID --smaps" "$ML" maps "$P" --smaps -o START,Rss,NAME && has "$loc" "maps --smaps: the path's cell" "$path"
	run "$loc" "maps PID --pages" "$ML" maps "$P" --pages && has "$loc" "maps --pages: the path's cell" "$path"
	run "$loc" "maps --all" "$ML" maps --all -o PID,COMM,NAME && has "$loc" "maps --all: the path's cell" "$path"
	run "$loc" "query PID ADDR" "$ML" query "$P" "$addr" && has "$loc" "query: the path's cell" "$path"
	run "$loc" "who-maps PATH" "$ML" who-maps "$tmp/d/$raw" && has "$loc" "who-maps PATH: the comm's cell" "$comm"
	run "$loc" "who-maps PID:ADDR" "$ML" who-maps "$P:$addr" && has "$loc" "who-maps PID:ADDR: the path's cell" "$path"
	run "$loc" "who-maps DEV:INODE" "$ML" who-maps "$(printf %02x:%02x $((0x$dev >> 8)) $((0x$dev & 0xff))):$ino" && has "$loc" "who-maps DEV:INODE: the path's cell" "$path"
	run "$loc" "who-maps --shared" "$ML" who-maps --shared && has "$loc" "who-maps --shared: the path's cell" "$path"
	run "$loc" "snapshot CMDLINE" "$ML" snapshot --pid "$P" -o PID,COMM,CMDLINE &&
		has "$loc" "snapshot: the command line's cell" "$path $tmp/obj 2 1" && has "$loc" "snapshot: the comm's cell" "$comm"
	if [ -n "$cg" ]; then
		run "$loc" "snapshot CGROUP" "$ML" snapshot --pid "$P" -o PID,CGROUP && has "$loc" "snapshot: the cgroup's cell" "/$want"
		run "$loc" "snapshot --group-by cgroup" "$ML" snapshot --pid "$P,$P2" --group-by cgroup && has "$loc" "--group-by cgroup: the group's cell" "/$want"
	else
		skip "[$loc] snapshot CGROUP: no cgroup hierarchy to make one in (not root, or none mounted)"
	fi
	run "$loc" "snapshot --group-by comm" "$ML" snapshot --pid "$P,$P2" --group-by comm && has "$loc" "--group-by comm: the comm's cell" "$comm"
	run "$loc" "diff" "$ML" diff "$tmp/old.json" "$tmp/new.json" && has "$loc" "diff: the comm's cell" "$comm"
	run "$loc" "features" "$ML" features
done
echo "1..$n"

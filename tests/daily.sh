#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# memlens for daily use: sizes as util-linux prints them (and bytes with -b, in
# JSON), --smaps totals, --pages NAME, who-maps COMM, PIDS as a JSON array and
# RSS/PSS per object, snapshot's filters, --top, --watch, CMDLINE and the
# unreadable processes named.  Ground truth: /proc read here, by awk or python.
set -u
B=$(cd "${MEMLENS_BUILD:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
PY=python3
for t in python3 eu-unstrip eu-nm eu-addr2line jq; do
	if ! command -v $t > /dev/null; then
		skip "no $t here (a VM guest): the daily-use views are checked on the host"
		echo "1..$n"; exit 0
	fi
done
tmp=$(mktemp -d /tmp/memlens-daily-XXXXXX)
kids=()
cleanup() {
	exec 7>&-
	for k in "${kids[@]}"; do kill -CONT "$k" 2>/dev/null; kill "$k" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# util-linux's size_to_human_string(), from its description: the largest of
# B K M G T P E that the size reaches, one decimal rounded half up (none when
# it rounds to .0), 1024-based
cat > "$tmp/human.py" <<'EOF'
import sys
def human(b):
    e = 0
    while e < 60 and b >= 1 << (e + 10):
        e += 10
    whole, rest = b >> e, (b & ((1 << e) - 1)) if e else 0
    tenths = 0
    if rest:
        tenths = ((rest * 1000) >> e) + 50
        tenths //= 100
        if tenths == 10:
            whole, tenths = whole + 1, 0
    return ("%d.%d%s" if tenths else "%d%s%s") % ((whole, tenths, "BKMGTPE"[e // 10]) if tenths else (whole, "", "BKMGTPE"[e // 10]))
for line in sys.stdin:
    f = line.split()
    print(" ".join(human(int(x)) if i in map(int, sys.argv[1:]) else x for i, x in enumerate(f)))
EOF
human() { $PY "$tmp/human.py" "$@"; }
# PSS moves whenever a process mapping the same pages starts or exits: where
# a dynamic process is compared, ask both sides again, up to five times.
# retry DESCRIPTION TRUTH_CMD GOT_CMD
retry() {
	local i want got
	for i in 1 2 3 4 5; do
		want=$(eval "$2"); got=$(eval "$3")
		[ "$want" = "$got" ] && break
		sleep 0.2
	done
	is "$1" "$want" "$got"
}

# ---- a stopped process with a shared file mapping (a child shares it) ----
head -c $((269 * 4096)) /dev/zero > "$tmp/obj"
# static: its PSS moves with no other process (a dynamic one shares libc
# pages with every reader, memlens and awk included, each its own share)
mkfifo "$tmp/in"
"$B/tests/sharer" "$tmp/obj" 100 40 "an arg" 'q"uote' $'b\\s\xff\x1b[2J\xc3' < "$tmp/in" > "$tmp/holder.out" 2>&1 &
kids+=($!)
exec 7> "$tmp/in"
for _ in $(seq 100); do grep -q parent "$tmp/holder.out" && break; sleep 0.05; done
par=$(awk '$1 == "parent" {print $2}' "$tmp/holder.out")
chi=$(awk '$1 == "child" {print $2}' "$tmp/holder.out")
kids+=("$chi")
kill -STOP "$par" "$chi"
ino=$(stat -c %i "$tmp/obj")

# ---- sizes: human in the table, bytes with -b and in JSON ----
truth=$(awk '{split($1, a, "-"); print a[1], a[2]}' /proc/$par/maps | while read -r s e; do
	printf '0x%x %d\n' $(( 16#$s )) $(( 16#$e - 16#$s )); done)
"$ML" maps $par -n -o START,SIZE > "$tmp/sz.t"
is "maps -o SIZE: every row's size as util-linux prints it (4K, 1.5M)" "$(echo "$truth" | human 1)" \
	"$(awk '{print $1, $2}' "$tmp/sz.t")"
"$ML" maps $par -n -b -o START,SIZE > "$tmp/sz.b"
is "maps -b: every row's size in bytes" "$truth" "$(awk '{print $1, $2}' "$tmp/sz.b")"
"$ML" maps $par -J -o START,SIZE > "$tmp/sz.j"
is "maps -J: every row's size in bytes (a number)" "$truth" "$(jq -r '.maps[] | "\(.start) \(.size)"' "$tmp/sz.j")"
is "maps -J: size is a JSON number" number "$(jq -r '.maps[0].size | type' "$tmp/sz.j")"
# the formatter's edge, through the one size whose value we choose: the file
# mapping of 269 pages, 1.0508M: 50 thousandths round up to 1.1M
is "a 269-page mapping prints 1.1M (1.0508M: .050 rounds up)" "1.1M" \
	"$("$ML" maps $par -n -o SIZE,INODE | awk -v i=$ino '$2 == i {print $1}')"
# arbitrary byte counts: the snapshot's PSS, RSS and VSS of the stopped pair
rollup() { awk -v p=$1 '$1 == "Rss:" {r = $2 * 1024} $1 == "Pss:" {s = $2 * 1024} END {print p, r, s}' /proc/$1/smaps_rollup; }
for p in $par $chi; do
	retry "snapshot --pid $p: RSS and PSS as util-linux prints smaps_rollup's" \
		"rollup $p > $tmp/r; human 1 2 < $tmp/r" "\"$ML\" snapshot --no-dmabuf --pid $p -n -r -o PID,RSS,PSS 2> /dev/null"
	retry "snapshot --pid $p -b: the same in bytes" "rollup $p" "\"$ML\" snapshot --no-dmabuf --pid $p -b -n -r -o PID,RSS,PSS 2> /dev/null"
done
"$ML" snapshot --no-dmabuf --pid $par -b > "$tmp/foot.b"
is "snapshot -b: the footer's MemTotal in bytes (/proc/meminfo)" \
	"$(awk '$1 == "MemTotal:" {printf "%.0f", $2 * 1024}' /proc/meminfo)" "$(awk '$1 == "MemTotal:" {print $2}' "$tmp/foot.b")"
"$ML" snapshot --no-dmabuf --pid $par > "$tmp/foot.h"
is "snapshot: the footer's MemTotal as util-linux prints it" \
	"$(awk '$1 == "MemTotal:" {printf "%.0f\n", $2 * 1024}' /proc/meminfo | human 0)" "$(awk '$1 == "MemTotal:" {print $2}' "$tmp/foot.h")"

# ---- --smaps: bytes in JSON, the totals row and member ----
start=$(awk -v i=$ino '$5 == i {print $1; exit}' /proc/$par/maps); start=0x${start%-*}
fields="Rss Pss Shared_Clean Shared_Dirty Private_Clean Private_Dirty Swap"
one_vma() { for f in $fields; do awk -v f="$f:" -v s="${start#0x}" 'index($1, s "-") == 1 {on = 1; next}
	/^[0-9a-f]+-[0-9a-f]+ / {on = 0} on && $1 == f {printf "%d ", $2 * 1024}' /proc/$par/smaps; done; }
retry "--smaps -J: the mapping's Rss Pss Shared_* Private_* Swap in bytes, as smaps' kB" one_vma \
	"\"$ML\" maps $par --smaps -J | jq -r --arg s $start '.smaps[] | select(.start == \$s) | \"\(.rss) \(.pss) \(.shared_clean) \(.shared_dirty) \(.private_clean) \(.private_dirty) \(.swap) \"'"
tot() { for f in Size $fields; do awk -v f="$f:" '$1 == f {s += $2} END {printf "%d ", s * 1024}' /proc/$par/smaps; done; }
retry "--smaps -J: total is smaps summed over every VMA (bytes)" tot \
	"\"$ML\" maps $par --smaps -J | jq -r '.total | \"\(.size) \(.rss) \(.pss) \(.shared_clean) \(.shared_dirty) \(.private_clean) \(.private_dirty) \(.swap) \"'"
retry "--smaps (table -b): a TOTAL row with the sums" "tot | awk '{print \"TOTAL\", \$1, \$2, \$3, \$8}'" \
	"\"$ML\" maps $par --smaps -b -o START,Size,Rss,Pss,Swap | tee $tmp/sm.t | awk '\$1 == \"TOTAL\" {print \$1, \$2, \$3, \$4, \$5}'"
retry "--smaps -o SIZE,Rss,Pss (no text column for the label): a TOTAL footer naming each sum, SIZE's too" \
	"tot | awk '{print \"TOTAL  SIZE\", \$1, \" Rss\", \$2, \" Pss\", \$3}'" \
	"\"$ML\" maps $par --smaps -b -o SIZE,Rss,Pss | tail -1"
retry "--smaps -o PERMS,SIZE,Rss: the TOTAL label in the text column, SIZE summed" \
	"tot | awk '{print \"TOTAL\", \$1, \$2}'" \
	"\"$ML\" maps $par --smaps -b -o PERMS,SIZE,Rss | awk '\$1 == \"TOTAL\" {print \$1, \$2, \$3}'"
is "--smaps: the TOTAL row only in the plain table (not -r, -n)" "1 0 0" \
	"$(grep -c '^TOTAL' "$tmp/sm.t") $("$ML" maps $par --smaps -r | grep -c '^TOTAL') $("$ML" maps $par --smaps -n | grep -c '^TOTAL')"

# ---- --pages NAME: every range inside one VMA, named as maps names it ----
"$ML" maps $par --pages -J > "$tmp/pg.j" 2> /dev/null
jq -r '.pages[] | "\(.start) \(.end) \(.name // "")"' "$tmp/pg.j" > "$tmp/pg"
bad=$($PY - /proc/$par/maps "$tmp/pg" <<'EOF'
import sys
vmas = []
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split(None, 5)
    s, e = (int(x, 16) for x in f[0].split("-"))
    vmas.append((s, e, f[5].lstrip() if len(f) > 5 else ""))
bad = 0
for l in open(sys.argv[2]):
    s, e, name = l.rstrip("\n").split(" ", 2)
    s, e = int(s, 16), int(e, 16)
    v = [x for x in vmas if x[0] <= s < x[1]]
    if not v or e > v[0][1] or v[0][2] != name:
        bad += 1
        print(l.strip(), v, file=sys.stderr)
print(bad)
EOF
)
ok "$([ "$bad" = 0 ] && [ -s "$tmp/pg" ]; echo $?)" "--pages: every range lies in one VMA and NAME is that VMA's ($(wc -l < "$tmp/pg") ranges, $bad wrong)"
is "--pages: the shared file's ranges are named by its path" "$tmp/obj" \
	"$(awk -v s="$start" '$1 == s {print $3}' "$tmp/pg")"

# ---- who-maps: COMM, PIDS as an array, RSS and PSS from smaps ----
pids=$(for p in /proc/[0-9]*; do awk -v i=$ino '$5 == i {found = 1} END {exit !found}' $p/maps 2>/dev/null && echo ${p#/proc/}; done | sort -n | tr '\n' ' ')
"$ML" who-maps "$tmp/obj" -o PID,COMM,RSS,PSS -b -n -r > "$tmp/who"
want=$(for p in $pids; do awk -v i=$ino -v p=$p -v c="$(cat /proc/$p/comm)" '
	/^[0-9a-f]+-[0-9a-f]+ / {on = ($5 == i)} on && $1 == "Rss:" {r = $2 * 1024} on && $1 == "Pss:" {s = $2 * 1024; print p, c, r, s}' /proc/$p/smaps; done)
is "who-maps PATH -o PID,COMM,RSS,PSS: every mapper with its comm and smaps' Rss and Pss" "$want" "$(sort -n "$tmp/who")"
"$ML" who-maps --shared -J -o INODE,PIDS,PROCS,RSS,PSS,COMM > "$tmp/sh.j"
is "who-maps --shared -J: PIDS is an array of numbers, the processes mapping it" \
	"array number $pids" "$(jq -r --argjson i $ino '.shared[] | select(.inode == $i) | "\(.pids | type) \(.pids[0] | type) \(.pids | map(tostring) | join(" ")) "' "$tmp/sh.j")"
is "who-maps --shared: RSS and PSS are the mappers' smaps summed" \
	"$(echo "$want" | awk '{r += $3; s += $4} END {print r, s}')" \
	"$(jq -r --argjson i $ino '.shared[] | select(.inode == $i) | "\(.rss) \(.pss)"' "$tmp/sh.j")"
is "who-maps --shared (table): PIDS comma-separated" "$(echo $pids | tr ' ' ',')" \
	"$("$ML" who-maps --shared -n -r -o INODE,PIDS | awk -v i=$ino '$1 == i {print $2}')"

# seven processes of one executable (a copy of bash waiting in a read: no
# child, and the guests' busybox applets cannot be copied): the default
# table's PIDS shows the first five and an ellipsis (PROCS counts them); -o
# PIDS and JSON list all
cp "$(command -v bash)" "$tmp/bash7"
mkfifo "$tmp/fifo7"
sl=()
for _ in 1 2 3 4 5 6 7; do "$tmp/bash7" -c 'read -r -t 1000 x' <> "$tmp/fifo7" & sl+=($!); done
sino=$(stat -c %i "$tmp/bash7")
all7=$(printf '%s\n' "${sl[@]}" | sort -n | tr '\n' ',' | sed 's/,$//')
retry "who-maps --shared (table): PROCS 7, PIDS the first five and an ellipsis" \
	"echo '7 $(echo "$all7" | cut -d, -f1-5),...'" \
	"LC_ALL=C \"$ML\" who-maps --shared | awk -v i=$sino '\$3 == i {print \$4, \$6}'"
retry "who-maps --shared -o INODE,PIDS: every pid, as -o names it" "echo $all7" \
	"\"$ML\" who-maps --shared -o INODE,PIDS | awk -v i=$sino '\$1 == i {print \$2}'"
retry "who-maps --shared -J: every pid" "echo $all7" \
	"\"$ML\" who-maps --shared -J | jq -r --argjson i $sino '.shared[] | select(.inode == \$i) | .pids | join(\",\")'"
kill "${sl[@]}" 2> /dev/null; wait "${sl[@]}" 2> /dev/null

# ---- snapshot: filters, --top, CMDLINE ----
"$ML" snapshot --no-dmabuf -b -J > "$tmp/all.j" 2> /dev/null
"$ML" snapshot --no-dmabuf -b -J --pid $chi,$par > "$tmp/f.j" 2> /dev/null
is "snapshot --pid A,B: exactly those rows" "$(echo $par $chi | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
	"$(jq -r '.snapshot[].pid' "$tmp/f.j" | sort -n | tr '\n' ' ')"
is "snapshot --pid: summary.shown 2, total.pss the two rows' sum" "2 yes" \
	"$(jq -r '"\(.summary.shown) \(if .summary.total.pss == ([.snapshot[].pss] | add) then "yes" else "no" end)"' "$tmp/f.j")"
# every figure of the summary, against what is read here: the static pair
# stands still, so smaps_rollup and statm now are what the snapshot read
roll() { awk -v k="$2:" '$1 == k {print $2 * 1024}' /proc/$1/smaps_rollup; }
want=""
for f in rss pss uss swap swappss ksm; do
	t=0
	for p in $par $chi; do
		case $f in
		rss) v=$(roll $p Rss) ;; pss) v=$(roll $p Pss) ;; swap) v=$(roll $p Swap) ;; swappss) v=$(roll $p SwapPss) ;;
		uss) v=$(( $(roll $p Private_Clean) + $(roll $p Private_Dirty) )) ;;
		ksm) v=$(roll $p KSM) ;;	# 6.6+; none before: 0
		esac
		t=$((t + ${v:-0}))
	done
	want+="$f=$t "
	# RSS's split by kind: not read beside rollups unless a column names it
	[ $f = rss ] && want+="rss_anon=null rss_file=null rss_shmem=null "
done
is "snapshot --pid A,B -J: summary.total, field by field (no VSS: a sum of address spaces means nothing), is smaps_rollup summed here; 2 processes, none exited or unreadable, MemTotal /proc/meminfo's" \
	"${want}dmabuf_rss=0 dmabuf_pss=0 2 2 0 0 $(( $(awk '$1 == "MemTotal:" {print $2}' /proc/meminfo) * 1024 ))" \
	"$(jq -r '.summary | "\(.total | to_entries | map("\(.key)=\(.value)") | join(" ")) \(.processes) \(.shown) \(.exited) \(.unreadable) \(.mem_total)"' "$tmp/f.j")"
"$ML" snapshot --no-dmabuf -J --comm 'nomatch*,sha*' > "$tmp/c.j" 2> /dev/null
want=$(for p in $(jq -r '.snapshot[].pid' "$tmp/all.j"); do c=$(cat /proc/$p/comm 2>/dev/null) && case $c in nomatch* | sha*) echo $p ;; esac; done | sort -n | tr '\n' ' ')
got=$(jq -r '.snapshot[].pid' "$tmp/c.j" | sort -n | tr '\n' ' ')
ok "$(for p in $par $chi; do case " $got " in *" $p "*) ;; *) echo missing; esac; done | grep -q . && echo 1 || echo 0)" \
	"snapshot --comm 'nomatch*,sha*': the pair is in it"
is "snapshot --comm 'nomatch*,sha*': every row's comm matches one, and every matching process is a row" "$want" "$got"
# the TOTAL of a table whose shown columns have no text one to say it in: a
# footer line naming each sum (it was an unlabelled row of numbers)
retry "snapshot -o RSS,PSS (no text column): a TOTAL footer naming each sum" \
	"\"\$ML\" snapshot --no-dmabuf -b -J --pid $par,$chi -o RSS,PSS 2> /dev/null | jq -r '\"TOTAL  RSS \\(.summary.total.rss)  PSS \\(.summary.total.pss)\"'" \
	"\"\$ML\" snapshot --no-dmabuf -b --pid $par,$chi -o RSS,PSS 2> /dev/null | tail -n 2 | head -n 1"
"$ML" snapshot --no-dmabuf -b -J --top 3 > "$tmp/t.j" 2> /dev/null
# within one document (another moment of a busy machine is another ranking)
is "snapshot --top 3: three rows, by PSS largest first, TOTAL their sum" "3 yes yes" \
	"$(jq -r '"\(.snapshot | length) \(if [.snapshot[].pss] == ([.snapshot[].pss] | sort | reverse) then "yes" else "no" end) \(if .summary.total.pss == ([.snapshot[].pss] | add) then "yes" else "no" end)"' "$tmp/t.j")"
# the biggest, among processes that hold still: the static sharer pair
"$ML" snapshot --no-dmabuf -b -J --pid $par,$chi > "$tmp/p2.j" 2> /dev/null
"$ML" snapshot --no-dmabuf -b -J --pid $par,$chi --top 1 > "$tmp/t1.j" 2> /dev/null
is "snapshot --pid A,B --top 1: the one of the pair with the larger PSS, TOTAL its PSS" \
	"$(jq -r '.snapshot | max_by(.pss) | "\(.pid) \(.pss)"' "$tmp/p2.j") $(jq -r '.snapshot | max_by(.pss) | .pss' "$tmp/p2.j")" \
	"$(jq -r '"\(.snapshot[0].pid) \(.snapshot[0].pss) \(.summary.total.pss)"' "$tmp/t1.j")"
# the process chose those bytes: a quote, a backslash, invalid UTF-8 and an
# escape sequence, printed as every name is (\xHH), valid JSON
is "snapshot -o CMDLINE: /proc/pid/cmdline with its NULs as spaces, hostile bytes escaped" \
	"$par $B/tests/sharer $tmp/obj 100 40 an arg q\"uote b\\x5cs\\xff\\x1b[2J\\xc3" \
	"$("$ML" snapshot --no-dmabuf --pid $par -J -o PID,CMDLINE 2> /dev/null | jq -r '.snapshot[] | "\(.pid) \(.cmdline)"')"
is "snapshot -o CMDLINE (table): the same escapes, nothing raw on the terminal" \
	"q\"uote b\\x5cs\\xff\\x1b[2J\\xc3" \
	"$("$ML" snapshot --no-dmabuf --pid $par -n -o CMDLINE 2> /dev/null | sed 's/.* an arg //; s/ *$//')"
"$ML" snapshot --no-dmabuf --pid $par,$chi --group-by comm -J 2> /dev/null > "$tmp/g.j"
is "snapshot --group-by: no VSS in the rows, the TOTAL or the summary (the sum means nothing)" "0 0 0" \
	"$(jq '[.snapshot[] | has("vss")] | map(select(.)) | length' "$tmp/g.j") $(jq '.summary.total | has("vss") | if . then 1 else 0 end' "$tmp/g.j") $("$ML" snapshot --no-dmabuf --pid $par,$chi --group-by comm 2> /dev/null | grep -c VSS)"
"$ML" snapshot --no-dmabuf --group-by comm --top 1 -o COMM,RSS > /dev/null 2> "$tmp/e"; rc=$?
is "snapshot --group-by comm --top 1: exit 0, nothing on stderr (under ASan: the groups past --top are freed)" "0 " \
	"$rc $(grep -v 'could not be read' "$tmp/e" | head -3)"
for a in "-o COMM,VSS" "-x VSS"; do
	"$ML" snapshot --no-dmabuf --group-by comm $a > /dev/null 2> "$tmp/e"; rc=$?
	is "snapshot --group-by comm $a: exit 2, one line saying why" "2 1" "$rc $(grep -c 'sums no VSS' "$tmp/e")"
done
is "snapshot --pid A,B --group-by comm: one group of two processes, PSS their sum" \
	"sharer 2 $(jq -r --argjson p $par --argjson c $chi '[.snapshot[] | select(.pid == $p or .pid == $c) | .pss] | add' "$tmp/all.j")" \
	"$("$ML" snapshot --no-dmabuf --pid $par,$chi --group-by comm -b -n -r -o COMM,NPROCS,PSS 2> /dev/null)"

# --user: a process of nobody's
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 600 & nb=$!
	kids+=($nb)
	sleep 0.2
	setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 600 & nb2=$!
	kids+=($nb2)
	sleep 0.2
	# the whole machine: every row nobody's (a process that came or went in
	# between is no row to compare); the test's own two among them
	got=$("$ML" snapshot --no-dmabuf -J --user nobody 2> /dev/null | jq -r '.snapshot[].pid' | tr '\n' ' ')
	notnb=$(for p in $got; do u=$(stat -c %u /proc/$p 2>/dev/null) && [ "$u" != "$(id -u nobody)" ] && echo $p; done)
	is "snapshot --user nobody: every row a process of nobody's" "" "$notnb"
	ok "$(echo " $got " | grep -q " $nb " && echo " $got " | grep -q " $nb2 "; echo $?)" "snapshot --user nobody: the two sleeps run as nobody are rows"
	# among the test's own processes: exactly nobody's, by name and by uid
	own=$par,$chi,$nb,$nb2
	want=$(printf '%s\n' $nb $nb2 | sort -n | tr '\n' ' ')
	is "snapshot --user nobody --pid (the test's four): exactly the two of nobody's" "$want" \
		"$("$ML" snapshot --no-dmabuf -J --user nobody --pid $own 2> /dev/null | jq -r '.snapshot[].pid' | sort -n | tr '\n' ' ')"
	is "snapshot --user by uid: the same rows" "$want" \
		"$("$ML" snapshot --no-dmabuf -J --user "$(id -u nobody)" --pid $own 2> /dev/null | jq -r '.snapshot[].pid' | sort -n | tr '\n' ' ')"
	# USER is the effective uid, as /proc/<pid>'s owner and ps's EUSER: a
	# process whose real uid is root but effective nobody is nobody's
	setpriv --euid=nobody sleep 600 & eu=$!
	kids+=($eu)
	sleep 0.2
	want=""
	for p in $par $nb $eu; do want+="$p $(ps -o euser= -p $p | tr -d ' ')|"; done
	is "snapshot -o PID,USER: each process's user as ps's EUSER (root, nobody, ruid root with euid nobody)" "$want" \
		"$("$ML" snapshot --no-dmabuf -J -o PID,USER --pid $par,$nb,$eu 2> /dev/null | jq -r --argjson a $par --argjson b $nb --argjson c $eu '[.snapshot[]] | map({(.pid | tostring): .user}) | add | "\($a) \(.[$a | tostring])|\($b) \(.[$b | tostring])|\($c) \(.[$c | tostring])|"')"
	is "snapshot --group-by user --pid: nobody's group holds its two processes" 2 \
		"$("$ML" snapshot --no-dmabuf -J --group-by user --pid $par,$chi,$nb,$eu 2> /dev/null | jq -r '.snapshot[] | select(.user == "nobody") | .nprocs')"
	is "snapshot --user root --pid (the test's four): the sharer pair" "$(printf '%s\n' $par $chi | sort -n | tr '\n' ' ')" \
		"$("$ML" snapshot --no-dmabuf -J --user root --pid $own 2> /dev/null | jq -r '.snapshot[].pid' | sort -n | tr '\n' ' ')"
	# the processes nobody cannot read, named: the root-owned pair among them
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$ML" snapshot --no-dmabuf -J > "$tmp/u.j" 2> "$tmp/u.err"
	ok "$(jq -e --argjson a $par --argjson b $chi '.summary.unreadable_pids | index($a) and index($b)' "$tmp/u.j" > /dev/null; echo $?)" \
		"snapshot as nobody: summary.unreadable_pids holds root's python pair"
	ok "$(jq -e --argjson a $nb '.summary.unreadable_pids | index($a) | not' "$tmp/u.j" > /dev/null; echo $?)" \
		"snapshot as nobody: ... and not nobody's own sleep"
	is "snapshot as nobody: unreadable is the count of unreadable_pids" yes \
		"$(jq -r 'if .summary.unreadable == (.summary.unreadable_pids | length) then "yes" else "no" end' "$tmp/u.j")"
	# read by two threads where there are two CPUs, listed in pid order all the same
	is "snapshot as nobody: unreadable_pids in pid order, none twice" yes \
		"$(jq -r 'if .summary.unreadable_pids == (.summary.unreadable_pids | unique) then "yes" else "no" end' "$tmp/u.j")"
	# stderr names the first 32 in pid order: the pair among them when the
	# list is not cut before them (a busy machine may have more than 32)
	named() { # FILE: does its "could not be read" line name the pair as it must?
		local line last cnt
		line=$(grep 'could not be read' "$1")
		cnt=$(echo "$line" | sed -n 's/^memlens: \([0-9]*\) process.*/\1/p')
		last=$(echo "$line" | grep -o ' [0-9]* (' | tail -1 | tr -dc 0-9)
		[ -n "$cnt" ] || return 1
		if [ "$cnt" -le 32 ] || [ "$par" -le "${last:-0}" ]; then echo "$line" | grep -q " $par (sharer)" || return 1; fi
		if [ "$cnt" -le 32 ] || [ "$chi" -le "${last:-0}" ]; then echo "$line" | grep -q " $chi (sharer)" || return 1; fi
		! echo "$line" | grep -qw "$nb"
	}
	ok "$(named "$tmp/u.err"; echo $?)" "snapshot as nobody: stderr names them, pid and comm ($(head -c 160 "$tmp/u.err"))"
	# with --pid, only those are read: exactly the pair unreadable, one row
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$ML" snapshot --no-dmabuf -J --pid $par,$chi,$nb > "$tmp/up.j" 2> "$tmp/up.err"
	is "snapshot --pid A,B,C as nobody: one row, the pair unreadable and named, nothing else" \
		"1 $(printf '%s\n' $par $chi | sort -n | tr '\n' ' ')yes" \
		"$(jq -r '"\(.summary.processes) \(.summary.unreadable_pids | map(tostring) | join(" ")) "' "$tmp/up.j")$(grep -q "^memlens: 2 processes could not be read.*: $(printf '%s\n' $par $chi | sort -n | head -1) (sharer) $(printf '%s\n' $par $chi | sort -n | tail -1) (sharer)$" "$tmp/up.err" && echo yes)"
	# the whole-system walks name them the same way
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$ML" maps --all -s text -n -o PID > "$tmp/ua" 2> "$tmp/ua.err"
	ok "$(named "$tmp/ua.err" && grep -qx " *$nb" "$tmp/ua"; echo $?)" \
		"maps --all as nobody: root's pair named as unreadable on stderr, nobody's sleep a row ($(head -c 160 "$tmp/ua.err"))"
	# (by MAJ:MIN:INODE: nobody cannot reach the path in our private directory)
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$ML" who-maps "$(awk -v i=$ino '$5 == i {print $4 ":" $5; exit}' /proc/$par/maps)" -s text -n -o PID > "$tmp/uw" 2> "$tmp/uw.err"
	ok "$([ ! -s "$tmp/uw" ] && named "$tmp/uw.err"; echo $?)" \
		"who-maps as nobody: no row for root's pair, and it says why, naming them"
	# nobody lacks CAP_SYS_PTRACE: that is the reason given
	ok "$(grep -q 'could not be read (needs PTRACE_MODE_READ: same user, or CAP_SYS_PTRACE)' "$tmp/u.err"; echo $?)" \
		"as nobody the reason is the missing PTRACE_MODE_READ"
else
	skip "--user and unreadable: need root and setpriv"
fi

# ---- --watch ----
"$ML" snapshot --no-dmabuf --pid $par -w 0.1 --count 3 > "$tmp/w" 2> /dev/null; rc=$?
is "snapshot --watch 0.1 --count 3: exit 0, three tables" "0 3" "$rc $(grep -c '^MemTotal:' "$tmp/w")"
"$ML" snapshot --no-dmabuf --pid $par -w 0.1 --count 2 -J > "$tmp/wj" 2> /dev/null
is "snapshot --watch -J: one JSON document per snapshot" 2 "$(jq -s length "$tmp/wj")"
"$ML" snapshot --no-dmabuf --pid $par -w 5 > /dev/null 2>&1 & w=$!
sleep 0.5; kill -INT $w; wait $w; rc=$?
is "snapshot --watch: SIGINT ends it cleanly (exit 0)" 0 $rc
for bad in "-w 0" "-w x" "--count 2" "--top 0" "--pid x" "--user no-such-user-xyz" "--top 3 --openmetrics"; do
	"$ML" snapshot $bad > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 2 ] && [ "$(wc -l < "$tmp/e")" = 1 ]; echo $?)" "snapshot $bad: exit 2, one line ($(cat "$tmp/e"))"
done

# ---- profilers: [vdso]'s build ID, ELF virtual addresses for addr2line ----
want=$(eu-unstrip -n -p $par 2>/dev/null | awk '/\[vdso/ {split($2, b, "@"); print b[1]}')
is "maps -B: [vdso]'s build ID is eu-unstrip's" "$want" \
	"$("$ML" maps $par -B -n -r -o NAME,BUILDID | awk '$1 == "[vdso]" {print $2}')"
is "query -o BUILDID of an address in [vdso]: the same" "$want" \
	"$("$ML" query $par "$(awk '/\[vdso\]/ {split($1, a, "-"); print a[1]}' /proc/$par/maps)" -n -r -o BUILDID)"
# a non-PIE static executable: ELF virtual addresses are not file offsets
main=$(eu-nm "$B/tests/sharer" | awk -F'|' '$1 ~ /^main / {print $2}' | sed 's/^0*//')
got=$("$ML" query $par "$main" -n -r -o FILE_OFFSET,ELF_VADDR,NAME)
is "query -o ELF_VADDR of main in a non-PIE executable: nm's value (the address itself)" "0x$main" "$(echo "$got" | awk '{print $2}')"
ok "$([ "$(echo "$got" | awk '{print $1}')" != "0x$main" ]; echo $?)" "... and not its file offset ($(echo "$got" | awk '{print $1}'))"
# a PIE library: nm's value of a function, at the library's base + that value
lib=$(awk '$6 ~ /\/libc\.so/ {print $6; exit}' /proc/$$/maps)
base=$(awk -v l="$lib" '$6 == l && $3 == "00000000" {split($1, a, "-"); print a[1]; exit}' /proc/$$/maps)
val=$(eu-nm -D "$lib" | awk -F'|' '$1 ~ /^getpid / && $4 ~ /FUNC/ {print $2; exit}' | sed 's/^0*//')
is "query -o ELF_VADDR of getpid in libc (PIE): nm's value" "0x$val" \
	"$("$ML" query $$ "$(printf '%x' $(( 16#$base + 16#$val )))" -n -r -o ELF_VADDR)"
# the README's pipe: memlens query ... -o ELF_VADDR | eu-addr2line -f -e FILE
is "query ... -o ELF_VADDR -n -r | eu-addr2line -f -e FILE names the function" "getpid" \
	"$("$ML" query $$ "$(printf '%x' $(( 16#$base + 16#$val )))" -n -r -o ELF_VADDR | eu-addr2line -f -e "$lib" | head -1 | sed 's/^__//; s/@.*//')"
is "query -o ELF_VADDR of an anonymous or unmapped address: empty" "" \
	"$("$ML" query $par 0x1000 -n -r -o ELF_VADDR)"

# ---- diff: two snapshots, what grew ----
u0=$(awk '{print $1}' /proc/uptime); w0=$(date +%s)
"$ML" snapshot --no-dmabuf -b -J > "$tmp/d1.j" 2> /dev/null
u1=$(awk '{print $1}' /proc/uptime); w1=$(date +%s)
# when and where, against the kernel's own files and clocks read around it
is "snapshot -J: summary.boot_id is /proc/sys/kernel/random/boot_id, hostname uname's" \
	"$(cat /proc/sys/kernel/random/boot_id) $(uname -n)" "$(jq -r '"\(.summary.boot_id) \(.summary.hostname)"' "$tmp/d1.j")"
tw=$(jq -r .summary.time "$tmp/d1.j"); tu=$(jq -r .summary.uptime "$tmp/d1.j")
ok "$($PY -c 'import sys, datetime as d
t = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=d.timezone.utc).timestamp()
sys.exit(not (int(sys.argv[2]) <= t < int(sys.argv[3]) + 1 and float(sys.argv[4]) - 0.01 <= float(sys.argv[5]) <= float(sys.argv[6]) + 0.01))' \
	"$tw" $w0 $w1 $u0 "$tu" $u1 2>&1; echo $?)" \
	"snapshot -J: summary.time $tw (RFC 3339, UTC) within the wall clock around it ($w0..$w1), uptime $tu within /proc/uptime's ($u0..$u1)"
# memlens itself is left out (it is not what a diff of two snapshots is about), unless --self
"$ML" snapshot --no-dmabuf -J > "$tmp/self0.j" 2> /dev/null & me=$!; wait $me
"$ML" snapshot --no-dmabuf -J --self > "$tmp/self1.j" 2> /dev/null & me1=$!; wait $me1
is "snapshot -J: no row of memlens's own pid; with --self, its row (comm memlens)" "0 memlens" \
	"$(jq --argjson p $me '[.snapshot[] | select(.pid == $p)] | length' "$tmp/self0.j") $(jq -r --argjson p $me1 '.snapshot[] | select(.pid == $p) | .comm' "$tmp/self1.j")"
jq '.summary.boot_id = "00000000-0000-4000-8000-000000000000"' "$tmp/d1.j" > "$tmp/other.j"
"$ML" diff "$tmp/d1.j" "$tmp/other.j" > "$tmp/boots.out" 2> "$tmp/boots.err"; rc=$?
is "diff of two boots: exit 1, nothing on stdout, one line saying so" "1 0 1 yes" \
	"$rc $(wc -c < "$tmp/boots.out") $(wc -l < "$tmp/boots.err") $(grep -q 'different boots' "$tmp/boots.err" && echo yes)"
# diff STREAM (what snapshot --watch -J writes): its first document against its last
"$ML" snapshot --no-dmabuf -b -J > "$tmp/d15.j" 2> /dev/null
# the last one a second later, its first process 4 kB larger: only it says so
jq '.summary.uptime += 1 | .snapshot[0].pss += 4096' "$tmp/d15.j" > "$tmp/d16.j"
cat "$tmp/d1.j" "$tmp/d15.j" "$tmp/d16.j" > "$tmp/stream.j"
"$ML" diff "$tmp/d1.j" "$tmp/d16.j" -J > "$tmp/first_last.j"
is "diff STREAM: the first document against the last, as diff FIRST LAST says it (a non-empty answer)" \
	"$(cat "$tmp/first_last.j")" "$("$ML" diff "$tmp/stream.j" -J)"
# hostile streams: one line naming the document, exit 1, nothing on stdout
half=$(( $(wc -c < "$tmp/d15.j") / 2 ))
{ cat "$tmp/d1.j"; head -c $half "$tmp/d15.j"; cat "$tmp/d2.j"; } > "$tmp/cut.j"
cat "$tmp/d15.j" "$tmp/d1.j" > "$tmp/order.j"
cat "$tmp/d1.j" "$tmp/other.j" > "$tmp/mixed.j"
# ... also across a document that names no boot and gives no time (the last checked against the first)
jq 'del(.summary.boot_id, .summary.uptime)' "$tmp/d15.j" > "$tmp/anon.j"
cat "$tmp/d1.j" "$tmp/anon.j" "$tmp/other.j" > "$tmp/mixed2.j"
cat "$tmp/d15.j" "$tmp/anon.j" "$tmp/d1.j" > "$tmp/order2.j"
for c in "order.j:document 2 was taken before document 1" "mixed.j:document 2 is of another boot" \
	"mixed2.j:document 3 is of another boot than document 1" "order2.j:document 3 was taken before document 1" \
	"cut.j:document 2: " "d1.j:one document"; do
	f=${c%%:*} want=${c#*:}
	"$ML" diff "$tmp/$f" > "$tmp/h.out" 2> "$tmp/h.err"; rc=$?
	is "diff STREAM refuses $f: exit 1, one line ('$want'), no output" "1 1 0 yes" \
		"$rc $(wc -l < "$tmp/h.err") $(wc -c < "$tmp/h.out") $(grep -qF "$want" "$tmp/h.err" && echo yes)"
done
$PY -c 'import sys, time; x = bytearray(32 << 20); sys.stdout.write("up\n"); sys.stdout.flush(); time.sleep(60)' > "$tmp/grow.out" &
grow=$!; kids+=($grow)
for _ in $(seq 100); do grep -q up "$tmp/grow.out" && break; sleep 0.05; done
"$ML" snapshot --no-dmabuf -b -J > "$tmp/d2.j" 2> /dev/null
"$ML" diff "$tmp/d1.j" "$tmp/d2.j" -J > "$tmp/diff.j"; rc=$?
is "diff OLD NEW -J: exit 0, valid JSON" "0 object" "$rc $(jq -r type "$tmp/diff.j")"
is "diff: a process started between the two is new, its figures all delta" \
	"new $(jq -r --argjson p $grow '.snapshot[] | select(.pid == $p) | "\(.pss) \(.pss) \(.rss)"' "$tmp/d2.j")" \
	"$(jq -r --argjson p $grow '.diff[] | select(.pid == $p) | "\(.change) \(.pss) \(.pss_delta) \(.rss_delta)"' "$tmp/diff.j")"
want=$(jq -r -n --slurpfile a "$tmp/d1.j" --slurpfile b "$tmp/d2.j" '
	[$a[0].snapshot[] | {key: "\(.pid) \(.comm)", value: .}] | from_entries as $o |
	[$b[0].snapshot[] | {key: "\(.pid) \(.comm)", value: .}] | from_entries as $n |
	[($o + $n) | keys[] | . as $k | {k: $k, d: (($n[$k].pss // 0) - ($o[$k].pss // 0)), r: (($n[$k].rss // 0) - ($o[$k].rss // 0)),
	  c: (if $o[$k] == null then "new" elif $n[$k] == null then "gone" else "old" end)}] |
	map(select(.d != 0 or .r != 0 or .c != "old")) | sort_by(.k) | .[] | "\(.k) \(.d) \(.r)"')
is "diff: every changed process and its PSS and RSS deltas, by jq from the two files" "$want" \
	"$(jq -r '.diff[] | "\(.pid) \(.comm) \(.pss_delta) \(.rss_delta)"' "$tmp/diff.j" | sort)"
is "diff: rows in order, largest PSS growth first" "$(jq -r '.diff[].pss_delta' "$tmp/diff.j" | sort -rn | tr '\n' ' ')" \
	"$(jq -r '.diff[].pss_delta' "$tmp/diff.j" | tr '\n' ' ')"
is "diff: summary new/gone and total PSS delta" \
	"$(echo "$want" | awk '{d += $3} END {print d}') $(jq -r -n --slurpfile a "$tmp/d1.j" --slurpfile b "$tmp/d2.j" '$b[0].summary.mem_available - $a[0].summary.mem_available')" \
	"$(jq -r '"\(.summary.total_delta.pss) \(.summary.mem_available_delta)"' "$tmp/diff.j")"
"$ML" diff "$tmp/d1.j" "$tmp/d2.j" > "$tmp/diff.t"
is "diff (table): the new process's PSS_DELTA as +human" \
	"+$(jq -r --argjson p $grow '.snapshot[] | select(.pid == $p) | .pss' "$tmp/d2.j" | human 0)" \
	"$(awk -v p=$grow '$1 == p {print $5}' "$tmp/diff.t")"
ok "$(grep -q '^processes: [0-9]* new, [0-9]* gone  PSS: ' "$tmp/diff.t"; echo $?)" "diff (table): the footer ($(tail -1 "$tmp/diff.t"))"
is "diff --top 1: one row" 1 "$("$ML" diff "$tmp/d1.j" "$tmp/d2.j" --top 1 -J | jq '.diff | length')"
is "diff A A: nothing changed, no row (with -a every process)" "0 $(jq '.snapshot | length' "$tmp/d1.j")" \
	"$("$ML" diff "$tmp/d1.j" "$tmp/d1.j" -J | jq '.diff | length') $("$ML" diff -a "$tmp/d1.j" "$tmp/d1.j" -J | jq '.diff | length')"
# written by hand: a pid reused by another command, kernel-only buffers that
# came and went, a name that is not UTF-8
cat > "$tmp/h1.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 100, "rss": 200},
 {"pid": 11, "comm": "old", "pss": 50}], "summary": {"mem_available": 1000,
 "dmabuf_kernel_only": [{"inode": 5, "size": 4096, "exporter": "system", "name": "gone"},
 {"inode": 6, "size": 8192, "exporter": "system", "name": "stays"}]}}
EOF
# as snapshot -J writes a comm of bytes 6e 65 77 ff (\xff), and a control
# character a hand-made file may hold raw
cat > "$tmp/h2.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 1124, "rss": 200},
 {"pid": 11, "comm": "new\\xff", "pss": 70}], "summary": {"mem_available": 900,
 "dmabuf_kernel_only": [{"inode": 6, "size": 8192, "exporter": "system", "name": "stays"},
 {"inode": 7, "size": 1048576, "exporter": "udmabuf", "name": "leak\u001b"}]}}
EOF
"$ML" diff "$tmp/h1.j" "$tmp/h2.j" -J > "$tmp/h.j"
is "diff: pid reused by another comm is one gone and one new; pid 10 grew by 1024" \
	"10 a grew 1024|11 new\\xff new 70|11 old gone -50|" \
	"$(jq -r '.diff[] | "\(.pid) \(.comm) \(.change) \(.pss_delta)"' "$tmp/h.j" | sort | tr '\n' '|')"
is "diff: kernel-only buffers new and gone, the one in both not listed" "5 gone 4096|7 new 1048576|" \
	"$(jq -r '.kernel_only[] | "\(.inode) \(.change) \(.size)"' "$tmp/h.j" | sort | tr '\n' '|')"
"$ML" diff "$tmp/h1.j" "$tmp/h2.j" > "$tmp/h.t"
ok "$(grep -q '^kernel-only DMA-BUF buffers:' "$tmp/h.t" && grep -q ' 1M udmabuf *leak\\x1b *new' "$tmp/h.t" && grep -q ' new\\xff ' "$tmp/h.t"; echo $?)" \
	"diff (table): the kernel-only buffers' table, names escaped"
# every column diff --help lists is one -o takes, with kernel-only buffers in
# both files (their table keeps its own columns)
bad=""
for col in $("$ML" diff --help | awk '/^Columns/ {on = 1; next} on && /^  [A-Z]/ {print $1}'); do
	hd=$("$ML" diff "$tmp/h1.j" "$tmp/h2.j" -o "$col" 2> "$tmp/e" | head -1 | tr -d ' '); rc=$?
	[ "$hd" = "$col" ] && [ ! -s "$tmp/e" ] || bad+=" $col($(head -c 80 "$tmp/e"))"
done
is "diff -o COL: every column of --help is taken and heads the table" "" "$bad"
is "diff -o PID,COMM,PSS -J: those keys, per row" "comm pid pss" \
	"$("$ML" diff "$tmp/h1.j" "$tmp/h2.j" -o PID,COMM,PSS -J | jq -r '.diff[0] | keys | join(" ")')"
for bad in "not json" '{"x": 1}' '{"snapshot": [{"comm": "x"}]}' '{"snapshot": [{"pid": 1, "comm": "x", "pss": -5}]}' \
	   '{"snapshot": [{"pid": 1, "comm": "x"}, {"pid": 1, "comm": "x"}]}' '{"snapshot": [{"comm": "g", "nprocs": 3}]}' \
	   '{"snapshot": [{"pid": 1, "comm": "x", "pss": "12"}]}' '' '[' '{"snapshot": 5}'; do
	printf '%s' "$bad" > "$tmp/bad.j"
	"$ML" diff "$tmp/bad.j" "$tmp/h2.j" > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 1 ] && [ "$(wc -l < "$tmp/e")" = 1 ]; echo $?)" "diff of a bad file ($(echo "$bad" | head -c 40)): exit 1, one line ($(cat "$tmp/e"))"
done
for fmt in "" -J -r --csv; do
	"$ML" diff "$tmp/h1.j" "$tmp/h2.j" $fmt -o NOPE > /dev/null 2> "$tmp/e"; rc=$?
	is "diff $fmt -o NOPE: exit 2, one line" "2 memlens: unknown column 'NOPE' (see --help for the list)" "$rc $(cat "$tmp/e")"
done
"$ML" diff /nonexistent "$tmp/h2.j" > /dev/null 2>&1; is "diff of a missing file: exit 1" 1 $?
"$ML" diff "$tmp/h1.j" > /dev/null 2>&1; is "diff of one file of one document (a stream too short): exit 1" 1 $?
"$ML" diff "$tmp/h1.j" "$tmp/h2.j" "$tmp/h1.j" > /dev/null 2>&1; is "diff of three files: exit 2" 2 $?

# ---- one meaning per letter ----
"$ML" dmabuf -a > /dev/null 2>&1; rc=$?
ok "$([ $rc != 2 ]; echo $?)" "dmabuf -a (every process) is taken (exit $rc)"
for cmd in maps query who-maps dmabuf snapshot features; do
	h=$("$ML" $cmd --help)
	ok "$(echo "$h" | grep -qE '^  -b, --bytes' && ! echo "$h" | grep -qE '^  -b, --(source|buffers)'; echo $?)" "$cmd --help: -b is --bytes"
	case $cmd in snapshot | features) continue ;; esac
	ok "$(echo "$h" | grep -qE '^  -s, --source'; echo $?)" "$cmd --help: -s is --source"
done

echo "1..$n"

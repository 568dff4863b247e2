#!/bin/bash
# --csv in every command that prints rows: RFC 4180 read back by Python's csv
# module (not by anything of ours), the same rows and cells as -J, sizes in
# bytes; a name a spreadsheet would run as a formula starts with ', a signed
# number stays a number.  Targets are a stopped process (its figures stand
# still between the two runs) whose name holds a comma, a quote and a
# leading '=', and a file it maps.  The target is the static helper (tests/
# helpers/sharer.c): it shares no library page with anything, so no process
# starting or ending elsewhere on the machine moves its Pss between the runs.
# Usage: tests/csv.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
if ! command -v python3 > /dev/null || ! command -v jq > /dev/null; then
	# (a VM guest: the format is the kernel's business nowhere; the host checks it)
	skip "--csv is read back with python3's csv module and jq: not here"
	echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-csv-XXXXXX); chmod 755 "$tmp"
pid=0 kid=0
trap '[ "$pid" != 0 ] && { kill -KILL $pid $kid; wait $pid; } 2> /dev/null; rm -rf "$tmp"' EXIT

# a process named =1+2,"x (its comm: the executable's name, 15 bytes)
name='=1+2,"x'
mkfifo "$tmp/fifo"
cp "$B/tests/sharer" "$tmp/$name"
# it maps obj (a copy of libc, an ELF with a build ID), a child of it too;
# both wait on the FIFO, which they hold open themselves
cp "$(ldd "$(command -v bash)" | awk '/libc\.so/ {print $3}')" "$tmp/obj"
"$tmp/$name" "$tmp/obj" 8 4 <> "$tmp/fifo" > "$tmp/target.out" &
pid=$!
for _ in $(seq 50); do grep -q '^child' "$tmp/target.out" 2> /dev/null && break; sleep 0.1; done
kid=$(awk '$1 == "child" {print $2}' "$tmp/target.out")
is "the target's comm is the hostile name" "$name" "$(cat /proc/$pid/comm)"
kill -STOP $pid
addr=0x$(head -1 /proc/$pid/maps | cut -d- -f1)

# diff's input, by hand: a name with a newline, deltas of both signs
cat > "$tmp/a.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 100, "rss": 200}, {"pid": 11, "comm": "-x,\"y\"", "pss": 50}], "summary": {}}
EOF
cat > "$tmp/b.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 60, "rss": 900}, {"pid": 11, "comm": "-x,\"y\"", "pss": 70}], "summary": {}}
EOF

# compare CSV JSON: the JSON document's first array of rows, cell by cell
cat > "$tmp/cmp.py" <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
doc = json.load(open(sys.argv[2]))
jrows = next(v for v in doc.values() if isinstance(v, list))
def want(v):
    if v is None: return ""
    if isinstance(v, bool): return "yes" if v else "no"	# as the table says it
    if isinstance(v, list): return ",".join(str(x) for x in v)
    s = str(v)
    if isinstance(v, str) and s and s[0] in "=+-@\t\r":
        try: float(s)
        except ValueError: s = "'" + s
    return s
head, body = rows[0], rows[1:]
bad = []
if len(body) != len(jrows): bad.append("%d rows, JSON %d" % (len(body), len(jrows)))
for r, j in zip(body, jrows):
    if len(r) != len(head): bad.append("a row of %d cells" % len(r)); continue
    for k, c in zip(head, r):
        w = want(j.get(k.lower()))
        if c != w: bad.append("%s: %r, JSON %r" % (k, c, w))
print("%d %s" % (len(body), "; ".join(bad[:3])))
EOF
# (--smaps: Pss and Shared/Private move with the pages memlens itself faults
# in the libraries the target shares with it)
for args in "maps $pid" "maps $pid --smaps -o START,NAME,Size,Rss,Swap,THPeligible,VmFlags" "maps $pid --pages" "query $pid $addr" "features" \
	    "who-maps $tmp/obj -o PID,COMM,START,RSS,PSS" "snapshot --pid $pid -o PID,COMM,USER,RSS,PSS,SWAP" \
	    "dmabuf" "diff $tmp/a.j $tmp/b.j" "diff $tmp/a.j $tmp/b.j -o PID,COMM,PSS_DELTA,RSS_DELTA"; do
	# (PSS moves while others map the libraries the target shares: a few tries)
	for _ in 1 2 3 4 5 6; do
		"$ML" $args --csv > "$tmp/out.csv" 2> /dev/null; rc=$?
		"$ML" $args -J > "$tmp/out.json" 2> /dev/null
		got=$(python3 "$tmp/cmp.py" "$tmp/out.csv" "$tmp/out.json" 2>&1 | tail -1)
		[ "$got" = "${got%% *} " ] && break
		sleep 0.2	# (a try again only for what moves by itself: none of the target's figures)
	done
	is "$args --csv: exit 0, read back as RFC 4180, every cell as -J's (${got%% *} rows)" "0 ${got%% *} " "$rc $got"
done
# the rows that must be there, so the comparison above compared something
"$ML" snapshot --pid $pid -o COMM --csv > "$tmp/s.csv"
is "snapshot --csv: the hostile comm quoted, its formula guarded" "COMM|\"'=1+2,\"\"x\"" "$(tr '\n' '|' < "$tmp/s.csv" | sed 's/|$//')"
is "diff --csv: the deltas signed numbers, unguarded (largest PSS growth first)" "20,0|-40,700" \
	"$("$ML" diff "$tmp/a.j" "$tmp/b.j" -o PSS_DELTA,RSS_DELTA --csv -n | tr '\n' '|' | sed 's/|$//')"
is "maps --csv -n: no header line" "$(grep -c . /proc/$pid/maps)" "$("$ML" maps $pid --csv -n | wc -l)"
"$ML" maps $pid --csv -J > /dev/null 2> "$tmp/e"; rc=$?
is "--csv -J: exit 2, one line" "2 memlens: -J, -r and --csv do not go together" "$rc $(cat "$tmp/e")"
kill -CONT $pid
echo "1..$n"

#!/bin/bash
# The memlens CLI against real processes: maps equals /proc/<pid>/maps, query
# equals offsets computed by hand and build IDs from readelf -n, bad input gets
# one line and the right exit code, an unprivileged user gets what it may.
# Usage: tests/cli.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/expect.sh"

tmp=$(mktemp -d /tmp/memlens-cli-XXXXXX)
chmod 755 "$tmp"
cleanup() { exec 7>&- 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# a mapper held open through fd 7; it exits when we close it
start_mapper() {
	mkfifo "$tmp/in.$1"
	"$B/tests/mapper" --dir "$tmp" < "$tmp/in.$1" > "$tmp/out.$1" &
	MAPPER=$!
	exec 7> "$tmp/in.$1"
	for _ in $(seq 100); do grep -q '^ready' "$tmp/out.$1" 2>/dev/null && break; sleep 0.05; done
}
start_mapper 1
pid=$MAPPER

# ---- maps ----
for b in ioctl bpf text; do
	if ! "$ML" maps "$pid" -s "$b" -m > "$tmp/maps.$b" 2> "$tmp/err.$b"; then
		if grep -q unavailable "$tmp/err.$b"; then unavailable "$(vma_iface $b)" "maps -s $b: $(cat "$tmp/err.$b")"; continue; fi
	fi
	if diff "$tmp/maps.$b" "/proc/$pid/maps" > "$tmp/diff.$b"; then ok 0 "maps -s $b --proc-maps equals /proc/$pid/maps line for line"
	else ok 1 "maps -s $b --proc-maps equals /proc/$pid/maps line for line"; sed 's/^/#   /' "$tmp/diff.$b" | head; fi
done
lines=$("$ML" maps "$pid" -n | wc -l)
is "maps table has one row per VMA" "$(wc -l < /proc/$pid/maps)" "$lines"
# every field of every row, raw table and JSON, against maps read by bash here
# (START END PERMS OFFSET DEV INODE SIZE, all in one line per VMA, in decimal)
truth=$(while read -r r perms off dev ino _; do s=$((16#${r%-*})); e=$((16#${r#*-}))
	echo "$s $e $perms $((16#$off)) $dev $ino $((e - s))"; done < "/proc/$pid/maps")
for b in ioctl bpf text; do
	"$ML" maps "$pid" -s "$b" -r -n -b -o START,END,PERMS,OFFSET,DEV,INODE,SIZE > "$tmp/raw.$b" 2> /dev/null || continue
	got=$(while read -r s e perms off dev ino size; do echo "$((s)) $((e)) $perms $((off)) $dev $ino $size"; done < "$tmp/raw.$b")
	is "maps -s $b -r: START END PERMS OFFSET DEV INODE SIZE of every row are maps's" "$truth" "$got"
	"$ML" maps "$pid" -s "$b" -J -o START,END,PERMS,OFFSET,DEV,INODE,SIZE > "$tmp/json.$b" 2> /dev/null
	got=$(jq -r '.maps[] | "\(.start) \(.end) \(.perms) \(.offset) \(.dev) \(.inode) \(.size)"' "$tmp/json.$b" |
		while read -r s e perms off dev ino size; do echo "$((s)) $((e)) $perms $((off)) $dev $ino $size"; done)
	is "maps -s $b -J: the same fields of every row are maps's" "$truth" "$got"
done
"$ML" maps "$pid" -J > "$tmp/maps.json"
ok $? "maps --json exits 0"
is "maps --json: jq reads one object per VMA" "$(wc -l < /proc/$pid/maps)" "$(jq '.maps | length' "$tmp/maps.json")"
is "maps --json: row fields" '["buildid","dev","end","inode","name","offset","pagesize","perms","pid","size","source","start"]' \
	"$(jq -c '.maps[0] | keys' "$tmp/maps.json" | sed 's/"buildid",//; s/^\[/["buildid",/')"
first=$(head -1 /proc/$pid/maps)
is "maps --json: first row start/end/perms/inode/name as in maps" \
	"$(echo "$first" | awk '{split($1,a,"-"); printf "0x%s 0x%s %s %s %s", a[1], a[2], $2, $5, $6}' | sed 's/0x0*\([0-9a-f]\)/0x\1/g')" \
	"$(jq -r '.maps[0] | "\(.start) \(.end) \(.perms) \(.inode) \(.name // "")"' "$tmp/maps.json")"
"$ML" maps "$pid" -o START,NAME,BUILDID -B -r -n > "$tmp/cols" ; ok $? "maps -o START,NAME,BUILDID -B -r works"
is "maps -o picks 3 columns" 3 "$(awk '{print NF}' "$tmp/cols" | sort -n | tail -1 | tr -d '\n' | cut -c1)"
"$ML" maps "$pid" -o NOPE >/dev/null 2>"$tmp/e"; is "unknown column: usage exit 2" 2 $?

# ---- query: offsets by hand from /proc/<pid>/maps, build IDs from readelf -n ----
libc_line=$(awk '$2 ~ /x/ && $6 ~ /libc\.so/ {print; exit}' /proc/$pid/maps)
if [ -n "$libc_line" ]; then
	libc=$(echo "$libc_line" | awk '{print $6}')
	start=$((0x$(echo "$libc_line" | cut -d- -f1)))
	off=$((0x$(echo "$libc_line" | awk '{print $3}')))
	addr=$((start + 0x1234))
	want_off=$(printf '0x%x' $((addr - start + off)))
	want_bid=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
	got=$("$ML" query "$pid" "$(printf '%x' $addr)" -r -n -o FILE_OFFSET,NAME,BUILDID)
	is "query: libc address gives the file offset and build ID computed by hand" "$want_off $libc $want_bid" "$got"
	for b in ioctl bpf text; do
		g=$("$ML" query "$pid" "0x$(printf '%x' $addr)" -s $b -r -n -o FILE_OFFSET,BUILDID 2>/dev/null) || { unavailable "$(vma_iface $b)" "query -s $b unavailable"; continue; }
		is "query -s $b: same offset and build ID" "$want_off $want_bid" "$g"
	done
else
	skip "no libc mapping in the mapper (static build?)"
fi
exe_bid=$(readelf -n "$B/tests/mapper" | awk '/Build ID/ {print $3}')
main=$(awk '/^main/ {print $2}' "$tmp/out.1")
is "query: the mapper's main() carries its executable's build ID" "$exe_bid" "$("$ML" query "$pid" "$main" -r -n -o BUILDID)"
is "query: unmapped address says so" "0x1000 no [unmapped]" "$("$ML" query "$pid" 1000 -r -n -o ADDR,MAPPED,NAME)"
printf '%s\n' 1000 "$main" '' '# comment' 0X1000 | "$ML" query "$pid" -r -n -o ADDR > "$tmp/q"
is "query from stdin keeps the input order" "0x1000 0x$main 0x1000" "$(tr '\n' ' ' < "$tmp/q" | sed 's/ $//')"
"$ML" query "$pid" 1000 "$main" -J > "$tmp/q.json"
is "query --json: jq reads mapped flags" "false true" "$(jq -r '[.query[].mapped] | map(tostring) | join(" ")' "$tmp/q.json")"
# standard input is answered in pieces of 4096: 5000 addresses cross a piece
for i in $(seq 0 4999); do if [ $((i % 2)) = 1 ]; then printf '%x\n' $((i + 0x1000)); else echo "$main"; fi; done > "$tmp/q5000"
want=$(awk '{ printf "0x%s %s\n", $1, NR % 2 ? "true" : "false" }' "$tmp/q5000" | md5sum)
"$ML" query "$pid" -J -o ADDR,MAPPED < "$tmp/q5000" > "$tmp/q5000.json"
is "query: 5000 addresses on stdin, -J: one document, every row in input order" "$want" \
	"$(jq -r '.query[] | "\(.addr) \(.mapped)"' "$tmp/q5000.json" | md5sum)"
"$ML" query "$pid" -o ADDR,MAPPED < "$tmp/q5000" > "$tmp/q5000.txt"
is "query: 5000 addresses, table: headings once, 5000 rows" "1 5000" \
	"$(grep -c '^ *ADDR' "$tmp/q5000.txt") $(grep -c '^ *0x' "$tmp/q5000.txt")"
# a process talking to query through a pipe gets each answer before its next question
coproc Q { "$ML" query "$pid" -r -n -o ADDR,MAPPED; }
echo 1000 >&"${Q[1]}"; IFS= read -r -t 20 a1 <&"${Q[0]}"
echo "$main" >&"${Q[1]}"; IFS= read -r -t 20 a2 <&"${Q[0]}"
exec {Q[1]}>&-; wait "$Q_PID"
is "query as a coprocess: each address answered while its input stays open" "0x1000 no|0x$main yes" "$a1|$a2"
if script --version 2>&1 | grep -q util-linux; then
	out=$(printf '1000\n\004' | timeout 20 script -qec "$ML query $pid -r -n -o ADDR" /dev/null | tr -d '\r')
	ok "$(echo "$out" | grep -q '^memlens: reading addresses from standard input' && echo "$out" | grep -qx 0x1000; echo $?)" \
		"query on a terminal says it reads standard input, then answers"
else
	skip "no util-linux script(1) to give query a terminal"
fi

# a kernel thread has no mm: nothing mapped, whatever the source
if grep -q '^2 (kthreadd)' /proc/2/stat 2>/dev/null; then
	for b in ioctl bpf text; do
		out=$("$ML" query 2 1000 -s $b -r -n -o ADDR,MAPPED,NAME 2>&1); rc=$?
		if [ $rc != 0 ] && echo "$out" | grep -q "source $b.*unavailable\|not available\|cannot"; then unavailable "$(vma_iface $b)" "query -s $b: $out"; continue; fi
		is "query -s $b of a kernel thread (kthreadd): unmapped, exit 0" "0 0x1000 no [unmapped]" "$rc $out"
		out=$("$ML" maps 2 -s $b -r -n 2>&1); rc=$?
		is "maps -s $b of a kernel thread: no VMAs, exit 0" "0 " "$rc $out"
	done
else
	skip "pid 2 is not kthreadd here"
fi

# ---- bad input ----
dead=$(sh -c 'echo $$')
out=$("$ML" maps "$dead" 2>&1); rc=$?
is "maps of a pid that does not exist: exit 1" 1 $rc
is "... and one clear line" "memlens: pid $dead: no such process" "$out"
out=$("$ML" query "$dead" 1000 2>&1); is "query of a pid that does not exist: exit 1, one line" "1 memlens: pid $dead: no such process" "$? $out"
out=$("$ML" query "$pid" xyz 2>&1); is "non-hex address: exit 2, one line" "2 memlens: 'xyz': not a hex address" "$? $out"
out=$("$ML" query "$pid" 12345678901234567 2>&1); is "address over 64 bits: exit 2" "2" "$?"
out=$("$ML" query "$pid" < /dev/null 2>&1); rc=$?
is "empty stdin: exit 2" 2 $rc
is "... one line" 1 "$(echo "$out" | wc -l)"
out=$(printf 'garbage\n\x01\x02\xff\n' | "$ML" query "$pid" 2>&1); rc=$?
is "only garbage lines on stdin: exit 1" 1 $rc
ok "$(echo "$out" | grep -c 'stdin line 1: .garbage.: not a hex address' | grep -qx 1; echo $?)" "garbage lines are named by line number"
out=$(printf 'garbage\n%s\n' "$main" | "$ML" query "$pid" -r -n -o ADDR 2>/dev/null); rc=$?
is "garbage and good lines: exit 0, good ones answered" "0 0x$main" "$rc $out"
{ echo "$main"; head -c 50000000 /dev/zero | tr '\0' 'a'; echo; echo "$main"; } > "$tmp/long"
out=$("$ML" query "$pid" -r -n -o ADDR < "$tmp/long" 2> "$tmp/e"); rc=$?
is "a 50 MB line on stdin: skipped with one line, the addresses around it answered" "0 0x$main 0x$main 1" \
	"$rc $(echo $out) $(grep -c 'longer than' "$tmp/e")"
head -c 100000 /dev/urandom > "$tmp/rand"
"$ML" query "$pid" < "$tmp/rand" > /dev/null 2>&1; rc=$?
ok "$([ $rc -le 2 ] && echo 0 || echo 1)" "random bytes on stdin: clean exit (got $rc)"
"$ML" maps abc 2>/dev/null; is "maps abc: exit 2" 2 $?
"$ML" maps -- -5 2>/dev/null; is "maps -5: exit 2" 2 $?
"$ML" maps 2>/dev/null; is "maps without pid: exit 2" 2 $?
"$ML" frob 2>/dev/null; is "unknown command: exit 2" 2 $?
"$ML" maps "$pid" -s nope 2>/dev/null; is "unknown source: exit 2" 2 $?
"$ML" maps self -s text >/dev/null 2>&1; is "maps self: exit 0" 0 $?

# every short option each command's --help lists is taken by that command
for cmd in maps query features dmabuf snapshot who-maps; do
	help=$("$ML" $cmd --help); rc=$?
	is "$cmd --help: exit 0" 0 $rc
	col=$(echo "$help" | awk '/^Columns/ {getline; print $1; exit}')
	for opt in $(echo "$help" | grep -oE '^  -[A-Za-z]' | tr -d ' '); do
		arg=()
		case "$cmd$opt" in
		*-s) [ $cmd = dmabuf ] && arg=(procfs) || arg=(auto) ;;
		*-o) arg=("$col") ;;
		snapshot-x) arg=(PID) ;;
		snapshot-w) arg=(0.1 --count 1) ;;
		esac
		pos=()
		case "$cmd$opt" in
		maps-a | who-maps-S | *-h) ;;
		maps*) pos=("$pid") ;;
		query*) pos=("$pid" 0x1000) ;;
		who-maps*) pos=("$ML") ;;
		esac
		"$ML" $cmd "$opt" "${arg[@]}" "${pos[@]}" > /dev/null 2> "$tmp/opt.err"; rc=$?
		ok "$([ $rc != 2 ] && ! grep -qE 'invalid option|unrecognized option|requires an argument' "$tmp/opt.err" && echo 0 || echo 1)" \
			"$cmd $opt ${arg[*]}: taken, as --help says (exit $rc$([ -s "$tmp/opt.err" ] && echo ": $(head -1 "$tmp/opt.err")"))"
	done
done

# a process name that is not UTF-8 and holds controls and a newline: the same
# escape (\xHH) in table, raw, JSON and OpenMetrics, valid JSON, nothing cut
mkfifo "$tmp/in.evil"
"$B/tests/mapper" --dir "$tmp" --comm $'ev\n"il\377\033[2J\303\303' < "$tmp/in.evil" > "$tmp/out.evil" & evil=$!
exec 8> "$tmp/in.evil"
for _ in $(seq 100); do grep -q '^ready' "$tmp/out.evil" 2>/dev/null && break; sleep 0.05; done
want='ev\x0a"il\xff\x1b[2J\xc3\xc3'	# C3 C3: a lead byte and a byte that cannot follow it
# snapshot's order: PSS by default, largest first; -x COLUMN; -x PID ascending
for sc in "|PSS|2|-1" "RSS|RSS|2|-1" "SWAP|SWAP|2|-1" "PID|PID|1|1"; do
	IFS='|' read -r opt col k dir <<< "$sc"
	"$ML" snapshot --no-dmabuf ${opt:+-x $opt} -b -r -n -o PID,$col 2> /dev/null | grep -E "^[0-9]" > "$tmp/sorted"
	if [ "$(wc -l < "$tmp/sorted")" -gt 3 ] &&
	   awk -v k="$k" -v d="$dir" 'NR > 1 && ($k - prev) * d < 0 {bad = 1} {prev = $k} END {exit bad}' "$tmp/sorted"; then
		ok 0 "snapshot ${opt:+-x $opt }(by $col): rows in order"
	else
		ok 1 "snapshot ${opt:+-x $opt }(by $col): rows in order"; head -5 "$tmp/sorted" | sed 's/^/#   /'
	fi
done
# -r and -n are for scripts: every line a row (no TOTAL row, no footer); the
# plain table keeps both
for o in "-r -n" "-r" "-n"; do
	"$ML" snapshot --no-dmabuf -b $o -o PID,PSS > "$tmp/snap.o" 2> /dev/null
	is "snapshot $o: only process rows on stdout" 0 \
		"$(grep -cvE '^ *[0-9]+ +[0-9]+ *$' "$tmp/snap.o" | awk -v h="$([ "$o" = -r ] && echo 1 || echo 0)" '{print $1 - h}')"
done
"$ML" snapshot --no-dmabuf -o PID,COMM,PSS > "$tmp/snap.o" 2> /dev/null
is "snapshot (table): a TOTAL row and the MemTotal footer" "1 1" "$(grep -c ' TOTAL ' "$tmp/snap.o") $(grep -c '^MemTotal: ' "$tmp/snap.o")"
# -J: the footer's figures and the totals as a summary of the same document
"$ML" snapshot -J > "$tmp/snap.json" 2> /dev/null
is "snapshot -J: summary.processes, mem_total (/proc/meminfo), total.rss, total.pss and total.uss are the rows' own" \
	"$(awk '$1 == "MemTotal:" {printf "%.0f", $2 * 1024}' /proc/meminfo) yes" \
	"$(jq -r '"\(.summary.mem_total) \(if .summary.processes == (.snapshot | length) and .summary.total.rss == ([.snapshot[].rss] | add)
		and .summary.total.pss == ([.snapshot[].pss] | add) and .summary.total.uss == ([.snapshot[].uss] | add) then "yes" else "no" end)"' "$tmp/snap.json")"
"$ML" snapshot -J --group-by comm > "$tmp/snapg.json" 2> /dev/null
is "snapshot -J --group-by comm: summary.processes is the groups' nprocs summed" yes \
	"$(jq -r 'if .summary.processes == ([.snapshot[].nprocs] | add) and .summary.total.rss == ([.snapshot[].rss] | add) then "yes" else "no" end' "$tmp/snapg.json")"
got_t=$("$ML" snapshot --no-dmabuf -n -o PID,COMM | awk -v p=$evil '$1 == p {print $2}')
got_r=$("$ML" snapshot --no-dmabuf -r -n -o PID,COMM | awk -v p=$evil '$1 == p {print $2}')
"$ML" snapshot --no-dmabuf -J > "$tmp/evil.json"
got_j=$(jq -r --argjson p $evil '.snapshot[] | select(.pid == $p) | .comm' "$tmp/evil.json"); rc=$?
"$ML" snapshot --no-dmabuf --openmetrics > "$tmp/evil.om"
got_o=$(sed -n "s/^memlens_process_memory_bytes{pid=\"$evil\",comm=\"\(.*\)\",cgroup=\".*memtype=\"rss\"} .*/\1/p" "$tmp/evil.om" | sed 's/\\\\/\\/g; s/\\"/"/g')
is "hostile comm in the table: escaped, not cut" "$want" "$got_t"
is "hostile comm in raw output: the same" "$want" "$got_r"
is "hostile comm in JSON: valid JSON, the same" "0 $want" "$rc $got_j"
is "hostile comm in OpenMetrics: the same once unescaped" "$want" "$got_o"
ok "$(LC_ALL=C grep -c "$(printf '[\200-\377\001-\010\033]')" "$tmp/evil.om" "$tmp/evil.json" | awk -F: '{s += $2} END {print s}')" \
	"no byte outside printable ASCII in the OpenMetrics and JSON output"
exec 8>&-; wait $evil 2>/dev/null

# options that do not go together, and targets that overflow: one line, exit 2
for args in "maps $pid --smaps --pages" "maps --all --smaps" "maps $pid -m -J" "dmabuf --all-refs --buffers" "dmabuf --csv -J" "dmabuf -a 1" \
	    "snapshot -J --openmetrics" "who-maps 99999999999:1" "who-maps 4294967297:1000" "who-maps 1000:1:12"; do
	"$ML" $args > /dev/null 2> "$tmp/e"; rc=$?
	ok "$([ $rc = 2 ] && [ "$(wc -l < "$tmp/e")" = 1 ]; echo $?)" "$args: exit 2 with one line ($rc: $(cat "$tmp/e"))"
done
# a bad option, in every command: getopt's line carries memlens' prefix and
# the command, and the next says where to look (util-linux's two lines)
for cmd in maps query features dmabuf "bpf pin" snapshot exporter diff who-maps; do
	"$ML" $cmd -Z > /dev/null 2> "$tmp/e"; rc=$?
	is "$cmd -Z: exit 2, prefixed, and where to look" \
		"2 memlens: ${cmd% *}: invalid option -- 'Z'|Try 'memlens ${cmd% *} --help' for more information." \
		"$rc $(paste -sd'|' "$tmp/e")"
done
"$ML" snapshot --no-such-thing > /dev/null 2> "$tmp/e"; rc=$?
is "snapshot --no-such-thing: the long form the same way" \
	"2 memlens: snapshot: unrecognized option '--no-such-thing'|Try 'memlens snapshot --help' for more information." \
	"$rc $(paste -sd'|' "$tmp/e")"
# snapshot -s picks its DMA-BUF pass's source, as dmabuf's and the exporter's
"$ML" snapshot -s procfs -J 2> /dev/null > "$tmp/s.json"; rc=$?
is "snapshot -s procfs: exit 0, the DMA-BUF columns from procfs" "0 procfs" "$rc $(jq -r .summary.dmabuf_source "$tmp/s.json")"
"$ML" snapshot -s bpf -J > "$tmp/s.json" 2> "$tmp/e"; rc=$?
if [ "$("$ML" features -J | jq -r '.features[] | select(.name == "bpf_dmabuf").available')" = true ]; then
	is "snapshot -s bpf (bpf_dmabuf available here): exit 0, from bpf" "0 bpf" "$rc $(jq -r .summary.dmabuf_source "$tmp/s.json")"
else
	is "snapshot -s bpf (bpf_dmabuf unavailable here): exit 1, one line saying why" "1 1 1" \
		"$rc $(grep -c . "$tmp/e") $(grep -c '^memlens: DMA-BUF source bpf unavailable: ' "$tmp/e")"
fi
"$ML" snapshot -s debugfs > /dev/null 2> "$tmp/e"; rc=$?
is "snapshot -s debugfs: exit 2, the sources it takes" "2 memlens: unknown source 'debugfs' (bpf, procfs, or auto)" "$rc $(cat "$tmp/e")"
"$ML" maps "$pid" -o '' > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 2 ] && grep -q 'needs a column' "$tmp/e"; echo $?)" "maps -o '': exit 2 saying why ($(cat "$tmp/e"))"

# a process that exits while being asked about
"$B/tests/mapper" --vmas 20000 --dir "$tmp" < /dev/null > /dev/null & short=$!
sleep 0.05
"$ML" maps "$short" > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 0 ] || { [ $rc = 1 ] && grep -qx "memlens: pid $short: no such process" "$tmp/e"; } && echo 0 || echo 1)" \
	"a process exiting during maps: exit 0 or the one-line error (got $rc: $(cat "$tmp/e"))"
wait $short 2>/dev/null

# ---- features ----
"$ML" features -J > "$tmp/f.json"; ok $? "features --json exits 0"
is "features: release is uname -r" "$(uname -r)" "$(jq -r '.features[] | select(.name=="release").value' "$tmp/f.json")"
if [ "$(id -u)" = 0 ]; then
	want_ioctl=$(jq -r '.features[] | select(.name=="procmap_query").available' "$tmp/f.json")
	is "features: query uses ioctl exactly when PROCMAP_QUERY works, else the maps text" \
		"$([ "$want_ioctl" = true ] && echo ioctl || echo text)" "$(jq -r '.features[] | select(.name=="query").value' "$tmp/f.json")"
fi

# ---- unprivileged (nobody): no BPF, no map_files; own child still works ----
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	cp "$ML" "$B/tests/mapper" "$tmp/"; chmod 755 "$tmp/memlens" "$tmp/mapper"
	mkdir -p "$tmp/nobody"; chown nobody "$tmp/nobody"
	cat > "$tmp/unpriv.sh" <<'EOS'
cd "$1/nobody"
mkfifo in; ../mapper --dir "$1/nobody" < in > out & p=$!
exec 7> in
for _ in $(seq 100); do grep -q ready out && break; sleep 0.05; done
../memlens features -J > f.json
../memlens maps $p -m > maps.txt; echo "maps rc $?"
diff -q maps.txt /proc/$p/maps > /dev/null && echo "maps same"
../memlens query $p $(awk '/^main/ {print $2}' out) -r -n -o NAME > q.txt; echo "query rc $?"
../memlens maps $p -s bpf > /dev/null 2> bpf.err; echo "bpf rc $?"
../memlens maps 1 > /dev/null 2> init.err; echo "init rc $?"
exec 7>&-; wait
EOS
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		bash "$tmp/unpriv.sh" "$tmp" > "$tmp/unpriv.out" 2>&1
	u="$tmp/unpriv.out"
	f="$tmp/nobody/f.json"
	is "nobody: bpf_task_vma unavailable" false "$(jq -r '.features[] | select(.name=="bpf_task_vma").available' "$f")"
	ok "$(jq -r '.features[] | select(.name=="bpf_task_vma").reason' "$f" | grep -q CAP_BPF; echo $?)" "nobody: features says BPF needs CAP_BPF"
	is "nobody: map_files unavailable" false "$(jq -r '.features[] | select(.name=="map_files").available' "$f")"
	ok "$(jq -r '.features[] | select(.name=="map_files").reason' "$f" | grep -q CAP_CHECKPOINT_RESTORE; echo $?)" "nobody: features says map_files needs CAP_CHECKPOINT_RESTORE"
	ok "$(grep -qx 'maps rc 0' "$u"; echo $?)" "nobody: maps of its own child works"
	ok "$(grep -qx 'maps same' "$u"; echo $?)" "nobody: ... and equals /proc/<pid>/maps"
	ok "$(grep -qx 'query rc 0' "$u" && grep -q 'tests/mapper\|/mapper' "$tmp/nobody/q.txt"; echo $?)" "nobody: query of its own child works"
	ok "$(grep -qx 'bpf rc 1' "$u" && grep -q 'source bpf unavailable: .*CAP_BPF' "$tmp/nobody/bpf.err"; echo $?)" \
		"nobody: --source bpf fails with one line saying why ($(cat "$tmp/nobody/bpf.err"))"
	ok "$(grep -qx 'init rc 1' "$u" && grep -q 'pid 1: permission denied' "$tmp/nobody/init.err"; echo $?)" \
		"nobody: maps of pid 1 is refused with one line ($(cat "$tmp/nobody/init.err"))"
else
	skip "unprivileged tests need root and setpriv"
fi

exec 7>&-
wait
echo "1..$n"

#!/bin/bash
# Cgroups and containers: the test makes cgroups wherever the machine mounts
# them (cgroup2, and a v1 memory hierarchy on hybrid or v1 machines; in the
# guests it mounts its own), with paths shaped like the kubelet's (systemd
# driver, containerd), docker's cgroupfs driver and podman's scopes, and one
# whose name carries a terminal escape, moves known processes in,
# and checks memlens snapshot's CGROUP, CONTAINER, POD and USER, and the sums of
# --group-by, against what it made and against /proc/<pid>/cgroup and
# smaps_rollup read here.
# Usage: tests/cgroups.sh BUILD_DIR    (TAP on stdout)
set -u
nomem="" l1="" k1="" k2="" d1="" p1="" e1="" s1="" s2="" s3="" r1="" r2="" v1b=""
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
if [ "$(id -u)" != 0 ]; then
	skip "making cgroups needs root"; echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-cg-XXXXXX); chmod 755 "$tmp"
T=memlenstest$$
ID1=$(printf '%064x' $((0x1000 + $$))); ID2=$(printf '%064x' $((0x2000 + $$)))
ID3=$(printf '%064x' $((0x3000 + $$))); ID4=$(printf '%064x' $((0x4000 + $$)))
UID_DASH=0b7a3d52-1c2f-4e7a-9b1d-$(printf '%012x' $$)
UID_US=${UID_DASH//-/_}
pids=() dirs=() mounts=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	wait 2> /dev/null
	local i
	for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do rmdir "${dirs[$i]}" 2> /dev/null; done
	for m in "${mounts[@]}"; do umount "$m" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
mk() { local d; d=$1; mkdir "$d" && dirs+=("$d"); }
mkp() { # a path under a hierarchy root, each level recorded for cleanup
	local rest=${2#/} cur=$1 part
	while [ -n "$rest" ]; do
		part=${rest%%/*}
		cur=$cur/$part
		[ -d "$cur" ] || mk "$cur" || return 1
		[ "$part" = "$rest" ] && break
		rest=${rest#*/}
	done
}
started=""
start_in() { # cgroup.procs-file [runas...]: a sleeping process moved in; its pid in $started
	local procs=$1; shift
	"$@" sleep 1000 > /dev/null 2>&1 &
	started=$!
	pids+=("$started")
	echo "$started" > "$procs"
}

# ---- where the hierarchies are (or mount them) ----
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
if [ -z "$V2" ]; then
	mkdir "$tmp/cg2" && mount -t cgroup2 none "$tmp/cg2" 2> /dev/null && V2=$tmp/cg2 && mounts+=("$tmp/cg2")
fi
MEM=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ {print $5; exit}' /proc/self/mountinfo)
if [ -z "$MEM" ]; then
	mkdir "$tmp/mem" && mount -t cgroup -o memory none "$tmp/mem" 2> "$tmp/merr" && MEM=$tmp/mem && mounts+=("$tmp/mem")
	# why not, in the kernel's words: a kernel without v1 memory cgroups
	# (CONFIG_MEMCG_V1, 6.11+) lists no memory line in /proc/cgroups
	nomem="none can be mounted ($(head -c 200 "$tmp/merr" 2> /dev/null | tr '\n' ' ')$(grep -qw '^memory' /proc/cgroups || echo "; /proc/cgroups lists no memory controller"))"
fi
[ -n "$V2" ] || { skip "no cgroup2 hierarchy and none can be mounted"; echo "1..$n"; exit 0; }

# ---- the v2 shapes: where each runtime puts its containers, from the
# hierarchy's root (ids and pod uid are this run's own: no collision) ----
K=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$UID_US.slice/cri-containerd-$ID1.scope
D=/docker/$ID2
P=/machine.slice/libpod-$ID3.scope
# the kernel refuses '\n' in a cgroup name (no forged /proc/<pid>/cgroup line),
# not other control characters: a terminal escape before a docker scope
E=/$T/esc$'\x1b'[31m/docker-$ID1.scope
# a delegated subtree's owner names what a runtime would (hostile round 3):
# the pod's container id, in three layouts
S1=/$T/user@1000.service/docker-$ID1.scope
S2=/$T/user@1000.service/x/cri-containerd-$ID1.scope
S3=/$T/user@1000.service/x/docker/$ID1
made=0
for c in "$K" "$D" "$P" "$E" "$S1" "$S2" "$S3"; do mkp "$V2" "$c" && made=$((made + 1)); done
if [ $made != 7 ]; then
	ok 1 "make the test's cgroups under $V2 ($made of 7)"; echo "1..$n"; exit 1
fi
start_in "$V2$K/cgroup.procs" && k1=$started && start_in "$V2$K/cgroup.procs" && k2=$started &&
	start_in "$V2$D/cgroup.procs" setpriv --reuid=nobody --regid=nogroup --clear-groups && d1=$started &&
	start_in "$V2$P/cgroup.procs" && p1=$started && start_in "$V2$E/cgroup.procs" && e1=$started &&
	start_in "$V2$S1/cgroup.procs" && s1=$started && start_in "$V2$S2/cgroup.procs" && s2=$started &&
	start_in "$V2$S3/cgroup.procs" && s3=$started
ok $? "eight processes moved into the test's cgroups ($k1 $k2 in the pod, $d1 as nobody in docker's, $p1 podman's, $e1 the forged name, $s1 $s2 $s3 spoofing the pod's container)"
# a /proc/<pid>/cgroup longer than one read (4 kB): the kernel shows no path
# of PATH_MAX or more, so the file grows past it only with a v1 line as long
# as the v2 one.  15 names of 250 bytes, not UTF-8 ones
# (shown with each byte that is not UTF-8 as \xHH, as every name is)
L=/$T Lshown=/$T
for i in $(seq 10 24); do L=$L/$(printf "%0247d\\xff$i" 0) Lshown=$Lshown/$(printf "%0247d" 0)'\xff'$i; done
L=$(printf "$L")
mkp "$V2" "$L" && start_in "$V2$L/cgroup.procs" && l1=$started && { [ -z "$MEM" ] || { mkp "$MEM" "$L" && echo "$l1" > "$MEM$L/cgroup.procs"; }; }
big=$(wc -c < "/proc/$l1/cgroup" 2> /dev/null)
ok $? "a process in a ${#L}-byte cgroup path (its file: $big bytes)"
is "... /proc/<pid>/cgroup says that path" "0::$L" "$(grep -a '^0::' "/proc/$l1/cgroup")"
# and one in the v1 memory hierarchy only (its v2 path stays the root)
v1=""
if [ -n "$MEM" ] && mkp "$MEM" "/docker/$ID4"; then
	start_in "$MEM/docker/$ID4/cgroup.procs" && v1=$started && start_in "$MEM/docker/$ID4/cgroup.procs" && v1b=$started
fi
sleep 0.2

# the kernel's word, read here: /proc/<pid>/cgroup's unified line
for p in "$k1" "$d1" "$p1"; do
	case $p in "$k1") want=$K ;; "$d1") want=$D ;; "$p1") want=$P ;; esac
	is "/proc/$p/cgroup says the test's cgroup" "0::$want" "$(grep '^0::' "/proc/$p/cgroup")"
done

# three ways to a row's cgroup, each checked whole: /proc/<pid>/cgroup read
# per process (with a rollup, no counters pass), and by the cgroup ids of
# the counters pass (root's BPF pass; /proc/<pid>/cgroup read once per
# cgroup, checked against the filesystem) in the cheap tier and beside
# rollups (RSS_ANON asks the counters too)
for how in "rollups, no pass:PSS" "the cheap tier's pass:RSS" "rollups and the counters pass:RSS_ANON,PSS"; do
	"$ML" snapshot -J -o "PID,USER,CGROUP,CONTAINER,POD,${how#*:}" > "$tmp/snap.json" 2> "$tmp/err"
	ok $? "snapshot -o PID,USER,CGROUP,CONTAINER,POD,${how#*:} runs ($(head -1 "$tmp/err"))"
	row() { jq -r --argjson p "$1" '.snapshot[] | select(.pid == $p) | [.user, .cgroup, .container, .pod] | join("|")' "$tmp/snap.json"; }
	w="${how%%:*}"
	is "$w: kubelet (systemd driver) + containerd: cgroup, container id, pod uid" "root|$K|$ID1|$UID_DASH" "$(row "$k1")"
	is "$w: ... its second process the same" "root|$K|$ID1|$UID_DASH" "$(row "$k2")"
	is "$w: docker (cgroupfs driver), run as nobody: cgroup, container id, USER nobody" "nobody|$D|$ID2|" "$(row "$d1")"
	is "$w: podman scope: container id, no pod" "root|$P|$ID3|" "$(row "$p1")"
	is "$w: a name with a terminal escape: the path escaped, and it names no container" \
		"root|/$T/esc\\x1b[31m/docker-$ID1.scope||" "$(row "$e1")"
	[ "${big:-0}" -gt 4096 ] || skip "$w: no file longer than one read here: no v1 memory hierarchy to lengthen it past 4096 bytes (it is $big)"
	[ "${big:-0}" -gt 4096 ] && is "$w: a path in a file longer than one read, bytes not UTF-8: whole" \
		"$Lshown" "$(jq -r --argjson p "$l1" '.snapshot[] | select(.pid == $p) | .cgroup' "$tmp/snap.json")"
	for s in "$s1:$S1" "$s2:$S2" "$s3:$S3"; do
		is "$w: a delegated subtree's ${s#*:}: its path, no container id (the runtime does not own it)" \
			"root|${s#*:}||" "$(row "${s%%:*}")"
	done
	if [ -n "$v1" ]; then
		is "$w: v1 memory hierarchy where v2 is the root: the v1 path and its container" "root|/docker/$ID4|$ID4|" "$(row "$v1")"
	else
		skip "$w: no v1 memory hierarchy here, and $nomem"
	fi
done

# with the pass's ids, a cgroup's file is read once: the pod's two processes
# are one read and one path kept (where the pass is the BPF one: it has ids)
"$ML" snapshot -v -o PID,CGROUP,RSS --pid "$k1,$k2" > /dev/null 2> "$tmp/v"
if grep -q "counters from bpf" "$tmp/v"; then
	is "the pod's two processes: one /proc/PID/cgroup read, the other's path by its ids (-v)" \
		"cgroups: 1 paths by the counters pass's cgroup ids, 1 /proc/PID/cgroup read" \
		"$(sed -n 's/^memlens: \(cgroups: .*\)/\1/p' "$tmp/v")"
	# ... and two of one v1 memory cgroup (their v2 path the root): by the
	# memory cgroup's id
	if [ -n "$v1b" ]; then
		"$ML" snapshot -v -o PID,CGROUP,RSS --pid "$v1,$v1b" > "$tmp/o" 2> "$tmp/v"
		is "two processes of one v1 memory cgroup: one read, one by the ids, both its path" \
			"cgroups: 1 paths by the counters pass's cgroup ids, 1 /proc/PID/cgroup read|/docker/$ID4 /docker/$ID4" \
			"$(sed -n 's/^memlens: \(cgroups: .*\)/\1/p' "$tmp/v")|$(awk -v a="$v1" -v b="$v1b" '$1 == a || $1 == b {printf "%s%s", s, $2; s = " "}' "$tmp/o")"
	else
		skip "no v1 memory hierarchy here, and $nomem"
	fi
else
	skip "the counters pass is not BPF's here, so no cgroup ids: $(grep -m1 counters "$tmp/v")"
	skip "... nor for a v1 memory cgroup"
fi

# a cgroup's path is kept for its id only if the filesystem says so when it
# is read: two processes of one cgroup at the pass, moved to two others
# before memlens reads the first one's file (held there by the test's FIFO),
# are each shown where /proc then says they are (kept for the id, the first
# one's new path would be the second's)
R=/$T/race
if mkp "$V2" "$R/x" && mkp "$V2" "$R/y" && mkp "$V2" "$R/z" && start_in "$V2$R/x/cgroup.procs" && r1=$started &&
	start_in "$V2$R/x/cgroup.procs" && r2=$started && mkfifo "$tmp/hold"; then
	MEMLENS_TEST_PASS_FIFO=$tmp/hold "$ML" snapshot -J -o PID,CGROUP,RSS --pid "$r1,$r2" > "$tmp/race.json" 2> "$tmp/err" &
	snap=$!
	read -r said < "$tmp/hold"
	echo "$r1" > "$V2$R/y/cgroup.procs" && echo "$r2" > "$V2$R/z/cgroup.procs"
	echo go > "$tmp/hold"
	wait $snap
	ok $? "snapshot held between its pass and its reads ($said; $(head -1 "$tmp/err"))"
	got=$(jq -r '[.snapshot | sort_by(.pid)[] | "\(.pid)=\(.cgroup)"] | join(" ")' "$tmp/race.json")
	is "moved after the pass: each process where /proc/<pid>/cgroup says" \
		"$r1=$R/y $r2=$R/z" "$got"
	is "... and /proc says so" "0::$R/y 0::$R/z" "$(grep -h '^0::' "/proc/$r1/cgroup" "/proc/$r2/cgroup" | tr '\n' ' ' | sed 's/ $//')"
else
	ok 1 "make the race's cgroups under $V2$R"
fi

# sums: RSS exactly (sleeping processes do not fault pages in or out)
rollup() { awk -v k="$1:" '$1 == k {s += $2} END {print s * 1024}' $(for p in "${@:2}"; do echo "/proc/$p/smaps_rollup"; done); }
"$ML" snapshot --group-by container -J > "$tmp/byc.json" 2> "$tmp/err"
grp() { jq -r --arg k "$2" --arg f "$3" ".snapshot[] | select(.$1 == \$k) | .[\$f]" "$4"; }
is "--group-by container: the pod's container has its two processes (not the three spoofing its id)" "2" "$(grp container "$ID1" nprocs "$tmp/byc.json")"
is "--group-by container: their RSS is the sum of their smaps_rollup Rss" "$(rollup Rss "$k1" "$k2")" "$(grp container "$ID1" rss "$tmp/byc.json")"
# Pss moves whenever a process sharing their pages comes or goes (this
# script's own jq and awk do): it must lie between their private memory
# (Private_Clean + Private_Dirty) and their Rss, read here
priv=$(( $(rollup Private_Clean "$k1" "$k2") + $(rollup Private_Dirty "$k1" "$k2") )); rss=$(rollup Rss "$k1" "$k2")
got=$(grp container "$ID1" pss "$tmp/byc.json")
ok "$([ -n "$got" ] && [ "$got" -ge "$priv" ] && [ "$got" -le "$rss" ]; echo $?)" \
	"--group-by container: their PSS lies between their private memory and their Rss ($priv <= $got <= $rss)"
is "--group-by container: docker's has one" "1" "$(grp container "$ID2" nprocs "$tmp/byc.json")"
"$ML" snapshot --group-by pod -J > "$tmp/byp.json" 2>> "$tmp/err"
is "--group-by pod: the pod has two processes, the sum of their Rss" "2 $(rollup Rss "$k1" "$k2")" \
	"$(grp pod "$UID_DASH" nprocs "$tmp/byp.json") $(grp pod "$UID_DASH" rss "$tmp/byp.json")"
"$ML" snapshot --group-by cgroup -J > "$tmp/byg.json" 2>> "$tmp/err"
is "--group-by cgroup: podman's scope, one process, its Rss" "1 $(rollup Rss "$p1")" \
	"$(grp cgroup "$P" nprocs "$tmp/byg.json") $(grp cgroup "$P" rss "$tmp/byg.json")"
"$ML" snapshot --group-by user -J > "$tmp/byu.json" 2>> "$tmp/err"
nob=$(for p in /proc/[0-9]*; do [ "$(awk '/^Uid:/ {print $3}' "$p/status" 2> /dev/null)" = 65534 ] && [ -n "$(cat "$p/maps" 2> /dev/null | head -c1)" ] && echo "${p#/proc/}"; done | wc -l)
is "--group-by user: nobody's processes as /proc counts them (effective uid 65534, with memory)" "$nob" "$(grp user nobody nprocs "$tmp/byu.json")"
"$ML" snapshot --group-by container -o CONTAINER,NPROCS,RSS > "$tmp/table" 2>> "$tmp/err"
ok "$(grep -q "^TOTAL" "$tmp/table" && grep -q "$ID1" "$tmp/table"; echo $?)" "--group-by table: a row per group and a TOTAL"
"$ML" snapshot --group-by nope > /dev/null 2> "$tmp/e"; rc=$?
ok "$([ $rc = 2 ] && [ "$(wc -l < "$tmp/e")" = 1 ]; echo $?)" "--group-by of an unknown key: one line, exit 2 (rc $rc: $(cat "$tmp/e"))"
echo "1..$n"

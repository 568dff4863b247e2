# TAP for the shell tests (tests/unit/tap.h is the C side), sourced by each
# tests/*.sh: ok, is and skip number their lines in n; the closing "1..$n" is
# the script's own.  A part run elsewhere (inside a namespace) writes one
# "R|text" line per check with res or check (R: 0 pass, 1 fail, S skip, text
# the reason), and the script turns them into TAP with tap_results.
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# is DESCRIPTION WANTED GOT
is() { if [ "$2" = "$3" ]; then ok 0 "$1"; else ok 1 "$1"; echo "#   expected: $2"; echo "#   got:      $3"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
res() { echo "$1|$2"; }
check() { if [ "$2" = "$3" ]; then res 0 "$1"; else res 1 "$1 (expected: ${2:0:160}; got: ${3:0:160})"; fi; }
# tap_results FILE WHERE: the R|text lines of FILE as TAP
tap_results() {
	local r text
	while IFS='|' read -r r text; do
		case $r in
		0) ok 0 "$text" ;;
		1) ok 1 "$text" ;;
		S) skip "$text" ;;
		*) ok 1 "unexpected output from $2: $r|$text" ;;
		esac
	done < "$1"
}

# pid lists, one per line, as files (no comm(1) in the guests' busybox):
# mm_pids: the processes with memory of their own (status's VmSize);
# both A B: the lines of A also in B; only_in A FILE...: those of A in none
mm_pids() { grep -l '^VmSize' /proc/[0-9]*/status 2> /dev/null | cut -d/ -f3; }
both() { awk 'FILENAME == A {if ($1 in s) print; next} {s[$1]}' A="$1" "$2" "$1"; }
only_in() { local a=$1; shift; awk 'FILENAME == A {if (!($1 in s)) print; next} {s[$1]}' A="$a" "$@" "$a"; }

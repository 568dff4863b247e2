#!/bin/bash
# make mutate: the mutation harness.  Each mutation in tests/mutations.txt is
# one small wrong answer written into a scratch copy of the tree; the tree is
# rebuilt and the suite run against it, host tests (or, for DMA-BUF code, the
# newest kernel guest, which has buffers) one at a time until one fails.  A
# mutation a test fails on is killed; one the whole suite passes survived.
# Prints a line per mutation and the score; exit 0 (survivors are a report,
# documented in docs/testing.md, not a build failure).
# Usage: scripts/mutate.sh [ID...]     (no ID: all of them)
# Where a mutation runs: host, guest (the DMA-BUF tests in the newest kernel),
# or vm:KERNEL:TEST,... (e.g. vm:6.1:features.sh for what only an old kernel shows)
#   MUTATE_LIST=FILE (default tests/mutations.txt), MUTATE_KEEP=1 keeps the scratch tree
set -u
cd "$(dirname "$0")/.."
top=$PWD
list=${MUTATE_LIST:-tests/mutations.txt}
py=/usr/bin/python3
start=$(date +%s)
scratch=$(mktemp -d /tmp/memlens-mutate-XXXXXX)
[ -n "${MUTATE_KEEP:-}" ] || trap 'rm -rf "$scratch"' EXIT
# the working tree's tracked files (uncommitted edits included), and the kernels
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$scratch"
[ -d tests/vm/cache ] && ln -s "$top/tests/vm/cache" "$scratch/tests/vm/cache"
cd "$scratch" || exit 1
echo "mutate: building the unmutated tree in $scratch"
if ! make -j2 tests > build.log 2>&1; then
	echo "mutate: the unmutated tree does not build:"; tail -20 build.log; exit 1
fi
export ASAN_OPTIONS=detect_leaks=0 MEMLENS_NO_FUZZ=1
# the rules of what this kernel must support, as tests/run.sh exports them
. tests/helpers/expect.sh
MEMLENS_EXPECT="$(expect_rules | tr '\n' ' ')"
export MEMLENS_EXPECT
# hugetlb pages for the page-size checks, as tests/run.sh gives them
hp_old=$(cat /proc/sys/vm/nr_hugepages 2> /dev/null || echo 0)
[ "$(id -u)" = 0 ] && [ "$hp_old" -lt 2 ] && echo 2 > /proc/sys/vm/nr_hugepages
trap 'echo "$hp_old" > /proc/sys/vm/nr_hugepages 2> /dev/null; [ -n "${MUTATE_KEEP:-}" ] || rm -rf "$scratch"' EXIT

# one host test into run.log: 0 passed, 1 a "not ok" line, a crash, a hang
run_one() {
	local rc
	if [ "${1%.sh}" != "$1" ]; then
		MEMLENS_BUILD=build timeout 180 "$1" build > run.log 2>&1
	else
		MEMLENS_BUILD=build timeout 180 "$1" > run.log 2>&1
	fi
	rc=$?
	! grep -q '^not ok' run.log && [ $rc = 0 ] && return 0
	killer="$(basename "$1"): $(grep -m1 '^not ok' run.log | cut -c1-110)"
	[ $rc != 0 ] && ! grep -q '^not ok' run.log && killer="$(basename "$1"): exit $rc"
	return 1
}
host_tests() { for t in build/tests/test_* tests/*.sh; do case "$t" in tests/run.sh | tests/check.sh) ;; *) echo "$t" ;; esac; done; }
# host: each test alone until one fails
host_suite() {
	local t
	for t in $(host_tests); do run_one "$t" || return 1; done
	return 0
}
# the baseline: every host test on the unmutated tree must pass, or no kill
# means anything (a test failing for a reason outside the code would "kill"
# every mutation); a kill counts only from a test that passed here
echo "mutate: the baseline (every host test, unmutated)"
baseline_bad=""
for t in $(host_tests); do
	if ! run_one "$t"; then
		baseline_bad+=" $(basename "$t")"
		echo "mutate: baseline: $killer"
	fi
done
if [ -n "$baseline_bad" ]; then
	echo "mutate: the unmutated tree fails$baseline_bad: no score (fix the tree or the machine first)"
	exit 1
fi
declare -A guest_base=()

# vm:KERNEL[:TEST,...]: those tests inside that kernel of the matrix ("guest":
# the DMA-BUF ones in the newest, which has buffers)
guest_suite() {
	local spec=${1#vm:} kernel tests
	kernel=${spec%%:*}
	tests=${spec#"$kernel"}; tests=${tests#:}
	MEMLENS_ONLY="${tests//,/ }" tests/vm/run.sh "$kernel" > run.log 2>&1
	if grep -qE '^vm: [0-9]+ passed, 0 failed' run.log; then return 0; fi
	killer="guest: $(grep -m1 'not ok' run.log | sed 's/^ *//' | cut -c1-110)"
	return 1
}

total=0 killed=0 survived=0 bad=0
survivors=()
while IFS=$'\t' read -r -u 3 id where file from to; do
	case "$id" in "" | "#"*) continue ;; esac
	if [ $# -gt 0 ] && [[ " $* " != *" $id "* ]]; then continue; fi
	cp "$file" "$file.orig"
	if ! $py - "$file" "$from" "$to" << 'EOF'
import codecs, sys
path, old, new = (sys.argv[1],) + tuple(codecs.decode(x, "unicode_escape") for x in sys.argv[2:4])
s = open(path).read()
if s.count(old) != 1:
    sys.exit(3)
open(path, "w").write(s.replace(old, new))
EOF
	then
		printf '%-9s %-28s %s\n' "BAD" "$id" "'$from' is not in $file exactly once"
		bad=$((bad + 1)); mv "$file.orig" "$file"; continue
	fi
	killer=""
	t0=$(date +%s)
	if ! make -j2 tests > build.log 2>&1; then
		printf '%-9s %-28s %s\n' "BAD" "$id" "does not build: $(grep -m1 'error' build.log | cut -c1-100)"
		bad=$((bad + 1))
	else
		total=$((total + 1))
		spec=$where
		[ "$where" = guest ] && spec=vm:newest:test_dmabuf,exporter.sh,skeleton_regular.sh
		case "$spec" in
		vm:*)
			# that guest's baseline, once: the unmutated tree there
			if [ -z "${guest_base[$spec]:-}" ]; then
				mv "$file" "$file.mut"; cp "$file.orig" "$file"
				make -j2 tests > build.log 2>&1 && guest_suite "$spec" && guest_base[$spec]=pass || guest_base[$spec]=fail
				# the mutated file back, newer than what the baseline built
				# (mv keeps its older mtime: make would not rebuild it)
				mv "$file.mut" "$file"; touch "$file"; make -j2 tests > build.log 2>&1
				[ "${guest_base[$spec]}" = fail ] && echo "mutate: baseline in $spec fails: its mutations are not scored ($killer)"
			fi
			if [ "${guest_base[$spec]}" = fail ]; then
				total=$((total - 1)); bad=$((bad + 1))
				printf '%-9s %-28s %s\n' "BAD" "$id" "not scored: the unmutated tree fails in $spec"
				mv "$file.orig" "$file"; touch "$file"; continue
			fi
			guest_suite "$spec" ;;
		*) host_suite ;;
		esac
		if [ $? = 0 ]; then
			survived=$((survived + 1)); survivors+=("$id")
			printf '%-9s %-28s %ss  %s\n' "SURVIVED" "$id" $(($(date +%s) - t0)) "$file"
		else
			killed=$((killed + 1))
			printf '%-9s %-28s %ss  %s\n' "killed" "$id" $(($(date +%s) - t0)) "$killer"
		fi
	fi
	mv "$file.orig" "$file"
	touch "$file"
done 3< "$top/$list"
elapsed=$(($(date +%s) - start))
echo "mutate: $killed killed, $survived survived, $bad bad of $((total + bad)) mutations in ${elapsed}s"
[ $total -gt 0 ] && echo "mutate: score $((killed * 100 / total))% ($killed/$total)"
[ ${#survivors[@]} -gt 0 ] && echo "mutate: survivors: ${survivors[*]}"
exit 0

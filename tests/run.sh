#!/bin/bash
# Runs every host test against each build directory given (normal, then
# ASan+UBSan), then the fuzzers for a bounded time, and adds up the TAP lines.
# Closing line: "N passed, N failed, N skipped".  Exit 1 if anything failed.
# Usage: tests/run.sh BUILD_DIR...     FUZZ_SECONDS=N (default 20) per fuzzer
#        MEMLENS_ONLY="test_dmabuf exporter.sh": only these tests (the mutation harness)
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skipped=0 broken=0
log=$(mktemp /tmp/memlens-tests-XXXXXX)
# what this kernel and these privileges must support (tests/helpers/expect.sh),
# then a guest's known facts (tests/vm/run.sh): a source the rules expect that
# is unavailable fails the tests that need it instead of skipping them
. tests/helpers/expect.sh
MEMLENS_EXPECT="$(expect_rules | tr '\n' ' ')${MEMLENS_EXPECT:-}"
export MEMLENS_EXPECT
# intercept_tls_get_addr=0: LeakSanitizer (gcc 12's, on glibc 2.36) misreads a
# dlopened library's dynamic TLS and its tracer dies on the way out ("Tracer
# caught signal 11", google/sanitizers#1322); libdw, dlopened by the first
# symbolization, has TLS. Leaks are still found: static TLS, stacks, globals
# and the heap are scanned as before
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# hugetlb pages for the page-size checks, given back afterwards
hp=/proc/sys/vm/nr_hugepages
hp_old=$(cat $hp 2>/dev/null || echo 0)
if [ "$(id -u)" = 0 ] && [ "$hp_old" -lt 2 ]; then echo 2 > $hp 2>/dev/null; fi
trap 'if [ "$(id -u)" = 0 ]; then echo "$hp_old" > $hp 2>/dev/null; fi; rm -f "$log"' EXIT

# run NAME CMD...: TAP from CMD, counted; a crash or a non-zero exit without
# a failing line counts as one failure
run() {
	local name=$1; shift
	local p=0 f=0 s=0 rc
	if [ -n "${MEMLENS_ONLY:-}" ] && [[ " $MEMLENS_ONLY " != *" ${name##*: } "* ]]; then return; fi
	"$@" > "$log" 2>&1; rc=$?
	while IFS= read -r line; do
		case "$line" in
		"not ok "*) f=$((f + 1)); echo "  $name: $line" ;;
		"ok "*"# SKIP"*) s=$((s + 1)); echo "  $name: $line" ;;
		"ok "*) p=$((p + 1)) ;;
		"#   "*) echo "  $name: $line" ;;	# failure details, by convention
		esac
	done < "$log"
	if [ $rc != 0 ] && [ $f = 0 ]; then
		f=1; broken=$((broken + 1))
		echo "  $name: exited $rc without a failing test; last lines:"; tail -15 "$log" | sed 's/^/    /'
	fi
	printf '%-34s %4d passed, %d failed, %d skipped\n' "$name" $p $f $s
	pass=$((pass + p)); fail=$((fail + f)); skipped=$((skipped + s))
}

# --only SCRIPT...: those TAP scripts alone, counted the same way (tests/dist/check.sh)
if [ "${1:-}" = --only ]; then
	shift
	for t; do run "$t" "$t"; done
	echo "$pass passed, $fail failed, $skipped skipped"
	[ $fail = 0 ]; exit
fi

for b in "$@"; do
	if [ ! -x "$b/memlens" ]; then echo "no $b/memlens: build it first"; fail=$((fail + 1)); continue; fi
	export MEMLENS_BUILD=$b
	# every test binary and every test script: adding a test is adding a file
	for t in "$b"/tests/test_*; do run "$b: $(basename "$t")" "$t"; done
	for t in tests/*.sh; do [ "$t" = tests/run.sh ] || [ "$t" = tests/check.sh ] || run "$b: $(basename "$t")" "$t" "$b"; done
done

# fuzzers: seeds from the corpus and a real ELF; any crash is a failure
fuzz() {
	local name=$1 seeds=$2; shift 2
	local dir; dir=$(mktemp -d /tmp/memlens-fuzz-XXXXXX)
	mkdir "$dir/corpus" "$dir/found"
	cp $seeds "$dir/corpus/"
	if "build-fuzz/$name" -max_total_time="${FUZZ_SECONDS:-20}" -max_len=65536 -artifact_prefix="$dir/found/" \
		"$@" "$dir/corpus" > "$dir/log" 2>&1; then
		echo "ok 1 - $name: $(grep -o 'Done [0-9]* runs' "$dir/log" | tail -1) without a crash"
		rm -rf "$dir"
	else
		# the input is kept, to be made a regression seed
		echo "not ok 1 - $name crashed (its input and log kept in $dir):"
		grep -E 'ERROR|SUMMARY|Test unit written|^ *#[0-9] ' "$dir/log" | head -20 | sed 's/^/#   /'
	fi
}
if [ -x build-fuzz/fuzz_maps_text ] && [ -z "${MEMLENS_NO_FUZZ:-}" ]; then
	run "fuzz: maps text parser" fuzz fuzz_maps_text "tests/fuzz/corpus/maps/*"
	run "fuzz: ELF build ID note" fuzz fuzz_elf_note "${1:-build}/tests/mapper"
	run "fuzz: debugfs bufinfo parser" fuzz fuzz_bufinfo "tests/fuzz/corpus/bufinfo/*"
	run "fuzz: DMA-BUF fdinfo parser" fuzz fuzz_fdinfo "tests/fuzz/corpus/fdinfo/*"
	run "fuzz: smaps, smaps_rollup parsers" fuzz fuzz_smaps "tests/fuzz/corpus/smaps/*"
	run "fuzz: stat, statm parsers" fuzz fuzz_stat "tests/fuzz/corpus/stat/*"
	run "fuzz: pin records and model" fuzz fuzz_pin_records "tests/fuzz/corpus/pin_records/*"
	run "fuzz: cgroup file and ids" fuzz fuzz_cgroup "tests/fuzz/corpus/cgroup/*"
	run "fuzz: memlens diff's input" fuzz fuzz_diff_doc "tests/fuzz/corpus/diff_doc/*"
	run "fuzz: symbolization of any file" fuzz fuzz_symbolize "build-fuzz/seed_symbolize build-fuzz/seed_noorigin ${1:-build}/tests/mapper"
fi

echo "$pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]

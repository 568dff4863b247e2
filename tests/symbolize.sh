#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Symbolization against elfutils' eu-addr2line, address for address: a PIE
# and a non-PIE helper, a library with inlined functions, a stripped library
# whose DWARF is in a separate debug file under /usr/lib/debug/.build-id, and
# libc.  Each address's ELF virtual address is worked out here from
# /proc/PID/maps and eu-readelf's program headers (not by memlens), given to
# eu-addr2line -S (symbol+offset, line) and -f -i (function, line, inlined
# calls), and compared with memlens query -o SYMBOL,LINE,FUNC,INLINES.
# Then the hostile debug files: a build-ID entry that is a symlink out of
# /usr/lib/debug, and one whose build ID is another file's, are not read.
# /usr/lib is overlaid in a private mount namespace: the machine's own
# /usr/lib/debug is untouched.  (A VMA of a file on overlayfs itself is not
# symbolized: maps names the lower inode, map_files opens the overlay's.)
set -u
B=${1:-${MEMLENS_BUILD:-build}}
. "$(dirname "$0")/helpers/tap.sh"
cd "$(dirname "$0")/.."
if ! command -v eu-addr2line > /dev/null || ! command -v cc > /dev/null || [ "$(id -u)" != 0 ]; then
	skip "needs root (a private /usr/lib/debug), cc and eu-addr2line (elfutils): a VM guest has neither"
	echo "1..$n"; exit 0
fi
B=$(cd "$B" && pwd)
tmp=$(mktemp -d /tmp/memlens-sym-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/inl.c" <<'EOF'
#include <unistd.h>
static inline __attribute__((always_inline)) int sq(int x) { return x * x + (int)getpid(); }
static inline __attribute__((always_inline)) int twice(int x) { return sq(x) + sq(x + 1); }
__attribute__((noinline)) int inl_work(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += twice(i) ^ (s >> 3);
	return s;
}
EOF
cat > "$tmp/strip.c" <<'EOF'
#include <string.h>
static inline int mix(unsigned h, int c) { return (int)(h * 31u + (unsigned)c); }
__attribute__((noinline)) int strip_hash(const char *s)
{
	unsigned h = 0;

	for (size_t i = 0; i < strlen(s); i++)
		h = (unsigned)mix(h, s[i]);
	return (int)h;
}
__attribute__((noinline)) int strip_sum(const int *v, int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += v[i] * (i & 1 ? 3 : 5);
	return s;
}
EOF
# MiniDebugInfo: local functions that only .gnu_debugdata's symbol table names
cat > "$tmp/mini.c" <<'EOF'
__attribute__((noinline)) static int mini_a(int x) { return x * 7 + 3; }
__attribute__((noinline)) static int mini_b(int x) { for (int i = 0; i < 5; i++) x = mini_a(x) ^ i; return x; }
__attribute__((noinline)) static int mini_c(int x) { return mini_b(x) + mini_a(x >> 1); }
int mini_entry(int x) { return mini_c(x) - mini_b(x + 1); }
EOF
cat > "$tmp/main.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int inl_work(int n);
int mini_entry(int x);
int strip_hash(const char *s);
__attribute__((noinline)) static int helper_loop(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += i * i;
	return s;
}
int main(int argc, char **argv)
{
	printf("%d %d %d %d\n", inl_work(argc), strip_hash(argv[0]), helper_loop(argc), mini_entry(argc));
	fflush(stdout);
	pause();
	return 0;
}
EOF
(cd "$tmp" &&
	cc -O2 -g -gdwarf-4 -fdebug-prefix-map="$tmp"=./src -fPIC -shared -o libinl.so inl.c &&
	cc -O2 -g -fPIC -shared -Wl,--build-id -o libstrip.so strip.c &&
	objcopy --only-keep-debug libstrip.so libstrip.debug && strip --strip-all libstrip.so &&
	objcopy --add-gnu-debuglink=libstrip.debug libstrip.so &&
	cc -O2 -g -fPIC -shared -o libmini.so mini.c &&
	nm -D libmini.so --format=posix --defined-only | awk '{print $1}' | sort > mini.dyn &&
	nm libmini.so --format=posix --defined-only | awk '$2 == "T" || $2 == "t" {print $1}' | sort > mini.fn &&
	comm -13 mini.dyn mini.fn > mini.keep &&
	objcopy --only-keep-debug libmini.so mini.dbg && objcopy -S --keep-symbols=mini.keep mini.dbg &&
	strip --strip-all libmini.so && xz -f mini.dbg && objcopy --add-section .gnu_debugdata=mini.dbg.xz libmini.so &&
	cc -O2 -g -pie -fPIE -o pie main.c -L. -linl -lstrip -lmini -Wl,-rpath,"$tmp" &&
	cc -O2 -g -no-pie -fno-PIE -o nopie main.c -L. -linl -lstrip -lmini -Wl,-rpath,"$tmp") > "$tmp/cc.log" 2>&1
ok $? "the helpers build: PIE, non-PIE, an inlining library, a stripped library with a separate debug file, one with MiniDebugInfo ($(head -c 200 "$tmp/cc.log"))"
bid=$(eu-readelf -n "$tmp/libstrip.so" | awk '/Build ID:/ {print $3}')

# ---- in a private mount namespace: /usr/lib overlaid, the debug file placed ----
# the helpers start outside it: their libraries are the machine's files, as
# a profiled process's are (overlayfs would give map_files another inode)
"$tmp/pie" > /dev/null & pie=$!
"$tmp/nopie" > /dev/null & nopie=$!
trap 'kill $pie $nopie 2> /dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q libstrip "/proc/$nopie/maps" 2> /dev/null && grep -q libstrip "/proc/$pie/maps" && break; sleep 0.05; done
unshare -m bash -s "$tmp" "$B" "$bid" $pie $nopie > "$tmp/res" 2>&1 <<'EOS'
tmp=$1 B=$2 bid=$3 pie=$4 nopie=$5
. tests/helpers/tap.sh
mkdir "$tmp/ov" && mount -t tmpfs tmpfs "$tmp/ov" && mkdir "$tmp/ov/up" "$tmp/ov/work" &&
	mount --make-rprivate / && mount -t overlay overlay -o lowerdir=/usr/lib,upperdir="$tmp/ov/up",workdir="$tmp/ov/work" /usr/lib ||
	{ res 1 "the private /usr/lib overlay"; exit 0; }
mkdir -p "/usr/lib/debug/.build-id/${bid:0:2}" && cp "$tmp/libstrip.debug" "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug"

# samples PID FILE N: N addresses across FILE's executable mapping, one a
# line "ADDR VADDR", the ELF address from maps and the program headers
samples() {
	local pid=$1 file=$2 count=$3 start end off po pv pf len i d
	read -r start end off < <(awk -v f="$file" '$6 == f && $2 ~ /x/ {split($1, r, "-"); print r[1], r[2], $3; exit}' "/proc/$pid/maps")
	start=$((16#$start)) end=$((16#$end)) off=$((16#$off))
	while read -r po pv pf; do
		po=$((po)) pv=$((pv)) pf=$((pf))
		[ $off -ge $po ] && [ $off -lt $((po + pf)) ] || continue
		len=$((end - start)); [ $len -le $((pf - (off - po))) ] || len=$((pf - (off - po)))
		for ((i = 0; i < count; i++)); do
			d=$((i * len / count + i % 7)); [ $d -lt $len ] || d=$((len - 1))
			printf '%x %x\n' $((start + d)) $((off + d - po + pv))
		done
		return
	done < <(eu-readelf -l "$file" | awk '$1 == "LOAD" {print $2, $3, $5}')
}
libc=$(awk '$6 ~ /\/libc\.so\.6$/ {print $6; exit}' "/proc/$pie/maps")
total=0 agree_s=0 agree_f=0 inl=0
for spec in "$pie $tmp/pie 220" "$nopie $tmp/nopie 220" "$pie $tmp/libinl.so 200" "$nopie $tmp/libstrip.so 200" \
	    "$pie $tmp/libmini.so 60" "$pie $libc 300"; do
	set -- $spec
	pid=$1 file=$2 cnt=$3 name=$(basename "$2")
	samples "$pid" "$file" "$cnt" > "$tmp/s.$name"
	awk '{print $1}' "$tmp/s.$name" | "$B/memlens" query "$pid" --inlines -o ADDR,ELF_VADDR,SYMBOL,LINE,FUNC,INLINES -J \
		> "$tmp/m.$name" 2> "$tmp/m.err"
	vaddrs=$(awk '{print "0x" $2}' "$tmp/s.$name")
	# eu-addr2line -S --pretty-print: "SYM+OFF at FILE:LINE" ("(.section)+off" or "??" when no symbol covers it)
	eu-addr2line -S --pretty-print -e "$file" $vaddrs | sed -E 's/^\([^)]*\)\+0x[0-9a-f]+ at /?? at /' > "$tmp/e1.$name"
	jq -r '.query[] | "\(.symbol // "??") at \(.line // "??:0")"' "$tmp/m.$name" > "$tmp/g1.$name"
	# eu-addr2line -f -i --pretty-print: "FUNC at LINE", then " (inlined by) CALLER at CALL_SITE" per inlined call
	eu-addr2line -f -i --pretty-print -e "$file" $vaddrs > "$tmp/e2.$name"
	jq -r '.query[] | "\(.func // ((.symbol // "??") | sub("\\+0x[0-9a-f]+$"; ""))) at \(.line // "??:0")",
		((.inlines // "") | split("; ")[] | select(. != "") | capture("^(?<f>.*) inlined at (?<at>[^ ]*) in (?<c>.*)$") |
		 " (inlined by) \(.c) at \(.at)")' "$tmp/m.$name" > "$tmp/g2.$name"
	check "$name: memlens answers each of the $cnt addresses with its ELF address" \
		"$(awk '{print "0x" $2}' "$tmp/s.$name" | tr '\n' ' ')" "$(jq -r '.query[].elf_vaddr' "$tmp/m.$name" | tr '\n' ' ')"
	d1=$(diff "$tmp/e1.$name" "$tmp/g1.$name" | grep -c '^>')
	d2=$(diff "$tmp/e2.$name" "$tmp/g2.$name" | grep -c '^>')
	check "$name: symbol+offset and line agree with eu-addr2line -S for every address ($(diff "$tmp/e1.$name" "$tmp/g1.$name" | grep '^[<>]' | head -4 | tr '\n' ' '))" 0 "$d1"
	check "$name: function, line and inlined calls agree with eu-addr2line -f -i ($(diff "$tmp/e2.$name" "$tmp/g2.$name" | grep '^[<>]' | head -4 | tr '\n' ' '))" 0 "$d2"
	total=$((total + cnt))
	inl=$((inl + $(grep -c 'inlined by' "$tmp/e2.$name")))
	echo "$name $(grep -vc '^?? at' "$tmp/e1.$name") $(grep -vc ' at ??:0$' "$tmp/e1.$name")" >> "$tmp/cover"
done
check "MiniDebugInfo: its local functions named, as eu-addr2line names them ($(grep -o 'mini_[abc]' "$tmp/g1.libmini.so" | sort -u | tr '\n' ' '))" \
	"mini_a mini_b mini_c " "$(grep -o 'mini_[abc]' "$tmp/g1.libmini.so" | sort -u | tr '\n' ' ')"
check "at least 1000 addresses compared ($total), inlined calls among them ($inl)" "yes" \
	"$([ "$total" -ge 1000 ] && [ "$inl" -gt 10 ] && echo yes)"
# each file gave something to compare: symbols everywhere, lines where DWARF is
check "symbols in every file, lines in the helpers and both libraries (the stripped one through its debug file)" \
	"pie:y:y nopie:y:y libinl.so:y:y libstrip.so:y:y" \
	"$(awk '$1 != "libc.so.6" && $1 != "libmini.so" {printf "%s%s:%s:%s", sep, $1, ($2 > 0 ? "y" : "n"), ($3 > 0 ? "y" : "n"); sep = " "}' "$tmp/cover")"
check "libc: symbols for at least nine addresses in ten (its .dynsym)" "yes" \
	"$([ $(grep -vc '^?? at' "$tmp/g1.libc.so.6") -ge 270 ] && echo yes)"

# ---- hostile debug files ----
a=$(awk -v k="$(grep -n -m1 '^strip_hash+' "$tmp/g1.libstrip.so" | cut -d: -f1)" 'NR == k {print $1}' "$tmp/s.libstrip.so")
line() { "$B/memlens" query "$nopie" "$a" -o LINE,SYMBOL -J | jq -r '.query[0] | "\(.line // "-") \(.symbol // "-")"'; }
good=$(line)
sym=${good#* }
dbg=/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug
check "... the right debug file gives the stripped library's line ($good)" "yes" "$(echo "$good" | grep -q '/strip.c:[0-9]' && echo yes)"
mv "$dbg" "$tmp/outside.debug" && ln -s "$tmp/outside.debug" "$dbg"
check "a build-ID entry that is a symlink out of /usr/lib/debug is not followed: no line, the symbol still" "- $sym" "$(line)"
rm "$dbg" && cp "$tmp/libinl.so" "$dbg"
check "a debug file there whose build ID is another file's is not used" "- $sym" "$(line)"
rm "$dbg" && mkfifo "$dbg"
check "a FIFO there is not opened to wait on, nor read" "- $sym" "$(timeout 20 bash -c "$(declare -f line); B=$B nopie=$nopie a=$a line")"
rm "$dbg"
# the debuglink: its name looked up in /usr/lib/debug/<the file's directory>/
link=/usr/lib/debug$tmp/libstrip.debug
mkdir -p "$(dirname "$link")" && cp "$tmp/libstrip.debug" "$link"
check "found by its .gnu_debuglink name under /usr/lib/debug when no build-ID entry exists" "${good%% *}" "$(line | cut -d' ' -f1)"
rm "$link" && ln -s /dev/zero "$link"
check "a debuglink target that is a symlink to /dev/zero is not followed" "- $sym" "$(timeout 20 bash -c "$(declare -f line); B=$B nopie=$nopie a=$a line")"
rm "$link" && ln -s ../../../../../../../../etc/passwd "$link"
check "nor one climbing out of /usr/lib/debug with .." "- $sym" "$(line)"
EOS
tap_results "$tmp/res" "the namespace"

# ---- files that lie ----
# a DWARF whose first subprogram's DW_AT_sibling points at itself (a walk of
# the CU's children that trusted it would never end), and an ELF whose
# .symtab claims 2^40 bytes at an offset past its end
cat > "$tmp/liar.c" <<'EOF'
#include <unistd.h>
int g;
__attribute__((noinline)) int f1(int a, int b) { int c = a + b; g += c; return c * 2; }
__attribute__((noinline)) int f2(int a) { int d = a * 3; g -= d; return d + 1; }
int main(int argc, char **argv) { (void)argv; g = f1(argc, 2) + f2(argc); pause(); return 0; }
EOF
cc -O0 -g -gdwarf-4 -o "$tmp/liar" "$tmp/liar.c"
python3 - "$tmp/liar" > "$tmp/liar.log" 2>&1 <<'EOF'
import re, struct, subprocess, sys
path = sys.argv[1]
d = bytearray(open(path, 'rb').read())
shoff, = struct.unpack_from('<Q', d, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x3a)
def shdr(i):
    return struct.unpack_from('<IIQQQQIIQQ', d, shoff + i * shentsize)
strtab = shdr(shstrndx)[4]
def name(i):
    o = strtab + shdr(i)[0]
    return d[o:d.index(0, o)].decode()
sec = {name(i): i for i in range(shnum)}
# the sibling loop: the first subprogram with a sibling attribute, made its own sibling
info_off = shdr(sec['.debug_info'])[4]
dump = subprocess.run(['eu-readelf', '--debug-dump=info', path], capture_output=True, text=True).stdout
die = sib = None
for line in dump.split('\n'):
    m = re.match(r'\s*\[\s*([0-9a-f]+)\]\s+(\w+)\s+abbrev:', line)
    if m:
        cur = (int(m.group(1), 16), m.group(2))
    m = re.search(r'sibling\s+\(ref4\) \[\s*([0-9a-f]+)\]', line)
    if m and cur[1] == 'subprogram' and die is None:
        die, sib = cur[0], int(m.group(1), 16)
at = d.find(struct.pack('<I', sib), info_off + die, info_off + die + 64)
struct.pack_into('<I', d, at, die)
open(path + '.loop', 'wb').write(d)
# the symtab that lies about its size and place
d = bytearray(open(path, 'rb').read())
i = sec['.symtab']
struct.pack_into('<QQ', d, shoff + i * shentsize + 24, len(d) + (1 << 30), 1 << 40)
open(path + '.symtab', 'wb').write(d)
print("die", hex(die), "sibling", hex(sib), "patched at", hex(at))
EOF
ok $? "the lying files are made ($(tail -1 "$tmp/liar.log"))"
chmod +x "$tmp/liar.loop" "$tmp/liar.symtab"
"$tmp/liar.loop" & lp=$!
"$tmp/liar.symtab" & sp=$!
trap 'kill $pie $nopie $lp $sp 2> /dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q liar "/proc/$lp/maps" && grep -q liar "/proc/$sp/maps" && break; sleep 0.05; done
# liar_addrs PID FILE: main, f1 and f2 (+4) in that process
liar_addrs() {
	local base
	base=$(awk -v f="$2" '$6 == f && $3 == "00000000" {split($1, r, "-"); print r[1]; exit}' "/proc/$1/maps")
	for f in main f1 f2; do printf '%x ' $((16#$base + 16#$(nm "$tmp/liar" | awk -v f=$f '$3 == f {print $1}') + 4)); done
}
for who in "loop $lp" "symtab $sp"; do
	set -- $who
	out=$(timeout 30 "$B/memlens" symbolize "$2" $(liar_addrs "$2" "$tmp/liar.$1") --inlines -o SYMBOL,LINE,UNSYMBOLIZED -n 2>&1)
	rc=$?
	is "a $1 that lies: answered (rc 0, three rows) within the time limit, no crash ($(echo $out))" "0 3" "$rc $(echo "$out" | grep -c .)"
done
is "the sibling loop: the functions still named from the symbol table" "main+0x4 f1+0x4 f2+0x4" \
	"$(timeout 30 "$B/memlens" symbolize "$lp" $(liar_addrs "$lp" "$tmp/liar.loop") -o SYMBOL -n | tr -s ' \n' ' ' | sed 's/ $//')"

# ---- debuginfod: asked only with --debuginfod, its answer held to the build ID ----
a=$(awk -v k="$(grep -n -m1 '^strip_hash+' "$tmp/g1.libstrip.so" | cut -d: -f1)" 'NR == k {print $1}' "$tmp/s.libstrip.so")
mkdir -p "$tmp/dinfod" && cp "$tmp/libstrip.debug" "$tmp/dinfod/"
port=$((20000 + RANDOM % 20000))
debuginfod -p $port -F "$tmp/dinfod" -d "$tmp/dinfod.sqlite" > "$tmp/dinfod.log" 2>&1 & dp=$!
trap 'kill $pie $nopie $lp $sp $dp 2> /dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do
	curl -sf -o /dev/null "http://127.0.0.1:$port/buildid/$bid/debuginfo" && break; sleep 0.1
done
sline() { DEBUGINFOD_URLS=$1 DEBUGINFOD_CACHE_PATH=$tmp/dcache$2 "$B/memlens" symbolize "$nopie" "$a" -o LINE -n "${@:3}" 2>&1 | tr -d ' '; }
is "DEBUGINFOD_URLS set, no --debuginfod: no server is asked, no line" "" "$(sline "http://127.0.0.1:$port" 1)"
is "--debuginfod: the server's debug file gives the stripped library's line" "yes" \
	"$(sline "http://127.0.0.1:$port" 2 --debuginfod | grep -q '/strip\.c:[0-9]' && echo yes)"
# a server that answers every build ID with another file
python3 - "$tmp/libinl.so" > "$tmp/liar-server.port" 2> /dev/null <<'EOF' & lsp=$!
import http.server, sys
body = open(sys.argv[1], 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
trap 'kill $pie $nopie $lp $sp $dp $lsp 2> /dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/liar-server.port" ] && break; sleep 0.1; done
sym=$(grep -m1 '^strip_hash+' "$tmp/g1.libstrip.so" | cut -d' ' -f1)
is "a server answering with another build ID's file: not used (no line, the library's own symbol)" "$sym" \
	"$(sline "http://127.0.0.1:$(cat "$tmp/liar-server.port")" 3 --debuginfod -o LINE,SYMBOL)"
echo "1..$n"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The DaemonSet's image (docs/exporter.md), built from
# contrib/container/Containerfile for real and run as the DaemonSet runs it:
#  - its base: a minimal Debian 12 root from the machine's own mirror
#    (debootstrap --variant=minbase, imported into podman), given as the
#    Containerfile's BASE (no registry is reachable here);
#  - podman build: the build stage builds the .debs from this tree, the
#    runtime stage installs only memlens and libmemlens0;
#  - the image holds no compiler, no -dev package, no source;
#  - run with the host's pids, every capability dropped but the four the
#    docs list, a read-only root filesystem: /metrics answers, its series
#    name the host's processes (this script's own, by pid, with status's
#    VmRSS), and memlens_build_info says the image's version;
#  - the container stopped, the images and the root are removed.
# TAP; podman or a root that cannot be built is a failure (they are test
# dependencies, scripts/deps.sh --test), as a kernel the matrix cannot fetch is.
set -u
cd "$(dirname "$0")/../.."
. tests/helpers/tap.sh
. tests/helpers/mirror.sh
if [ "$(id -u)" != 0 ]; then
	skip "building and running the image needs root (debootstrap, podman)"
	echo "1..$n"; exit 0
fi
for c in podman debootstrap curl; do
	command -v $c > /dev/null || { ok 1 "$c is installed (scripts/deps.sh --test)"; echo "1..$n"; exit 1; }
done
tmp=$(mktemp -d /var/tmp/memlens-container-XXXXXX)
base=localhost/memlens-test-base:$$
tag=localhost/memlens-test:$$
name=memlens-test-$$
podman images -q --all --no-trunc | sort -u > "$tmp/images.before"
cleanup() {
	podman rm -f "$name" > /dev/null 2>&1
	podman rmi -f "$tag" "$base" > /dev/null 2>&1
	# the build stage's image and any layer this build left, nothing else
	podman images -q --all --no-trunc | sort -u > "$tmp/images.after"
	for i in $(awk 'FILENAME == A {if (!($1 in s)) print; next} {s[$1]}' A="$tmp/images.after" \
		"$tmp/images.before" "$tmp/images.after"); do
		podman rmi -f "$i" > /dev/null 2>&1
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
ver=$(awk '/define MEMLENS_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep = "."}' include/memlens.h)

mirror=$(debian_mirror)
debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" > "$tmp/debootstrap.log" 2>&1
ok $? "debootstrap --variant=minbase bookworm from the machine's mirror ($(tail -1 "$tmp/debootstrap.log"))"
tar -C "$tmp/root" -c . | podman import - "$base" > "$tmp/import.log" 2>&1
ok $? "the root imported as the image's base ($(tail -1 "$tmp/import.log"))"
rm -rf --one-file-system "$tmp/root"

# the build and runtime stages fetch packages from the mirror the root names.
# RUN steps by chroot isolation (no OCI runtime: crun, podman's default,
# refuses hybrid cgroups, which this machine has)
podman build --isolation chroot --network host --build-arg "BASE=$base" -f contrib/container/Containerfile -t "$tag" . \
	> "$tmp/build.log" 2>&1
rc=$?
ok $rc "podman build -f contrib/container/Containerfile (BASE=the root): $(tail -1 "$tmp/build.log")"
if [ $rc != 0 ]; then
	sed 's/^/# /' "$tmp/build.log" | tail -20
	echo "1..$n"; exit 1
fi
# podman run: by runc, which runs in hybrid cgroups (crun does not); the runtime's own
# limits, not podman's defaults (1048576 files, 4194304 processes for root),
# which need CAP_SYS_RESOURCE to set: root here may not hold it
podman() {
	if [ "$1" = run ]; then
		shift
		command podman --runtime runc run --ulimit nofile=1024:4096 --ulimit nproc=16384:16384 "$@"
	else
		command podman "$@"
	fi
}
is "the image's memlens is this tree's version" "memlens $ver" \
	"$(podman run --rm --network none "$tag" --version 2>&1 | awk '{print $1, $2}')"
# what the runtime stage must not hold
is "the image holds no compiler, -dev package or source" "" \
	"$(podman run --rm --network none --entrypoint /bin/sh "$tag" -c \
		'dpkg-query -W -f "\${Package}\n" | grep -E "^(clang|gcc|cpp|make)$|-dev$"; ls -d /src 2> /dev/null' | tr '\n' ' ')"

# the DaemonSet's settings: host pids, four capabilities, read-only root
port=$((20000 + $$ % 20000))
podman run -d --name "$name" --pid host --network host --read-only --cap-drop all \
	--cap-add SYS_PTRACE,DAC_READ_SEARCH,BPF,PERFMON "$tag" exporter --listen "127.0.0.1:$port" \
	> "$tmp/run.log" 2>&1
ok $? "podman run as the DaemonSet runs it (hostPID, caps dropped but four, read-only root): $(tail -1 "$tmp/run.log")"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/metrics" > "$tmp/m" 2> /dev/null && break; sleep 0.2; done
ok "$([ -s "$tmp/m" ]; echo $?)" "the container's /metrics answers ($(wc -l < "$tmp/m") lines)"
is "memlens_build_info names the image's version" "1" \
	"$(grep -c "^memlens_build_info{version=\"$ver\"" "$tmp/m")"
# a process of the host's, by its host pid: every process's series
# (--per-process), a sleep's, whose figures hold still
sleep 600 &
held=$!
podman rm -f "$name" > /dev/null 2>&1
podman run -d --name "$name" --pid host --network host --read-only --cap-drop all \
	--cap-add SYS_PTRACE,DAC_READ_SEARCH,BPF,PERFMON "$tag" exporter --listen "127.0.0.1:$port" --per-process \
	> "$tmp/run.log" 2>&1
: > "$tmp/m"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/metrics" > "$tmp/m" 2> /dev/null && break; sleep 0.2; done
want=$(awk '$1 == "VmRSS:" {print $2 * 1024}' /proc/$held/status)
got=$(sed -n "s/^memlens_process_memory_bytes{pid=\"$held\",.*memtype=\"rss\"} \([0-9]*\)$/\1/p" "$tmp/m")
kill $held
is "with --per-process: a host process (pid $held) has its status's VmRSS as its rss series" "$want" "$got"
podman stop -t 5 "$name" > /dev/null 2>&1
is "the container stops on SIGTERM and exits 0" "0" "$(podman inspect -f '{{.State.ExitCode}}' "$name" 2> /dev/null)"
echo "1..$n"

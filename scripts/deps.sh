#!/bin/sh
# Installs what a fresh Debian 12 machine lacks:
#   scripts/deps.sh          to build and run memlens (the README's first command)
#   scripts/deps.sh --test   that, and what the tests need (.ci/run, make check)
#   scripts/deps.sh --print [--test]   the package list, installing nothing
# Idempotent: installs nothing when everything is there.
#
# BUILD is checked by tests/deps.sh: every package in it must be used by a
# clean build (a file of it opened or run under strace), and a minimal
# Debian 12 root holding only BUILD must build memlens and run it.
set -e
# the compilers and make; the BPF programs (clang, bpftool gen skeleton);
# the libraries (libsmartcols: tables, libmicrohttpd: the exporter, json-c:
# diff's input, libbpf and libelf: the library, libdw and libdebuginfod's
# header: symbolization; libyaml, GnuTLS and libcrypt: the exporter's
# --web.config.file, TLS and bcrypt); pkgconf (pkg-config) finds them
BUILD="make gcc libc6-dev clang bpftool pkgconf libbpf-dev libelf-dev libdw-dev libdebuginfod-dev zlib1g-dev
       libsmartcols-dev libmicrohttpd-dev libjson-c-dev libyaml-dev libgnutls28-dev libcrypt-dev"
# what only the tests use:
#   the QEMU kernel matrix: qemu-system-x86, busybox-static, cpio, dpkg-dev (dpkg-deb)
#   the exporter against a real Prometheus: prometheus (promtool), curl,
#     python3-prometheus-client (the exposition parser)
#   ground truth the tests read independently: jq, python3, elfutils (eu-readelf),
#     binutils (nm), util-linux (setpriv), procps, strace, locales (localedef)
#   the man page and completion: groff-base, bash-completion
#   the Debian package and the minimal-root checks: debhelper, lintian,
#     fakeroot, debootstrap, systemd (systemd-analyze verify)
#   symbolization: elfutils (eu-addr2line, the ground truth), debuginfod (a
#     local server for --debuginfod)
#   TLS: openssl (the test's CA, server and client certificates)
#   the report and the live page in a real browser: chromium-headless-shell,
#     driven over the DevTools protocol by python3-websocket
#   the exporter's image: podman, runc (build and run contrib/container/Containerfile)
TEST="curl jq python3 elfutils binutils util-linux procps strace locales qemu-system-x86 busybox-static cpio
      dpkg-dev prometheus python3-prometheus-client bash-completion groff-base
      debhelper lintian fakeroot debootstrap systemd debuginfod openssl podman runc
      chromium-headless-shell python3-websocket"
PKGS=$BUILD
print=0
for a in "$@"; do
	case "$a" in
	--test) PKGS="$BUILD $TEST" ;;
	--print) print=1 ;;
	*) echo "usage: scripts/deps.sh [--test] [--print]" >&2; exit 2 ;;
	esac
done
if [ $print = 1 ]; then
	echo $PKGS
	exit 0
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing

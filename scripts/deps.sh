#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build and test memlens.
# Idempotent: installs nothing when everything is there.
set -e
PKGS="curl make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev libsmartcols-dev pkg-config
      util-linux procps elfutils binutils jq qemu-system-x86 busybox-static cpio dpkg-dev
      libmicrohttpd-dev prometheus curl python3-prometheus-client bash-completion groff-base libjson-c-dev locales"
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

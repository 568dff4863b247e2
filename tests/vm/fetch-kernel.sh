#!/bin/bash
# Fetch the newest Debian "cloud" kernel of a suite and print the path of its
# vmlinuz (cached under tests/vm/cache/).  Goes through the Debian mirror this
# machine's apt already uses, with a private apt state: the machine's own
# apt lists and cache are untouched.
# Usage: tests/vm/fetch-kernel.sh bullseye|bookworm|trixie|trixie-backports|sid
set -euo pipefail
suite=$1
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/cache/$suite
mkdir -p "$cache"

. "$here/../helpers/mirror.sh"
mirror=$(debian_mirror)
if [ -z "$mirror" ]; then
	echo "fetch-kernel: no Debian mirror in /etc/apt/sources.list{,.d}" >&2
	exit 1
fi

apt_opts=(-o Dir::Etc::sourcelist="$cache/sources.list" -o Dir::Etc::sourceparts=-
	  -o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache/apt" -o Dir::State::status=/dev/null
	  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Debug::NoLocking=1 -q)

# fresh enough: reuse a kernel fetched in the last 7 days
if [ -f "$cache/vmlinuz" ] && [ -n "$(find "$cache/vmlinuz" -mtime -7 2>/dev/null)" ]; then
	echo "$cache/vmlinuz"
	exit 0
fi

comp="main"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite $comp" > "$cache/sources.list"
mkdir -p "$cache/lists/partial" "$cache/apt/archives/partial" "$cache/debs"
apt-get "${apt_opts[@]}" update > "$cache/update.log" 2>&1 || { cat "$cache/update.log" >&2; exit 1; }

# follow the metapackage to the package holding the image: linux-image-<ver>,
# and from 7.x on linux-binary-<ver>
pkg=linux-image-cloud-amd64
for _ in 1 2 3 4; do
	dep=$(apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null |
	      awk '/Depends:/ {print $2}' | grep -E '^linux-(image|binary)-[0-9]' | grep -v -- '-dbg' | head -1 || true)
	[ -n "$dep" ] || break
	pkg=$dep
	case "$pkg" in linux-binary-*) break ;; esac
	# a linux-image that itself depends on a linux-binary: keep following
	next=$(apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null | awk '/Depends:/ {print $2}' | grep -E '^linux-binary-' | head -1 || true)
	[ -n "$next" ] && pkg=$next && break
	break
done
if [ "$pkg" = linux-image-cloud-amd64 ]; then
	echo "fetch-kernel: cannot resolve linux-image-cloud-amd64 in $suite" >&2
	exit 1
fi
(cd "$cache/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "$pkg" > "$cache/download.log" 2>&1) ||
	{ cat "$cache/download.log" >&2; exit 1; }
deb=$(ls "$cache"/debs/*.deb | head -1)
rm -rf "$cache/x" && mkdir -p "$cache/x"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache/x" --wildcards './boot/vmlinuz-*' './usr/lib/modules/*/vmlinuz' 2>/dev/null || true
img=$(find "$cache/x" -name 'vmlinuz*' -type f | head -1)
if [ -z "$img" ]; then
	echo "fetch-kernel: no vmlinuz in $pkg" >&2
	exit 1
fi
mv "$img" "$cache/vmlinuz"
echo "$pkg" > "$cache/package"
rm -rf "$cache/x" "$cache/debs"/*.deb
echo "$cache/vmlinuz"

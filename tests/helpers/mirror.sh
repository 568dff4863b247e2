# The Debian mirror this machine's apt already uses (the first Debian archive
# URI in its sources), printed for tests/vm/fetch-kernel.sh and
# tests/dist/check.sh: nothing in the repo names a host.
debian_mirror() {
	{ grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i = 2; i <= NF; i++) print $i}'
	  grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
		awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}'; } |
	grep -v -e security -e backports | grep -m1 '/debian/*$' || true
}

#!/bin/bash
# The BPF sources through the regular skeleton (libbpf relocates against the
# kernel's BTF), the fallback where the light loader cannot run: the same
# record-by-record tests as through the light one.
# Usage: tests/skeleton_regular.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
export MEMLENS_BPF_SKELETON=regular
rc=0
"$B/tests/test_vma" || rc=1
"$B/tests/test_dmabuf" || rc=1
exit $rc

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A regression input for the symbolization fuzzer: an ELF with DWARF whose
inlined subroutines name no abstract origin (their abbreviation's
DW_AT_abstract_origin renamed), and the address of one of them appended as
the fuzzer's last 8 bytes.  libdw's dwarf_getscopes() leaked its scopes on
such a file.  Usage: noorigin.py ELF OUT"""
import struct, subprocess, sys

src, dst = sys.argv[1], sys.argv[2]
data = bytearray(open(src, 'rb').read())
assert data[:4] == b'\x7fELF' and data[4] == 2, 'a 64-bit ELF'
shoff, = struct.unpack_from('<Q', data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
secs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
stroff = secs[shstrndx][4]

def name(s):
    end = data.index(0, stroff + s[0])
    return data[stroff + s[0]:end].decode()

abbrev = next(s for s in secs if name(s) == '.debug_abbrev')

def uleb(p):
    v = shift = 0
    while True:
        b = data[p]; p += 1
        v |= (b & 0x7f) << shift; shift += 7
        if not b & 0x80:
            return v, p

p, end, patched = abbrev[4], abbrev[4] + abbrev[5], 0
while p < end:
    code, p = uleb(p)
    if code == 0:
        continue
    tag, p = uleb(p)
    p += 1                          # children
    while True:
        at = p
        attr, p = uleb(p)
        form, p = uleb(p)
        if form == 0x21:            # DW_FORM_implicit_const
            while data[p] & 0x80:
                p += 1
            p += 1
        if attr == 0 and form == 0:
            break
        if tag == 0x1d and attr == 0x31:   # inlined_subroutine: abstract_origin
            data[at] = 0x3a                 # -> decl_file (one byte, as 0x31)
            patched += 1
assert patched, 'no inlined subroutine in ' + src
# the address of an inlined call: the first inlined subroutine's low_pc, as readelf
# reads the original
lines = subprocess.run(['readelf', '--debug-dump=info', src], capture_output=True, text=True).stdout
addr, inl = None, False
for l in lines.splitlines():
    if 'DW_TAG_inlined_subroutine' in l:
        inl = True
    elif 'DW_TAG_' in l:
        inl = False
    elif inl and 'DW_AT_low_pc' in l:
        addr = int(l.split()[-1], 16)
        break
assert addr is not None, 'no inlined subroutine with a low_pc'
data += struct.pack('<Q', addr | (addr << 24))
open(dst, 'wb').write(data)

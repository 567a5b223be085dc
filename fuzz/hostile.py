#!/usr/bin/env python3
"""Builds hostile .npz files: archives meant to exhaust or trick a reader, each small on
disk. Used by the reliability tests (NumPyFormat and CLI) and as fuzz seeds.

Usage: hostile.py KIND OUT.npz     (KIND: one of KINDS below)

Archives are assembled here byte by byte rather than with zipfile, because zipfile will
not write lies, and every kind is a lie of a particular shape.
"""
import io
import struct
import sys
import zlib

import numpy as np

GiB = 1 << 30


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def raw_deflate(chunks, level=9):
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return b"".join(compressor.compress(c) for c in chunks) + compressor.flush()


def zip64_extra(*values):
    body = b"".join(struct.pack("<Q", v) for v in values)
    return struct.pack("<HH", 1, len(body)) + body


class Member:
    """One member: its name, stored bytes, and the sizes and CRC its headers declare."""

    def __init__(self, name, data, method=0, size=None, crc=None, local_name=None, local_size=None):
        self.name = name.encode()
        self.data = data
        self.method = method
        self.size = len(data) if size is None else size
        self.crc = zlib.crc32(data) if crc is None else crc
        self.local_name = self.name if local_name is None else local_name.encode()
        self.local_size = self.size if local_size is None else local_size

    def local_header(self):
        big = self.local_size >= 0xFFFFFFFF
        extra = zip64_extra(self.local_size, len(self.data)) if big else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if big else (len(self.data), self.local_size)
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, self.method, 0, 0, self.crc,
                           sizes[0], sizes[1], len(self.local_name), len(extra)) + self.local_name + extra

    def central_header(self, offset):
        big = self.size >= 0xFFFFFFFF
        extra = zip64_extra(self.size) if big else b""
        return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, self.method, 0, 0, self.crc,
                           len(self.data), 0xFFFFFFFF if big else self.size, len(self.name), len(extra),
                           0, 0, 0, 0, offset) + self.name + extra


def archive(members, zip64_record_offset=None):
    body, central = b"", b""
    for m in members:
        central += m.central_header(len(body))
        body += m.local_header() + m.data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    if zip64_record_offset is not None:
        locator = struct.pack("<IIQI", 0x07064B50, 0, zip64_record_offset, 1)
        end = locator + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF,
                                    0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + central + end


def x_array():
    return np.arange(2 * 3 * 4 * 4, dtype="<f4").reshape(2, 3, 4, 4) / 7


def bomb_declared():
    """A 600-byte deflated member whose headers declare 8 GiB (ZIP64 fields)."""
    payload = npy(np.zeros(1 << 16, dtype="<f4"))
    return archive([Member("x.npy", raw_deflate([payload]), method=8, size=8 * GiB)])


def bomb_inflating():
    """A member declaring 1 MiB whose deflate stream goes on for 256 MiB of zeros."""
    header = npy(np.zeros((1 << 20) // 4 - 32, dtype="<f4"))[:128]
    stream = raw_deflate([header] + [bytes(1 << 24)] * 16)
    return archive([Member("x.npy", stream, method=8, size=1 << 20, crc=0)])


def header_2_pow_60():
    """x's header claims 2**60 float32 elements; 64 bytes of data follow."""
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % (1 << 60)
    text = text.ljust(118) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + bytes(64)
    return archive([Member("x.npy", data)])


def zip64_past_end():
    """A ZIP64 locator whose end-record offset lies 1 TiB past the end of the file."""
    return archive([Member("x.npy", npy(x_array()))], zip64_record_offset=1 << 40)


def local_central_disagree():
    """The local header declares a different uncompressed size than the central one."""
    data = npy(x_array())
    return archive([Member("x.npy", data, local_size=len(data) - 16)])


def duplicate_names():
    return archive([Member("x.npy", npy(x_array())), Member("x.npy", npy(x_array() + 1))])


def overlapping():
    """Member y's local header and data lie inside member x's data: the shape of a
    non-recursive zip bomb, where one compressed stream is counted many times."""
    inner = Member("y.npy", npy(x_array()))
    outer = Member("x.npy", inner.local_header() + inner.data)
    central = outer.central_header(0) + inner.central_header(30 + len(outer.name))
    body = outer.local_header() + outer.data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(central), len(body), 0)
    return body + central + end


def many_members():
    """10,000 one-byte-array members (and no x)."""
    tiny = npy(np.zeros(1, dtype="|u1"))
    return archive([Member("m%05d.npy" % i, tiny) for i in range(10_000)])


def zeros_member(count, **declared):
    """x.npy: `count` float32 zeros, deflated a 16 MiB piece at a time (the stream is
    about 1/1000 of the data, so no more than that is ever held here)."""
    header = npy(np.zeros(count, dtype="<f4"))[:128]
    size, left = 128 + 4 * count, 4 * count
    crc = zlib.crc32(header)
    pieces = [header]
    piece = bytes(1 << 24)
    while left:
        n = min(left, len(piece))
        crc = zlib.crc32(piece[:n], crc)
        pieces.append(piece[:n])
        left -= n
    stream = raw_deflate(pieces, level=1)
    return Member("x.npy", stream, method=8, size=size, crc=declared.get("crc", crc))


def huge_deflated():
    """1 GiB of float32 zeros in a 5 MB archive: honest, but a reader that inflates a
    member whole to check its CRC pays 1 GiB of memory for it."""
    return archive([zeros_member(1 << 28)])


def deflated_bad_crc():
    """16 MiB of zeros deflated, declaring a CRC-32 the data does not have."""
    return archive([zeros_member(1 << 22, crc=0x12345678)])


def deflate_cut_short():
    """16 MiB of zeros whose deflate stream lost its last 16 bytes (sizes declared to match the cut stream)."""
    member = zeros_member(1 << 22)
    member.data = member.data[:-16]
    return archive([member])


KINDS = {
    "huge-deflated": huge_deflated,
    "deflated-bad-crc": deflated_bad_crc,
    "deflate-cut-short": deflate_cut_short,
    "bomb-declared": bomb_declared,
    "bomb-inflating": bomb_inflating,
    "header-2-pow-60": header_2_pow_60,
    "zip64-past-end": zip64_past_end,
    "local-central-disagree": local_central_disagree,
    "duplicate-names": duplicate_names,
    "overlapping": overlapping,
    "many-members": many_members,
}


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        f.write(KINDS[kind]())

#!/usr/bin/env python3
"""Writes the fuzz seed corpora: small files numpy itself writes, plus the bad inputs
every reader must reject (from the reliability brief and NPYBadInputTests /
NPZBadInputTests), so the fuzzer starts from both sides of every check.

Usage: make_corpus.py OUTDIR   (creates OUTDIR/npy, OUTDIR/npz, OUTDIR/inflate)

Seeds are kept under 16 KiB (the Makefile's -max_len): small inputs mutate faster, and
the largest header numpy accepts (10,000 bytes) still fits.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402  (the hostile archives the reliability tests use)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def raw_npy(header, data=b"", version=(1, 0)):
    """Hand-made .npy bytes with any header text, for inputs numpy would never write."""
    text = header.encode("latin-1") if isinstance(header, str) else header
    size = struct.pack("<H", len(text)) if version[0] == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text + data


def npz_bytes(arrays, compressed=False):
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


class Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek in, so it writes data descriptors."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def npz_with_descriptors(arrays, method=zipfile.ZIP_DEFLATED):
    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", compression=method) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w") as member:
                member.write(npy_bytes(array))
    return bytes(stream.data)


def npz_from_members(members, method=zipfile.ZIP_STORED):
    """An archive of (name, payload) pairs, duplicates allowed (zipfile only warns)."""
    import warnings

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, payload in members:
                archive.writestr(name, payload)
    return buffer.getvalue()


def patch(data, offset, value):
    data = bytearray(data)
    data[offset:offset + len(value)] = value
    return bytes(data)


def npy_seeds():
    seeds = {}
    for descr in ["<f2", "<f4", "<f8", ">f8", "|b1", "|i1", "|u1", "<i2", "<u4", "<i8", ">i4", "<c8", "<c16"]:
        seeds[f"np_{descr[1:]}_{'be' if descr[0] == '>' else 'le'}"] = npy_bytes(
            (np.arange(6) % 2).astype(descr).reshape(2, 3))
    seeds["np_scalar"] = npy_bytes(np.array(1.5, dtype="<f4"))
    seeds["np_empty"] = npy_bytes(np.zeros((0, 4), dtype="<f4"))
    seeds["np_fortran"] = npy_bytes(np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4)))
    seeds["np_rank5"] = npy_bytes(np.zeros((1, 2, 1, 2, 1), dtype="<f4"))
    seeds["np_v2"] = npy_bytes(np.arange(3, dtype="<f4"), version=(2, 0))
    seeds["np_v3"] = npy_bytes(np.arange(3, dtype="<i4"), version=(3, 0))
    seeds["np_unicode"] = npy_bytes(np.array([["x", "dout"], ["é", ""]]))
    seeds["np_bytes"] = npy_bytes(np.array([b"ab", b"abcd"]))
    seeds["np_void2"] = npy_bytes(np.arange(4, dtype="<u2").view("V2"))
    seeds["hand_spacing"] = raw_npy("{ 'shape':(2,) ,'fortran_order':False,'descr':'<f4', }\n", b"\0" * 8)
    seeds["hand_long"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L,)}\n", b"\0" * 8)
    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
    # Bad inputs (each must be refused with a NumPyFormatError).
    seeds["bad_magic"] = b"\x93numpy\x01\x00" + good.encode()
    for cut in range(8):
        seeds[f"bad_cut_{cut}"] = b"\x93NUMPY\x01\x00"[:cut]
    seeds["bad_version"] = raw_npy(good, b"\0" * 8, version=(4, 0))
    seeds["bad_v2_no_length"] = b"\x93NUMPY\x02\x00"
    seeds["bad_length_past_end"] = b"\x93NUMPY\x01\x00\xff\x7f{'descr'"
    seeds["bad_not_dict"] = raw_npy("['descr', '<f4']\n")
    seeds["bad_missing_key"] = raw_npy("{'descr': '<f4', 'shape': (2,)}\n")
    seeds["bad_extra_key"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n")
    seeds["bad_shape_list"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}\n")
    seeds["bad_shape_negative"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}\n")
    seeds["bad_fortran_int"] = raw_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n")
    for name, descr in [("object", "|O"), ("q9", "<q9"), ("f1", "<f1"), ("empty", "")]:
        seeds[f"bad_descr_{name}"] = raw_npy(f"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}\n")
    seeds["bad_structured"] = raw_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}\n")
    seeds["bad_2_pow_60"] = raw_npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**60},)}}\n")
    seeds["bad_overflow_product"] = raw_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}\n")
    seeds["bad_overflow_itemsize"] = raw_npy(
        f"{{'descr': '<c16', 'fortran_order': False, 'shape': ({2**60},)}}\n")
    seeds["bad_huge_int"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}\n")
    seeds["bad_non_ascii_v1"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\xe9\n")
    seeds["bad_utf8_v3"] = raw_npy(b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\xff\n", version=(3, 0))
    seeds["bad_data_short"] = raw_npy(good, b"\0" * 5)
    seeds["bad_bool_byte"] = raw_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}\n", b"\x00\x02")
    seeds["bad_deep_nesting"] = raw_npy("{'descr': " + "(" * 80 + "1" + ")" * 80 + "}\n")
    seeds["bad_unterminated"] = raw_npy("{'descr': '<f4\n")
    return seeds


def npz_seeds():
    seeds = {}
    small = {"x": np.arange(6, dtype="<f4").reshape(2, 3), "y": np.array([1, 2, 3], dtype="<i8")}
    seeds["np_savez"] = npz_bytes(small)
    seeds["np_savez_compressed"] = npz_bytes(small, compressed=True)
    seeds["np_bool"] = npz_bytes({"m": np.array([True, False])}, compressed=True)
    seeds["np_scalar"] = npz_bytes({"eps": np.array(1e-5)})
    seeds["np_many"] = npz_bytes({f"a{i}": np.array([i], dtype="<i2") for i in range(12)})
    seeds["np_bfloat16_declared"] = npz_bytes({"out": np.arange(4, dtype="<u2").view("V2"),
                                               "bfloat16": np.array(["out"])})
    seeds["descriptors_deflated"] = npz_with_descriptors(small)
    seeds["descriptors_stored"] = npz_with_descriptors(small, zipfile.ZIP_STORED)
    good = seeds["np_savez"]
    deflated = seeds["np_savez_compressed"]
    # Bad inputs.
    seeds["bad_not_zip"] = b"\x07" * 64
    seeds["bad_npy_not_npz"] = npy_bytes(np.arange(3, dtype="<f4"))
    seeds["bad_empty_archive"] = b"PK\x05\x06" + b"\0" * 18
    seeds["bad_truncated"] = good[:len(good) - 30]
    seeds["bad_crc"] = patch(good, good.index(b"PK\x01\x02") + 16, b"\xde\xad\xbe\xef")
    seeds["bad_method"] = patch(good, good.index(b"PK\x01\x02") + 10, b"\x0c\x00")
    seeds["bad_encrypted"] = patch(good, good.index(b"PK\x01\x02") + 8, b"\x01\x00")
    seeds["bad_duplicate"] = npz_from_members([("x.npy", npy_bytes(np.zeros(2))), ("x.npy", npy_bytes(np.ones(2)))])
    seeds["bad_duplicate_array"] = npz_from_members([("x.npy", npy_bytes(np.zeros(2))), ("x", npy_bytes(np.ones(2)))])
    central = deflated.index(b"PK\x01\x02")
    seeds["bad_local_disagrees"] = patch(deflated, 8, b"\x00\x00")
    seeds["bad_local_name"] = patch(good, 30, b"q")
    # The deflated member's declared size shrunk: inflating it runs past the buffer.
    seeds["bad_inflates_past"] = patch(deflated, central + 24, b"\x10\x00\x00\x00")
    payload = npy_bytes(np.zeros(1 << 14, dtype="<f4"))
    bomb = npz_from_members([("x.npy", payload)], zipfile.ZIP_DEFLATED)
    seeds["bad_bomb_declares"] = patch(bomb, bomb.index(b"PK\x01\x02") + 24, b"\xfe\xff\xff\x7f")
    seeds["bad_zip64_past_end"] = zip64_pointing_past_end(good)
    seeds["bad_member_npy"] = npz_from_members([("x.npy", raw_npy("{'descr': '<f4'}\n"))])
    for kind in ["bomb-declared", "header-2-pow-60", "zip64-past-end", "local-central-disagree",
                 "duplicate-names", "overlapping"]:
        seeds["hostile_" + kind] = hostile.KINDS[kind]()
    seeds["bad_member_2_pow_60"] = npz_from_members(
        [("x.npy", raw_npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**60},)}}\n"))])
    return seeds


def zip64_pointing_past_end(archive):
    """Adds a ZIP64 end record and locator whose offsets point beyond the file."""
    eocd = archive.rindex(b"PK\x05\x06")
    count, size, offset = struct.unpack("<HII", archive[eocd + 10:eocd + 20])
    record_at = eocd
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size, 1 << 40)
    locator = struct.pack("<IIQI", 0x07064B50, 0, record_at, 1)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return archive[:eocd] + record + locator + end


def deflate_raw(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY):
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    return compressor.compress(data) + compressor.flush()


def inflate_seeds():
    """Two bytes of declared size (little-endian), then a raw deflate stream."""
    seeds = {}
    payloads = {
        "npy": npy_bytes(np.arange(64, dtype="<f4")),
        "zeros": bytes(3000),
        "text": b"batch norm " * 40,
        "empty": b"",
    }
    for name, payload in payloads.items():
        for level in [0, 1, 6, 9]:
            seeds[f"{name}_l{level}"] = struct.pack("<H", len(payload)) + deflate_raw(payload, level)
        seeds[f"{name}_fixed"] = struct.pack("<H", len(payload)) + deflate_raw(payload, 6, zlib.Z_FIXED)
        seeds[f"{name}_huffman"] = struct.pack("<H", len(payload)) + deflate_raw(payload, 6, zlib.Z_HUFFMAN_ONLY)
    stream = deflate_raw(payloads["npy"])
    seeds["bad_declares_less"] = struct.pack("<H", 100) + stream
    seeds["bad_declares_more"] = struct.pack("<H", 60000) + stream
    seeds["bad_cut"] = struct.pack("<H", len(payloads["npy"])) + stream[:len(stream) // 2]
    seeds["bad_trailing"] = struct.pack("<H", len(payloads["npy"])) + stream + b"junk"
    seeds["bad_garbage"] = struct.pack("<H", 64) + bytes(range(7, 71))
    seeds["bomb"] = struct.pack("<H", 0xFFFF) + deflate_raw(bytes(1 << 20), 9)
    return seeds


def run_seeds():
    """Small batch-norm inputs for the whole run path: every rank and dtype, optional
    keys, 0-d eps and momentum, empty and constant channels, non-finite values."""
    rng = np.random.default_rng(11)
    seeds = {}
    for descr in ["<f2", "<f4", "<f8", ">f4"]:
        for shape in [(4, 3), (2, 3, 5), (2, 2, 3, 3), (1, 2, 2, 2, 2)]:
            x = rng.standard_normal(shape).astype(descr)
            channels = shape[1]
            name = f"{descr[1:]}_{'x'.join(map(str, shape))}"
            seeds[name + "_forward"] = npz_bytes({"x": x})
            seeds[name + "_full"] = npz_bytes({
                "x": x, "dout": rng.standard_normal(shape).astype(descr),
                "gamma": rng.standard_normal(channels).astype(descr), "beta": np.zeros(channels, descr),
                "running_mean": np.zeros(channels, descr), "running_var": np.ones(channels, descr),
                "eps": np.array(1e-3), "momentum": np.array(0.5)}, compressed=descr == "<f4")
    seeds["constant_channel"] = npz_bytes({"x": np.full((4, 2), 3.0, "<f4"), "dout": np.ones((4, 2), "<f4")})
    seeds["non_finite"] = npz_bytes({"x": np.array([[np.nan, 1], [np.inf, 2], [0, -np.inf]], "<f4")})
    seeds["empty_batch"] = npz_bytes({"x": np.zeros((0, 3), "<f4"), "dout": np.zeros((0, 3), "<f4")})
    seeds["aliases"] = npz_bytes({"x": np.ones((2, 2), "<f8"), "weight": np.ones(2), "grad_out": np.ones((2, 2))})
    seeds["misspelt"] = npz_bytes({"x": np.ones((2, 2), "<f8"), "gama": np.ones(2)})
    seeds["negative_eps"] = npz_bytes({"x": np.ones((2, 2), "<f8"), "eps": np.array(-1.0)})
    return seeds


def main():
    out = sys.argv[1]
    for target, seeds in [("npy", npy_seeds()), ("npz", npz_seeds()), ("inflate", inflate_seeds()),
                          ("run", run_seeds())]:
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            assert len(data) <= 16384, f"{target}/{name} is {len(data)} bytes"
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{folder}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()

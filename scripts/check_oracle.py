#!/usr/bin/env python3
"""Check the oracle (scripts/bn_oracle.py) and the fixtures in data/cases/.

    python3 scripts/check_oracle.py            # rounding + 200-digit + rule checks
    /tmp/tv/bin/python scripts/check_oracle.py # ... and torch.testing.assert_close

1. round_to/round_bits against numpy's own conversions: exhaustively on every float16
   and bfloat16 midpoint, on random rationals of every magnitude (subnormal, normal,
   overflow) for float16/bfloat16/32/64 (bfloat16 through ml_dtypes, which rounds from
   float64 directly), and on hand-constructed ties, subnormals and overflow thresholds.
2. The fixtures' exact outputs against an independent computation: mpmath at 200
   digits evaluating the textbook formulas directly (no algebraic restructuring),
   rounded; compared bit for bit wherever the 200-digit value is more than
   1e-150*scale away from a rounding boundary (scale = sum of the magnitudes of the
   terms the value is made of). Where |value| <= 1e-150*scale the true value is taken
   to be an exact zero and the oracle must give +0.0.
3. The hand-derived results of ties_f32 and ties_bf16_f32 and the non-finite rules on
   nan_inf_f32 and nan_inf_bf16_f32.
4. torch vs exact: per case and key, the largest error in ulp of the exact value, the
   largest absolute error, and whether torch.testing.assert_close (default tolerances)
   accepts torch's result.  On a well-conditioned case a rejection is reported as a
   finding about torch (it does not change the exit status).  Written to
   data/cases/torch_vs_exact.txt.  Cases without a stored .torch.npz are run through
   scripts/torch_reference.py on the fly when torch is importable.

Exit status 0 when every check passes.
"""

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

import mpmath
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bn_oracle as bo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_DIR = os.path.join(ROOT, "data", "cases")
FAILURES = []          # oracle or fixture errors: exit status 1
TORCH_FINDINGS = []    # torch outside assert_close on a well-conditioned case: reported only


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        if len(FAILURES) <= 30:
            print("FAIL:", msg)


def np_dtype(fmt):
    """The numpy dtype of a format (ml_dtypes' for bfloat16)."""
    return bo.bfloat16_dtype() if fmt is bo.BFLOAT16 else fmt.dtype


def load(path):
    """An .npz as a dict, its declared bfloat16 arrays viewed as ml_dtypes' bfloat16."""
    with np.load(path) as z:
        return bo.declare_bfloat16({k: z[k] for k in z.files})


def bits_of(value, fmt):
    return int(np.array(value, dtype=np_dtype(fmt)).view(fmt.uint))


def value_of(bits, fmt):
    return Fraction(float(np.array(bits, dtype=fmt.uint).view(np_dtype(fmt))))


# ----------------------------------------------------------------------------------------
# 1. Rounding
# ----------------------------------------------------------------------------------------

def is_midpoint(d: Fraction, fmt) -> bool:
    """d lies exactly halfway between two adjacent values of fmt (or on the overflow
    threshold max + ulp(max)/2)."""
    if d == 0:
        return False
    a = abs(d)
    e = max(bo.floor_log2(a), fmt.emin) - (fmt.p - 1)   # quantum exponent
    half = Fraction(2) ** (e - 1)
    k = a / half
    return k.denominator == 1 and k.numerator % 2 == 1


def numpy_round(q: Fraction, fmt):
    """numpy's conversion of the double nearest q (a single correct rounding whenever
    that double is not itself a midpoint of fmt; see test_rounding)."""
    if abs(q) >= 2 ** 1024:
        return None
    try:
        d = float(q)                     # correctly rounded (CPython int true division)
    except OverflowError:
        return None
    with np.errstate(over="ignore"):
        return bits_of(np_dtype(fmt).type(d), fmt), Fraction(d)


def test_rounding():
    t = time.time()
    n = 0
    tiny = Fraction(1, 2 ** 1200)           # far below every format's quantum
    # (a) float16 and bfloat16, exhaustively: every pair of adjacent finite values, both signs.
    for f, top in ((bo.FLOAT16, 0x7BFF), (bo.BFLOAT16, 0x7F7F)):
        n += exhaustive_ties(f, top, tiny)
    # (b) Overflow thresholds, smallest subnormals, signed zeros, for every format.
    for f in (bo.FLOAT16, bo.BFLOAT16, bo.FLOAT32, bo.FLOAT64):
        mx, sub = f.max_finite, f.min_subnormal
        half_ulp_max = Fraction(2) ** (f.emax - f.p)
        max_bits = bits_of(float(mx), f)
        for s, sb in ((1, 0), (-1, f.sign_bit)):
            check(bo.round_bits(s * (mx + half_ulp_max), f) == f.inf_bits | sb, f"{f.name} overflow tie")
            check(bo.round_bits(s * (mx + half_ulp_max - tiny), f) == max_bits | sb, f"{f.name} below overflow")
            check(bo.round_bits(s * mx * 4, f) == f.inf_bits | sb, f"{f.name} far overflow")
            check(bo.round_bits(s * sub / 2, f) == sb, f"{f.name} half min subnormal -> signed 0")
            check(bo.round_bits(s * (sub / 2 + tiny), f) == 1 | sb, f"{f.name} above half min subnormal")
            check(bo.round_bits(s * sub * 3 / 2, f) == 2 | sb, f"{f.name} 1.5 min subnormal -> 2")
            check(bo.round_bits(s * sub * 5 / 2, f) == 2 | sb, f"{f.name} 2.5 min subnormal -> 2")
            check(bo.round_bits(s * tiny ** 10, f) == sb, f"{f.name} tiny -> signed 0")
            # largest subnormal + half quantum rounds up to the smallest normal
            largest_sub = sub * (2 ** (f.p - 1) - 1)
            check(bo.round_bits(s * (largest_sub + sub / 2), f) == (1 << (f.p - 1)) | sb,
                  f"{f.name} subnormal -> normal carry")
            check(bo.round_bits(s * (2 - Fraction(1, 2 ** f.p)), f) == bits_of(2.0, f) | sb,
                  f"{f.name} carry into next binade")
            n += 10
        check(bo.round_bits(Fraction(0), f) == 0, "exact zero is +0")
        check(bo.round_to(Fraction(1, 3), np_dtype(f)) == np_dtype(f).type(1 / 3), "round_to 1/3")
    n += random_rationals()
    print(f"rounding: {n} checks, {time.time() - t:.1f} s")


def exhaustive_ties(f, top, tiny):
    """Every midpoint between adjacent finite values of f (and just either side) rounds
    to the even neighbour (and to the nearer one)."""
    n = 0
    for k in range(0, top):
        a, b = value_of(k, f), value_of(k + 1, f)
        mid = (a + b) / 2
        even = k if k % 2 == 0 else k + 1
        for sign in (0, f.sign_bit):
            s = -1 if sign else 1
            check(bo.round_bits(s * mid, f) == (even | sign), f"{f.name} tie {k}")
            check(bo.round_bits(s * (mid - tiny), f) == (k | sign), f"{f.name} below tie {k}")
            check(bo.round_bits(s * (mid + tiny), f) == ((k + 1) | sign), f"{f.name} above tie {k}")
            if k:
                check(bo.round_bits(s * a, f) == (k | sign), f"{f.name} exact {k}")
            n += 4
    return n


def random_rationals():
    """Random rationals of every magnitude vs numpy (skipping double midpoints)."""
    rng = random.Random(1234)
    n = skipped = 0
    for f in (bo.FLOAT16, bo.BFLOAT16, bo.FLOAT32, bo.FLOAT64):
        lo_e, hi_e = f.emin - f.p - 3, f.emax + 3
        for i in range(20000):
            e = rng.randint(lo_e, hi_e)
            mode = i % 4
            if mode == 0:      # generic rational
                q = Fraction(rng.getrandbits(90) + 1, rng.getrandbits(30) + 1) * Fraction(2) ** (e - 60)
            elif mode == 1:    # dyadic with a few more bits than fit
                q = Fraction(rng.getrandbits(f.p + 3) | 1) * Fraction(2) ** (e - f.p)
            else:              # near a midpoint of fmt, relative offset 2^-(20..70)
                k = rng.getrandbits(f.p - 1) | ((1 << (f.p - 1)) if e >= f.emin else 0)
                qexp = max(e, f.emin) - f.p + 1
                mid = (Fraction(2 * k + 1, 2)) * Fraction(2) ** qexp
                off = Fraction(rng.choice((-1, 1)), 2 ** rng.randint(20, 70))
                q = mid * (1 + off) if mode == 2 else mid
            if rng.random() < 0.5:
                q = -q
            got = bo.round_bits(q, f)
            ref = numpy_round(q, f)
            if ref is None:
                check(got == f.inf_bits | (f.sign_bit if q < 0 else 0), f"{f.name} huge {q}")
                continue
            ref_bits, d = ref
            if is_midpoint(d, f) and d != q:   # the double itself is a tie: double rounding
                skipped += 1
                continue
            check(got == ref_bits, f"{f.name} random q={q}: {got:#x} vs numpy {ref_bits:#x}")
            n += 1
    print(f"random rationals: {n} checked, {skipped} skipped (double itself a tie)")
    return n


# ----------------------------------------------------------------------------------------
# 2. 200-digit textbook formulas
# ----------------------------------------------------------------------------------------

def channel_mpf(a, axis):
    rows = np.moveaxis(bo.widened(a), axis, 0).reshape(a.shape[axis], -1)
    return [[mpmath.mpf(float(v)) for v in row.tolist()] for row in rows]


def mpf_to_fraction(v):
    sign, man, exp, _ = v._mpf_            # mpf.man is the unsigned mantissa
    man = -int(man) if sign else int(man)
    exp = int(exp)
    return Fraction(man * 2 ** exp) if exp >= 0 else Fraction(man, 2 ** -exp)


def textbook(inp, training, axis):
    """Per key: list over channels of lists of (value, scale) pairs, 200 digits."""
    x = inp["x"]
    C = x.shape[axis]
    P = lambda k, dflt: [mpmath.mpf(float(v)) for v in bo.widened(inp[k])] if k in inp else [mpmath.mpf(dflt)] * C  # noqa
    gamma, beta, rm, rv = P("gamma", 1), P("beta", 0), P("running_mean", 0), P("running_var", 1)
    eps = mpmath.mpf(float(inp["eps"])) if "eps" in inp else mpmath.mpf(1e-5)
    mom = mpmath.mpf(float(inp["momentum"])) if "momentum" in inp else mpmath.mpf(0.1)
    X = channel_mpf(x, axis)
    G = channel_mpf(inp["dout"], axis) if "dout" in inp else None
    res = {k: [] for k in ("out", "dx", "dgamma", "dbeta", "running_mean", "running_var", "mean", "invstd")}
    for c in range(C):
        xs = X[c]
        M = len(xs)
        if training:
            mu = mpmath.fsum(xs) / M
            var = mpmath.fsum([(v - mu) ** 2 for v in xs]) / M
            mean_scale = mpmath.fsum([abs(v) for v in xs]) / M
        else:
            mu, var, mean_scale = rm[c], rv[c], abs(rm[c])
        invstd = 1 / mpmath.sqrt(var + eps)
        xhat = [(v - mu) * invstd for v in xs]
        res["out"].append([(gamma[c] * h + beta[c], abs(gamma[c] * h) + abs(beta[c])) for h in xhat])
        res["mean"].append([(mu, mean_scale)])
        res["invstd"].append([(invstd, invstd)])
        if training:
            t1, t2 = (1 - mom) * rm[c], mom * mu
            res["running_mean"].append([(t1 + t2, abs(t1) + abs(mom) * mean_scale)])
            t1, t2 = (1 - mom) * rv[c], mom * var * M / (M - 1)
            res["running_var"].append([(t1 + t2, abs(t1) + abs(t2))])
        else:
            res["running_mean"].append([(rm[c], abs(rm[c]))])
            res["running_var"].append([(rv[c], abs(rv[c]))])
        if G is None:
            continue
        gs = G[c]
        dbeta = mpmath.fsum(gs)
        sum_abs_g = mpmath.fsum([abs(g) for g in gs])
        prods = [g * h for g, h in zip(gs, xhat)]
        dgamma = mpmath.fsum(prods)
        sum_abs_gh = mpmath.fsum([abs(p) for p in prods])
        res["dbeta"].append([(dbeta, sum_abs_g)])
        res["dgamma"].append([(dgamma, sum_abs_gh)])
        if training:
            k = gamma[c] * invstd / M
            res["dx"].append([(k * (M * g - dbeta - h * dgamma),
                               abs(k) * (M * abs(g) + sum_abs_g + abs(h) * sum_abs_gh))
                              for g, h in zip(gs, xhat)])
        else:
            res["dx"].append([(g * gamma[c] * invstd, abs(g * gamma[c] * invstd)) for g in gs])
    return res


def compare_textbook(name, inp, exact, training, layout):
    axis = 1 if layout == "nchw" else inp["x"].ndim - 1
    t = time.time()
    with mpmath.workdps(200):
        tb = textbook(inp, training, axis)
        stats = {"compared": 0, "zero": 0, "near_boundary": 0}
        for key in exact:
            arr = exact[key]
            fmt = bo.format_of(arr.dtype)
            if arr.shape == (len(tb[key]),):
                got = [[int(b)] for b in arr.view(fmt.uint)]
            else:
                rows = np.moveaxis(arr, axis, 0).reshape(arr.shape[axis], -1)
                got = [[int(b) for b in row] for row in rows.view(fmt.uint)]
            for c, pairs in enumerate(tb[key]):
                for j, (v, scale) in enumerate(pairs):
                    g = got[c][j]
                    if abs(v) <= mpmath.mpf("1e-150") * scale:
                        stats["zero"] += 1
                        check(g == 0, f"{name} {key}[{c},{j}]: exact zero expected, oracle bits {g:#x}")
                        continue
                    q = mpf_to_fraction(v)
                    dq = mpf_to_fraction(mpmath.mpf("1e-150") * scale)
                    r = bo.round_bits(q, fmt)
                    if bo.round_bits(q - dq, fmt) != r or bo.round_bits(q + dq, fmt) != r:
                        stats["near_boundary"] += 1
                        continue
                    stats["compared"] += 1
                    check(g == r, f"{name} {key}[{c},{j}]: oracle {g:#x} vs 200-digit {r:#x}")
    print(f"  {name:22s} {stats['compared']:7d} bit-equal, {stats['zero']:5d} exact zeros, "
          f"{stats['near_boundary']} near a boundary (skipped)  {time.time() - t:.1f} s")
    return stats


# ----------------------------------------------------------------------------------------
# 3. Hand-derived results
# ----------------------------------------------------------------------------------------

def check_notebook_mean_tie():
    """The notebook's channel-0 mean (a sum of 8 float32 values over 8) happens to be an
    exact float32 tie; check that the oracle rounded it to even."""
    x = np.load(os.path.join(CASES_DIR, "notebook.in.npz"))["x"]
    mean = sum(Fraction(float(v)) for v in x[:, 0].ravel()) / 8
    got = np.load(os.path.join(CASES_DIR, "notebook.exact.npz"))["mean"][0]
    check(is_midpoint(mean, bo.FLOAT32), "notebook mean[0] is a float32 tie")
    check(bits_of(got, bo.FLOAT32) % 2 == 0 and abs(Fraction(float(got)) - mean)
          == Fraction(1, 2 ** 25), f"notebook mean[0] rounded to even: {got!r}")
    print("notebook: channel-0 mean is an exact tie, rounded to even")


def check_ties():
    f = bo.FLOAT32
    inp = np.load(os.path.join(CASES_DIR, "ties_f32.in.npz"))
    ex = np.load(os.path.join(CASES_DIR, "ties_f32.exact.npz"))
    x, out = inp["x"].astype(np.float64), ex["out"]
    means = [10.0, 0.0, -6.0, 0.5]
    T = lambda v: bits_of(np.float32(v), f)          # noqa: E731 (v exactly representable)
    mx = float(np.finfo(np.float32).max)
    S = 2.0 ** -149
    expected = [  # deviation -> float32 result bits
        {4: T(1 + 2 ** -22), -4: T(1 - 3 * 2 ** -24), 2: T(1 + 2 ** -23), -2: T(1 - 2 ** -23), 0: T(1)},
        {4: f.inf_bits, -4: T(mx - 2.0 ** 104), 2: T(mx), -2: T(mx), 0: T(mx)},
        {4: T(3 * S), -4: T(-3 * S), 2: T(2 * S), -2: T(-2 * S), 0: 0},
        {4: T(-S), -4: T(S), 2: f.sign_bit, -2: 0, 0: 0},
    ]
    n = 0
    for c in range(4):
        for i in range(2):
            for j in range(4):
                dev = int(x[i, c, j] - means[c])
                got = bits_of(out[i, c, j], f)
                check(got == expected[c][dev], f"ties out[{i},{c},{j}] dev {dev}: {got:#x} != {expected[c][dev]:#x}")
                n += 1
    for key, want in (("dgamma", [1.0, 1 + 2 ** -22, -1.0]), ("dbeta", [1 + 2 ** -22, 1 + 2 ** -22, -(1 + 2 ** -22)])):
        for c, w in enumerate(want):
            check(bits_of(ex[key][c], f) == T(w), f"ties {key}[{c}] = {ex[key][c]!r}, want {w!r}")
            n += 1
    check(list(ex["invstd"]) == [0.25] * 4, "ties invstd")
    print(f"ties_f32: {n + 1} hand-derived values checked")


def check_ties_bf16():
    """ties_bf16_f32 (see make_cases.ties_bf16_inputs): bfloat16 ties, its overflow
    threshold and signed-zero underflow, derived by hand."""
    f = bo.BFLOAT16
    inp = load(os.path.join(CASES_DIR, "ties_bf16_f32.in.npz"))
    ex = load(os.path.join(CASES_DIR, "ties_bf16_f32.exact.npz"))
    x, out = bo.widened(inp["x"]).astype(np.float64), ex["out"].view(np.uint16)
    means = [10.0, 0.0, -6.0, 0.5]
    T = lambda v: bits_of(v, f)          # noqa: E731 (v exactly representable)
    mx, S = float(f.max_finite), 2.0 ** -133
    expected = [  # deviation -> bfloat16 result bits
        {4: T(1 + 2 ** -6), -4: T(1 - 3 * 2 ** -8), 2: T(1 + 2 ** -7), -2: T(1 - 2 ** -7), 0: T(1)},
        {4: f.inf_bits, -4: T(mx - 2.0 ** 120), 2: T(mx), -2: T(mx), 0: T(mx)},
        {4: T(3 * S), -4: T(-3 * S), 2: T(2 * S), -2: T(-2 * S), 0: 0},
        {4: T(-S), -4: T(S), 2: f.sign_bit, -2: 0, 0: 0},
    ]
    n = 0
    for c in range(4):
        for i in range(2):
            for j in range(4):
                dev = int(x[i, c, j] - means[c])
                got = int(out[i, c, j])
                check(got == expected[c][dev], f"ties_bf16 out[{i},{c},{j}] dev {dev}: {got:#x} != {expected[c][dev]:#x}")
                n += 1
    check(list(ex["invstd"]) == [0.25] * 4, "ties_bf16 invstd")
    print(f"ties_bf16_f32: {n + 1} hand-derived values checked")


def check_nan_inf(name="nan_inf_f32"):
    ex = load(os.path.join(CASES_DIR, name + ".exact.npz"))
    out, dx = bo.widened(ex["out"]), bo.widened(ex["dx"])
    isnan = np.isnan
    check(isnan(out[:, 0]).all() and isnan(dx[:, 0]).all(), "nan_inf: channel 0 out/dx NaN")
    check(np.isfinite(out[:, 1]).all() and isnan(dx[:, 1]).all(), "nan_inf: channel 1 out finite, dx NaN")
    check(np.isfinite(out[:, 2]).all() and np.isfinite(dx[:, 2]).all(), "nan_inf: channel 2 finite")
    for k, pattern in (("dgamma", "NNf"), ("dbeta", "fIf"), ("mean", "Nff"), ("running_mean", "Nff"),
                       ("running_var", "Nff"), ("invstd", "Nff")):
        for c, p in enumerate(pattern):
            v = ex[k][c]
            ok = {"N": np.isnan(v), "I": v == np.inf, "f": np.isfinite(v)}[p]
            check(ok, f"nan_inf: {k}[{c}] = {v}, expected {p}")
    print(f"{name}: non-finite rules checked")


# ----------------------------------------------------------------------------------------
# 4. torch vs exact
# ----------------------------------------------------------------------------------------

# torch.testing.assert_close defaults (rtol, atol)
ASSERT_CLOSE_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
                    "float64": (1e-7, 1e-7)}


def ulp_of(e: Fraction, fmt) -> Fraction:
    if e == 0:
        return fmt.min_subnormal
    return Fraction(2) ** (max(bo.floor_log2(abs(e)), fmt.emin) - fmt.p + 1)


def channel_major(arr, axis, C):
    """Values of an output array as lists per channel (the order textbook() uses)."""
    if arr.shape == (C,):
        return [[v] for v in bo.widened(arr).tolist()]
    return np.moveaxis(bo.widened(arr), axis, 0).reshape(C, -1).tolist()


def error_stats(t_rows, e_rows, scale_rows, fmt):
    """(max error in ulp of the exact value, max absolute error, max error in units of
    u*scale + eta) over all elements; u = 2^-p is the unit roundoff and eta the smallest
    subnormal (the absolute floor of rounding error under gradual underflow)."""
    u = Fraction(1, 2 ** fmt.p)
    worst_ulp = worst_abs = worst_scaled = Fraction(0)
    for t_row, e_row, s_row in zip(t_rows, e_rows, scale_rows):
        for tv, ev, (_, scale) in zip(t_row, e_row, s_row):
            if not (math.isfinite(ev) and math.isfinite(tv)):
                if not ((math.isnan(ev) and math.isnan(tv)) or tv == ev):
                    return math.inf, math.inf, math.inf
                continue
            d = abs(Fraction(tv) - Fraction(ev))
            worst_abs = max(worst_abs, d)
            worst_ulp = max(worst_ulp, d / ulp_of(Fraction(ev), fmt))
            if d:
                sc = mpf_to_fraction(mpmath.mpf(scale)) if mpmath.isfinite(scale) else Fraction(0)
                worst_scaled = max(worst_scaled, d / (u * sc + fmt.min_subnormal))
    return float(worst_ulp), float(worst_abs), float(worst_scaled)


def assert_close_ok(t_arr, e_arr, torch_mod):
    if torch_mod is not None and not bo.is_bfloat16(e_arr.dtype):   # torch cannot take ml_dtypes arrays
        try:
            torch_mod.testing.assert_close(torch_mod.from_numpy(t_arr), torch_mod.from_numpy(e_arr),
                                           equal_nan=True)
            return True
        except AssertionError:
            return False
    rtol, atol = ASSERT_CLOSE_TOL[str(e_arr.dtype)]
    t, e = t_arr.astype(np.float64), e_arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(t - e) <= atol + rtol * np.abs(e)) | ((t == e) & np.isinf(e)) | (np.isnan(t) & np.isnan(e))
    return bool(ok.all())


def torch_table(manifest):
    try:
        import torch as torch_mod
    except ImportError:
        torch_mod = None
    lines = ["torch (CPU, 1 thread) vs exact (bn_oracle), per case and key",
             "ulp = |torch - exact| / ulp(exact) in the output dtype (ulp(0) = smallest subnormal);",
             "assert_close = torch.testing.assert_close(torch, exact) with default tolerances"
             + ("" if torch_mod else " (torch not importable: replicated tolerances)") + ".",
             "wc = well_conditioned (assert_close is expected to pass; failures are listed at the end).", "",
             "u*scale = |torch - exact| / (u*scale + eta), u = 2^-p, eta = smallest subnormal,",
             "scale = sum of the magnitudes of the terms of the textbook formula (as in anchors.md;",
             "for dx: |gamma|*invstd/M*(M|dout| + sum|dout| + |xhat|*sum|dout*xhat|)).",
             "assert_close is called with equal_nan=True (NaN matching NaN is agreement).", "",
             f"{'case':22s} {'wc':3s} {'key':13s} {'dtype':8s} {'max ulp':>12s} {'max abs err':>12s} "
             f"{'max u*scale':>12s}  assert_close"]
    for m in manifest:
        name = m["name"]
        tpath = os.path.join(CASES_DIR, name + ".torch.npz")
        tmp = None
        if not os.path.exists(tpath):
            if torch_mod is None:
                lines.append(f"{name:22s} (no stored torch output; torch not importable here)")
                continue
            tmp = tempfile.mkdtemp()
            tpath = os.path.join(tmp, name + ".torch.npz")
            cmd = [sys.executable, os.path.join(ROOT, "scripts", "torch_reference.py"),
                   os.path.join(CASES_DIR, name + ".in.npz"), tpath, "--layout", m["layout"]]
            if m["eval"]:
                cmd.append("--eval")
            if subprocess.run(cmd).returncode != 0:
                lines.append(f"{name:22s} torch refused")
                continue
        inp = load(os.path.join(CASES_DIR, name + ".in.npz"))
        ex, th = load(os.path.join(CASES_DIR, name + ".exact.npz")), load(tpath)
        axis = 1 if m["layout"] == "nchw" else inp["x"].ndim - 1
        C = inp["x"].shape[axis]
        with mpmath.workdps(30):
            tb = textbook(inp, not m["eval"], axis)
        for key in ("out", "dx", "dgamma", "dbeta", "running_mean", "running_var", "mean", "invstd"):
            if key not in ex or key not in th:
                continue
            e_arr, t_arr = ex[key], th[key]
            fmt = bo.format_of(e_arr.dtype)
            u, a, sc = error_stats(channel_major(t_arr, axis, C), channel_major(e_arr, axis, C),
                                   tb[key], fmt)
            ok = assert_close_ok(t_arr, e_arr, torch_mod)
            if m["well_conditioned"] and not ok:
                TORCH_FINDINGS.append(f"{name} {key}: torch fails assert_close against the exact "
                                      f"values (max {a:.3g} abs, {sc:.3g} u*scale)")
            lines.append(f"{name:22s} {'yes' if m['well_conditioned'] else 'no':3s} {key:13s} "
                         f"{str(e_arr.dtype):8s} {u:12.4g} {a:12.4g} {sc:12.4g}  {'pass' if ok else 'FAIL'}")
        if tmp:
            lines[-1] += "   (torch run on the fly; not stored)"
    lines += ["", "Well-conditioned cases where torch fails assert_close against the truth "
              "(a finding about torch, not an oracle failure):"] + \
             ["  " + f for f in TORCH_FINDINGS] + (["  none"] if not TORCH_FINDINGS else [])
    text = "\n".join(lines) + "\n"
    with open(os.path.join(CASES_DIR, "torch_vs_exact.txt"), "w") as f:
        f.write(text)
    print(text)


def main():
    t0 = time.time()
    test_rounding()
    with open(os.path.join(CASES_DIR, "manifest.json")) as f:
        manifest = json.load(f)
    print("200-digit textbook formulas vs the stored exact outputs:")
    for m in manifest:
        if m["name"] in ("nan_inf_f32", "nan_inf_bf16_f32"):     # non-finite: checked by check_nan_inf
            continue
        inp = load(os.path.join(CASES_DIR, m["name"] + ".in.npz"))
        ex = load(os.path.join(CASES_DIR, m["name"] + ".exact.npz"))
        compare_textbook(m["name"], inp, ex, not m["eval"], m["layout"])
    check_notebook_mean_tie()
    check_ties()
    check_ties_bf16()
    check_nan_inf()
    check_nan_inf("nan_inf_bf16_f32")
    torch_table(manifest)
    print(f"{len(FAILURES)} oracle/fixture failures, {len(TORCH_FINDINGS)} torch findings, "
          f"{time.time() - t0:.0f} s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

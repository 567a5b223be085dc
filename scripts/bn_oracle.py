#!/usr/bin/env python3
"""Independent exact reference ("oracle") for batch normalization, forward and backward.

    python3 scripts/bn_oracle.py IN.npz OUT.npz [--eval] [--layout nchw|nhwc] [--bfloat16 K1,K2]

This is the reference that bnfile's Swift engine is measured against, so it is written
for obviousness rather than speed, in pure Python (``fractions`` for the arithmetic,
``mpmath`` for the one irrational factor, numpy only to read and write .npz files).

Inputs (keys of IN.npz)
-----------------------
``x``            float16/bfloat16/32/64, rank 2..5. Channel axis 1 (layout nchw) or last (nhwc).
``gamma``        (C,) default ones  (in x's dtype)
``beta``         (C,) default zeros
``dout``         same shape as x; optional. Without it only the forward is computed.
``running_mean`` (C,) default zeros
``running_var``  (C,) default ones
``eps``          0-d float64, default 1e-5 (the double nearest 1e-5, used exactly)
``momentum``     0-d float64, default 0.1  (the double nearest 0.1, used exactly)

``bfloat16``     optional 1-d string array naming the members that hold bfloat16 (saved
                 by ml_dtypes as '<V2', two raw bytes each); --bfloat16 adds names.

Every input value v is taken exactly as ``Fraction(float(v))``; bfloat16 bits are
widened to float32 by this script itself (the bits moved to the upper half).

Mathematics (per channel c; M = number of values in the channel)
----------------------------------------------------------------
Training mode::

    mean = (sum x) / M                 var = sum (x - mean)^2 / M      (biased)
    W    = var + eps                   invstd = 1/sqrt(W)
    out_i   = beta + gamma*(x_i - mean) * invstd
    dbeta   = sum dout
    D       = sum dout_i*(x_i - mean)                     (rational)
    dgamma  = D * invstd                                  (= sum dout*xhat)
    dx_i    = [gamma/M * (M*dout_i - dbeta - (x_i-mean)*D/W)] * invstd
              (xhat_i*dgamma = (x_i-mean)*D/W exactly, because invstd^2 = 1/W)
    running_mean' = (1-m)*running_mean + m*mean
    running_var'  = (1-m)*running_var  + m*var*M/(M-1)   (unbiased)

Eval mode: mean := running_mean, W := running_var + eps, and::

    out_i  = beta + gamma*(x_i - running_mean) * invstd
    dx_i   = dout_i*gamma * invstd
    dgamma = [sum dout_i*(x_i - running_mean)] * invstd
    dbeta  = sum dout;  running stats returned unchanged.

Every output value is of the form  a + b*invstd  with a, b exact rationals, so exact
zeros stay exactly zero.  invstd is exact when W (in lowest terms) is a ratio of two
perfect squares; otherwise it is evaluated with mpmath at 100 significant decimal
digits, converted exactly to a Fraction, and bracketed by a rigorous relative error
bound.  Each output is rounded from both ends of that bracket; if the two roundings
differ (the true value is within ~1e-98 relative of a rounding boundary) the
evaluation is repeated with twice the digits until they agree.  Hence every output is
the exact real value rounded ONCE (see ``round_bits``).

Outputs (keys of OUT.npz)
-------------------------
``out`` (and ``dx`` when dout is given) in x's dtype, shape and layout;
``dgamma``, ``dbeta`` (when dout is given), ``running_mean``, ``running_var``,
``mean``, ``invstd`` of shape (C,) in gamma's dtype (x's dtype when gamma is absent).
bfloat16 outputs are written as '<V2' (ml_dtypes' bfloat16) and listed in a
``bfloat16`` member, as bnfile writes them.

Non-finite inputs are handled by ``nan_poisoned_outputs`` (one function, documented
there); M == 1 in training mode is an error, as in torch.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1

# Decimal digits used for the first evaluation of 1/sqrt(W) (doubled on demand).
INVSTD_DIGITS = 100

INPUT_KEYS = ("x", "gamma", "beta", "dout", "running_mean", "running_var", "eps", "momentum")
DECLARATION_KEY = "bfloat16"   # the member listing bfloat16 arrays
PER_CHANNEL_KEYS = ("gamma", "beta", "running_mean", "running_var")

# An "extended" value is either a Fraction (finite, exact) or one of the Python floats
# nan, inf, -inf.  Only the IEEE-summation outputs and the running statistics are ever
# computed on non-finite extended values; everything else is poisoned to NaN first.
NAN = float("nan")
INF = float("inf")


# ----------------------------------------------------------------------------------------
# Floating-point formats and correct rounding
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    """An IEEE 754 binary interchange format."""
    name: str
    p: int           # precision in bits, including the implicit leading bit
    emin: int        # exponent of the smallest normal number
    emax: int        # exponent of the largest finite number
    bits: int        # storage width
    dtype: object    # numpy dtype; None for bfloat16, whose dtype comes from ml_dtypes
    uint: np.dtype   # unsigned integer type of the same width (for bit patterns)

    @property
    def bias(self) -> int:
        return self.emax

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def inf_bits(self) -> int:
        return ((1 << (self.bits - self.p)) - 1) << (self.p - 1)

    @property
    def nan_bits(self) -> int:
        """The canonical quiet NaN (what numpy produces for float('nan'))."""
        return self.inf_bits | (1 << (self.p - 2))

    @property
    def max_finite(self) -> Fraction:
        return Fraction(((1 << self.p) - 1) * 2 ** (self.emax - self.p + 1))

    @property
    def min_subnormal(self) -> Fraction:
        return Fraction(1, 2 ** (self.p - 1 - self.emin))


FLOAT16 = Format("float16", 11, -14, 15, 16, np.dtype(np.float16), np.dtype(np.uint16))
FLOAT32 = Format("float32", 24, -126, 127, 32, np.dtype(np.float32), np.dtype(np.uint32))
FLOAT64 = Format("float64", 53, -1022, 1023, 64, np.dtype(np.float64), np.dtype(np.uint64))
BFLOAT16 = Format("bfloat16", 8, -126, 127, 16, None, np.dtype(np.uint16))
FORMATS = {f.dtype: f for f in (FLOAT16, FLOAT32, FLOAT64)}


def bfloat16_dtype() -> np.dtype:
    """ml_dtypes' bfloat16, imported only when a file holds bfloat16."""
    import ml_dtypes
    return np.dtype(ml_dtypes.bfloat16)


def is_bfloat16(dtype) -> bool:
    return np.dtype(dtype).name == "bfloat16"


def format_of(dtype) -> Format:
    if is_bfloat16(dtype):
        return BFLOAT16
    dt = np.dtype(dtype).newbyteorder("=")
    try:
        return FORMATS[dt]
    except KeyError:
        raise ValueError(f"unsupported dtype {np.dtype(dtype)} (need float16/bfloat16/32/64)") from None


def widened(a: np.ndarray) -> np.ndarray:
    """The same numbers in a numpy float type: bfloat16 bits moved into the upper half
    of float32 (exact by definition), other arrays as they are."""
    if not is_bfloat16(a.dtype):
        return a
    return (np.asarray(a).view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def floor_log2(q: Fraction) -> int:
    """floor(log2(q)) for a rational q > 0, with integers only."""
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()          # floor(log2 q) is e or e-1
    if (n << max(0, -e)) < (d << max(0, e)):     # q < 2^e
        e -= 1
    return e


def round_bits(q: Fraction, fmt: Format) -> int:
    """Bit pattern of the rational q rounded once to fmt, round-to-nearest-ties-to-even.

    Gradual underflow is exact (subnormals are rounded at the fixed quantum
    2^(emin-p+1)); a result whose magnitude rounds (with unbounded exponent) to
    2^(emax+1) or more overflows to +-inf, i.e. |q| >= max + ulp(max)/2 overflows,
    as IEEE 754 prescribes; q == 0 gives +0.0; a nonzero q that rounds to zero keeps
    its sign (-0.0 for negative q).
    """
    if q == 0:
        return 0
    sign = fmt.sign_bit if q < 0 else 0
    a = abs(q)
    # Quantum (ulp) of the binade of a; fixed at the subnormal quantum below 2^emin.
    qexp = max(floor_log2(a), fmt.emin) - (fmt.p - 1)
    num, den = a.numerator, a.denominator
    if qexp >= 0:
        den <<= qexp
    else:
        num <<= -qexp
    m, r = divmod(num, den)                      # a / 2^qexp = m + r/den
    if 2 * r > den or (2 * r == den and m & 1):  # nearest, ties to even
        m += 1
    if m == 0:                                   # underflow to a signed zero
        return sign
    if m == 1 << fmt.p:                          # carried into the next binade
        m >>= 1
        qexp += 1
    if m >= 1 << (fmt.p - 1):                    # normal number
        exponent = qexp + fmt.p - 1
        if exponent > fmt.emax:
            return sign | fmt.inf_bits
        return sign | ((exponent + fmt.bias) << (fmt.p - 1)) | (m - (1 << (fmt.p - 1)))
    return sign | m                              # subnormal: biased exponent 0


def round_ext_bits(v, fmt: Format) -> int:
    """round_bits for an extended value (Fraction, or float nan/+-inf)."""
    if isinstance(v, Fraction):
        return round_bits(v, fmt)
    if math.isnan(v):
        return fmt.nan_bits
    return fmt.inf_bits | (fmt.sign_bit if v < 0 else 0)


def bits_to_array(bits: list, fmt: Format, shape=None) -> np.ndarray:
    arr = np.array(bits, dtype=fmt.uint).view(bfloat16_dtype() if fmt is BFLOAT16 else fmt.dtype)
    return arr if shape is None else arr.reshape(shape)


def round_to(q: Fraction, dtype) -> np.generic:
    """The rational q rounded once to dtype (float16/32/64), as a numpy scalar."""
    fmt = format_of(dtype)
    return bits_to_array([round_bits(q, fmt)], fmt)[0]


def exact_value(v):
    """A float (numpy or Python) as an extended value: the exact Fraction, or nan/inf."""
    f = float(v)
    return Fraction(f) if math.isfinite(f) else f


# ----------------------------------------------------------------------------------------
# Extended-real arithmetic (IEEE semantics for the specials, exact otherwise)
# ----------------------------------------------------------------------------------------

def is_finite(v) -> bool:
    return isinstance(v, Fraction)


def ext_sum(values) -> object:
    """Sum of extended values as IEEE summation would give it in the limit of
    infinite precision: NaN if any term is NaN or both +inf and -inf occur, else the
    infinity if one occurs, else the exact rational sum."""
    total = Fraction(0)
    pos_inf = neg_inf = has_nan = False
    for v in values:
        if isinstance(v, Fraction):
            total += v
        elif math.isnan(v):
            has_nan = True
        elif v > 0:
            pos_inf = True
        else:
            neg_inf = True
    if has_nan or (pos_inf and neg_inf):
        return NAN
    if pos_inf:
        return INF
    if neg_inf:
        return -INF
    return total


def ext_mul(a, b) -> object:
    """Product of two extended values (0*inf = NaN, as in IEEE)."""
    if is_finite(a) and is_finite(b):
        return a * b
    if (not is_finite(a) and math.isnan(a)) or (not is_finite(b) and math.isnan(b)):
        return NAN
    if a == 0 or b == 0:
        return NAN
    return INF if (a > 0) == (b > 0) else -INF


def ext_div_int(a, n: int) -> object:
    """a / n for a positive integer n."""
    return a / n if is_finite(a) else a


# ----------------------------------------------------------------------------------------
# Non-finite inputs: THE rules (the Swift engine must implement exactly these)
# ----------------------------------------------------------------------------------------

def nan_poisoned_outputs(training: bool, x_finite: bool, dout_finite: bool,
                         gamma_finite: bool, beta_finite: bool,
                         running_mean_finite: bool, w_positive_finite: bool) -> frozenset:
    """Names of the outputs that are NaN for one channel.

    Arguments (all per channel):
      x_finite            every x value of the channel is finite
      dout_finite         every dout value of the channel is finite (True without dout)
      gamma_finite, beta_finite, running_mean_finite   that channel's parameter is finite
      w_positive_finite   W is a finite number > 0, where W = var + eps in training
                          (False when x is not finite) and running_var + eps in eval

    Rules:
      * Training, x not finite: invstd, out, dx, dgamma and running_var are NaN (they
        derive from the variance).
      * Eval, x or running_mean not finite: out and dgamma are NaN (x - running_mean
        enters only these).
      * W not finite-positive (W = 0, W < 0, eps or running_var non-finite): out, dx,
        dgamma are NaN.  invstd itself is then 1/sqrt(W) in IEEE: +inf for W == 0,
        +0.0 for W == +inf, NaN otherwise (training with non-finite x: NaN, above).
      * dout not finite: dx and dgamma are NaN.
      * gamma not finite: out, dx and dgamma are NaN (dgamma too, by decision of the
        brief, although mathematically it does not involve gamma).
      * beta not finite: out is NaN.
    Poisoning is per channel: the whole channel's out/dx is NaN, not single elements.

    Never poisoned; computed in extended arithmetic instead (ext_sum / ext_mul):
      * mean (training) = IEEE summation of x, divided by M: NaN if any NaN or both
        infinities occur, else the infinity, else exact;  mean (eval) = running_mean.
      * dbeta = IEEE summation of dout.
      * running_mean (training) = (1-m)*running_mean + m*mean, extended arithmetic.
      * running_var (training, finite x) = (1-m)*running_var + m*var*M/(M-1), extended.
      * Eval mode: running_mean and running_var are returned unchanged.
    """
    poisoned = set()
    if training:
        if not x_finite:
            poisoned |= {"invstd", "out", "dx", "dgamma", "running_var"}
    else:
        if not (x_finite and running_mean_finite):
            poisoned |= {"out", "dgamma"}
    if not w_positive_finite:
        poisoned |= {"out", "dx", "dgamma"}
    if not dout_finite:
        poisoned |= {"dx", "dgamma"}
    if not gamma_finite:
        poisoned |= {"out", "dx", "dgamma"}
    if not beta_finite:
        poisoned |= {"out"}
    return frozenset(poisoned)


def ieee_invsqrt(w) -> object:
    """1/sqrt(W) for a W that is not a finite positive number (IEEE semantics)."""
    if is_finite(w):
        return INF if w == 0 else NAN          # W == 0 -> +inf; W < 0 -> NaN
    if math.isnan(w) or w < 0:
        return NAN
    return Fraction(0)                         # W == +inf -> +0.0


# ----------------------------------------------------------------------------------------
# invstd = 1/sqrt(W): exact when possible, otherwise a rigorous bracket
# ----------------------------------------------------------------------------------------

class InvSqrt:
    """1/sqrt(W) for a finite rational W > 0.

    ``exact`` is the Fraction value when W's numerator and denominator (lowest terms)
    are both perfect squares, else None.  ``bracket(digits)`` returns rationals
    (lo, hi) with lo <= 1/sqrt(W) <= hi, from an mpmath evaluation at `digits`
    significant decimal digits.
    """

    def __init__(self, w: Fraction):
        assert isinstance(w, Fraction) and w > 0
        self.w = w
        rn, rd = math.isqrt(w.numerator), math.isqrt(w.denominator)
        self.exact = Fraction(rd, rn) if (rn * rn == w.numerator and rd * rd == w.denominator) else None
        self._brackets = {}

    def bracket(self, digits: int):
        if digits not in self._brackets:
            with mpmath.workdps(digits):
                prec = mpmath.mp.prec
                # Four correctly rounded operations (two conversions, division, sqrt)
                # plus the reciprocal: relative error < 5 * 2^-prec.  Use 2^(8-prec).
                w = mpmath.mpf(self.w.numerator) / mpmath.mpf(self.w.denominator)
                s = mpmath.mpf(1) / mpmath.sqrt(w)
            assert s > 0                          # (mpf.man is unsigned)
            man, exp = int(s.man), int(s.exp)
            mid = Fraction(man * 2 ** exp) if exp >= 0 else Fraction(man, 2 ** -exp)
            delta = Fraction(1, 2 ** (prec - 8))
            self._brackets[digits] = (mid * (1 - delta), mid * (1 + delta), mid)
        return self._brackets[digits]


def round_affine_bits(a: Fraction, b: Fraction, inv: InvSqrt, fmt: Format) -> int:
    """Bits of the real number a + b/sqrt(W) (inv = InvSqrt(W)) rounded once to fmt."""
    if b == 0:
        return round_bits(a, fmt)
    if inv.exact is not None:
        return round_bits(a + b * inv.exact, fmt)
    digits = INVSTD_DIGITS
    while True:
        lo, hi, _ = inv.bracket(digits)
        r_lo = round_bits(a + b * lo, fmt)
        r_hi = round_bits(a + b * hi, fmt)
        if r_lo == r_hi:            # rounding is monotone: the whole bracket agrees
            return r_lo
        digits *= 2                 # within ~1e-98 of a boundary: sharpen and retry


# ----------------------------------------------------------------------------------------
# Loading, layout, and the per-channel computation
# ----------------------------------------------------------------------------------------

@dataclass
class Problem:
    x: np.ndarray
    layout: str
    training: bool
    gamma: list      # per-channel extended values
    beta: list
    running_mean: list
    running_var: list
    dout: np.ndarray | None
    eps: object
    momentum: object
    x_format: Format
    p_format: Format

    @property
    def channel_axis(self) -> int:
        return 1 if self.layout == "nchw" else self.x.ndim - 1

    @property
    def channels(self) -> int:
        return self.x.shape[self.channel_axis]


def channel_rows(a: np.ndarray, axis: int) -> list:
    """The values of each channel as lists of extended values, channel-major."""
    rows = np.moveaxis(widened(a), axis, 0).reshape(a.shape[axis], -1)
    return [[exact_value(v) for v in row.tolist()] for row in rows]


def from_channel_rows(bits: list, shape: tuple, axis: int, fmt: Format) -> np.ndarray:
    """Inverse of channel_rows for lists of bit patterns."""
    moved = (shape[axis],) + tuple(s for i, s in enumerate(shape) if i != axis)
    arr = bits_to_array([b for row in bits for b in row], fmt, moved)
    return np.ascontiguousarray(np.moveaxis(arr, 0, axis))


def declare_bfloat16(data: dict, extra=()) -> dict:
    """Views the '<V2' members the file's `bfloat16` member (plus `extra`) names as
    bfloat16; removes the declaration itself."""
    names = set(extra)
    if DECLARATION_KEY in data and data[DECLARATION_KEY].dtype.kind in "US":
        names |= {str(n) for n in np.atleast_1d(data.pop(DECLARATION_KEY)).tolist()}
    for name in sorted(names):
        if name not in data:
            continue
        a = data[name]
        if a.dtype.kind != "V" or a.dtype.itemsize != 2:
            raise ValueError(f"{name} is declared bfloat16 but has dtype {a.dtype} (expected '<V2')")
        data[name] = a.view(bfloat16_dtype())
    return data


def load_problem(path: str, training: bool = True, layout: str = "nchw", bfloat16=()) -> Problem:
    """Read and validate an input .npz; absent keys get their defaults."""
    if layout not in ("nchw", "nhwc"):
        raise ValueError(f"layout must be nchw or nhwc, not {layout!r}")
    with np.load(path, allow_pickle=False) as z:
        data = declare_bfloat16({k: z[k] for k in z.files}, bfloat16)
    unknown = set(data) - set(INPUT_KEYS)
    if unknown:
        raise ValueError(f"unknown keys in {path}: {sorted(unknown)}")
    if "x" not in data:
        raise ValueError(f"{path} has no 'x'")
    x = data["x"]
    if not 2 <= x.ndim <= 5:
        raise ValueError(f"x must have rank 2..5, has shape {x.shape}")
    x_format = format_of(x.dtype)
    axis = 1 if layout == "nchw" else x.ndim - 1
    C = x.shape[axis]
    p_format = format_of(data["gamma"].dtype) if "gamma" in data else x_format

    def per_channel(key, default):
        if key not in data:
            return [Fraction(default)] * C
        a = data[key]
        format_of(a.dtype)
        if a.shape != (C,):
            raise ValueError(f"{key} has shape {a.shape}, expected ({C},)")
        return [exact_value(v) for v in widened(a).tolist()]

    def scalar(key, default):
        if key not in data:
            return Fraction(default)
        a = data[key]
        format_of(a.dtype)
        if a.size != 1:
            raise ValueError(f"{key} must hold one value, has shape {a.shape}")
        return exact_value(widened(a).reshape(()).item())

    dout = data.get("dout")
    if dout is not None:
        format_of(dout.dtype)
        if dout.shape != x.shape:
            raise ValueError(f"dout has shape {dout.shape}, x has {x.shape}")
    return Problem(x=x, layout=layout, training=training,
                   gamma=per_channel("gamma", 1), beta=per_channel("beta", 0),
                   running_mean=per_channel("running_mean", 0),
                   running_var=per_channel("running_var", 1),
                   dout=dout, eps=scalar("eps", DEFAULT_EPS),
                   momentum=scalar("momentum", DEFAULT_MOMENTUM),
                   x_format=x_format, p_format=p_format)


def compute_channel(pb: Problem, c: int, xs: list, gs: list | None) -> dict:
    """All outputs of channel c as bit patterns: per-element lists for 'out'/'dx',
    single ints for the per-channel keys."""
    M = len(xs)
    fx, fp = pb.x_format, pb.p_format
    gamma, beta = pb.gamma[c], pb.beta[c]
    rm, rv, eps, m = pb.running_mean[c], pb.running_var[c], pb.eps, pb.momentum
    x_finite = all(is_finite(v) for v in xs)
    dout_finite = gs is None or all(is_finite(v) for v in gs)

    # Statistics: exact rationals when x is finite, else extended values.
    if pb.training:
        mean = ext_div_int(ext_sum(xs), M)
        if x_finite:
            dev = [v - mean for v in xs]
            var = sum(d * d for d in dev) / M
            w = ext_sum([var, eps])
            var_unbiased = var * M / (M - 1)
        else:
            dev = None
            var = var_unbiased = w = NAN
        one_minus_m = ext_sum([Fraction(1), ext_mul(Fraction(-1), m)])
        new_rm = ext_sum([ext_mul(one_minus_m, rm), ext_mul(m, mean)])
        new_rv = ext_sum([ext_mul(one_minus_m, rv), ext_mul(m, var_unbiased)])
    else:
        mean = rm
        dev = [v - rm for v in xs] if (x_finite and is_finite(rm)) else None
        w = ext_sum([rv, eps])
        new_rm, new_rv = rm, rv

    w_ok = is_finite(w) and w > 0
    poisoned = nan_poisoned_outputs(pb.training, x_finite, dout_finite, is_finite(gamma),
                                    is_finite(beta), is_finite(rm), w_ok)
    inv = InvSqrt(w) if w_ok else None
    nan_x, nan_p = fx.nan_bits, fp.nan_bits
    res = {"mean": round_ext_bits(mean, fp),
           "running_mean": round_ext_bits(new_rm, fp),
           "running_var": fp.nan_bits if "running_var" in poisoned else round_ext_bits(new_rv, fp)}

    if "invstd" in poisoned:
        res["invstd"] = nan_p
    elif inv is not None:
        res["invstd"] = round_affine_bits(Fraction(0), Fraction(1), inv, fp)
    else:
        res["invstd"] = round_ext_bits(ieee_invsqrt(w), fp)

    if "out" in poisoned:
        res["out"] = [nan_x] * M
    else:
        res["out"] = [round_affine_bits(beta, gamma * d, inv, fx) for d in dev]

    if gs is None:
        return res
    res["dbeta"] = round_ext_bits(ext_sum(gs), fp)
    if "dgamma" in poisoned:
        res["dgamma"] = nan_p
    else:
        D = sum(g * d for g, d in zip(gs, dev))
        res["dgamma"] = round_affine_bits(Fraction(0), D, inv, fp)
    if "dx" in poisoned:
        res["dx"] = [nan_x] * M
    elif pb.training:
        dbeta = sum(gs)
        D_over_w = sum(g * d for g, d in zip(gs, dev)) / w
        k = gamma / M
        res["dx"] = [round_affine_bits(Fraction(0), k * (M * g - dbeta - d * D_over_w), inv, fx)
                     for g, d in zip(gs, dev)]
    else:
        res["dx"] = [round_affine_bits(Fraction(0), g * gamma, inv, fx) for g in gs]
    return res


def solve(pb: Problem) -> dict:
    """All outputs of a problem as numpy arrays (the contents of OUT.npz)."""
    axis, C = pb.channel_axis, pb.channels
    if pb.training and pb.x.size // max(C, 1) <= 1:
        raise ValueError("Expected more than 1 value per channel when training")
    if pb.x.size == 0:
        raise ValueError("x is empty")
    xrows = channel_rows(pb.x, axis)
    grows = channel_rows(pb.dout, axis) if pb.dout is not None else [None] * C
    per = [compute_channel(pb, c, xrows[c], grows[c]) for c in range(C)]
    out = {"out": from_channel_rows([r["out"] for r in per], pb.x.shape, axis, pb.x_format)}
    keys = ["running_mean", "running_var", "mean", "invstd"]
    if pb.dout is not None:
        out["dx"] = from_channel_rows([r["dx"] for r in per], pb.x.shape, axis, pb.x_format)
        keys = ["dgamma", "dbeta"] + keys
    for k in keys:
        out[k] = bits_to_array([r[k] for r in per], pb.p_format)
    return out


def run(in_path: str, out_path: str, training: bool = True, layout: str = "nchw", bfloat16=()) -> dict:
    result = solve(load_problem(in_path, training, layout, bfloat16))
    declared = [k for k, a in result.items() if is_bfloat16(a.dtype)]
    np.savez(out_path, **result, **({DECLARATION_KEY: np.array(declared)} if declared else {}))
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--eval", action="store_true", help="eval mode (use running stats)")
    ap.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw")
    ap.add_argument("--bfloat16", default="", help="comma-separated '<V2' keys holding bfloat16")
    args = ap.parse_args(argv)
    try:
        run(args.input, args.output, training=not args.eval, layout=args.layout,
            bfloat16=[k for k in args.bfloat16.split(",") if k])
    except ValueError as e:
        print(f"bn_oracle: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

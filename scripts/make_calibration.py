#!/usr/bin/env python3
"""Generate the calibration suite in data/calibration/: correct and buggy batch norms.

    python3 scripts/make_calibration.py            # numpy only: every style but torch-cpu
    /path/to/torch/python scripts/make_calibration.py   # also the torch-cpu style
    python3 scripts/make_calibration.py --check    # also print the sanity tables
    python3 scripts/make_calibration.py --out /tmp/cal --only float16   # a scratch run

Without torch, the torch-cpu results of an earlier run are kept (when the data set's
inputs come out the same), so a numpy-only run changes nothing that it cannot remake.

The suite is the evidence that `bnfile diff --inputs` tells rounding from mistakes: every
correct implementation must be judged within rounding, every bug beyond it (and named),
except the cases listed as invisible at the data's precision.

It writes, for each data set D (one function per data set, table DATASETS):
    D.npz        the inputs, in bnfile's schema, with the settings as 0-d arrays
    D.IMPL.npz   implementation IMPL's results in its working dtype
and manifest.json (one record per D x IMPL) and nothing else; README.md is hand-written.

Implementations are functions f(d, w) of the input arrays d and a working dtype w
(table CORRECT and BUGS). Each returns out, dx, dgamma, dbeta, running_mean,
running_var in w; `finish` rounds them to the file's dtypes (out, dx: x's dtype;
per-channel keys: gamma's). float16 data is computed as torch does: in float32 (w is
float32), with out and dx rounded to float16 at the end.

Every bug is a correct style (two_pass) with one mistake injected (class Mistake). A
bug's *effect* is measured by evaluating the same mistake in long double
(np.longdouble, 64-bit significand) and comparing it with the long double reference,
in units of a first-order rounding bound of each value (`rounding_bounds`). A bug
whose effect on every key it affects is below one such rounding is recorded as
invisible at the data's precision, with the figure.

Random inputs come from fixed seeds, and numpy writes fixed zip timestamps, so a run
reproduces the committed files byte for byte (torch-cpu's with the same torch build).
The long double reference needs an x86 80-bit (or wider) long double; elsewhere the
script refuses to run rather than measure with float64.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
from fractions import Fraction

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "data", "calibration")
f16, f32, f64, ext = np.float16, np.float32, np.float64, np.longdouble
KEYS = ("out", "dx", "dgamma", "dbeta", "running_mean", "running_var")
CHANNEL_KEYS = ("dgamma", "dbeta", "running_mean", "running_var")


# ----------------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------------

def working_dtype(d):
    """The dtype an implementation computes in: x's, except float32 for float16 data."""
    return f32 if d["x"].dtype == f16 else d["x"].dtype.type


@dataclasses.dataclass
class Prepared:
    """The inputs cast to the working dtype w, with the shapes every style needs."""
    x: np.ndarray
    dout: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    rm: np.ndarray
    rv: np.ndarray
    eps: float
    m: float
    w: type

    @property
    def axes(self):
        return (0,) + tuple(range(2, self.x.ndim))

    @property
    def M(self):
        return self.x.size // self.x.shape[1]

    @property
    def C(self):
        return self.x.shape[1]

    def bc(self, v):
        """A (C,) array shaped to broadcast against x."""
        return np.asarray(v).reshape((1, self.C) + (1,) * (self.x.ndim - 2))


def prepare(d, w):
    a = lambda k: np.asarray(d[k]).astype(w)  # noqa: E731
    return Prepared(a("x"), a("dout"), a("gamma"), a("beta"), a("running_mean"), a("running_var"),
                    float(d["eps"]), float(d["momentum"]), w)


def rows(a):
    """(C, M) view of a channel-axis-1 array: each row one channel, in memory order."""
    return np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)


def from_rows(r, shape):
    return np.moveaxis(r.reshape((shape[1], shape[0]) + tuple(shape[2:])), 0, 1)


def running_update(p, mean, var, keras=False):
    """torch: (1-m)*run + m*batch with the unbiased batch variance var*M/(M-1).
    keras=True is the wrong-momentum mistake: m*run + (1-m)*batch with torch's m."""
    unbiased = var * p.w(p.M) / p.w(p.M - 1)
    keep, take = (p.m, 1 - p.m) if keras else (1 - p.m, p.m)
    return {"running_mean": keep * p.rm + take * mean, "running_var": keep * p.rv + take * unbiased}


def compact_backward(p, xhat, invstd, dbeta, dgamma):
    """dx = gamma*invstd/M * (M*dout - dbeta - xhat*dgamma), per channel."""
    return p.bc(p.gamma * invstd / p.w(p.M)) * (p.w(p.M) * p.dout - p.bc(dbeta) - xhat * p.bc(dgamma))


def rowwise_style(p, total):
    """Mean-first two-pass statistics and compact backward with the reduction `total`
    ((C, M) -> (C,)) used for every sum; shared by the sequential and tree styles."""
    shape, M = p.x.shape, p.w(p.M)
    xr, gr = rows(p.x), rows(p.dout)
    mean = total(xr) / M
    dev = xr - mean[:, None]
    var = total(dev * dev) / M
    invstd = 1 / np.sqrt(var + p.eps)
    xhat = dev * invstd[:, None]
    out = p.gamma[:, None] * xhat + p.beta[:, None]
    dbeta = total(gr)
    dgamma = total(gr * xhat)
    dx = (p.gamma * invstd / M)[:, None] * (M * gr - dbeta[:, None] - xhat * dgamma[:, None])
    res = {"out": from_rows(out, shape), "dx": from_rows(dx, shape), "dgamma": dgamma, "dbeta": dbeta}
    return res | running_update(p, mean, var)


def finish(res, d):
    """Round an implementation's results to the file dtypes (see the module doc)."""
    px, pp = d["x"].dtype, d["gamma"].dtype
    return {k: np.ascontiguousarray(np.asarray(res[k]).astype(pp if k in CHANNEL_KEYS else px))
            for k in KEYS}


# ----------------------------------------------------------------------------------
# Correct styles
# ----------------------------------------------------------------------------------

def notebook(d, w):
    """The notebook's staged forward and backward, line by line, for any rank with the
    channel axis 1 (gamma and beta reshaped to broadcast over that axis; np.ones in w
    rather than float64 so the whole computation stays in w)."""
    p = prepare(d, w)
    x, dout, eps, axes, shape = p.x, p.dout, p.eps, p.axes, p.x.shape
    gamma, beta = p.bc(p.gamma), p.bc(p.beta)
    inv_m = 1.
    for a in axes:
        inv_m = inv_m / shape[a]                      # the notebook's 1./N/H/W
    # forward
    mu = inv_m * np.sum(x, axis=axes, keepdims=True)
    xmu = x - mu
    sq = xmu ** 2
    var = inv_m * np.sum(sq, axis=axes, keepdims=True)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1. / sqrtvar
    xhat = xmu * ivar
    gammax = gamma * xhat
    out = gammax + beta
    # backward
    dbeta = np.sum(dout, axis=axes)
    dgammax = dout
    dgamma = np.sum(dgammax * xhat, axis=axes)
    dxhat = dgammax * gamma
    divar = np.sum(dxhat * xmu, axis=axes, keepdims=True)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1. / (sqrtvar ** 2) * divar
    dvar = 0.5 * 1. / np.sqrt(var + eps) * dsqrtvar
    dsq = inv_m * np.ones(shape, dtype=w) * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = (dxmu1 + dxmu2)
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=axes, keepdims=True)
    dx2 = inv_m * np.ones(shape, dtype=w) * dmu
    dx = dx1 + dx2
    res = {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    return res | running_update(p, mu.reshape(-1), var.reshape(-1))


@dataclasses.dataclass(frozen=True)
class Mistake:
    """One mistake to inject into two_pass; the default is none (the correct style)."""
    eps_outside_sqrt: bool = False        # 1/(sqrt(var) + eps)
    unbiased_norm: bool = False           # var*M/(M-1) used to normalise
    eps: float | None = None              # another eps
    axes: str = "channel"                 # "all" or "per-sample" statistics
    xhat_precision: type | None = None    # xhat rounded to this dtype
    unstable_variance: bool = False       # E[x^2]-E[x]^2 in the data's working dtype
    drop_dbeta_term: bool = False         # dx without -dbeta
    drop_dgamma_term: bool = False        # dx without -xhat*dgamma
    uncentred_dgamma: bool = False        # dgamma = sum(dout*x)*invstd
    grad_factor: int = 1                  # dgamma, dbeta accumulated this many times
    eval_statistics: bool = False         # running statistics used in training
    keras_momentum: bool = False          # m*run + (1-m)*batch


def statistic_axes(p, mk):
    return {"channel": p.axes, "all": tuple(range(p.x.ndim)),
            "per-sample": tuple(range(1, p.x.ndim))}[mk.axes]


def batch_statistics(p, mk, data_w):
    """mean and biased var, keepdims-shaped, over the (possibly wrong) axes."""
    axes = statistic_axes(p, mk)
    mean = np.mean(p.x, axis=axes, keepdims=True)
    if mk.unstable_variance:  # the cancellation happens in the data's working precision;
        xs = p.x.astype(data_w)  # a negative result is clamped to 0, as Flax does
        var = (np.mean(xs * xs, axis=axes, keepdims=True) - np.mean(xs, axis=axes, keepdims=True) ** 2)
        return mean, np.maximum(var, 0).astype(p.w)
    dev = p.x - mean
    return mean, np.mean(dev * dev, axis=axes, keepdims=True)


def two_pass(d, w, mk=Mistake()):
    """Mean first, then the mean of squared deviations; compact backward.

    With a Mistake, the same code with that one mistake (the bug styles). Wrong axes
    normalise over other axes and differentiate that function correctly:
    dx = invstd/M'*(M'*g - sum' g - xhat*sum'(g*xhat)), g = gamma*dout, sums over them."""
    p = prepare(d, w)
    mean, var = batch_statistics(p, mk, working_dtype(d))
    norm_mean, norm_var = (p.bc(p.rm), p.bc(p.rv)) if mk.eval_statistics else (mean, var)
    if mk.unbiased_norm:
        norm_var = norm_var * w(p.M) / w(p.M - 1)
    eps = p.eps if mk.eps is None else mk.eps
    invstd = 1 / (np.sqrt(norm_var) + eps) if mk.eps_outside_sqrt else 1 / np.sqrt(norm_var + eps)
    xhat = (p.x - norm_mean) * invstd
    if mk.xhat_precision is not None:
        xhat = xhat.astype(mk.xhat_precision).astype(w)
    out = p.bc(p.gamma) * xhat + p.bc(p.beta)
    dbeta = np.sum(p.dout, axis=p.axes)
    centred = p.x * invstd if mk.uncentred_dgamma else xhat
    dgamma = np.sum(p.dout * centred, axis=p.axes)
    if mk.eval_statistics:
        dx = p.dout * p.bc(p.gamma) * invstd
    elif mk.axes != "channel":
        dx = wrong_axes_backward(p, statistic_axes(p, mk), xhat, invstd)
    else:
        inv = invstd.reshape(-1)
        zero = np.zeros(p.C, w)
        term_b = zero if mk.drop_dbeta_term else dbeta
        term_g = zero if mk.drop_dgamma_term else np.sum(p.dout * xhat, axis=p.axes)
        dx = compact_backward(p, xhat, inv, term_b, term_g)
    res = {"out": out, "dx": dx, "dgamma": mk.grad_factor * dgamma, "dbeta": mk.grad_factor * dbeta}
    if mk.eval_statistics:
        return res | {"running_mean": p.rm, "running_var": p.rv}
    per_channel = mk.axes == "per-sample"   # running stats computed apart, correctly
    if per_channel:
        mean, var = batch_statistics(p, Mistake(), working_dtype(d))
    stat = lambda v: np.broadcast_to(v.reshape(-1), (p.C,)) if v.size in (1, p.C) else None  # noqa: E731
    return res | running_update(p, stat(mean), stat(var), keras=mk.keras_momentum)


def wrong_axes_backward(p, axes, xhat, invstd):
    g = p.dout * p.bc(p.gamma)
    m = w_count(p, axes)
    return invstd / m * (m * g - np.sum(g, axis=axes, keepdims=True)
                         - xhat * np.sum(g * xhat, axis=axes, keepdims=True))


def w_count(p, axes):
    return p.w(math.prod(p.x.shape[a] for a in axes))


def alpha_beta(d, w):
    """torch CPU's forms: out = x*alpha + (beta - mean*alpha), alpha = gamma*invstd;
    backward dx = (dout - dbeta/M - (x-mean)*k) * invstd*gamma, k = dot*invstd^2/M."""
    p = prepare(d, w)
    M = w(p.M)
    mean = np.sum(p.x, axis=p.axes) / M
    dev = p.x - p.bc(mean)
    var = np.sum(dev * dev, axis=p.axes) / M
    invstd = 1 / np.sqrt(var + p.eps)
    alpha = p.gamma * invstd
    out = p.x * p.bc(alpha) + p.bc(p.beta - mean * alpha)
    dbeta = np.sum(p.dout, axis=p.axes)
    dot = np.sum(p.dout * dev, axis=p.axes)
    k = dot * invstd * invstd / M
    dx = (p.dout - p.bc(dbeta / M) - dev * p.bc(k)) * p.bc(invstd * p.gamma)
    res = {"out": out, "dx": dx, "dgamma": dot * invstd, "dbeta": dbeta}
    return res | running_update(p, mean, var)


def sequential(d, w):
    """Every sum a plain left-to-right loop in w (np.add.accumulate is sequential)."""
    return rowwise_style(prepare(d, w), lambda r: np.add.accumulate(r, axis=1, dtype=w)[:, -1])


def tree_sum(r):
    """Recursive halving: pad each row with zeros to a power of two (adding 0 is exact),
    then add the second half to the first until one column is left."""
    n = 1 << max(0, (r.shape[1] - 1).bit_length())
    a = np.concatenate([r, np.zeros((r.shape[0], n - r.shape[1]), r.dtype)], axis=1)
    while a.shape[1] > 1:
        h = a.shape[1] // 2
        a = a[:, :h] + a[:, h:]
    return a[:, 0]


def pairwise_tree(d, w):
    """Every sum an explicit tree reduction in w."""
    return rowwise_style(prepare(d, w), tree_sum)


def welford(d, w):
    """Welford's online mean and variance (one pass, all channels at once), then the
    compact backward."""
    p = prepare(d, w)
    xr = rows(p.x)
    mean = np.zeros(p.C, w)
    m2 = np.zeros(p.C, w)
    for k in range(xr.shape[1]):
        delta = xr[:, k] - mean
        mean = mean + delta / w(k + 1)
        m2 = m2 + delta * (xr[:, k] - mean)
    var = m2 / w(p.M)
    return compact_style(p, mean, var)


def compact_style(p, mean, var):
    """Normalisation and compact backward from given (C,) statistics."""
    invstd = 1 / np.sqrt(var + p.eps)
    xhat = (p.x - p.bc(mean)) * p.bc(invstd)
    out = p.bc(p.gamma) * xhat + p.bc(p.beta)
    dbeta = np.sum(p.dout, axis=p.axes)
    dgamma = np.sum(p.dout * xhat, axis=p.axes)
    res = {"out": out, "dx": compact_backward(p, xhat, invstd, dbeta, dgamma),
           "dgamma": dgamma, "dbeta": dbeta}
    return res | running_update(p, mean, var)


def sumsq_stable(d, w):
    """var = E[x^2] - E[x]^2 where that is stable: accumulated in float64 for float32
    work (x^2 of a float32 is exact in float64), exactly (fractions) for float64 work;
    the statistics are rounded to w, then the compact backward."""
    p = prepare(d, w)
    xr = rows(p.x)
    if w == f32:
        wide = xr.astype(f64)
        mean = np.mean(wide, axis=1)
        var = np.mean(wide * wide, axis=1) - mean * mean
    else:
        mean, var = np.empty(p.C, f64), np.empty(p.C, f64)
        for c in range(p.C):
            vals = [Fraction(float(v)) for v in xr[c]]
            s1 = sum(vals)
            s2 = sum(v * v for v in vals)
            mean[c] = float(s1 / len(vals))
            var[c] = float(s2 / len(vals) - (s1 / len(vals)) ** 2)
    return compact_style(p, mean.astype(w), var.astype(w))


def torch_cpu(d, w):
    """torch.nn.BatchNorm{1,2,3}d on the CPU, one thread, training mode (float16 data:
    float32 parameters, as torch's mixed-type kernel takes them)."""
    from torch_export import torch_results
    return torch_results(d)


def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


CORRECT = {"notebook": notebook, "two-pass": two_pass, "alpha-beta": alpha_beta,
           "sequential": sequential, "welford": welford, "sumsq-stable": sumsq_stable,
           "pairwise-tree": pairwise_tree}
if torch_available():
    CORRECT["torch-cpu"] = torch_cpu


# ----------------------------------------------------------------------------------
# Bugs: two_pass with one mistake each
# ----------------------------------------------------------------------------------

def bug_eps_outside_sqrt(d, w):
    return two_pass(d, w, Mistake(eps_outside_sqrt=True))


def bug_unbiased_variance(d, w):
    return two_pass(d, w, Mistake(unbiased_norm=True))


def bug_wrong_eps(d, w):
    return two_pass(d, w, Mistake(eps=1e-3))


def bug_wrong_axes_all(d, w):
    return two_pass(d, w, Mistake(axes="all"))


def bug_wrong_axes_per_sample(d, w):
    return two_pass(d, w, Mistake(axes="per-sample"))


def bug_reduced_precision(d, w):
    return two_pass(d, w, Mistake(xhat_precision=f16))


def bug_uncentred_dgamma(d, w):
    return two_pass(d, w, Mistake(uncentred_dgamma=True))


def bug_missing_dbeta_term(d, w):
    return two_pass(d, w, Mistake(drop_dbeta_term=True))


def bug_missing_dgamma_term(d, w):
    return two_pass(d, w, Mistake(drop_dgamma_term=True))


def bug_accumulated_gradients(d, w):
    return two_pass(d, w, Mistake(grad_factor=2))


def bug_unstable_variance(d, w):
    return two_pass(d, w, Mistake(unstable_variance=True))


def bug_wrong_mode(d, w):
    return two_pass(d, w, Mistake(eval_statistics=True))


def bug_wrong_momentum(d, w):
    return two_pass(d, w, Mistake(keras_momentum=True))


@dataclasses.dataclass(frozen=True)
class Bug:
    name: str            # the bug catalogue's name (what diff should print)
    function: object
    affects: tuple
    parameter: dict | None = None
    note: str = ""


FORWARD = ("out", "dx", "dgamma")
RUNNING = ("running_mean", "running_var")
BUGS = {
    "bug-eps-outside-sqrt": Bug("eps-outside-sqrt", bug_eps_outside_sqrt, FORWARD),
    "bug-unbiased-variance": Bug("unbiased-variance", bug_unbiased_variance, FORWARD),
    "bug-wrong-eps": Bug("wrong-eps", bug_wrong_eps, FORWARD, {"eps": 1e-3}),
    "bug-wrong-reduction-axes": Bug("wrong-reduction-axes", bug_wrong_axes_all, FORWARD + RUNNING,
                                    {"axes": "all"}, "statistics over every axis, the channel's too"),
    "bug-wrong-reduction-axes-per-sample": Bug("wrong-reduction-axes", bug_wrong_axes_per_sample, FORWARD,
                                               {"axes": "per-sample"},
                                               "statistics per sample over axes 1..; running stats correct"),
    "bug-reduced-precision": Bug("reduced-precision", bug_reduced_precision, FORWARD,
                                 {"precision": "float16"}, "xhat rounded to float16"),
    "bug-uncentred-dgamma": Bug("uncentred-dgamma", bug_uncentred_dgamma, ("dgamma",),
                                None, "dgamma = sum(dout*x)*invstd; dx uses the right sum"),
    "bug-missing-dbeta-term": Bug("missing-dbeta-term", bug_missing_dbeta_term, ("dx",)),
    "bug-missing-dgamma-term": Bug("missing-dgamma-term", bug_missing_dgamma_term, ("dx",)),
    "bug-accumulated-gradients": Bug("accumulated-gradients", bug_accumulated_gradients,
                                     ("dgamma", "dbeta"), {"factor": 2}),
    "bug-unstable-variance": Bug("unstable-variance", bug_unstable_variance, FORWARD + ("running_var",),
                                 None, "var = E[x^2]-E[x]^2 in the working dtype"),
    "bug-wrong-mode": Bug("wrong-mode", bug_wrong_mode, FORWARD + RUNNING, {"mode": "eval"},
                          "running statistics normalise a training step; running stats not updated"),
    "bug-wrong-momentum": Bug("wrong-momentum", bug_wrong_momentum, RUNNING,
                              {"momentum": 0.1, "convention": "keras"}, "m*run + (1-m)*batch"),
}


# ----------------------------------------------------------------------------------
# Data sets
# ----------------------------------------------------------------------------------

def inputs(x, dout, gamma, beta, running_mean, running_var, eps=1e-5, momentum=0.1):
    """bnfile's input schema: arrays plus the settings as 0-d arrays."""
    return {"x": x, "dout": dout, "gamma": gamma, "beta": beta,
            "running_mean": running_mean, "running_var": running_var,
            "eps": np.array(eps, f64), "momentum": np.array(momentum, f64),
            "momentum_convention": np.array("torch"), "running_var_convention": np.array("unbiased"),
            "training": np.array(True), "layout": np.array("nchw")}


def random_parameters(rs, C, dtype, gamma_spread=0.1, beta_spread=0.1):
    """gamma ~ 1 + s*N, beta ~ s*N, running_mean ~ 0.1*N, running_var ~ U(0.5, 2)."""
    return ((1 + gamma_spread * rs.standard_normal(C)).astype(dtype),
            (beta_spread * rs.standard_normal(C)).astype(dtype),
            (0.1 * rs.standard_normal(C)).astype(dtype),
            rs.uniform(0.5, 2.0, C).astype(dtype))


def normal_case(seed, shape, offset=0.0, scale=1.0, dtype=f32, pdtype=None):
    rs = np.random.default_rng(seed)
    x = (offset + scale * rs.standard_normal(shape)).astype(dtype)
    dout = rs.standard_normal(shape).astype(dtype)
    return inputs(x, dout, *random_parameters(rs, shape[1], pdtype or dtype))


def fresh_init():
    """A freshly initialised layer: gamma 1, beta 0, running stats 0 and 1; x ~ N(0,1)."""
    rs = np.random.default_rng(101)
    shape = (8, 4, 6, 6)
    x, dout = (rs.standard_normal(shape).astype(f32) for _ in range(2))
    return inputs(x, dout, np.ones(4, f32), np.zeros(4, f32), np.zeros(4, f32), np.ones(4, f32))


def uniform():
    """x ~ U(0,1); gamma ~ 1 + 0.1*N, beta ~ 0.01*N."""
    rs = np.random.default_rng(102)
    shape = (8, 4, 6, 6)
    x = rs.uniform(0, 1, shape).astype(f32)
    dout = rs.standard_normal(shape).astype(f32)
    return inputs(x, dout, *random_parameters(rs, 4, f32, beta_spread=0.01))


def offset_10():
    """x = 10 + N(0,1)."""
    return normal_case(103, (8, 4, 6, 6), offset=10.0)


def offset_1000():
    """x = 1000 + 0.01*N(0,1): float32 resolves the deviations only to ~6e-5 of 0.01."""
    return normal_case(104, (8, 4, 6, 6), offset=1000.0, scale=0.01)


def dout_ones():
    """The notebook's case: x ~ U(0,1), gamma 1, beta 0, dout = 1: true dx, dgamma are 0."""
    rs = np.random.default_rng(105)
    shape = (8, 4, 6, 6)
    x = rs.uniform(0, 1, shape).astype(f32)
    return inputs(x, np.ones(shape, f32), np.ones(4, f32), np.zeros(4, f32),
                  np.zeros(4, f32), np.ones(4, f32))


def m32768_offset3():
    """BatchNorm1d (32768, 1): M = 32768 values in one channel, x = 3 + N(0,1)."""
    return normal_case(106, (32768, 1), offset=3.0)


def bn1d_relu():
    """BatchNorm1d (256, 16) after a ReLU: relu(N(b_c, 1)), b_c from -1.5 to 1.5, so
    from 93% (channel 0) down to 7% (channel 15) of each channel are exact zeros."""
    rs = np.random.default_rng(107)
    shape = (256, 16)
    pre = rs.standard_normal(shape) + np.linspace(-1.5, 1.5, 16)
    x = np.maximum(pre, 0).astype(f32)
    dout = rs.standard_normal(shape).astype(f32)
    return inputs(x, dout, *random_parameters(rs, 16, f32))


def float64_centred():
    """float64 x ~ N(0,1), float64 parameters."""
    return normal_case(108, (8, 4, 6, 6), dtype=f64)


def float64_offset():
    """float64 x = 1e4 + N(0,1)."""
    return normal_case(109, (8, 4, 6, 6), offset=1e4, dtype=f64)


def float16_data():
    """float16 x = 0.5 + 2*N(0,1) and dout; float32 gamma, beta, running stats."""
    return normal_case(110, (8, 4, 6, 6), offset=0.5, scale=2.0, dtype=f16, pdtype=f32)


DATASETS = {"fresh-init": fresh_init, "uniform": uniform, "offset-10": offset_10,
            "offset-1000": offset_1000, "dout-ones": dout_ones, "m32768-offset3": m32768_offset3,
            "bn1d-relu": bn1d_relu, "float64-centred": float64_centred,
            "float64-offset": float64_offset, "float16": float16_data}

# The largest data set carries every correct style but only the bugs whose effect
# depends on M or on the offset, to keep data/calibration small.
LARGE_DATASET_BUGS = {"bug-unbiased-variance", "bug-unstable-variance", "bug-reduced-precision",
                      "bug-eps-outside-sqrt", "bug-missing-dbeta-term"}


def implementations_for(dataset):
    bugs = {k: v for k, v in BUGS.items() if dataset != "m32768-offset3" or k in LARGE_DATASET_BUGS}
    return list(CORRECT) + list(bugs)


# ----------------------------------------------------------------------------------
# Reference and first-order rounding bounds (long double)
# ----------------------------------------------------------------------------------

def reference(d):
    """The true results, to long double accuracy: two_pass evaluated in np.longdouble."""
    return two_pass(d, ext)


def unit_roundoff(dtype):
    return ext(np.finfo(dtype).eps) / 2


def rounding_bounds(d, ref):
    """First-order bound of a backward-stable evaluation, per element, in absolute terms:
    u_w*S + u_k*|value|, u_w the working precision's unit roundoff, u_k the key's
    dtype's. S sums |d value/d q|*|q| over the inputs and intermediates, with
    e_i = invstd*(|x_i| + mean|x|) the sensitivity of xhat_i to x_i and to the mean:
      out:    |gamma|*(|xhat|+e) + |beta|
      dbeta:  sum|dout|            dgamma: sum |dout|*(|xhat|+e)
      dx:     |gamma|*invstd/M*(M|dout| + S_dbeta + |xhat|*S_dgamma + (|xhat|+e)*|dgamma|)
      running_mean: (1-m)|rm| + m*mean|x|
      running_var:  (1-m)|rv| + m*M/(M-1)*(var + 2*mean(|x-mean|*|x|))
    This is the calibration's own yardstick, independent of bnfile's."""
    p = prepare(d, ext)
    M, m = ext(p.M), ext(p.m)
    mean = np.mean(p.x, axis=p.axes, keepdims=True)
    var = np.mean((p.x - mean) ** 2, axis=p.axes, keepdims=True)
    invstd = 1 / np.sqrt(var + p.eps)
    xhat = (p.x - mean) * invstd
    mean_abs = np.mean(np.abs(p.x), axis=p.axes, keepdims=True)
    e = invstd * (np.abs(p.x) + mean_abs)
    g, dout = np.abs(p.bc(p.gamma)), np.abs(p.dout)
    s_dbeta = np.sum(dout, axis=p.axes, keepdims=True)
    s_dgamma = np.sum(dout * (np.abs(xhat) + e), axis=p.axes, keepdims=True)
    dgamma = np.abs(np.sum(p.dout * xhat, axis=p.axes, keepdims=True))
    s = {"out": g * (np.abs(xhat) + e) + np.abs(p.bc(p.beta)),
         "dx": g * invstd / M * (M * dout + s_dbeta + np.abs(xhat) * s_dgamma + (np.abs(xhat) + e) * dgamma),
         "dgamma": s_dgamma.reshape(-1), "dbeta": s_dbeta.reshape(-1),
         "running_mean": (1 - m) * np.abs(p.rm) + m * mean_abs.reshape(-1),
         "running_var": (1 - m) * np.abs(p.rv) + m * M / (M - 1) * (
             var + 2 * np.mean(np.abs(p.x - mean) * np.abs(p.x), axis=p.axes, keepdims=True)).reshape(-1)}
    u_w = unit_roundoff(working_dtype(d))
    key_dtype = lambda k: d["gamma"].dtype if k in CHANNEL_KEYS else d["x"].dtype  # noqa: E731
    return {k: u_w * s[k] + unit_roundoff(key_dtype(k)) * np.abs(ref[k].astype(ext)) for k in KEYS}


def roundings(result, ref, bounds):
    """Per key: max over elements of |result - ref| / bound (the 'roundings')."""
    return {k: float(np.max(np.abs(np.asarray(result[k]).astype(ext) - ref[k]) / bounds[k])) for k in KEYS}


def verdict_allowance(M):
    """The prototype allowance the verdict design starts from: 10 + 2*ceil(log2 M)."""
    return 10 + 2 * math.ceil(math.log2(M))


# ----------------------------------------------------------------------------------
# Writing the suite
# ----------------------------------------------------------------------------------

def bug_effect(bug, d, ref, bounds):
    """The mistake alone: the bug evaluated in long double against the reference, in
    roundings, for each key it affects."""
    model = bug.function(d, ext)
    r = roundings(model, ref, bounds)
    return {k: r[k] for k in bug.affects}


def why_invisible(impl, d):
    """The reason, with its figures, that a mistake cannot show on this data set."""
    p = prepare(d, ext)
    mean = np.mean(p.x, axis=p.axes)
    var = np.mean((p.x - p.bc(mean)) ** 2, axis=p.axes)
    if impl == "bug-unstable-variance":
        ratio = float(np.max(np.mean(p.x * p.x, axis=p.axes) / var))
        return (f"E[x^2]/var is at most {ratio:.3g} here (|mean| is not large against std), so "
                f"E[x^2]-E[x]^2 loses only {math.log2(ratio):.2g} bits to cancellation, within the rounding "
                f"a two-pass variance makes; the formula fails only when |mean| >> std")
    if impl == "bug-reduced-precision":
        invstd = 1 / np.sqrt(var + p.eps)
        resolution = float(np.min(unit_roundoff(working_dtype(d)) * invstd
                                  * (np.abs(mean) + np.mean(np.abs(p.x), axis=p.axes))))
        xhat = (p.x - p.bc(mean)) * p.bc(invstd)
        f16_error = float(np.max(np.abs(xhat.astype(f16).astype(ext) - xhat)))
        return (f"the working precision resolves xhat here only to about u*invstd*(|x|+mean|x|) = "
                f"{resolution:.2g}, coarser than float16's rounding of xhat (at most {f16_error:.2g} "
                f"here): the float16 intermediate adds less than the inputs' own rounding")
    if impl == "bug-missing-dgamma-term":
        return ("dout is constant, so the true dgamma = dout*sum(xhat) = 0 exactly and the term "
                "xhat*dgamma that the mistake drops from dx is exactly 0")
    return "its effect is below the rounding of a correct evaluation on this data"


def visibility_fields(impl, d, effect):
    """invisible_reason when the mistake moves no affected key by a full rounding;
    weak_reason when it moves them by less than the prototype verdict allowance."""
    key = max(effect, key=effect.get)
    worst, allowance = effect[key], verdict_allowance(d["x"].size // d["x"].shape[1])
    if worst < 1:
        return {"invisible_reason": (
            f"invisible at the data's precision: {why_invisible(impl, d)}. Measured: the mistake moves "
            f"{key} by at most {worst:.3g} of a first-order rounding bound (u*scale)."),
            "effect_ratio": worst}
    if worst < allowance:
        return {"weak_reason": (
            f"the mistake moves {key} by only {worst:.3g} roundings (u*scale), below the allowance "
            f"10 + 2*ceil(log2 M) = {allowance} that the verdict design starts from"), "effect_ratio": worst}
    return {"effect_ratio": worst}


def record(dataset, impl, d):
    x, gamma = d["x"], d["gamma"]
    rec = {"dataset": dataset, "implementation": impl, "file": f"{dataset}.{impl}.npz",
           "kind": "bug" if impl in BUGS else "correct", "bug": None, "affects": list(KEYS),
           "parameter": None, "dtype": str(x.dtype), "parameter_dtype": str(gamma.dtype),
           "working_dtype": np.dtype(working_dtype(d)).name}
    if impl in BUGS:
        bug = BUGS[impl]
        parameter = bug.parameter
        if bug.name == "unstable-variance":
            parameter = {"precision": rec["working_dtype"]}
        rec.update(bug=bug.name, affects=list(bug.affects), parameter=parameter)
        if bug.note:
            rec["note"] = bug.note
    return rec


def save(path, arrays):
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def torch_records_to_keep(out_dir):
    """Without torch, the torch-cpu records of an earlier run (kept only where the data
    set's inputs come out the same again, see build)."""
    path = os.path.join(out_dir, "manifest.json")
    if "torch-cpu" in CORRECT or not os.path.exists(path):
        return {}
    with open(path) as f:
        return {r["dataset"]: r for r in json.load(f) if r["implementation"] == "torch-cpu"
                and os.path.exists(os.path.join(out_dir, r["file"]))}


def same_inputs(path, d):
    if not os.path.exists(path):
        return False
    with np.load(path) as z:
        return sorted(z.files) == sorted(d) and all(
            z[k].dtype == d[k].dtype and z[k].tobytes() == d[k].tobytes() for k in d)


def clear_generated(out_dir, keep):
    """A full run replaces every generated file, except torch files it cannot remake."""
    kept = {r["file"] for r in keep.values()}
    for name in os.listdir(out_dir):
        if name.endswith(".npz") and name not in kept:
            os.remove(os.path.join(out_dir, name))


def run_implementation(impl, d):
    fn = CORRECT[impl] if impl in CORRECT else BUGS[impl].function
    return finish(fn(d, working_dtype(d)), d)


def build(out_dir, datasets, check):
    os.makedirs(out_dir, exist_ok=True)
    keep = torch_records_to_keep(out_dir)
    keep = {k: r for k, r in keep.items()
            if k in datasets and same_inputs(os.path.join(out_dir, f"{k}.npz"), DATASETS[k]())}
    if len(datasets) == len(DATASETS):
        clear_generated(out_dir, keep)
    manifest, table = [], []
    for name in datasets:
        d = DATASETS[name]()
        save(os.path.join(out_dir, f"{name}.npz"), d)
        ref = reference(d)
        bounds = rounding_bounds(d, ref)
        results = [(record(name, impl, d), run_implementation(impl, d))
                   for impl in implementations_for(name)]
        if name in keep:   # torch-cpu, after the numpy styles
            with np.load(os.path.join(out_dir, keep[name]["file"])) as z:
                results.insert(len(CORRECT), (keep[name], {k: z[k] for k in KEYS}))
        for rec, res in results:
            if rec is not keep.get(name):
                save(os.path.join(out_dir, rec["file"]), res)
            if rec["kind"] == "bug":
                effect = bug_effect(BUGS[rec["implementation"]], d, ref, bounds)
                rec["effect"] = {k: float(f"{v:.4g}") for k, v in effect.items()}
                rec.update(visibility_fields(rec["implementation"], d, effect))
            manifest.append(rec)
            if check:
                table.append(sanity_row(rec, res, ref, bounds))
    tmp = os.path.join(out_dir, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(out_dir, "manifest.json"))
    return manifest, table


def sanity_row(rec, res, ref, bounds):
    """max|result - ref| / max|ref| per key (float64 figures), and the roundings. When
    the truth is zero within rounding (dout-ones' dx, dgamma) the figure is absolute,
    marked 'a'."""
    rel = {}
    for k in KEYS:
        diff = float(np.max(np.abs(res[k].astype(ext) - ref[k])))
        top = float(np.max(np.abs(ref[k])))
        zero = top <= float(np.max(bounds[k]))
        rel[k] = (diff, "a") if zero else (diff / top, " ")
    return rec, rel, roundings(res, ref, bounds)


def oracle_agreement(datasets):
    """The long double reference against scripts/bn_oracle.py (exact rational arithmetic,
    rounded once to the file dtype): max |reference - oracle| / bound per key. The
    oracle's own rounding contributes up to about one; a formula mistake in the
    reference would show as a large figure."""
    import tempfile
    import bn_oracle
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in datasets:
            d = DATASETS[name]()
            path = os.path.join(tmp, "in.npz")
            np.savez(path, **{k: d[k] for k in bn_oracle.INPUT_KEYS})
            exact = bn_oracle.solve(bn_oracle.load_problem(path))
            ref = reference(d)
            rows_out.append((name, roundings({k: exact[k] for k in KEYS}, ref, rounding_bounds(d, ref))))
    print("reference vs exact oracle (max |ref - oracle| / first-order bound):")
    for name, r in rows_out:
        print(f"  {name:16} " + " ".join(f"{k}={r[k]:.2g}" for k in KEYS))


def print_table(table):
    head = f"{'dataset':16} {'implementation':36} " + " ".join(f"{k[:12]:>19}" for k in KEYS)
    print("rel = max|cand-ref|/max|ref|; r = max roundings (|cand-ref| / first-order bound)")
    print(head)
    for rec, rel, r in table:
        cells = " ".join(f"{rel[k][0]:8.1e}{rel[k][1]} r{r[k]:8.3g}" for k in KEYS)
        mark = "" if rec["kind"] == "correct" else f" effect {rec['effect_ratio']:.3g}" + (
            " INVISIBLE" if "invisible_reason" in rec else (" weak" if "weak_reason" in rec else ""))
        print(f"{rec['dataset']:16} {rec['implementation']:36} {cells}{mark}")


def main(argv=None):
    if np.finfo(ext).nmant < 63:
        sys.exit("make_calibration: np.longdouble has only %d significand bits here; the reference "
                 "needs 64 (x86 extended precision) or more" % (np.finfo(ext).nmant + 1))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="print the sanity tables")
    ap.add_argument("--out", default=OUT_DIR, help="output folder (default data/calibration)")
    ap.add_argument("--only", nargs="*", choices=list(DATASETS), help="only these data sets (testing)")
    args = ap.parse_args(argv)
    datasets = args.only or list(DATASETS)
    if args.only and os.path.exists(os.path.join(args.out, "manifest.json")):
        ap.error(f"--only would replace {args.out}/manifest.json by a partial one; use --out with a new folder")
    manifest, table = build(args.out, datasets, args.check)
    if args.check:
        print_table(table)
        oracle_agreement(datasets)
    torch_note = "included" if "torch-cpu" in CORRECT else (
        "kept from the earlier run" if any(r["implementation"] == "torch-cpu" for r in manifest)
        else "absent: run with a Python that has torch")
    print(f"wrote {len(manifest)} records over {len(datasets)} data sets to {args.out} (torch-cpu {torch_note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

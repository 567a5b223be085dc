#!/usr/bin/env python3
"""Generate the committed reference fixtures in data/cases/.

    python3 scripts/make_cases.py [--torch-python /tmp/tv/bin/python] [--only NAME ...]

For each case NAME it writes
    data/cases/NAME.in.npz     the inputs (np.savez; float arrays in the stated dtypes)
    data/cases/NAME.exact.npz  scripts/bn_oracle.py's outputs (exact, rounded once)
    data/cases/NAME.torch.npz  scripts/torch_export.py's outputs (when torch can run it)
and data/cases/manifest.json, plus data/notebook.npz (= notebook.in.npz) and
data/notebook.torch.npz for the README demo.

Only numpy, mpmath and ml_dtypes (for the bfloat16 cases: ml_dtypes' '<V2' arrays,
declared by a `bfloat16` member as bnfile writes them) are needed here; torch runs in a
separate interpreter
(--torch-python, default $TORCH_PYTHON or /tmp/tv/bin/python; skipped if missing).
All random inputs come from fixed seeds, so the array contents are reproducible (the
zip timestamps inside the .npz files are not).  Afterwards run scripts/check_oracle.py.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import ml_dtypes
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bn_oracle  # noqa: E402
from torch_export import random_inputs  # noqa: E402  (numpy only; shared with the export tool)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_DIR = os.path.join(ROOT, "data", "cases")

# Cases whose torch outputs are not stored, to keep data/cases small (large_m_f32's
# out and dx are 0.5 MB each); scripts/check_oracle.py runs torch on them on the fly.
NO_TORCH_FILE = {"large_m_f32"}

f16, f32, f64 = np.float16, np.float32, np.float64
bf16 = ml_dtypes.bfloat16


class Case:
    def __init__(self, name, inputs, layout="nchw", eval=False, well_conditioned=False, note=""):
        self.name, self.inputs, self.layout, self.eval = name, inputs, layout, eval
        self.well_conditioned, self.note = well_conditioned, note

    def manifest(self):
        x = self.inputs["x"]
        p = self.inputs.get("gamma", x)
        return {"name": self.name, "layout": self.layout, "eval": self.eval,
                "dtype_x": str(x.dtype), "dtype_p": str(p.dtype),
                "well_conditioned": self.well_conditioned, "note": self.note}


def ties_inputs():
    """ties_f32: exact outputs that lie exactly halfway between two float32 values.

    Shape (2, 4, 4) (BatchNorm1d, C = 4, M = 8) and eps = 7 (in the file).  In every
    channel the deviations x - mean are a permutation of (4,-4,4,-4,2,-2,0,0), so
    var = (4*16 + 2*4)/8 = 9 and W = var + eps = 16 is a perfect square: invstd = 1/4
    exactly and xhat = (x-mean)/4 takes the values +-1, +-1/2, 0.  Then
    out = beta + gamma*xhat is a dyadic rational, and gamma/beta are chosen so that it
    has 25 significant bits (a float32 tie), or sits on the overflow threshold:
      ch0 mean 10,  gamma 3*2^-24, beta 1:
          xhat  1  -> 1 + 3*2^-24   tie -> 1 + 2^-22 (even)
          xhat -1/2 -> 1 - 3*2^-25  tie -> 1 - 2^-23 (even)
      ch1 mean 0,   gamma 2^103, beta = max float32 = (2 - 2^-23)*2^127:
          xhat  1  -> max + 2^103 = max + ulp(max)/2: the overflow threshold -> +inf
          xhat -1  -> max - 2^103   tie -> max - 2^104 (even)
      ch2 mean -6,  gamma 3*2^-149 (subnormal), beta 0:
          xhat +-1/2 -> +-1.5*2^-149  tie -> +-2^-148
      ch3 mean 1/2, gamma -2^-149, beta 0:
          xhat +-1/2 -> -+2^-150  tie between 0 and the smallest subnormal -> -0.0 / +0.0
                        (a nonzero value rounding to zero keeps its sign)
    dout gives ties in dgamma = sum dout*xhat and dbeta = sum dout:
      ch0: dout 1 at xhat=1, 2^-23 at xhat=1/2, 2^-24 at xhat=0:
           dgamma = 1 + 2^-24 (tie -> 1),  dbeta = 1 + 2^-23 + 2^-24 (tie -> 1 + 2^-22)
      ch1: dout 1 + 2^-23 at xhat=1, 2^-23 at xhat=1/2:
           dgamma = 1 + 2^-23 + 2^-24 (tie -> 1 + 2^-22), dbeta = 1 + 2^-22 (exact)
      ch2: minus ch0's dout (negative ties);  ch3: random dout.
    scripts/check_oracle.py checks these hand-derived results.
    """
    rs = np.random.RandomState(11)
    devs = np.array([4, -4, 4, -4, 2, -2, 0, 0], dtype=np.float64)
    means = [10.0, 0.0, -6.0, 0.5]
    fmax = float(np.finfo(f32).max)
    gamma = np.array([3 * 2.0**-24, 2.0**103, 3 * 2.0**-149, -(2.0**-149)], dtype=f32)
    beta = np.array([1.0, fmax, 0.0, 0.0], dtype=f32)
    x = np.zeros((2, 4, 4), dtype=f32)
    dout = np.zeros((2, 4, 4), dtype=f32)
    ch0_dout = {4.0: 1.0, 2.0: 2.0**-23, 0.0: 2.0**-24}   # deviation -> dout
    ch1_dout = {4.0: 1.0 + 2.0**-23, 2.0: 2.0**-23}
    for c in range(4):
        order = rs.permutation(8)
        dv = devs[order]
        x[:, c, :] = (means[c] + dv).reshape(2, 4)
        if c == 0 or c == 2:
            pattern = ch0_dout
        elif c == 1:
            pattern = ch1_dout
        else:
            pattern = None
        if pattern is None:
            g = rs.standard_normal(8)
        else:
            g = np.zeros(8)
            for value, dval in pattern.items():     # first element with that deviation
                g[np.flatnonzero(dv == value)[0]] = dval
            if c == 2:
                g = -g
        dout[:, c, :] = g.reshape(2, 4)
    for c in range(4):   # construction check: mean and biased variance are exact
        xc = x[:, c, :].astype(np.float64).ravel()
        assert xc.mean() == means[c] and xc.var() == 9.0
    return {"x": x, "gamma": gamma, "beta": beta, "dout": dout,
            "eps": np.array(7.0, dtype=f64)}


def all_cases():
    cases = []
    add = lambda *a, **k: cases.append(Case(*a, **k))  # noqa: E731

    # 1. The notebook's case: dout = ones, so the true dx and dgamma are exactly 0.
    x = np.random.RandomState(0).rand(2, 2, 2, 2).astype(f32)
    add("notebook", {"x": x, "gamma": np.ones(2, f32), "beta": np.zeros(2, f32),
                     "dout": np.ones_like(x)},
        note="np.random.RandomState(0).rand(2,2,2,2) float32, dout = ones: exact dx, dgamma are 0")

    # 2-4. Small well-conditioned cases in every rank and dtype.
    for seed, (tag, shape) in enumerate([("2d", (16, 3)), ("3d", (4, 3, 5)),
                                         ("4d", (8, 3, 5, 7)), ("5d", (2, 3, 2, 3, 4))], start=1):
        add(f"small_f32_{tag}", random_inputs(seed, shape), well_conditioned=True,
            note=f"x, dout ~ N(0,1), shape {shape}")
    add("small_f64_4d", random_inputs(5, (8, 3, 5, 7), f64), well_conditioned=True,
        note="float64, shape (8,3,5,7)")
    add("small_f16_4d", random_inputs(6, (8, 3, 5, 7), f16), well_conditioned=True,
        note="float16 x and parameters, shape (8,3,5,7)")
    add("mixed_f16_f32", random_inputs(7, (8, 3, 5, 7), f16, f32), well_conditioned=True,
        note="float16 x/dout with float32 gamma, beta, running stats")

    # 5. Large offset: catastrophic cancellation in torch's out = x*alpha + (beta - mean*alpha).
    add("offset_f32", random_inputs(8, (8, 3, 5, 7), scale=0.01, offset=1000.0),
        note="x = 1000 + 0.01*N(0,1): mean >> std")

    # 6. One constant channel (var = 0, W = eps).
    d = random_inputs(9, (8, 3, 5, 7))
    d["x"][:, 1] = f32(0.7)
    add("constant_channel_f32", d, note="channel 1 constant 0.7f: var = 0, out = beta exactly")

    # 7. dout = ones with gamma ones, beta zeros: exact dx = dgamma = 0 everywhere.
    d = random_inputs(10, (8, 3, 5, 7))
    d.update(dout=np.ones_like(d["x"]), gamma=np.ones(3, f32), beta=np.zeros(3, f32))
    add("dout_ones_f32", d, well_conditioned=True,
        note="dout = ones, gamma = 1, beta = 0: exact dx and dgamma are 0")

    # 8. Extreme magnitudes.
    d = random_inputs(12, (8, 3, 5, 7), scale=1e-30)
    flat = d["x"].reshape(-1)
    flat[[0, 1, 106, 107, 212, 213]] = np.array([1e-40, -3e-42, 1e-45, -2e-39, 5e-44, 1e-38], f32)
    add("tiny_f32", d, note="x ~ 1e-30*N(0,1) with some float32 subnormals (1e-40, -3e-42, ...)")
    add("huge_f32", random_inputs(13, (8, 3, 5, 7), scale=1e30),
        note="x ~ 1e30*N(0,1): var ~ 1e60 overflows float32 (exact arithmetic does not); "
             "running_var rounds to inf")
    d = random_inputs(14, (8, 3, 5, 7))
    d["gamma"] = np.array([1e-39, -3e-40, 5e-42], f32)
    d["beta"] = np.array([0.0, 0.0, 1e-41], f32)
    add("subnormal_out_f32", d, note="gamma ~ 1e-39 (subnormal): out and dx are float32 subnormals")

    # 9. Modes, layouts, options.
    add("eval_f32_4d", random_inputs(15, (8, 3, 5, 7)), eval=True, well_conditioned=True,
        note="eval mode (--eval): running stats used")
    add("nhwc_f32_4d", random_inputs(16, (8, 5, 7, 3), layout="nhwc"), layout="nhwc",
        well_conditioned=True, note="channels last: x stored as (N,H,W,C) = (8,5,7,3)")
    add("nhwc_f32_5d", random_inputs(17, (2, 2, 3, 4, 3), layout="nhwc"), layout="nhwc",
        well_conditioned=True, note="channels last: x stored as (N,D,H,W,C) = (2,2,3,4,3)")
    add("forward_only_f32", random_inputs(18, (8, 3, 5, 7), dout=False), well_conditioned=True,
        note="no dout: forward only (no dx, dgamma, dbeta keys)")
    d = random_inputs(19, (8, 3, 5, 7))
    d.update(eps=np.array(1e-3, f64), momentum=np.array(0.3, f64))
    add("eps_momentum_f32", d, well_conditioned=True,
        note="file holds eps = 1e-3 and momentum = 0.3 as 0-d float64")
    d = random_inputs(20, (8, 4, 5, 7))
    d["gamma"] = np.array([0.0, -1.3, 0.0, -0.4], f32)
    add("zero_gamma_f32", d, well_conditioned=True,
        note="gamma = [0, -1.3, 0, -0.4]: out = beta, dx = 0 in the zero channels")
    add("large_m_f32", random_inputs(21, (64, 2, 1024)), well_conditioned=True,
        note="shape (64,2,1024): M = 65536 values per channel, summation order matters; "
             "no .torch.npz stored (size)")

    # 10. Non-finite values.
    d = random_inputs(22, (2, 3, 2, 2))
    d["x"][1, 0, 0, 1] = np.nan
    d["dout"][0, 1, 1, 0] = np.inf
    add("nan_inf_f32", d, note="NaN in channel 0 of x, +inf in channel 1 of dout, channel 2 "
                               "finite; see bn_oracle.nan_poisoned_outputs")

    # 11. Exact ties (see ties_inputs).
    add("ties_f32", ties_inputs(), note="exact outputs halfway between float32 values, the "
                                        "overflow threshold, signed-zero underflow; eps = 7")

    # 12. bfloat16, as mixed-precision training has it: x and dout bfloat16 (torch CPU
    # autocast), parameters float32; and all-bfloat16 inputs.
    add("small_bf16_f32", random_inputs(23, (8, 3, 5, 7), bf16, f32), well_conditioned=True,
        note="bfloat16 x/dout with float32 gamma, beta, running stats (autocast)")
    add("eval_bf16_f32", random_inputs(24, (8, 3, 5, 7), bf16, f32), eval=True, well_conditioned=True,
        note="bfloat16 x/dout, float32 parameters, eval mode")
    add("nhwc_bf16_f32", random_inputs(25, (8, 5, 7, 3), bf16, f32, layout="nhwc"), layout="nhwc",
        well_conditioned=True, note="bfloat16 x/dout, float32 parameters, channels last (8,5,7,3)")
    add("offset_bf16", random_inputs(26, (8, 3, 5, 7), bf16, scale=4.0, offset=100.0),
        note="all bfloat16 (x, dout, gamma, beta, running stats); x = 100 + 4*N(0,1): mean >> std "
             "on a grid of 0.5")
    add("extremes_bf16_f32", extremes_bf16_inputs(),
        note="bfloat16 x; gamma 2e38 (out overflows bfloat16 to +-inf), 1e-39 (bfloat16 subnormal "
             "out and dx), 1")
    add("ties_bf16_f32", ties_bf16_inputs(),
        note="bfloat16 x: exact outputs halfway between bfloat16 values, its overflow threshold and "
             "signed-zero underflow; float32 parameters; eps = 7")
    # 13. Few values per channel, as deep layers and BatchNorm1d have them.
    add("deep_plane_f32", random_inputs(28, (4, 24, 7, 7)), well_conditioned=True,
        note="7x7 planes at batch 4 (ResNet-50's last blocks): 196 values per channel in runs of 49")
    add("pairs_f32", pairs_inputs(),
        note="BatchNorm1d (2, C): two values per channel, dx cancelling to eps/(var+eps) of its "
             "terms (ill-conditioned: torch's dx is far outside assert_close); the first 8 "
             "channels once came out one unit off in an optimized build")
    d = random_inputs(27, (2, 3, 2, 2), bf16, f32)
    d["x"][1, 0, 0, 1] = np.nan
    d["dout"][0, 1, 1, 0] = np.inf
    add("nan_inf_bf16_f32", d, note="bfloat16 x/dout: NaN in channel 0 of x, +inf in channel 1 of dout")
    return cases


def pairs_inputs():
    """pairs_f32: (2, 264) float32, BatchNorm1d. The first 8 channels are pairs from a
    (2, 262144) benchmark input whose dx a release build with reassociated multiply-adds
    rounded wrongly; the other 256 are N(0, 1) pairs, of which about one element in 500
    lies too close to a rounding boundary for plain double arithmetic to decide."""
    x0 = [1073499993, 1065108571, 3221547527, 3225485863, 1065701844, 1072252027, 3219044664, 1056081434]
    x1 = [3218358441, 3223702142, 1075108423, 1074641041, 3215320718, 3208073390, 1054349120, 3220735519]
    d0 = [3217573245, 3197561894, 1067260900, 3187199290, 1068258630, 3205852654, 1049409258, 1067534200]
    d1 = [3184683697, 1064893988, 3197095109, 1058184491, 3194065659, 1035822528, 3180899999, 3202844088]
    known_x = np.array([x0, x1], np.uint32).view(f32)
    known_dout = np.array([d0, d1], np.uint32).view(f32)
    rng = np.random.default_rng(29)
    x = np.concatenate([known_x, rng.standard_normal((2, 256), dtype=f32)], axis=1)
    dout = np.concatenate([known_dout, rng.standard_normal((2, 256), dtype=f32)], axis=1)
    c = x.shape[1]
    return dict(x=x, dout=dout, gamma=np.ones(c, f32), beta=np.zeros(c, f32),
                running_mean=np.zeros(c, f32), running_var=np.ones(c, f32))


def extremes_bf16_inputs():
    """Overflow and gradual underflow at bfloat16's own limits (float32's exponent range)."""
    d = random_inputs(28, (8, 3, 5, 7), bf16, f32)
    d["gamma"] = np.array([2e38, 1e-39, 1.0], f32)
    d["beta"] = np.array([0.0, 0.0, 0.0], f32)
    return d


def ties_bf16_inputs():
    """ties_bf16_f32: ties_inputs' construction (var 9, eps 7, invstd 1/4, xhat in
    {+-1, +-1/2, 0}) on bfloat16 x, with float32 gamma and beta chosen for bfloat16:
      ch0 mean 10,  gamma 3*2^-8, beta 1:   xhat 1 -> 1 + 3*2^-8 (tie -> 1 + 2^-6),
          xhat -1/2 -> 1 - 3*2^-9 (tie -> 1 - 2^-7), xhat 1/2 -> 1 + 1.5*2^-8 -> 1 + 2^-7
      ch1 mean 0,   gamma 2^119, beta = max bfloat16 = (2 - 2^-7)*2^127:
          xhat 1 -> max + 2^119, the overflow threshold -> +inf; xhat -1 -> tie -> max - 2^120
      ch2 mean -6,  gamma 3*2^-133, beta 0: xhat +-1/2 -> +-1.5*2^-133 (tie -> +-2^-132)
      ch3 mean 1/2, gamma -2^-133, beta 0:  xhat +-1/2 -> -+2^-134 (tie with 0 -> -0.0 / +0.0)
    scripts/check_oracle.py checks these hand-derived results."""
    rs = np.random.RandomState(29)
    devs = np.array([4, -4, 4, -4, 2, -2, 0, 0], dtype=np.float64)
    means = [10.0, 0.0, -6.0, 0.5]
    bmax = float(ml_dtypes.finfo(bf16).max)
    gamma = np.array([3 * 2.0**-8, 2.0**119, 3 * 2.0**-133, -(2.0**-133)], dtype=f32)
    beta = np.array([1.0, bmax, 0.0, 0.0], dtype=f32)
    x = np.zeros((2, 4, 4), dtype=np.float64)
    for c in range(4):
        x[:, c, :] = (means[c] + devs[rs.permutation(8)]).reshape(2, 4)
    xb = x.astype(bf16)
    assert (xb.astype(np.float64) == x).all()
    return {"x": xb, "gamma": gamma, "beta": beta, "dout": rs.standard_normal((2, 4, 4)).astype(bf16),
            "eps": np.array(7.0, dtype=f64)}


def save_inputs(path, inputs):
    """np.savez, with a `bfloat16` member listing the bfloat16 arrays, as bnfile writes it."""
    declared = [k for k, a in inputs.items() if a.dtype == bf16]
    np.savez(path, **inputs, **({"bfloat16": np.array(declared)} if declared else {}))


def run_torch(torch_python, case, in_path, out_path):
    cmd = [torch_python, os.path.join(ROOT, "scripts", "torch_export.py"), in_path, out_path,
           "--layout", case.layout] + (["--eval"] if case.eval else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
    return None


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", "/tmp/tv/bin/python"))
    ap.add_argument("--only", nargs="*", help="regenerate only these cases (manifest is complete)")
    args = ap.parse_args(argv)
    have_torch = os.path.exists(args.torch_python)
    if not have_torch:
        print(f"note: {args.torch_python} not found: torch outputs are not regenerated")
    os.makedirs(CASES_DIR, exist_ok=True)
    cases = all_cases()
    t_all = time.time()
    for case in cases:
        if args.only and case.name not in args.only:
            continue
        base = os.path.join(CASES_DIR, case.name)
        save_inputs(base + ".in.npz", case.inputs)
        t = time.time()
        bn_oracle.run(base + ".in.npz", base + ".exact.npz", training=not case.eval,
                      layout=case.layout)
        t_oracle = time.time() - t
        msg = ""
        if have_torch and case.name not in NO_TORCH_FILE:
            err = run_torch(args.torch_python, case, base + ".in.npz", base + ".torch.npz")
            if err:
                msg = f"  torch refused: {err}"
                if os.path.exists(base + ".torch.npz"):
                    os.remove(base + ".torch.npz")
        print(f"{case.name:22s} oracle {t_oracle:6.2f} s{msg}", flush=True)
    with open(os.path.join(CASES_DIR, "manifest.json"), "w") as f:
        json.dump([c.manifest() for c in cases], f, indent=1)
        f.write("\n")
    shutil.copyfile(os.path.join(CASES_DIR, "notebook.in.npz"), os.path.join(ROOT, "data", "notebook.npz"))
    nb_torch = os.path.join(CASES_DIR, "notebook.torch.npz")
    if os.path.exists(nb_torch):
        shutil.copyfile(nb_torch, os.path.join(ROOT, "data", "notebook.torch.npz"))
    print(f"total {time.time() - t_all:.1f} s")


if __name__ == "__main__":
    main()

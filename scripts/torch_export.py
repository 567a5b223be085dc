#!/usr/bin/env python3
"""What torch.nn.BatchNorm1d/2d/3d computes on a bnfile input, saved with bnfile's keys.

    python scripts/torch_export.py IN.npz OUT.npz [--eval] [--layout nchw|nhwc] [--bfloat16 x,dout]
    python scripts/torch_export.py --shape 8,3,5,7 [--seed 0] [--dtype float32|bfloat16] NEW_IN.npz OUT.npz

The first form reads IN.npz as `bnfile run` does (x; gamma/beta, dout, running_mean,
running_var, eps, momentum when present, with torch's defaults otherwise). The second
first writes NEW_IN.npz, a random input of that shape (x and dout ~ N(0,1), random
gamma, beta and running statistics; in file layout, so N,H,W,C with --layout nhwc),
and refuses to replace an existing file.

OUT.npz gets torch's out and dx (in the file's layout), dgamma, dbeta, running_mean,
running_var, and torch's own saved mean and invstd, per-channel arrays in gamma's dtype:
the same keys and dtypes as `bnfile run`, so that

    bnfile run IN.npz IN.grads.npz
    bnfile diff IN.grads.npz OUT.npz --inputs IN.npz

shows how far torch is from the exact result. torch runs on the CPU with one thread (its
float32 sums depend on the thread count); with nhwc, rank-4/5 tensors use torch's
channels_last memory format so that its channels-last kernel is the one measured.
Exit status 3 means torch refused the case (e.g. one value per channel in training).

bfloat16 (mixed-precision training): inputs stored as '<V2' (ml_dtypes' bfloat16) and
declared by the file's `bfloat16` member (np.array(["x", "dout"])) or by --bfloat16
are given to torch as torch.bfloat16 tensors, and the layer runs under
torch.autocast("cpu", dtype=torch.bfloat16), as in an autocast training step: x, dout,
out and dx bfloat16, parameters and statistics in their own dtype (float32 from
--dtype bfloat16). bfloat16 results are written as 2-byte raw items with the same
declaration, which `bnfile` reads without flags and numpy reads as
np.load(f)["out"].view(ml_dtypes.bfloat16). Only numpy and torch are needed: the
bfloat16 bits are handled here, not through ml_dtypes.
"""
# One implementation for users and fixtures: scripts/make_cases.py imports
# random_inputs() (numpy only; torch is imported inside torch_results) and runs this
# script with a torch interpreter; scripts/torch_reference.py is this under its old name.

import argparse
import os
import sys

import numpy as np

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1
# The other names bnfile accepts for its input keys.
ALIASES = {"weight": "gamma", "bias": "beta", "grad_out": "dout", "dy": "dout"}
# The member that lists an archive's bfloat16 arrays (as bnfile writes it).
DECLARATION = "bfloat16"


class BFloat16Bits:
    """A bfloat16 array held as its uint16 encodings (numpy has no bfloat16)."""

    def __init__(self, bits):
        self.bits = np.ascontiguousarray(bits, dtype=np.uint16)

    @property
    def shape(self):
        return self.bits.shape

    @property
    def ndim(self):
        return self.bits.ndim

    def as_float32(self):
        """The values, exactly: the encodings moved into float32's upper half."""
        return (self.bits.astype(np.uint32) << 16).view(np.float32)

    @staticmethod
    def rounding(values):
        """float32 values rounded to nearest-even bfloat16 (NaN kept quiet), on the bits."""
        bits = np.asarray(values, dtype=np.float32).view(np.uint32)
        rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        nan = np.isnan(np.asarray(values, dtype=np.float32))
        rounded[nan] = ((bits[nan] >> 16) | 0x0040).astype(np.uint16)
        return BFloat16Bits(rounded)

    def stored(self):
        """The array to np.savez: 2-byte raw items, the encodings little-endian."""
        return self.bits.astype("<u2").view(np.dtype((np.void, 2)))


def declared_bfloat16(d, extra=()):
    """Replaces the '<V2' arrays the file's declaration (plus `extra`) names by BFloat16Bits."""
    names = set(extra)
    if DECLARATION in d and d[DECLARATION].dtype.kind in "US":
        names |= {str(n) for n in np.atleast_1d(d.pop(DECLARATION)).tolist()}
    for name in names & set(d):
        a = d[name]
        if a.dtype.kind != "V" or a.dtype.itemsize != 2:
            raise ValueError(f"{name} is declared bfloat16 but has dtype {a.dtype}")
        d[name] = BFloat16Bits(a.view("<u2"))
    return d


def stored_results(res):
    """Results ready for np.savez: bfloat16 ones as raw items plus their declaration."""
    names = [k for k, v in res.items() if isinstance(v, BFloat16Bits)]
    out = {k: (v.stored() if isinstance(v, BFloat16Bits) else v) for k, v in res.items()}
    if names:
        out[DECLARATION] = np.array(names)
    return out


def random_inputs(seed, shape, dx=np.float32, dp=None, layout="nchw", dout=True, scale=1.0, offset=0.0):
    """x, dout ~ offset + scale*N(0,1) in dtype dx; random gamma, beta, running stats in dp.
    (dx and dp may be ml_dtypes.bfloat16 where the caller has ml_dtypes.)"""
    dp = dp or dx
    rs = np.random.RandomState(seed)
    C = shape[1] if layout == "nchw" else shape[-1]
    d = {"x": (offset + scale * rs.standard_normal(shape)).astype(dx)}
    if dout:
        d["dout"] = rs.standard_normal(shape).astype(dx)
    d["gamma"] = (1 + 0.5 * rs.standard_normal(C)).astype(dp)
    d["beta"] = (0.5 * rs.standard_normal(C)).astype(dp)
    d["running_mean"] = (0.1 * rs.standard_normal(C)).astype(dp)
    d["running_var"] = rs.uniform(0.5, 2.0, C).astype(dp)
    return d


def tensor(torch, a):
    """A numpy array or BFloat16Bits as a tensor of the same type and values."""
    if isinstance(a, BFloat16Bits):
        return torch.from_numpy(a.bits.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(np.ascontiguousarray(a))


def from_tensor(t):
    """A tensor as a numpy array, or BFloat16Bits for bfloat16 (which .numpy() refuses)."""
    import torch
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return BFloat16Bits(t.view(torch.int16).numpy().view(np.uint16))
    return t.numpy()


def to_torch_layout(torch, a, layout):
    """File array -> NCHW-ordered tensor (channels-last memory for nhwc rank 4/5)."""
    t = tensor(torch, a)
    if layout == "nhwc" and a.ndim >= 3:
        t = t.permute(0, a.ndim - 1, *range(1, a.ndim - 1))
        memory = {4: torch.channels_last, 5: torch.channels_last_3d}.get(a.ndim, torch.contiguous_format)
        t = t.contiguous(memory_format=memory)
    return t


def to_file_layout(t, layout):
    if layout == "nhwc" and t.dim() >= 3:
        t = t.permute(0, *range(2, t.dim()), 1)
    return from_tensor(t)


def torch_results(d, training=True, layout="nchw"):
    """torch's outputs for the input arrays `d`, keyed and typed as bnfile writes them."""
    import torch

    import contextlib

    torch.set_num_threads(1)
    x = d["x"]
    C = x.shape[1 if layout == "nchw" else x.ndim - 1]
    ptype = tensor(torch, d["gamma"] if "gamma" in d else x).dtype
    scalar = lambda key, default: float(np.asarray(d[key]).reshape(())) if key in d else default  # noqa: E731
    eps, momentum = scalar("eps", DEFAULT_EPS), scalar("momentum", DEFAULT_MOMENTUM)
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}
    bn = cls[x.ndim](C, eps=eps, momentum=momentum).to(ptype)
    with torch.no_grad():
        for key, attr, default in [("gamma", "weight", 1), ("beta", "bias", 0),
                                   ("running_mean", "running_mean", 0), ("running_var", "running_var", 1)]:
            value = tensor(torch, d[key]) if key in d else torch.full((C,), float(default))
            getattr(bn, attr).copy_(value.to(ptype))
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(training)

    xt = to_torch_layout(torch, x, layout).requires_grad_(True)
    # bfloat16 data is what an autocast step hands batch norm: run it the same way.
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if xt.dtype == torch.bfloat16
                else contextlib.nullcontext())
    with autocast:
        out = bn(xt)
    if "dout" in d:
        out.backward(to_torch_layout(torch, d["dout"], layout))

    channel = lambda t: from_tensor(t.to(ptype))  # noqa: E731
    res = {"out": to_file_layout(out, layout)}
    if "dout" in d:
        res.update(dx=to_file_layout(xt.grad, layout), dgamma=channel(bn.weight.grad), dbeta=channel(bn.bias.grad))
    res.update(running_mean=channel(bn.running_mean), running_var=channel(bn.running_var))
    with torch.no_grad():  # torch's own statistics: what its backward used
        if training:
            _, mean, invstd = torch.ops.aten.native_batch_norm(
                xt.detach(), bn.weight, bn.bias, rm0.clone(), rv0.clone(), True, momentum, eps)
        else:
            mean, invstd = rm0, 1 / torch.sqrt(rv0 + eps)
    res.update(mean=channel(mean), invstd=channel(invstd))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="IN.npz to read, or with --shape NEW_IN.npz to create")
    ap.add_argument("output", help="OUT.npz for torch's results")
    ap.add_argument("--eval", action="store_true", help="eval mode: use the running statistics")
    ap.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw")
    ap.add_argument("--shape", help="create the input: comma-separated, e.g. 8,3,5,7")
    ap.add_argument("--seed", type=int, default=0, help="with --shape (default 0)")
    ap.add_argument("--dtype", choices=("float16", "float32", "float64", "bfloat16"), default="float32",
                    help="with --shape (default float32; bfloat16: x and dout bfloat16, parameters float32)")
    ap.add_argument("--bfloat16", default="", help="'<V2' input keys that hold bfloat16 (comma-separated), "
                                                   "beyond those the file's own 'bfloat16' member lists")
    args = ap.parse_args(argv)

    if args.shape:
        if os.path.exists(args.input):
            ap.error(f"{args.input} exists; --shape creates the input, so name a new file")
        shape = tuple(int(n) for n in args.shape.split(","))
        bf16 = args.dtype == "bfloat16"
        d = random_inputs(args.seed, shape, np.float32 if bf16 else np.dtype(args.dtype).type, layout=args.layout)
        if bf16:
            d.update(x=BFloat16Bits.rounding(d["x"]), dout=BFloat16Bits.rounding(d["dout"]))
        np.savez(args.input, **stored_results(d))
    else:
        with np.load(args.input, allow_pickle=False) as z:
            d = {ALIASES.get(k, k): z[k] for k in z.files}
        try:
            d = declared_bfloat16(d, [k for k in args.bfloat16.split(",") if k])
        except ValueError as e:
            ap.error(f"{args.input}: {e}")
        if "x" not in d:
            ap.error(f"{args.input}: no array 'x'; keys present: {', '.join(d) or '(none)'}")
    try:
        res = torch_results(d, training=not args.eval, layout=args.layout)
    except (RuntimeError, ValueError) as e:
        print(f"torch_export: torch refused: {e}", file=sys.stderr)
        return 3
    np.savez(args.output, **stored_results(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

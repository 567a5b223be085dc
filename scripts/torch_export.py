#!/usr/bin/env python3
"""What torch.nn.BatchNorm1d/2d/3d computes on a bnfile input, saved with bnfile's keys.

    python scripts/torch_export.py IN.npz OUT.npz [--eval] [--layout nchw|nhwc]
    python scripts/torch_export.py --shape 8,3,5,7 [--seed 0] [--dtype float32] NEW_IN.npz OUT.npz

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


def random_inputs(seed, shape, dx=np.float32, dp=None, layout="nchw", dout=True, scale=1.0, offset=0.0):
    """x, dout ~ offset + scale*N(0,1) in dtype dx; random gamma, beta, running stats in dp."""
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


def to_torch_layout(torch, a, layout):
    """File array -> NCHW-ordered tensor (channels-last memory for nhwc rank 4/5)."""
    t = torch.from_numpy(np.ascontiguousarray(a))
    if layout == "nhwc" and a.ndim >= 3:
        t = t.permute(0, a.ndim - 1, *range(1, a.ndim - 1))
        memory = {4: torch.channels_last, 5: torch.channels_last_3d}.get(a.ndim, torch.contiguous_format)
        t = t.contiguous(memory_format=memory)
    return t


def to_file_layout(t, layout):
    if layout == "nhwc" and t.dim() >= 3:
        t = t.permute(0, *range(2, t.dim()), 1)
    return np.ascontiguousarray(t.detach().numpy())


def torch_results(d, training=True, layout="nchw"):
    """torch's outputs for the input arrays `d`, keyed and typed as bnfile writes them."""
    import torch

    torch.set_num_threads(1)
    x = d["x"]
    C = x.shape[1 if layout == "nchw" else x.ndim - 1]
    pdtype = d["gamma"].dtype if "gamma" in d else x.dtype
    eps = float(d.get("eps", DEFAULT_EPS))
    momentum = float(d.get("momentum", DEFAULT_MOMENTUM))
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}
    bn = cls[x.ndim](C, eps=eps, momentum=momentum).to(torch.from_numpy(np.zeros(1, pdtype)).dtype)
    with torch.no_grad():
        for key, attr, default in [("gamma", "weight", 1), ("beta", "bias", 0),
                                   ("running_mean", "running_mean", 0), ("running_var", "running_var", 1)]:
            getattr(bn, attr).copy_(torch.from_numpy(np.asarray(d.get(key, np.full(C, default)), pdtype)))
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(training)

    xt = to_torch_layout(torch, x, layout).requires_grad_(True)
    out = bn(xt)
    if "dout" in d:
        out.backward(to_torch_layout(torch, d["dout"], layout))

    channel = lambda t: t.detach().numpy().astype(pdtype)  # noqa: E731
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
    ap.add_argument("--dtype", choices=("float16", "float32", "float64"), default="float32",
                    help="with --shape (default float32)")
    args = ap.parse_args(argv)

    if args.shape:
        if os.path.exists(args.input):
            ap.error(f"{args.input} exists; --shape creates the input, so name a new file")
        shape = tuple(int(n) for n in args.shape.split(","))
        d = random_inputs(args.seed, shape, np.dtype(args.dtype).type, layout=args.layout)
        np.savez(args.input, **d)
    else:
        with np.load(args.input, allow_pickle=False) as z:
            d = {ALIASES.get(k, k): z[k] for k in z.files}
        if "x" not in d:
            ap.error(f"{args.input}: no array 'x'; keys present: {', '.join(d) or '(none)'}")
    try:
        res = torch_results(d, training=not args.eval, layout=args.layout)
    except (RuntimeError, ValueError) as e:
        print(f"torch_export: torch refused: {e}", file=sys.stderr)
        return 3
    np.savez(args.output, **res)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What PyTorch (CPU) computes for a bnfile input file: the reference users diff against.

    /tmp/tv/bin/python scripts/torch_reference.py IN.npz OUT.npz [--eval] [--layout nchw|nhwc]

Reads the same input keys as scripts/bn_oracle.py (x, gamma, beta, dout, running_mean,
running_var, eps, momentum; same defaults), builds torch.nn.BatchNorm1d/2d/3d (rank 2 or
3 -> 1d, 4 -> 2d, 5 -> 3d) with C channels, the file's eps and momentum, and
weight/bias/running stats from the file (in gamma's dtype, or x's dtype when gamma is
absent), runs the forward in train (or eval) mode on the CPU with one thread, then the
backward with dout when the file has one.

Layout nhwc: the file's channels-last array is permuted to NCHW order; for rank 4/5 the
tensor is made torch.channels_last / channels_last_3d so that torch runs its
channels-last kernel (rank 2 is the same in both layouts; rank 3 has no channels-last
memory format in torch, so the permuted view is made contiguous).

Writes out, dx (in the file's layout), dgamma, dbeta, running_mean, running_var, and
torch's own mean and invstd (save_mean / save_invstd of aten.native_batch_norm in
training mode, cast to the per-channel dtype; in eval mode mean = running_mean and
invstd = 1/sqrt(running_var + eps) evaluated by torch in the per-channel dtype).
Dtypes and key names are those of the oracle. Exit status 3 means torch refused the case.
"""

import argparse
import sys

import numpy as np
import torch

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1


def module_for(rank: int, C: int, eps: float, momentum: float) -> torch.nn.Module:
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d,
           4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}[rank]
    return cls(C, eps=eps, momentum=momentum)


def to_torch_layout(a: np.ndarray, layout: str) -> torch.Tensor:
    """File array -> NCHW-ordered tensor (channels-last memory for nhwc rank 4/5)."""
    t = torch.from_numpy(np.ascontiguousarray(a))
    if layout == "nhwc" and a.ndim >= 3:
        t = t.permute(0, a.ndim - 1, *range(1, a.ndim - 1))
        if a.ndim == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        elif a.ndim == 5:
            t = t.contiguous(memory_format=torch.channels_last_3d)
        else:
            t = t.contiguous()
    return t


def to_file_layout(t: torch.Tensor, layout: str) -> np.ndarray:
    if layout == "nhwc" and t.dim() >= 3:
        t = t.permute(0, *range(2, t.dim()), 1)
    return np.ascontiguousarray(t.detach().numpy())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    with np.load(args.input, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    x = d["x"]
    axis = 1 if args.layout == "nchw" else x.ndim - 1
    C = x.shape[axis]
    pdtype = d["gamma"].dtype if "gamma" in d else x.dtype
    eps = float(d["eps"]) if "eps" in d else DEFAULT_EPS
    momentum = float(d["momentum"]) if "momentum" in d else DEFAULT_MOMENTUM

    def param(key, default):
        a = d[key] if key in d else np.full(C, default, dtype=pdtype)
        return torch.from_numpy(np.ascontiguousarray(a.astype(pdtype)))

    bn = module_for(x.ndim, C, eps, momentum)
    bn = bn.to(torch.from_numpy(np.zeros(1, dtype=pdtype)).dtype)
    with torch.no_grad():
        bn.weight.copy_(param("gamma", 1))
        bn.bias.copy_(param("beta", 0))
        bn.running_mean.copy_(param("running_mean", 0))
        bn.running_var.copy_(param("running_var", 1))
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(not args.eval)

    xt = to_torch_layout(x, args.layout).requires_grad_(True)
    try:
        out = bn(xt)
        if "dout" in d:
            out.backward(to_torch_layout(d["dout"], args.layout))
    except RuntimeError as e:
        print(f"torch_reference: torch refused: {e}", file=sys.stderr)
        return 3

    res = {"out": to_file_layout(out, args.layout)}
    if "dout" in d:
        res["dx"] = to_file_layout(xt.grad, args.layout)
        res["dgamma"] = bn.weight.grad.numpy().astype(pdtype)
        res["dbeta"] = bn.bias.grad.numpy().astype(pdtype)
    res["running_mean"] = bn.running_mean.numpy().astype(pdtype)
    res["running_var"] = bn.running_var.numpy().astype(pdtype)

    # torch's own saved statistics.
    with torch.no_grad():
        if not args.eval:
            _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(
                xt.detach(), bn.weight.detach(), bn.bias.detach(), rm0.clone(), rv0.clone(),
                True, momentum, eps)
            res["mean"] = save_mean.numpy().astype(pdtype)
            res["invstd"] = save_invstd.numpy().astype(pdtype)
        else:
            res["mean"] = rm0.numpy().astype(pdtype)
            res["invstd"] = (1 / torch.sqrt(rv0 + eps)).numpy().astype(pdtype)
    np.savez(args.output, **res)
    return 0


if __name__ == "__main__":
    sys.exit(main())

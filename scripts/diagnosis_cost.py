#!/usr/bin/env python3
"""Makes a large layer for measuring what naming the bug costs (README "Naming the bug").

Usage: python3 scripts/diagnosis_cost.py DIR [--shape 8,64,56,56]

Writes DIR/in.npz (x ~ 1 + N(0,1) float32, dout ~ N(0,1), gamma, beta, running
statistics; torch's default settings), DIR/correct.npz (a two-pass float32 training
step: within rounding, so `diff` diagnoses nothing) and one result per bug whose
diagnosis runs the most models: DIR/unbiased-variance.npz (out, dx and dgamma beyond,
so every forward model runs) and DIR/missing-dbeta-term.npz (dx alone). Then time

    /usr/bin/time -v bnfile diff DIR/correct.npz DIR/correct.npz --inputs DIR/in.npz
    /usr/bin/time -v bnfile diff DIR/unbiased-variance.npz DIR/correct.npz --inputs DIR/in.npz

The first is the plain `diff --inputs` time of the layer; the second adds the diagnosis
of side A (side B, correct, is not diagnosed).
"""
import argparse
import os

import numpy as np


def step(x, dout, gamma, beta, rm, rv, unbiased_norm=False, drop_dbeta=False, eps=1e-5, m=0.1):
    axes = (0, 2, 3)
    n = x.size // x.shape[1]
    bc = lambda v: v.reshape(1, -1, 1, 1)  # noqa: E731
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    norm_var = var * np.float32(n) / np.float32(n - 1) if unbiased_norm else var
    invstd = 1 / np.sqrt(norm_var + np.float32(eps))
    xhat = (x - mean) * invstd
    out = bc(gamma) * xhat + bc(beta)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    term_b = np.zeros_like(dbeta) if drop_dbeta else dbeta
    dx = bc(gamma) * invstd / np.float32(n) * (np.float32(n) * dout - bc(term_b) - xhat * bc(dgamma))
    m = np.float32(m)
    unbiased = var.reshape(-1) * np.float32(n) / np.float32(n - 1)
    return dict(out=out, dx=dx, dgamma=dgamma, dbeta=dbeta, running_mean=(1 - m) * rm + m * mean.reshape(-1),
                running_var=(1 - m) * rv + m * unbiased)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--shape", default="8,64,56,56")
    args = parser.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    rs = np.random.RandomState(16)
    f32 = np.float32
    x = (1 + rs.standard_normal(shape)).astype(f32)
    dout = rs.standard_normal(shape).astype(f32)
    c = shape[1]
    gamma = (1 + 0.1 * rs.standard_normal(c)).astype(f32)
    beta = (0.1 * rs.standard_normal(c)).astype(f32)
    rm = (0.1 * rs.standard_normal(c)).astype(f32)
    rv = rs.uniform(0.5, 2, c).astype(f32)
    os.makedirs(args.dir, exist_ok=True)
    np.savez(os.path.join(args.dir, "in.npz"), x=x, dout=dout, gamma=gamma, beta=beta, running_mean=rm,
             running_var=rv)
    for name, kwargs in [("correct", {}), ("unbiased-variance", {"unbiased_norm": True}),
                         ("missing-dbeta-term", {"drop_dbeta": True})]:
        np.savez(os.path.join(args.dir, f"{name}.npz"), **step(x, dout, gamma, beta, rm, rv, **kwargs))


if __name__ == "__main__":
    main()

"""Batch norm in float64 numpy from a bnfile input record: a plain cross-check, not the oracle.

`reference(inp)` reads the keys of bnfile's input schema (x, dout, gamma, beta,
running_mean, running_var, and the settings eps, momentum, momentum_convention,
running_var_convention, training, layout) and returns out, dx, dgamma, dbeta and the
running statistics after the step as float64 arrays, by the textbook formulas:

    training:  mean, var = batch mean and biased variance over all axes but the channel's
    eval:      mean, var = running_mean, running_var
    xhat = (x - mean) / sqrt(var + eps);  out = gamma*xhat + beta
    dbeta = sum dout;  dgamma = sum dout*xhat
    dx = gamma/sqrt(var+eps)/M * (M*dout - dbeta - xhat*dgamma)   (training)
    dx = dout * gamma/sqrt(var+eps)                                (eval)
    running update, with b = batch variance biased or times M/(M-1) (unbiased):
      torch:  new = (1-m)*old + m*batch        keras:  new = m*old + (1-m)*batch

float64 rounding makes these good to ~1e-12 relative on well-conditioned data, which is
all the capture tests and the exporters' self-checks need; exact values are the job of
scripts/bn_oracle.py and bnfile itself. Needs numpy only, so every framework's
environment can use it.
"""

import numpy as np


def _setting(inp, key, default):
    return inp[key].item() if key in inp else default


def batch_axes(inp):
    """(reduction axes, channel axis) of x from the record's layout (nchw: 1, nhwc: last)."""
    x = inp["x"]
    channel = x.ndim - 1 if str(_setting(inp, "layout", "nchw")) == "nhwc" else 1
    return tuple(i for i in range(x.ndim) if i != channel), channel


def _running_update(inp, old, batch, momentum):
    if str(_setting(inp, "momentum_convention", "torch")) == "keras":
        return momentum * old + (1 - momentum) * batch
    return (1 - momentum) * old + momentum * batch


def reference(inp):
    """float64 out, dx, dgamma, dbeta, running_mean, running_var for the input record `inp`."""
    x = inp["x"].astype(np.float64)
    axes, channel = batch_axes(inp)
    C, M = x.shape[channel], x.size // x.shape[channel]
    shape = [1] * x.ndim
    shape[channel] = C
    col = lambda v: np.asarray(v, np.float64).reshape(shape)  # noqa: E731
    gamma = inp["gamma"].astype(np.float64) if "gamma" in inp else np.ones(C)
    beta = inp["beta"].astype(np.float64) if "beta" in inp else np.zeros(C)
    eps, m = float(_setting(inp, "eps", 1e-5)), float(_setting(inp, "momentum", 0.1))
    training = bool(_setting(inp, "training", True))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = inp["running_mean"].astype(np.float64), inp["running_var"].astype(np.float64)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - col(mean)) * col(invstd)
    res = {"out": col(gamma) * xhat + col(beta)}
    if "dout" in inp:
        dout = inp["dout"].astype(np.float64)
        res["dbeta"], res["dgamma"] = dout.sum(axis=axes), (dout * xhat).sum(axis=axes)
        if training:
            res["dx"] = col(gamma * invstd / M) * (M * dout - col(res["dbeta"]) - xhat * col(res["dgamma"]))
        else:
            res["dx"] = dout * col(gamma * invstd)
    if "running_mean" in inp:
        rm, rv = inp["running_mean"].astype(np.float64), inp["running_var"].astype(np.float64)
        if training:
            unbiased = str(_setting(inp, "running_var_convention", "unbiased")) == "unbiased"
            batch_var = var * M / (M - 1) if unbiased else var
            rm, rv = _running_update(inp, rm, mean, m), _running_update(inp, rv, batch_var, m)
        res["running_mean"], res["running_var"] = rm, rv
    return res


def worst_error(inp, got):
    """{key: max |got - reference| / (1 + max |reference|)} over the keys both have."""
    ref = reference(inp)
    return {k: float(np.abs(got[k].astype(np.float64) - ref[k]).max() / (1 + np.abs(ref[k]).max()))
            for k in got if k in ref}

#!/usr/bin/env python3
"""One training step of flax.linen.BatchNorm on a bnfile input, saved with bnfile's keys.

    python scripts/flax_export.py IN.npz IN.flax.npz --no-fast-variance
    python scripts/flax_export.py IN.npz IN.flax-fast.npz [--fast-variance]

IN.npz holds channels-last x, dout, gamma, beta, running_mean, running_var (see
scripts/framework_export.py); eps and momentum come from the file, else Flax's defaults
(epsilon 1e-5, momentum 0.99, moving = m*moving + (1-m)*batch). The module is
nn.BatchNorm(use_running_average=not training, axis=-1, momentum, epsilon,
use_fast_variance) with dtype and param_dtype those of x and gamma (float64 with x64 on,
which this script turns on). --fast-variance (Flax's default) computes the variance as
E[x^2] - E[x]^2; --no-fast-variance as E[(x - E[x])^2]. The upstream gradient is dout
(jax.vjp of apply, loss = sum(out * dout)).

Flax updates the running variance with the biased batch variance; the result file
records running_var_convention "biased". Exit 2 on an unusable input, 3 if Flax fails.
"""

import argparse
import os
import sys

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 cases; float32 ones stay float32
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import framework_export as fx  # noqa: E402


def step(arrays, settings, args):
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np

    x, gamma = arrays["x"], arrays["gamma"]
    bn = nn.BatchNorm(use_running_average=not settings["training"], axis=-1, momentum=settings["momentum"],
                      epsilon=settings["eps"], dtype=x.dtype, param_dtype=gamma.dtype,
                      use_fast_variance=args.fast_variance)
    stats = {"mean": jnp.asarray(arrays["running_mean"]), "var": jnp.asarray(arrays["running_var"])}
    params = {"scale": jnp.asarray(gamma), "bias": jnp.asarray(arrays["beta"])}

    def forward(x, params):
        out, updates = bn.apply({"params": params, "batch_stats": stats}, x, mutable=["batch_stats"])
        return out, updates["batch_stats"]

    try:
        out, pullback, new_stats = jax.vjp(forward, jnp.asarray(x), params, has_aux=True)
        dx, dparams = pullback(jnp.asarray(arrays["dout"]))
    except Exception as e:  # a framework error is a refusal, not a crash
        raise fx.FrameworkRefused(f"{type(e).__name__}: {e}")
    values = dict(out=out, dx=dx, dgamma=dparams["scale"], dbeta=dparams["bias"],
                  running_mean=new_stats["mean"], running_var=new_stats["var"])
    return {k: np.asarray(v) for k, v in values.items()}


def add_arguments(ap):
    ap.add_argument("--fast-variance", action=argparse.BooleanOptionalAction, default=True,
                    help="Flax's use_fast_variance: E[x^2]-E[x]^2 (default, as in Flax) or two-pass")


def framework():
    import flax

    return fx.Framework(name=f"Flax {flax.__version__}", eps=1e-5, momentum=0.99,
                        running_var_convention="biased", step=step)


if __name__ == "__main__":
    sys.exit(fx.main(framework(), add_arguments=add_arguments, describe=__doc__))

#!/usr/bin/env python3
"""One training step of TensorFlow's fused batch norm on a bnfile input, saved with bnfile's keys.

    python scripts/tf_fused_export.py IN.npz IN.tf-fused.npz [--raw-op]

IN.npz holds channels-last x (rank 4, N,H,W,C), dout, gamma, beta, running_mean,
running_var (see scripts/framework_export.py); eps and momentum come from the file,
else Keras's defaults (1e-3, 0.99, moving = m*moving + (1-m)*batch).

By default the layer is tf_keras.layers.BatchNormalization(axis=-1, momentum, epsilon,
fused=True, dtype=x's dtype, or "mixed_float16" for float16 x with float32 gamma), the
Keras 2 layer that calls the fused kernel (FusedBatchNormV3); with
--raw-op it is tf.compat.v1.nn.fused_batch_norm(..., data_format="NHWC",
exponential_avg_factor=1-momentum) itself. Both are called in training mode unless the
file says training=False; the upstream gradient is dout (tf.GradientTape, loss =
sum(out * dout)).

The fused kernel updates the running variance with the unbiased (Bessel-corrected) batch
variance, unlike Keras 3 and Flax; the result file records running_var_convention
"unbiased". The kernel takes float32 (and float16/bfloat16 x with float32 parameters),
not float64: float64 inputs exit 3, as does anything TF refuses. Exit 2 on an unusable
input.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"  # importing tensorflow imports Keras 3, which must not pick JAX
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import framework_export as fx  # noqa: E402


def keras2_layer(tf, arrays, settings):
    """tf_keras's fused BatchNormalization holding the file's parameters and statistics."""
    import tf_keras

    layer = tf_keras.layers.BatchNormalization(axis=-1, momentum=settings["momentum"],
                                               epsilon=settings["eps"], fused=True,
                                               dtype=fx.dtype_policy(arrays))
    layer.build(arrays["x"].shape)
    layer.set_weights([arrays[k] for k in ("gamma", "beta", "running_mean", "running_var")])
    if not layer.fused:
        raise fx.FrameworkRefused("tf_keras chose the non-fused path for this input")
    return layer


def run_layer(tf, arrays, settings):
    layer = keras2_layer(tf, arrays, settings)
    x, dout = tf.constant(arrays["x"]), tf.constant(arrays["dout"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=settings["training"])
        loss = tf.reduce_sum(out * dout)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return out, dx, dgamma, dbeta, layer.moving_mean, layer.moving_variance


def run_raw_op(tf, arrays, settings):
    x, dout = tf.constant(arrays["x"]), tf.constant(arrays["dout"])
    gamma, beta = tf.constant(arrays["gamma"]), tf.constant(arrays["beta"])
    mean, var = tf.constant(arrays["running_mean"]), tf.constant(arrays["running_var"])
    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        out, new_mean, new_var = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, mean=mean, variance=var, epsilon=settings["eps"], data_format="NHWC",
            is_training=settings["training"], exponential_avg_factor=1.0 - settings["momentum"])
        loss = tf.reduce_sum(out * dout)
    dx, dgamma, dbeta = tape.gradient(loss, [x, gamma, beta])
    if not settings["training"]:  # the op returns the statistics it used; eval leaves them
        new_mean, new_var = mean, var
    return out, dx, dgamma, dbeta, new_mean, new_var


def step(arrays, settings, args):
    import numpy as np
    import tensorflow as tf

    if arrays["x"].ndim != 4:
        raise fx.FrameworkRefused(f"the fused kernel takes rank-4 NHWC input, not rank {arrays['x'].ndim}")
    try:
        values = (run_raw_op if args.raw_op else run_layer)(tf, arrays, settings)
    except fx.FrameworkRefused:
        raise
    except Exception as e:  # a framework error is a refusal, not a crash
        raise fx.FrameworkRefused(f"{type(e).__name__}: {e}")
    keys = ("out", "dx", "dgamma", "dbeta", "running_mean", "running_var")
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in zip(keys, values)}


def add_arguments(ap):
    ap.add_argument("--raw-op", action="store_true",
                    help="call tf.compat.v1.nn.fused_batch_norm instead of tf_keras's fused layer")


def framework():
    import tensorflow as tf

    return fx.Framework(name=f"TF {tf.__version__} fused", eps=1e-3, momentum=0.99,
                        running_var_convention="unbiased", step=step, dtypes=("float16", "float32"))


if __name__ == "__main__":
    sys.exit(fx.main(framework(), add_arguments=add_arguments, describe=__doc__))

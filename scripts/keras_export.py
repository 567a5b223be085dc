#!/usr/bin/env python3
"""One training step of Keras 3's BatchNormalization on a bnfile input, saved with bnfile's keys.

    KERAS_BACKEND=tensorflow python scripts/keras_export.py IN.npz IN.keras-tf.npz
    KERAS_BACKEND=jax        python scripts/keras_export.py IN.npz IN.keras-jax.npz

IN.npz holds channels-last x, dout, gamma, beta, running_mean, running_var (see
scripts/framework_export.py); eps and momentum come from the file, else Keras's defaults
(epsilon 1e-3, momentum 0.99, Keras's convention: moving = m*moving + (1-m)*batch).
The layer is keras.layers.BatchNormalization(axis=-1, momentum, epsilon) with the dtype
policy of the file (x's dtype; "mixed_float16" for float16 x with float32 gamma; float64
under JAX needs x64, which this script turns on), with
synchronized=False (the default), called with training=True unless the file says
training=False. The upstream gradient is dout: loss = sum(out * dout), so dx, dgamma and
dbeta are the gradients of out against dout, taken with tf.GradientTape under the
TensorFlow backend and with jax.vjp on the layer's stateless_call under JAX.

Keras 3 updates the moving variance with the biased batch variance; the result file
records running_var_convention "biased". Exit 2 on an unusable input, 3 if Keras fails.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import framework_export as fx  # noqa: E402

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "jax":
    os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 cases; float32 ones stay float32


def build_layer(keras, arrays, settings):
    """A built BatchNormalization holding the file's gamma, beta and moving statistics."""
    x = arrays["x"]
    layer = keras.layers.BatchNormalization(axis=-1, momentum=settings["momentum"],
                                            epsilon=settings["eps"], dtype=fx.dtype_policy(arrays))
    layer.build(x.shape)
    for var, key in [(layer.gamma, "gamma"), (layer.beta, "beta"),
                     (layer.moving_mean, "running_mean"), (layer.moving_variance, "running_var")]:
        var.assign(arrays[key])
    return layer


def step_tensorflow(keras, layer, arrays, training):
    import tensorflow as tf

    x, dout = tf.constant(arrays["x"]), tf.constant(arrays["dout"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=training)
        loss = tf.reduce_sum(out * dout)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])
    return out, dx, dgamma, dbeta, layer.moving_mean, layer.moving_variance


def step_jax(keras, layer, arrays, training):
    import jax

    trainable = [v.value for v in layer.trainable_variables]
    frozen = [v.value for v in layer.non_trainable_variables]

    def forward(x, params):
        return layer.stateless_call(params, frozen, x, training=training)

    out, pullback, new_frozen = jax.vjp(forward, jax.numpy.asarray(arrays["x"]), trainable, has_aux=True)
    dx, (dgamma, dbeta) = pullback(jax.numpy.asarray(arrays["dout"]))
    names = [v.path.split("/")[-1] for v in layer.non_trainable_variables]
    stats = dict(zip(names, new_frozen))
    return out, dx, dgamma, dbeta, stats["moving_mean"], stats["moving_variance"]


def step(arrays, settings, args):
    import keras
    import numpy as np

    if keras.backend.backend() != BACKEND:
        raise fx.FrameworkRefused(f"KERAS_BACKEND={BACKEND} but Keras runs {keras.backend.backend()}")
    layer = build_layer(keras, arrays, settings)
    run = step_jax if BACKEND == "jax" else step_tensorflow
    try:
        values = run(keras, layer, arrays, settings["training"])
    except Exception as e:  # a framework error is a refusal, not a crash
        raise fx.FrameworkRefused(f"{type(e).__name__}: {e}")
    keys = ("out", "dx", "dgamma", "dbeta", "running_mean", "running_var")
    return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in zip(keys, values)}


def framework():
    import keras

    return fx.Framework(name=f"Keras {keras.__version__} ({BACKEND})", eps=1e-3, momentum=0.99,
                        running_var_convention="biased", step=step)


if __name__ == "__main__":
    sys.exit(fx.main(framework(), describe=__doc__))

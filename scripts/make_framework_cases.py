#!/usr/bin/env python3
"""Input files for the Keras, Flax and TF-fused exporters, one folder per convention.

    python3 scripts/make_framework_cases.py [--out data/frameworks]
        [--tf-python TF_VENV/bin/python] [--jax-python JAX_VENV/bin/python]

Needs numpy only. Writes OUT/<convention>/<case>.npz for every convention below and
every case that the convention's frameworks can run, with identical arrays (x, dout,
gamma, beta, running_mean, running_var, from fixed seeds) and that convention's settings:

    convention  eps    momentum  momentum_convention  running_var_convention  run by
    keras       1e-3   0.99      keras                biased                  keras_export.py (TF, JAX)
    flax        1e-5   0.99      keras                biased                  flax_export.py
    tf-fused    1e-3   0.99      keras                unbiased                tf_fused_export.py

x is channels-last (layout "nhwc", shape (8, 6, 6, 4): 288 values per channel), in
training mode. A folder holds only the inputs of one convention, so that each result file
NAME.<framework>.npz beside NAME.npz was made under the settings NAME.npz records; see
data/frameworks/README.md. The TF fused kernel has no float64, so tf-fused/ has no
float64 case. The float16 case has float32 gamma, beta and running statistics, as mixed
precision training keeps them.

With --tf-python (an interpreter with tensorflow, keras 3 and tf_keras; default
$TF_PYTHON) and --jax-python (jax, flax and keras 3; default $JAX_PYTHON), it then runs
every exporter on every input of its convention, writing beside each NAME.npz:

    keras/NAME.keras-tf.npz     keras_export.py, KERAS_BACKEND=tensorflow   (TF python)
    keras/NAME.keras-jax.npz    keras_export.py, KERAS_BACKEND=jax          (JAX python)
    flax/NAME.flax.npz          flax_export.py --no-fast-variance           (JAX python)
    flax/NAME.flax-fast.npz     flax_export.py --fast-variance (Flax's default)
    tf-fused/NAME.tf-fused.npz  tf_fused_export.py (tf_keras, fused=True)   (TF python)

and OUT/exporters.txt, each exporter's one-line first look at its results (largest
difference from float64 formulas), with the interpreters' package versions. An
interpreter that is not given or not found skips its exporters.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

SHAPE = (8, 6, 6, 4)
CONVENTIONS = {
    "keras": dict(eps=1e-3, momentum=0.99, running_var_convention="biased"),
    "flax": dict(eps=1e-5, momentum=0.99, running_var_convention="biased"),
    "tf-fused": dict(eps=1e-3, momentum=0.99, running_var_convention="unbiased", dtypes=("float16", "float32")),
}


def parameters(rs, C, dtype, fresh=False):
    """gamma, beta, running statistics: a fresh layer's (1, 0, 0, 1) or random ones."""
    if fresh:
        return dict(gamma=np.ones(C, dtype), beta=np.zeros(C, dtype),
                    running_mean=np.zeros(C, dtype), running_var=np.ones(C, dtype))
    return dict(gamma=(1 + 0.5 * rs.standard_normal(C)).astype(dtype),
                beta=(0.1 * rs.standard_normal(C)).astype(dtype),
                running_mean=(0.1 * rs.standard_normal(C)).astype(dtype),
                running_var=rs.uniform(0.5, 2.0, C).astype(dtype))


def cases():
    """{name: arrays}: U(0,1), offset 1000 +- 0.01, float64 offset 3, fresh layer, dout = ones,
    and float16 x and dout with float32 parameters (mixed precision)."""
    def case(seed, dtype, draw, fresh=False, ones=False, params=None):
        rs = np.random.RandomState(seed)
        x = draw(rs).astype(dtype)
        dout = np.ones(SHAPE, dtype) if ones else rs.standard_normal(SHAPE).astype(dtype)
        return dict(x=x, dout=dout, **parameters(rs, SHAPE[-1], params or dtype, fresh))

    return {
        "u01_f32": case(10, np.float32, lambda rs: rs.uniform(0, 1, SHAPE)),
        "offset1000_f32": case(11, np.float32, lambda rs: 1000 + 0.01 * rs.standard_normal(SHAPE)),
        "offset3_f64": case(12, np.float64, lambda rs: 3 + rs.standard_normal(SHAPE)),
        "fresh_f32": case(13, np.float32, lambda rs: rs.standard_normal(SHAPE), fresh=True),
        "dout_ones_f32": case(14, np.float32, lambda rs: 2 + rs.standard_normal(SHAPE), ones=True),
        "u01_f16": case(15, np.float16, lambda rs: rs.uniform(0, 1, SHAPE), params=np.float32),
    }


def settings(convention):
    c = CONVENTIONS[convention]
    return dict(eps=np.float64(c["eps"]), momentum=np.float64(c["momentum"]),
                momentum_convention=np.array("keras"),
                running_var_convention=np.array(c["running_var_convention"]),
                training=np.array(True), layout=np.array("nhwc"))


HERE = os.path.dirname(os.path.abspath(__file__))
# (convention folder, result suffix, interpreter, script, extra arguments, environment)
EXPORTS = [
    ("keras", "keras-tf", "tf", "keras_export.py", [], {"KERAS_BACKEND": "tensorflow"}),
    ("keras", "keras-jax", "jax", "keras_export.py", [], {"KERAS_BACKEND": "jax"}),
    ("flax", "flax", "jax", "flax_export.py", ["--no-fast-variance"], {}),
    ("flax", "flax-fast", "jax", "flax_export.py", ["--fast-variance"], {}),
    ("tf-fused", "tf-fused", "tf", "tf_fused_export.py", [], {}),
]
VERSIONS = {"tf": "tensorflow tf_keras keras numpy", "jax": "jax jaxlib flax keras numpy"}


def versions(python, which):
    """'package version ...' for the packages VERSIONS lists for that interpreter."""
    code = ("import importlib.metadata as m, sys; "
            "print(' '.join(f'{p} {m.version(p)}' for p in sys.argv[1:]))")
    return subprocess.run([python, "-c", code, *VERSIONS[which].split()], capture_output=True,
                          text=True, check=True).stdout.strip()


def run_exporters(out, pythons):
    """Every exporter whose interpreter is present, on every input of its convention."""
    lines = []
    for folder, suffix, which, script, extra, env in EXPORTS:
        python = pythons.get(which)
        if not python:
            print(f"make_framework_cases: no {which} interpreter; skipping {suffix}")
            continue
        for name in sorted(f for f in os.listdir(os.path.join(out, folder)) if f.count(".") == 1):
            inp = os.path.join(out, folder, name)
            res = inp[:-4] + f".{suffix}.npz"
            full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env)
            p = subprocess.run([python, os.path.join(HERE, script), inp, res, *extra],
                               capture_output=True, text=True, env=full_env)
            if p.returncode != 0:
                raise SystemExit(f"make_framework_cases: {script} on {inp} failed ({p.returncode}):\n{p.stderr}")
            line = f"{folder}/{name} -> {suffix}: " + p.stdout.strip().split(": ", 2)[-1]
            print(line)
            lines.append(line)
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join("data", "frameworks"))
    ap.add_argument("--tf-python", default=os.environ.get("TF_PYTHON"))
    ap.add_argument("--jax-python", default=os.environ.get("JAX_PYTHON"))
    args = ap.parse_args(argv)
    written = 0
    for convention, c in CONVENTIONS.items():
        folder = os.path.join(args.out, convention)
        os.makedirs(folder, exist_ok=True)
        for name, arrays in cases().items():
            if str(arrays["x"].dtype) not in c.get("dtypes", ("float16", "float32", "float64")):
                continue
            np.savez(os.path.join(folder, name + ".npz"), **arrays, **settings(convention))
            written += 1
    print(f"make_framework_cases: {written} input files under {args.out}")
    pythons = {k: p for k, p in (("tf", args.tf_python), ("jax", args.jax_python)) if p and os.path.exists(p)}
    if pythons:
        lines = run_exporters(args.out, pythons)
        header = [f"{which}: {versions(p, which)}" for which, p in sorted(pythons.items())]
        with open(os.path.join(args.out, "exporters.txt"), "w") as f:
            f.write("# scripts/make_framework_cases.py: largest difference of each result from float64\n"
                    "# formulas (python/bn_reference.py), relative to 1 + the key's largest magnitude\n")
            f.write("\n".join(header + lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

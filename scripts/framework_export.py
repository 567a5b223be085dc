"""What the Keras, Flax and TF exporters share: reading an input file, writing a result file.

Each exporter (keras_export.py, flax_export.py, tf_fused_export.py) runs one step of its
framework's batch norm and calls `main` with a Framework describing its conventions and
a function computing the results. Needs numpy only.

Input (bnfile's schema): x channels-last (layout "nhwc"; a missing layout means nhwc
here, since these frameworks put channels last), dout, gamma, beta, running_mean,
running_var, and optionally the settings eps, momentum, momentum_convention,
running_var_convention, training. Missing settings take the framework's defaults.
Settings that the framework cannot honour are refused (exit 2) rather than converted:
a torch-convention momentum, nchw layout, or a running-variance convention other than
the framework's, because the result file would then claim settings it was not made with.

Output: out, dx, dgamma, dbeta, running_mean, running_var in the dtypes the framework
produced, plus the settings used (eps, momentum, momentum_convention "keras",
running_var_convention, training, layout "nhwc"), written atomically with np.savez.
A line on stdout gives each key's largest difference from the float64 formulas of
python/bn_reference.py, relative to 1 + its largest magnitude, as a first look.
"""

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from bn_reference import worst_error  # noqa: E402

ARRAY_KEYS = ("x", "dout", "gamma", "beta", "running_mean", "running_var")


@dataclass
class Framework:
    """A framework's batch-norm conventions and its one-step function.

    step(arrays, settings, args) -> {key: numpy array} with out, dx, dgamma, dbeta,
    running_mean, running_var; it raises FrameworkRefused for cases the framework cannot run.
    """
    name: str
    eps: float
    momentum: float
    running_var_convention: str
    step: Callable
    dtypes: tuple = ("float16", "float32", "float64")


class FrameworkRefused(Exception):
    """The framework cannot run this case (exit status 3)."""


class BadInput(Exception):
    """The input file is unusable for this exporter (exit status 2)."""


def _text(z, key, default):
    return str(z[key].item()) if key in z else default


def read_case(path, fw):
    """(arrays, settings) from an input file, checked against the framework's conventions."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: not a readable .npz ({e})")
    missing = [k for k in ARRAY_KEYS if k not in data]
    if missing:
        raise BadInput(f"{path}: missing {', '.join(missing)} (the exporters need every array)")
    checks = [("layout", "nhwc"), ("momentum_convention", "keras"),
              ("running_var_convention", fw.running_var_convention)]
    for key, wanted in checks:
        got = _text(data, key, wanted)
        if got != wanted:
            raise BadInput(f"{path}: {key} is {got!r}; {fw.name} uses {wanted!r}")
    if str(data["x"].dtype) not in fw.dtypes:
        raise FrameworkRefused(f"{path}: {fw.name} does not run {data['x'].dtype} (runs {', '.join(fw.dtypes)})")
    settings = dict(eps=float(data.get("eps", fw.eps)), momentum=float(data.get("momentum", fw.momentum)),
                    training=bool(data.get("training", True)))
    return {k: data[k] for k in ARRAY_KEYS}, settings


def dtype_policy(arrays):
    """Keras's dtype policy for the file: x's dtype, or mixed_float16 for float16 x with float32 parameters."""
    x, p = str(arrays["x"].dtype), str(arrays["gamma"].dtype)
    if x == p:
        return x
    if (x, p) == ("float16", "float32"):
        return "mixed_float16"
    raise FrameworkRefused(f"x is {x} and gamma {p}: no Keras dtype policy has that pair")


def settings_arrays(settings, fw):
    """The settings as bnfile's 0-d arrays, for the result file."""
    return dict(eps=np.float64(settings["eps"]), momentum=np.float64(settings["momentum"]),
                momentum_convention=np.array("keras"),
                running_var_convention=np.array(fw.running_var_convention),
                training=np.array(settings["training"]), layout=np.array("nhwc"))


def save_atomically(path, arrays):
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def summary(path, arrays, settings, results, fw):
    record = dict(arrays, **settings_arrays(settings, fw))
    errors = worst_error(record, results)
    shown = " ".join(f"{k} {errors[k]:.1e}" for k in sorted(errors))
    return f"{os.path.basename(path)}: {fw.name}: differences from float64 formulas: {shown}"


def main(fw, argv=None, add_arguments=None, describe=None):
    """Command line: IN.npz OUT.npz [framework options]; exit 0, 2 bad input, 3 refused."""
    ap = argparse.ArgumentParser(description=describe, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="IN.npz in bnfile's schema, x channels-last")
    ap.add_argument("output", help="OUT.npz for the framework's results (conventionally IN.<framework>.npz)")
    if add_arguments:
        add_arguments(ap)
    args = ap.parse_args(argv)
    prog = os.path.basename(sys.argv[0])
    try:
        arrays, settings = read_case(args.input, fw)
        results = fw.step(arrays, settings, args)
    except BadInput as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    except FrameworkRefused as e:
        print(f"{prog}: {fw.name} refused: {e}", file=sys.stderr)
        return 3
    save_atomically(args.output, dict(results, **settings_arrays(settings, fw)))
    print(summary(args.input, arrays, settings, results, fw))
    return 0

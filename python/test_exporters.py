"""Tests of the Keras, Flax and TF-fused exporters, run where those frameworks are installed.

    make test-torch PYTHON=... TF_PYTHON=/path/to/tf-venv/bin/python JAX_PYTHON=/path/to/jax-venv/bin/python

The exporters run in their own interpreters (TF_PYTHON: tensorflow, keras 3, tf_keras;
JAX_PYTHON: jax, flax, keras 3), each test as a subprocess on a small input written here;
a test whose interpreter is not given is skipped. The test process needs numpy only.

Each result is checked against the float64 formulas of bn_reference.py under the
conventions the result file records, and against the other running-variance convention,
which must be visibly wrong (they differ by (1 - momentum)*var/(M-1), about 50 float32
roundings here): that pins down a claim like "Keras updates with the biased variance".
The refusals are checked by exit status and by the absence of an output file.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from bn_reference import worst_error

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts")
sys.path.insert(0, SCRIPTS)
import make_framework_cases as cases  # noqa: E402

PYTHONS = {"tf": os.environ.get("TF_PYTHON"), "jax": os.environ.get("JAX_PYTHON")}
EXPORTERS = {  # id: (interpreter, script, arguments, environment, convention folder)
    "keras-tf": ("tf", "keras_export.py", [], {"KERAS_BACKEND": "tensorflow"}, "keras"),
    "keras-jax": ("jax", "keras_export.py", [], {"KERAS_BACKEND": "jax"}, "keras"),
    "flax": ("jax", "flax_export.py", ["--no-fast-variance"], {}, "flax"),
    "flax-fast": ("jax", "flax_export.py", ["--fast-variance"], {}, "flax"),
    "tf-fused": ("tf", "tf_fused_export.py", [], {}, "tf-fused"),
    "tf-fused-raw": ("tf", "tf_fused_export.py", ["--raw-op"], {}, "tf-fused"),
}
FLOAT32_LIMIT = 3e-6  # worst_error of a float32 result on well-conditioned data


def export(exporter, inp, out):
    which, script, extra, env, _ = EXPORTERS[exporter]
    python = PYTHONS[which]
    if not python or not os.path.exists(python):
        pytest.skip(f"{which.upper()}_PYTHON not set: {exporter} not tested")
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env)
    return subprocess.run([python, os.path.join(SCRIPTS, script), str(inp), str(out), *extra],
                          capture_output=True, text=True, env=full_env, timeout=300)


def write_case(tmp_path, name, convention, **changes):
    arrays = dict(cases.cases()[name], **cases.settings(convention))
    arrays.update(changes)
    path = tmp_path / f"{name}.npz"
    np.savez(path, **arrays)
    return path, arrays


def load(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def run_ok(tmp_path, exporter, name="u01_f32"):
    inp, arrays = write_case(tmp_path, name, EXPORTERS[exporter][4])
    out = tmp_path / f"{name}.{exporter}.npz"
    p = export(exporter, inp, out)
    assert p.returncode == 0, p.stderr[-2000:]
    return arrays, load(out)


RESULT_KEYS = ["dbeta", "dgamma", "dx", "out", "running_mean", "running_var"]
SETTING_KEYS = ["eps", "layout", "momentum", "momentum_convention", "running_var_convention", "training"]


@pytest.mark.parametrize("exporter", sorted(EXPORTERS))
def test_results_follow_the_recorded_conventions(tmp_path, exporter):
    arrays, got = run_ok(tmp_path, exporter)
    assert sorted(got) == sorted(RESULT_KEYS + SETTING_KEYS)
    for key in SETTING_KEYS:
        assert got[key] == arrays[key], key
    results = {k: got[k] for k in RESULT_KEYS}
    assert got["out"].dtype == got["dx"].dtype == np.float32
    errors = worst_error(arrays, results)
    assert max(errors.values()) < FLOAT32_LIMIT, errors
    other = {"biased": "unbiased", "unbiased": "biased"}[str(arrays["running_var_convention"])]
    wrong = worst_error(dict(arrays, running_var_convention=np.array(other)), results)
    assert wrong["running_var"] > 10 * errors["running_var"], (errors, wrong)


@pytest.mark.parametrize("exporter", ["keras-tf", "flax"])
def test_float64_is_computed_in_float64(tmp_path, exporter):
    arrays, got = run_ok(tmp_path, exporter, "offset3_f64")
    assert got["dx"].dtype == np.float64
    assert max(worst_error(arrays, {k: got[k] for k in RESULT_KEYS}).values()) < 1e-13


def test_keras_on_jax_computes_float64_in_float32(tmp_path):
    """A fact about Keras 3 the README states: float64 arrays with float32 accuracy."""
    arrays, got = run_ok(tmp_path, "keras-jax", "offset3_f64")
    assert got["dx"].dtype == np.float64
    assert 1e-8 < max(worst_error(arrays, {k: got[k] for k in RESULT_KEYS}).values()) < FLOAT32_LIMIT


def test_flax_fast_variance_collapses_at_large_offset(tmp_path):
    arrays, fast = run_ok(tmp_path, "flax-fast", "offset1000_f32")
    _, two_pass = run_ok(tmp_path, "flax", "offset1000_f32")
    fast_err = worst_error(arrays, {k: fast[k] for k in RESULT_KEYS})
    two_pass_err = worst_error(arrays, {k: two_pass[k] for k in RESULT_KEYS})
    assert fast_err["dx"] > 0.5 and two_pass_err["dx"] < 1e-2, (fast_err, two_pass_err)


@pytest.mark.parametrize("exporter", ["keras-tf", "flax", "tf-fused"])
def test_mixed_precision_keeps_float32_parameters(tmp_path, exporter):
    arrays, got = run_ok(tmp_path, exporter, "u01_f16")
    assert got["out"].dtype == got["dx"].dtype == np.float16
    assert got["dgamma"].dtype == got["running_var"].dtype == np.float32
    assert max(worst_error(arrays, {k: got[k] for k in RESULT_KEYS}).values()) < 2e-3


@pytest.mark.parametrize("exporter,change,status", [
    ("keras-tf", {"layout": np.array("nchw")}, 2),
    ("flax", {"momentum_convention": np.array("torch")}, 2),
    ("tf-fused", {"running_var_convention": np.array("biased")}, 2),
    ("tf-fused", {"x": np.zeros((8, 6, 4), np.float32), "dout": np.zeros((8, 6, 4), np.float32)}, 3),
])
def test_refusals_leave_no_output(tmp_path, exporter, change, status):
    inp, _ = write_case(tmp_path, "u01_f32", EXPORTERS[exporter][4], **change)
    out = tmp_path / "out.npz"
    p = export(exporter, inp, out)
    assert p.returncode == status, p.stderr[-2000:]
    assert str(inp) in p.stderr or "rank" in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["u01_f32.npz"]

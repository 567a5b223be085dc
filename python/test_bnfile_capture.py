"""Tests of bnfile_capture against independent float64 formulas (run where torch is installed).

    make test-torch PYTHON=/path/to/venv-with-torch/bin/python

Each record the helper writes is checked against batch norm recomputed in float64 numpy
(bn_reference.py: the textbook formulas, not torch) from the record's own inputs and
settings, so a record with the wrong inputs, the wrong settings or another call's
gradients fails. Tolerances are a few hundred units of the result dtype's rounding,
scaled by the largest reference value: wide enough for torch's float32 sums, far
narrower than any of the mistakes tested for.
"""

import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from bn_reference import reference  # noqa: E402
from bnfile_capture import capture  # noqa: E402

TOLERANCE = {np.float16: 3e-2, np.float32: 1e-4, np.float64: 1e-10}


def assert_matches_reference(inp, got, keys=None):
    """Every key of the reference is in `got` (and vice versa) and agrees within tolerance."""
    ref = reference(inp)
    if "gamma" not in inp:
        ref.pop("dgamma", None), ref.pop("dbeta", None)
    assert sorted(got) == sorted(keys or ref), (sorted(got), sorted(ref))
    for key in got:
        tol = TOLERANCE[got[key].dtype.type] * (1 + np.abs(ref[key]).max())
        np.testing.assert_allclose(got[key].astype(np.float64), ref[key], rtol=0, atol=tol, err_msg=key)


def load(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def run(model, x, folder, loss=None, steps=1):
    """One captured step: forward, loss (default sum(out * fixed random weights)), backward."""
    with capture(model, folder) as cap:
        out = model(x)
        w = torch.randn(out.shape, generator=torch.Generator().manual_seed(7)).to(out.dtype)
        (loss(out) if loss else (out * w).sum()).backward()
    return cap


def records(folder, stem):
    return load(os.path.join(folder, stem + ".npz")), load(os.path.join(folder, stem + ".torch.npz"))


def randomise(bn, seed=0):
    """Non-trivial gamma, beta and running statistics, so a swapped or missing one shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if bn.affine:
            bn.weight.copy_(1 + 0.5 * torch.randn(bn.num_features, generator=g))
            bn.bias.copy_(0.5 * torch.randn(bn.num_features, generator=g))
        if bn.running_mean is not None:
            bn.running_mean.copy_(0.3 * torch.randn(bn.num_features, generator=g))
            bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g))
    return bn


def data(*shape, dtype=torch.float32, seed=1, grad=True):
    x = (2 + 3 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)).to(dtype)
    return x.requires_grad_(grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_training_record_matches_formulas_and_torch_grads(tmp_path, dtype):
    bn = randomise(nn.BatchNorm2d(3)).to(dtype)
    run(bn, data(4, 3, 5, 6, dtype=dtype), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert inp["x"].dtype == got["dx"].dtype == dtype_np(dtype)
    assert str(inp["momentum_convention"]) == "torch" and str(inp["running_var_convention"]) == "unbiased"
    assert str(inp["layout"]) == "nchw" and bool(inp["training"]) and float(inp["eps"]) == 1e-5
    assert float(inp["momentum"]) == 0.1
    assert_matches_reference(inp, got)
    np.testing.assert_array_equal(got["dgamma"], bn.weight.grad.numpy())
    np.testing.assert_array_equal(got["running_mean"], bn.running_mean.numpy())


def dtype_np(dtype):
    return torch.empty(0, dtype=dtype).numpy().dtype


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (6, 4)), (nn.BatchNorm1d, (3, 4, 5)),
                                       (nn.BatchNorm3d, (2, 4, 3, 2, 3))])
def test_1d_and_3d_modules(tmp_path, cls, shape):
    bn = randomise(cls(4))
    run(bn, data(*shape), tmp_path)
    inp, got = records(tmp_path, cls.__name__)
    assert inp["x"].shape == shape
    assert_matches_reference(inp, got)


def test_module_paths_name_the_files(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()), nn.BatchNorm2d(3))
    cap = run(model, data(2, 2, 3, 3), tmp_path)
    names = sorted(os.listdir(tmp_path))
    assert names == ["1.0.npz", "1.0.torch.npz", "2.npz", "2.torch.npz"]
    assert sorted(os.path.basename(p) for p in cap.paths) == names


def test_eval_mode_uses_running_stats_and_leaves_them(tmp_path):
    bn = randomise(nn.BatchNorm2d(3)).eval()
    run(bn, data(2, 3, 4, 4), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert not bool(inp["training"])
    assert_matches_reference(inp, got)
    np.testing.assert_array_equal(got["running_var"], inp["running_var"])


def test_affine_false_has_no_parameters(tmp_path):
    bn = randomise(nn.BatchNorm2d(3, affine=False))
    run(bn, data(4, 3, 2, 2), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert "gamma" not in inp and "beta" not in inp
    assert_matches_reference(inp, got, keys=["out", "dx", "running_mean", "running_var"])


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_without_running_stats_batch_stats_are_used(tmp_path, mode):
    bn = randomise(nn.BatchNorm2d(3, track_running_stats=False)).train(mode == "train")
    run(bn, data(4, 3, 2, 2), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert bool(inp["training"]), "torch normalises with batch statistics in both modes"
    assert "running_mean" not in inp and "running_mean" not in got
    assert_matches_reference(inp, got, keys=["out", "dx", "dgamma", "dbeta"])


def test_momentum_none_is_the_cumulative_factor(tmp_path):
    bn = randomise(nn.BatchNorm2d(3, momentum=None))
    bn(data(4, 3, 2, 2, seed=5)).sum().backward()  # one step before: num_batches_tracked = 1
    bn.zero_grad()
    with capture(bn, tmp_path):
        sum(bn(data(4, 3, 2, 2, seed=s)).sum() for s in (6, 7)).backward()
    for stem, m in [("BatchNorm2d", 1 / 2), ("BatchNorm2d.call2", 1 / 3)]:
        inp, got = records(tmp_path, stem)
        assert float(inp["momentum"]) == m
        assert_matches_reference(inp, got)


def test_module_called_twice_gets_one_record_per_call(tmp_path):
    bn = randomise(nn.BatchNorm2d(3))
    model = Twice(bn)
    run(model, data(4, 3, 2, 3), tmp_path)
    first, second = records(tmp_path, "bn"), records(tmp_path, "bn.call2")
    for inp, got in (first, second):
        assert_matches_reference(inp, got)
    np.testing.assert_array_equal(second[0]["running_mean"], first[1]["running_mean"])
    np.testing.assert_allclose(first[1]["dgamma"] + second[1]["dgamma"], bn.weight.grad.numpy(), rtol=1e-6)
    assert np.abs(first[1]["dgamma"] - second[1]["dgamma"]).max() > 1e-2


class Twice(nn.Module):
    """bn on x, then bn again on a scaled copy of its output (two calls, different inputs)."""

    def __init__(self, bn):
        super().__init__()
        self.bn = bn

    def forward(self, x):
        return self.bn(2 * self.bn(x) + 1)


def test_inplace_relu_after_bn_does_not_change_out(tmp_path):
    model = nn.Sequential(randomise(nn.BatchNorm2d(3)), nn.ReLU(inplace=True))
    x = data(4, 3, 3, 3, grad=False).clone().requires_grad_()
    run(model, x * 1, tmp_path)
    inp, got = records(tmp_path, "0")
    assert (got["out"] < 0).any()
    assert (inp["dout"] == 0).any(), "the ReLU's zeros reach the batch norm as its dout"
    assert_matches_reference(inp, got)


def test_input_without_grad_has_dout_but_no_dx(tmp_path):
    bn = randomise(nn.BatchNorm2d(3))
    run(bn, data(4, 3, 2, 2, grad=False), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert "dout" in inp and "dx" not in got
    assert_matches_reference(inp, got, keys=["out", "dgamma", "dbeta", "running_mean", "running_var"])


@pytest.mark.parametrize("params", ["float16", "float32"])
def test_float16_keeps_torch_dtypes(tmp_path, params):
    bn = randomise(nn.BatchNorm2d(3)).to(getattr(torch, params))
    run(bn, data(4, 3, 3, 3, dtype=torch.float16), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert inp["x"].dtype == inp["dout"].dtype == got["out"].dtype == got["dx"].dtype == np.float16
    assert inp["gamma"].dtype == got["dgamma"].dtype == got["running_var"].dtype == np.dtype(params)
    assert_matches_reference(inp, got)


def test_channels_last_is_saved_in_logical_order(tmp_path):
    bn = randomise(nn.BatchNorm2d(3))
    x = data(2, 3, 4, 5, grad=False).contiguous(memory_format=torch.channels_last).requires_grad_()
    run(bn, x, tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert str(inp["layout"]) == "nchw" and inp["x"].shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(inp["x"], x.detach().numpy())
    np.testing.assert_array_equal(got["dx"], x.grad.contiguous().numpy())
    assert_matches_reference(inp, got)


def test_stale_gradients_warn(tmp_path):
    bn = nn.BatchNorm2d(3)
    bn(data(4, 3, 2, 2)).sum().backward()
    with pytest.warns(UserWarning, match="non-zero gradients"):
        run(bn, data(4, 3, 2, 2), tmp_path)
    inp, got = records(tmp_path, "BatchNorm2d")
    assert_matches_reference(inp, got)  # the record is this step's alone


def test_clean_step_does_not_warn(tmp_path):
    bn = nn.BatchNorm2d(3)
    bn(data(4, 3, 2, 2)).sum().backward()
    bn.zero_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(bn, data(4, 3, 2, 2), tmp_path)


def test_forward_without_backward_is_a_forward_only_record(tmp_path):
    bn = randomise(nn.BatchNorm2d(3))
    with pytest.warns(UserWarning, match="no backward"):
        with capture(bn, tmp_path), torch.no_grad():
            bn(data(4, 3, 2, 2))
    inp, got = records(tmp_path, "BatchNorm2d")
    assert "dout" not in inp
    assert_matches_reference(inp, got, keys=["out", "running_mean", "running_var"])


def test_exception_in_block_writes_nothing(tmp_path):
    bn = nn.BatchNorm2d(3)
    with pytest.raises(KeyError):
        with capture(bn, tmp_path):
            bn(data(4, 3, 2, 2)).sum().backward()
            raise KeyError("user code failed")
    assert os.listdir(tmp_path) == []
    assert not bn._forward_hooks and not bn._forward_pre_hooks


def test_bfloat16_is_saved_as_raw_bits_and_declared(tmp_path):
    x = data(4, 3, 2, 2, dtype=torch.bfloat16)
    run(nn.Sequential(nn.BatchNorm2d(3)), x, tmp_path)
    with np.load(os.path.join(tmp_path, "0.npz")) as f:
        assert f["x"].dtype == np.dtype("<V2") and f["gamma"].dtype == np.float32
        assert sorted(f["bfloat16"].tolist()) == ["dout", "x"]
        bits = x.detach().contiguous().view(torch.int16).numpy()
        assert (f["x"].view(np.int16) == bits).all()
    with np.load(os.path.join(tmp_path, "0.torch.npz")) as f:
        assert sorted(f["bfloat16"].tolist()) == ["dx", "out"]


def test_no_temporary_files_left(tmp_path):
    run(nn.Sequential(nn.BatchNorm1d(2), nn.BatchNorm1d(2)), data(3, 2), tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["0.npz", "0.torch.npz", "1.npz", "1.torch.npz"]

#!/usr/bin/env python3
"""Capture fixtures: real torch networks' batch-norm layers, recorded with python/bnfile_capture.py.

    /path/to/venv-with-torch/bin/python scripts/make_captures.py [--out data/captures]

Writes three folders under --out (replacing the files of the same names):

- `resnet18/`: torchvision's resnet18 (weights=None: random init, nothing downloaded), seed
  0, in training mode, one step of cross-entropy on a random batch of 2 images of 3x32x32
  with random labels: all 20 batch-norm layers (layer4's have 2 values per channel).
- `variants/`: a hand-written network with every case the helper handles (see Variants).
  Two uncaptured steps run first, so running statistics and num_batches_tracked are
  those of a network in training rather than fresh.
- `resnet18_corrupt/`: one good pair copied from resnet18/ and one layer whose torch dx
  was multiplied by (1 + 1e-3) in its own dtype: a check must flag that layer alone.

torch runs on one thread so that a rerun reproduces the files (torch's float32 sums
depend on the thread count). Each record is checked against the float64 formulas of
python/bn_reference.py before the script ends; it fails if any is far off.
"""

import argparse
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from bn_reference import worst_error  # noqa: E402
from bnfile_capture import capture  # noqa: E402

CORRUPTED_LAYER, GOOD_LAYER = "layer1.0.bn2", "layer2.0.bn1"
CORRUPTION = 1e-3
# Largest worst_error accepted per result dtype (float32 sums over <= 2048 values, float16 I/O).
SELF_CHECK_LIMIT = {np.float16: 2e-2, np.float32: 1e-4, np.float64: 1e-10}


class Variants(nn.Module):
    """Every batch-norm case of the capture helper in one small network.

    raw_input       BatchNorm2d on the network input, which needs no gradient: no dx
    conv_bn         BatchNorm2d on a channels_last conv output, then ReLU(inplace=True)
    no_affine       affine=False
    no_stats        track_running_stats=False, training mode
    cumulative      momentum=None (cumulative average; 1/3 after the two warm-up steps)
    shared          one module called twice: records shared and shared.call2
    frozen          eval mode with running statistics
    eval_no_stats   eval mode without running statistics (torch uses batch statistics)
    float16         a float16 module on float16 input
    mixed           a float32 module on float16 input
    seq1d           BatchNorm1d on (N, C, L)
    vol3d           BatchNorm3d on (N, C, D, H, W)
    flat1d          BatchNorm1d on (N, C) after a Linear layer
    """

    def __init__(self):
        super().__init__()
        self.raw_input = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv_bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.no_affine = nn.BatchNorm2d(4, affine=False)
        self.no_stats = nn.BatchNorm2d(4, track_running_stats=False)
        self.cumulative = nn.BatchNorm2d(4, momentum=None)
        self.shared = nn.BatchNorm2d(4)
        self.frozen = nn.BatchNorm2d(4)
        self.eval_no_stats = nn.BatchNorm2d(4, track_running_stats=False)
        self.float16 = nn.BatchNorm2d(4).half()
        self.mixed = nn.BatchNorm2d(4)
        self.seq1d = nn.BatchNorm1d(4)
        self.vol3d = nn.BatchNorm3d(2)
        self.fc = nn.Linear(4, 5)
        self.flat1d = nn.BatchNorm1d(5)

    def train(self, mode=True):
        super().train(mode)
        self.frozen.eval()
        self.eval_no_stats.eval()
        return self

    def forward(self, x):
        h = self.relu(self.conv_bn(self.conv(self.raw_input(x))))
        h = self.cumulative(self.no_stats(self.no_affine(h)))
        h = self.shared(torch.tanh(self.shared(h)))
        h = self.eval_no_stats(self.frozen(h))
        h = self.mixed(self.float16(h.half())).float()
        n, c, height, width = h.shape
        seq = self.seq1d(h.flatten(2))
        vol = self.vol3d(h.reshape(n, 2, 2, height, width))
        flat = self.flat1d(self.fc(h.mean(dim=(2, 3))))
        return flat, seq, vol


def randomise_parameters(model, generator):
    """gamma ~ 1 + 0.3 N(0,1), beta ~ 0.3 N(0,1) for every affine batch-norm module."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=generator))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=generator))


def variants_loss(outputs, generator):
    flat, seq, vol = outputs
    labels = torch.randint(0, flat.shape[1], (flat.shape[0],), generator=generator)
    weights = [torch.randn(t.shape, generator=generator) for t in (seq, vol)]
    return F.cross_entropy(flat, labels) + 0.1 * sum((t * w).sum() for t, w in zip((seq, vol), weights))


def capture_variants(folder):
    g = torch.Generator().manual_seed(1)
    model = Variants()
    randomise_parameters(model, g)
    model.train()
    batch = lambda: (2 + torch.randn(6, 3, 4, 4, generator=g)).contiguous(memory_format=torch.channels_last)  # noqa: E731
    for _ in range(2):  # warm-up steps, not captured
        variants_loss(model(batch()), g).backward()
    model.zero_grad()
    with capture(model, folder) as cap:
        variants_loss(model(batch()), g).backward()
    return cap.paths


def capture_resnet18(folder):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).train()
    x, labels = torch.randn(2, 3, 32, 32), torch.randint(0, 1000, (2,))
    with capture(model, folder) as cap:
        F.cross_entropy(model(x), labels).backward()
    return cap.paths


class Autocast(nn.Module):
    """A conv and a BatchNorm2d under torch's CPU autocast to bfloat16: the conv's output,
    so the layer's x, and with it out, dout and dx, are bfloat16; the parameters and the
    running statistics stay float32."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = self.conv(x)
        return torch.relu(self.bn(h))


def capture_bfloat16(folder):
    g = torch.Generator().manual_seed(2)
    model = Autocast()
    randomise_parameters(model, g)
    model.train()
    x = torch.randn(4, 3, 6, 6, generator=g)
    with capture(model, folder) as cap:
        (model(x).float() * torch.randn(4, 8, 6, 6, generator=g)).sum().backward()
    return cap.paths


def make_corrupt(source, folder):
    """Copy GOOD_LAYER's pair; copy CORRUPTED_LAYER's with dx * (1 + CORRUPTION)."""
    os.makedirs(folder, exist_ok=True)
    for layer in (GOOD_LAYER, CORRUPTED_LAYER):
        shutil.copyfile(os.path.join(source, layer + ".npz"), os.path.join(folder, layer + ".npz"))
    with np.load(os.path.join(source, CORRUPTED_LAYER + ".torch.npz")) as z:
        res = {k: z[k] for k in z.files}
    res["dx"] = (res["dx"] * res["dx"].dtype.type(1 + CORRUPTION)).astype(res["dx"].dtype)
    np.savez(os.path.join(folder, CORRUPTED_LAYER + ".torch.npz"), **res)
    shutil.copyfile(os.path.join(source, GOOD_LAYER + ".torch.npz"), os.path.join(folder, GOOD_LAYER + ".torch.npz"))
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def load(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def self_check(paths):
    """Every torch result against the float64 formulas; returns the lines of a summary."""
    lines, bad = [], []
    for inp_path in (p for p in paths if not p.endswith(".torch.npz")):
        inp, got = load(inp_path), load(inp_path[:-4] + ".torch.npz")
        errors = worst_error(inp, got)
        limit = SELF_CHECK_LIMIT[inp["x"].dtype.type]
        worst = max(errors.values())
        lines.append(f"{os.path.basename(inp_path):32s} {' '.join(sorted(got))}  worst {worst:.1e}")
        if worst > limit:
            bad.append(f"{inp_path}: {errors}")
    if bad:
        raise SystemExit("make_captures: torch results far from the float64 formulas:\n" + "\n".join(bad))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join("data", "captures"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    resnet = capture_resnet18(os.path.join(args.out, "resnet18"))
    variants = capture_variants(os.path.join(args.out, "variants"))
    corrupt = make_corrupt(os.path.join(args.out, "resnet18"), os.path.join(args.out, "resnet18_corrupt"))
    bfloat16 = capture_bfloat16(os.path.join(args.out, "bfloat16"))
    for line in self_check(resnet + variants):
        print(line)
    print(f"make_captures: {len(bfloat16) // 2} bfloat16 autocast records (judged by bnfile check in the tests)")
    print(f"make_captures: {len(resnet) // 2} resnet18 records, {len(variants) // 2} variant records, "
          f"{len(corrupt) // 2} in resnet18_corrupt ({CORRUPTED_LAYER} dx * (1 + {CORRUPTION:g}))")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""`make bench` (with torch): checking a whole network, against torch's own time.

1. torchvision's resnet18 at batch 8 (3x224x224), random init: torch's forward+backward
   of the whole network (median of warm repeats), the capture of all 20 BatchNorm layers
   with python/bnfile_capture.py, and `bnfile check` on the captures.
2. ResNet-50's 53 BatchNorm2d layers at batch 4 as files: `bnfile check` against a warm
   torch loop that loads each layer's inputs, runs BatchNorm2d forward+backward and saves
   the results (what checking costs torch itself).

Every figure is a median of repeats within this one run; ratios are the figures to
quote on a shared machine.

    PYTHON=/path/to/venv-with-torch/bin/python
    $PYTHON scripts/bench_check.py [--bin .build/release/bnfile] [--repeats 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import torch
    import torchvision
except ImportError:
    print("bench_check: torch and torchvision are not importable here; skipped "
          "(make bench PYTHON=/path/to/venv-with-torch/bin/python)")
    sys.exit(0)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import timed  # noqa: E402
from bnfile_capture import capture  # noqa: E402


def step(model, x):
    model.zero_grad()
    loss = model(x).square().mean()
    loss.backward()


def check(binary, folder, repeats):
    def run():
        result = subprocess.run([binary, "check", folder], capture_output=True, text=True)
        if result.returncode == 2:
            sys.exit(result.stderr)
        return result
    return timed(run, repeats), run().stdout.strip().splitlines()[-1]


def network(binary, model, x, folder, repeats):
    model.train()
    torch_time = timed(lambda: step(model, x), repeats)
    model.zero_grad()  # the timed steps left gradients, which the capture would warn about
    t0 = time.perf_counter()
    with capture(model, folder):
        step(model, x)
    capture_time = time.perf_counter() - t0
    check_time, summary = check(binary, folder, repeats)
    return torch_time, capture_time, check_time, summary


def torch_loop(folder):
    """Load, torch BatchNorm2d forward+backward, save: every layer, in one warm process."""
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".npz") or name.endswith(".torch.npz"):
            continue
        f = np.load(os.path.join(folder, name))
        x = torch.tensor(f["x"], requires_grad=True)
        bn = torch.nn.BatchNorm2d(x.shape[1], eps=float(f["eps"]), momentum=float(f["momentum"]))
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(f["gamma"]))
            bn.bias.copy_(torch.tensor(f["beta"]))
            bn.running_mean.copy_(torch.tensor(f["running_mean"]))
            bn.running_var.copy_(torch.tensor(f["running_var"]))
        out = bn(x)
        out.backward(torch.tensor(f["dout"]))
        np.savez(os.path.join(folder, "loop.out"), out=out.detach().numpy(), dx=x.grad.numpy(),
                 dgamma=bn.weight.grad.numpy(), dbeta=bn.bias.grad.numpy(),
                 running_mean=bn.running_mean.numpy(), running_var=bn.running_var.numpy())
    os.remove(os.path.join(folder, "loop.out.npz"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=".build/release/bnfile")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bnfile {args.bin}")
    with tempfile.TemporaryDirectory() as tmp:
        r18 = os.path.join(tmp, "resnet18")
        t, c, k, summary = network(args.bin, torchvision.models.resnet18(weights=None),
                                   torch.randn(8, 3, 224, 224), r18, args.repeats)
        print(f"resnet18, batch 8: torch forward+backward {t:.3f} s; capture {c:.3f} s; "
              f"bnfile check {k:.3f} s ({k / t:.2f}x torch's step)  [{summary}]")
        r50 = os.path.join(tmp, "resnet50")
        t, c, k, summary = network(args.bin, torchvision.models.resnet50(weights=None),
                                   torch.randn(4, 3, 224, 224), r50, args.repeats)
        loop = timed(lambda: torch_loop(r50), args.repeats)
        layers = len([n for n in os.listdir(r50) if n.endswith(".torch.npz")])
        print(f"resnet50, batch 4, {layers} layers: bnfile check {k:.3f} s; warm torch loop "
              f"(load + forward/backward + save) {loop:.3f} s; ratio {k / loop:.2f}  [{summary}]")


if __name__ == "__main__":
    main()

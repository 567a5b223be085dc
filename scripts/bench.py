#!/usr/bin/env python3
"""`make bench`: bnfile's figures beside numpy's and torch's, from one run.

Every figure is the median of several repetitions on the same data, and comparisons
are ratios within this one run: the machine is shared, so absolute times drift between
runs while ratios mostly hold. torch is measured only if it can be imported.

    python3 scripts/bench.py [--bin .build/release/bnfile] [--bench .build/release/bnbench]
                             [--repeats 5] [--quick] [--only io,shapes,runs,network]

Sections: `io` (the (32,64,56,56) compute against numpy and torch, end to end, npz
reading and writing), `shapes` (the engine against torch's forward+backward on every
BatchNorm shape of ResNet-50 at batch 4 and 32, and on (64,4096) and (2,262144)),
`runs` (`bnfile run` as a whole process against load + torch + save in a warm Python
process), `network` (ResNet-50's 53 layers as files: `bnfile run --out-dir` against a
warm torch loop and the page-cache floor of writing the same output bytes).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import torch
except ImportError:  # CI and most machines: the torch column stays empty
    torch = None


def median(xs):
    return sorted(xs)[len(xs) // 2]


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def bnbench(args, *rest):
    out = subprocess.run([args.bench, *map(str, rest)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_peak_rss(cmd):
    """Peak resident memory of one child process, in bytes (GNU time's %M)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True, text=True)
    return int(out.stderr.strip().splitlines()[-1]) * 1024


def notebook_forward_backward(x, gamma, beta, dout, eps=1e-5):
    """The notebook's NumPy code (shared/context), float32 in, as users run it."""
    n, c, h, w = x.shape
    mu = 1.0 / n / h / w * np.sum(x, axis=(0, 2, 3), keepdims=True)
    xmu = x - mu
    var = 1.0 / n / h / w * np.sum(xmu ** 2, axis=(0, 2, 3), keepdims=True)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    out = gamma.reshape(1, c, 1, 1) * xhat + beta.reshape(1, c, 1, 1)
    dbeta = np.sum(dout, axis=(0, 2, 3))
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3))
    m = n * h * w
    dx = (gamma.reshape(1, c, 1, 1) * ivar / m) * (
        m * dout - dbeta.reshape(1, c, 1, 1) - xhat * dgamma.reshape(1, c, 1, 1))
    return out, dx, dgamma, dbeta


def row(name, ours, numpy_t=None, torch_t=None, unit="s", note=""):
    def fmt(v):
        return "-" if v is None else (f"{v:.4f}" if unit == "s" else f"{v:.1f}")
    ratios = []
    if numpy_t:
        ratios.append(f"numpy/bnfile {numpy_t / ours:.2f}x")
    if torch_t:
        ratios.append(f"torch/bnfile {torch_t / ours:.2f}x")
    print(f"{name:<44} {fmt(ours):>9} {fmt(numpy_t):>9} {fmt(torch_t):>9}  {'; '.join(ratios)} {note}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=".build/release/bnfile")
    p.add_argument("--bench", default=".build/release/bnbench")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="smaller arrays, for a smoke test")
    p.add_argument("--only", default="io,shapes,runs,network",
                   help="comma-separated sections to run (io, shapes, runs, network)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for the shapes section, on both sides (default: bnfile's default and torch's); "
                        "one thread each is the comparison least disturbed by other load on a shared machine")
    p.add_argument("--network-dir", default=None,
                   help="for the network section, a folder of captured layers (NAME.npz beside NAME.torch.npz, "
                        "as bnfile_capture writes them) instead of generated ResNet-50 layers")
    p.add_argument("--huge", action="store_true",
                   help="also run M = 10^8 values in one channel (1.6 GB of files) and check every output exactly")
    args = p.parse_args()
    if args.threads and torch is not None:
        torch.set_num_threads(args.threads)
    sections = set(args.only.split(","))
    tmp = tempfile.mkdtemp(prefix="bnbench-")
    if "io" in sections:
        io_section(args, tmp)
    if "shapes" in sections:
        shapes_section(args)
    if "runs" in sections:
        runs_section(args, tmp)
    if "network" in sections:
        network_section(args, tmp)
    if args.huge:
        huge(args, tmp)
    subprocess.run(["rm", "-rf", tmp])


def io_section(args, tmp):
    r = args.repeats
    shape = (8, 64, 28, 28) if args.quick else (32, 64, 56, 56)
    io_mb = 32 if args.quick else 256

    print(f"bnfile bench: shape {shape} float32, {io_mb} MB npz, median of {r} "
          f"(copy and compute: median of 3 alternating rounds of {max(r, 7)}); "
          f"torch {'%s, %d threads' % (torch.__version__, torch.get_num_threads()) if torch else 'not installed'}")
    print(f"{'measure':<44} {'bnfile':>9} {'numpy':>9} {'torch':>9}  ratios (>1: bnfile faster)")

    # The engine: exact forward + backward against torch and the notebook's NumPy code,
    # and the memory-copy bandwidth that is the yardstick for "as fast as the bytes can
    # move". The machine is shared and its load comes in bursts, so all four take turns
    # in rounds (a burst then slows all of them, not one), and each figure is the median
    # of its rounds' medians.
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    dout = rng.standard_normal(shape, dtype=np.float32)
    gamma = np.ones(shape[1], np.float32)
    beta = np.zeros(shape[1], np.float32)
    torch_fb = None
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_()
        dt = torch.from_numpy(dout)
        bn = torch.nn.BatchNorm2d(shape[1])

        def torch_fb():
            y = bn(xt)
            y.backward(dt)
            xt.grad = None
        torch_fb()
    reps = max(r, 7)
    a = np.ones(io_mb * 2**18, np.float32)
    b = np.empty_like(a)
    eng_rounds, np_rounds, torch_rounds, copy_rounds, np_copy_rounds = [], [], [], [], []
    for _ in range(3):
        copy = bnbench(args, "copy", io_mb, reps)
        copy_rounds.append(copy["median_s"])
        np_copy_rounds.append(timed(lambda: np.copyto(b, a), reps))
        eng = bnbench(args, "engine", ",".join(map(str, shape)), reps)
        eng_rounds.append(eng["median_s"])
        np_rounds.append(timed(lambda: notebook_forward_backward(x, gamma, beta, dout), reps))
        if torch_fb is not None:
            torch_rounds.append(timed(torch_fb, reps))
    eng["median_s"] = median(eng_rounds)
    np_t = median(np_rounds)
    torch_t = median(torch_rounds) if torch_rounds else None
    bandwidth = 2 * copy["bytes"] / median(copy_rounds)  # read + write
    row("memory copy (read+write GB/s)", bandwidth / 1e9, 2 * copy["bytes"] / median(np_copy_rounds) / 1e9,
        unit="GB/s")
    row("forward+backward compute (exact)", eng["median_s"], np_t, torch_t)
    moved = 4 * x.nbytes  # read x and dout, write out and dx: the least any method must move
    bound = moved / bandwidth
    print(f"{'  memory-bandwidth bound (4 arrays)':<44} {bound:>9.4f}   bnfile at {eng['median_s'] / bound:.2f}x the bound;"
          f" {eng['exact_path_elements']} elements needed the exact fallback")

    # End to end: bnfile run on a stored npz against load + torch + save in Python.
    inp = os.path.join(tmp, "in.npz")
    np.savez(inp, x=x, dout=dout, gamma=gamma, beta=beta)
    out = os.path.join(tmp, "out.npz")
    e2e = timed(lambda: subprocess.run([args.bin, "run", inp, out], check=True), r)
    torch_e2e = None
    if torch is not None:
        script = ("import numpy as np, torch\n"
                  f"d = np.load({inp!r}); x = torch.from_numpy(d['x']).requires_grad_()\n"
                  "bn = torch.nn.BatchNorm2d(x.shape[1]); y = bn(x); y.backward(torch.from_numpy(d['dout']))\n"
                  f"np.savez({os.path.join(tmp, 'torch.npz')!r}, out=y.detach().numpy(), dx=x.grad.numpy(),"
                  " dgamma=bn.weight.grad.numpy(), dbeta=bn.bias.grad.numpy())\n")
        torch_e2e = timed(lambda: subprocess.run([sys.executable, "-c", script], check=True), max(3, r // 2))
    row("bnfile run IN OUT, end to end", e2e, None, torch_e2e)
    if os.path.exists("/usr/bin/time"):
        peak = child_peak_rss([args.bin, "run", inp, out])
        print(f"{'  peak memory of bnfile run (MB)':<44} {peak / 2**20:>9.1f}   inputs+outputs are "
              f"{4 * x.nbytes / 2**20:.1f} MB ({peak / (4 * x.nbytes):.2f}x)")

    # npz I/O on one float32 array of io_mb megabytes.
    stored = os.path.join(tmp, "stored.npz")
    deflated = os.path.join(tmp, "deflated.npz")
    w = bnbench(args, "write", stored, io_mb, "stored", r)["median_s"]
    big = rng.standard_normal(io_mb * 2**18, dtype=np.float32)
    np_w = timed(lambda: np.savez(os.path.join(tmp, "np_stored.npz"), x=big), r)
    copy_bound = io_mb * 2**20 / (bandwidth / 2)
    row(f"write stored npz ({io_mb} MB)", w, np_w,
        note=f"(copy bound {copy_bound:.4f}: {copy_bound / w:.0%} of copy bandwidth)")
    raw = bnbench(args, "rawwrite", os.path.join(tmp, "raw.bin"), io_mb, r)["median_s"]
    row(f"  write(2) of the same bytes, no npz", raw, None,
        note=f"(the kernel's page-cache floor; the npz writer runs at {raw / w:.0%} of its speed)")
    rd = bnbench(args, "read", stored, r)
    np_rd = timed(lambda: np.load(stored)["x"].sum(), r)
    row(f"read stored npz, CRC checked", rd["median_s"], np_rd,
        note=f"({copy_bound / rd['median_s']:.0%} of copy bandwidth; memory-mapped: resident growth "
             f"{rd['peak_rss_growth_bytes'] / 2**20:.0f} MB of page cache, no copy)")
    rd0 = bnbench(args, "read", stored, r, "nocrc")
    row(f"read stored npz, no CRC (mapped, every value summed)", rd0["median_s"], np_rd)
    dr = max(1, r // 2)
    wd = bnbench(args, "write", deflated, io_mb, "deflated", dr)["median_s"]
    np_wd = timed(lambda: np.savez_compressed(os.path.join(tmp, "np_deflated.npz"), x=big), dr)
    row(f"write deflated npz ({io_mb} MB)", wd, np_wd)
    rdd = bnbench(args, "read", deflated, dr)["median_s"]
    np_rdd = timed(lambda: np.load(deflated)["x"].sum(), dr)
    row(f"read deflated npz", rdd, np_rdd)


def resnet50_layers():
    """The (channels, side) of ResNet-50's 53 BatchNorm2d layers at 224x224, in order
    (torchvision's v1.5: the stride sits on each stage's first 3x3 convolution)."""
    layers = [(64, 112)]
    side = 56
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        for block in range(blocks):
            inner = side if block > 0 or stage == 0 else side * 2
            layers += [(width, inner), (width, side), (4 * width, side)]
            if block == 0:
                layers.append((4 * width, side))
        side //= 2
    assert len(layers) == 53
    return layers


def torch_forward_backward(shape):
    """A warm torch forward+backward on normal data of `shape` (float32, the bench's
    thread count), as a callable; BatchNorm1d for (N, C), 2d for (N, C, H, W)."""
    rng = np.random.default_rng(1)
    xt = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)).requires_grad_()
    dt = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    bn = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(shape[1])

    def run():
        y = bn(xt)
        y.backward(dt)
        xt.grad = None
    run()
    return run


def shapes_section(args):
    """The engine against torch, shape by shape: each pair measured back to back, as
    medians of `repeats` (at least 7), so that a burst of outside load hits both."""
    reps = max(args.repeats, 7)
    shapes = sorted({(c, side) for c, side in resnet50_layers()}, key=lambda cs: (-cs[1], cs[0]))
    batches = (4,) if args.quick else (4, 32)
    table = [(n, c, side, side) for n in batches for c, side in shapes] + [(64, 4096), (2, 262144)]
    contender = f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "torch (not installed)"
    threads = args.threads or os.cpu_count()
    print(f"\nengine (exact forward+backward, float32, {threads} threads) against {contender} "
          f"forward+backward, median of {reps}:")
    print("| shape | bnfile engine | torch | bnfile/torch |")
    print("| --- | ---: | ---: | ---: |")
    for shape in table:
        eng = bnbench(args, "engine", ",".join(map(str, shape)), reps, threads)
        torch_t = timed(torch_forward_backward(shape), reps) if torch else None
        ratio = f"{eng['median_s'] / torch_t:.2f}x" if torch_t else "-"
        torch_text = f"{torch_t * 1e3:.2f} ms" if torch_t else "-"
        print(f"| {shape} | {eng['median_s'] * 1e3:.2f} ms | {torch_text} | {ratio} |", flush=True)


def warm_torch_step(inp, out):
    """Load, torch forward+backward and save, in this (warm) process."""
    d = np.load(inp)
    x = torch.from_numpy(d["x"]).requires_grad_()
    bn = (torch.nn.BatchNorm1d if x.dim() == 2 else torch.nn.BatchNorm2d)(x.shape[1])
    y = bn(x)
    y.backward(torch.from_numpy(d["dout"]))
    np.savez(out, out=y.detach().numpy(), dx=x.grad.numpy(), dgamma=bn.weight.grad.numpy(),
             dbeta=bn.bias.grad.numpy(), running_mean=bn.running_mean.numpy(), running_var=bn.running_var.numpy())


def write_input(path, shape, seed):
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.standard_normal(shape, dtype=np.float32), dout=rng.standard_normal(shape, dtype=np.float32),
             gamma=np.ones(shape[1], np.float32), beta=np.zeros(shape[1], np.float32))


def runs_section(args, tmp):
    """`bnfile run IN OUT` as a whole process against the same work in a warm Python."""
    r = args.repeats
    print(f"\nbnfile run (whole process) against load + torch + save in a warm Python process, median of {r}:")
    print("Budget: inputs + outputs + 64 bytes per channel + 40 MB (10^6 bytes), the issue's bound on peak memory.")
    print("| shape | bnfile run | peak memory (inputs+outputs) | budget | warm torch | bnfile/torch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for shape in [(64, 4096), (2, 262144), (32, 64, 56, 56)]:
        inp, out = os.path.join(tmp, "run.npz"), os.path.join(tmp, "run.out.npz")
        write_input(inp, shape, 3)
        t = timed(lambda: subprocess.run([args.bin, "run", inp, out], check=True), r)
        peak = child_peak_rss([args.bin, "run", inp, out]) if os.path.exists("/usr/bin/time") else 0
        moved = os.path.getsize(inp) + os.path.getsize(out)
        budget = moved + 64 * shape[1] + 40e6
        within = "within" if peak <= budget else "over"
        torch_t = timed(lambda: warm_torch_step(inp, os.path.join(tmp, "run.torch.npz")), r) if torch else None
        ratio = f"{t / torch_t:.2f}x" if torch_t else "-"
        torch_text = f"{torch_t * 1e3:.1f} ms" if torch_t else "-"
        print(f"| {shape} | {t * 1e3:.1f} ms | {peak / 1e6:.1f} MB ({moved / 1e6:.1f} MB) | "
              f"{budget / 1e6:.1f} MB, {within} | {torch_text} | {ratio} |",
              flush=True)


def network_section(args, tmp):
    """ResNet-50's 53 BatchNorm layers at batch 4 as files: `bnfile run --out-dir` on all
    of them against a warm torch loop over the same files, and the floor under any tool
    that writes the outputs through the page cache: open, write(2) and close of files of
    the same sizes, from memory, in the same run."""
    r = max(3, args.repeats // 2)
    folder, outs, torch_outs = (os.path.join(tmp, d) for d in ("net", "net.out", "net.torch"))
    for d in (folder, outs, torch_outs):
        os.makedirs(d, exist_ok=True)
    names = []
    if args.network_dir:
        names = sorted(os.path.join(args.network_dir, n) for n in os.listdir(args.network_dir)
                       if n.endswith(".npz") and not n.endswith(".torch.npz"))
        what = f"{len(names)} captured layers from {args.network_dir}"
    else:
        for i, (c, side) in enumerate(resnet50_layers()):
            names.append(os.path.join(folder, f"layer{i:02d}.npz"))
            write_input(names[-1], (4, c, side, side), 100 + i)
        what = "ResNet-50's 53 BatchNorm layers at batch 4"
    t = timed(lambda: subprocess.run([args.bin, "run", "--out-dir", outs, *names], check=True), r)
    sizes = [os.path.getsize(os.path.join(outs, f)) for f in sorted(os.listdir(outs))]
    block = b"\0" * max(sizes)

    def floor():
        for i, n in enumerate(sizes):
            fd = os.open(os.path.join(tmp, f"floor{i}.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            view = memoryview(block)[:n]
            while view:
                view = view[os.write(fd, view):]
            os.close(fd)
    floor_t = timed(floor, r)

    def torch_loop():
        for n in names:
            warm_torch_step(n, os.path.join(torch_outs, os.path.basename(n)))
    torch_t = timed(torch_loop, r) if torch else None
    print(f"\n{what} as files ({sum(map(os.path.getsize, names)) / 2**20:.0f} MB in, "
          f"{sum(sizes) / 2**20:.0f} MB out), median of {r}:")
    print(f"  bnfile run --out-dir         {t:.3f} s")
    if torch_t:
        print(f"  warm torch loop              {torch_t:.3f} s   bnfile/torch {t / torch_t:.2f}x")
    print(f"  page-cache floor (write(2))  {floor_t:.3f} s   bnfile/floor {t / floor_t:.2f}x")


def huge(args, tmp):
    """M = 10^8 in one channel: x = 1000 +- 2^-10 alternating, dout = +-1, eps = 0.

    |mean|/std is about 10^6 and the exact answers are known in closed form: out is
    +-gamma + beta, dx is exactly +0, dgamma = M, dbeta = 0, mean 1000, invstd 1024.
    """
    m = 10**8
    s = np.where(np.arange(m) % 2 == 0, 1, -1).astype(np.float32)
    inp, out = os.path.join(tmp, "huge.npz"), os.path.join(tmp, "huge.out.npz")
    np.savez(inp, x=(np.float32(1000) + s * np.float32(2.0**-10)).reshape(1, 1, m), dout=s.reshape(1, 1, m),
             gamma=np.array([2], np.float32), beta=np.array([0.25], np.float32), eps=np.array(0.0))
    t = time.perf_counter()
    peak = child_peak_rss([args.bin, "run", inp, out])
    seconds = time.perf_counter() - t
    r = np.load(out)
    exact = (np.array_equal(r["out"].ravel(), (2 * s + np.float32(0.25)).astype(np.float32))
             and not np.any(r["dx"]) and not np.any(np.signbit(r["dx"]))
             and r["dgamma"][0] == m and r["dbeta"][0] == 0 and r["mean"][0] == 1000 and r["invstd"][0] == 1024)
    print(f"{'bnfile run, M = 10^8 in one channel':<44} {seconds:>9.2f}   every output exact: {exact}; "
          f"peak memory {peak / 2**30:.2f} GB (input {os.path.getsize(inp) / 2**30:.2f} GB)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the verdict makes of plain left-to-right float32 loops as M grows.

BatchNorm1d (M, 1), x = 3 + N(0,1): the calibration suite's `sequential` style (every
sum a plain loop in float32) and its explicit pairwise tree, judged by
`bnfile diff --inputs`; prints the largest error of each key in u*scale beside the limit
10 + 2*ceil(log2 M). A sequential sum's error grows like sqrt(M), a pairwise one's like
log2 M, so from some M on the loop is beyond rounding: a real loss of accuracy.

    python3 scripts/sequential_sums.py [BNFILE]   (default .build/release/bnfile)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_calibration as calibration  # noqa: E402


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/bnfile"
    with tempfile.TemporaryDirectory() as tmp:
        inputs, result = os.path.join(tmp, "in.npz"), os.path.join(tmp, "result.npz")
        for m in [32768, 131072, 524288, 1048576]:
            data = calibration.normal_case(200, (m, 1), offset=3.0)
            np.savez(inputs, **data)
            for name, style in [("sequential", calibration.sequential), ("pairwise", calibration.pairwise_tree)]:
                np.savez(result, **calibration.finish(style(data, np.float32), data))
                report = json.loads(subprocess.run([binary, "diff", result, result, "--inputs", inputs, "--json"],
                                                   capture_output=True, text=True, check=False).stdout)
                judged = [k for k in report["keys"] if k.get("truth")]
                errors = ", ".join(f"{k['key']} {k['truth']['a']['maxError']:.3g}" for k in judged)
                print(f"M = {m:7d}  {name:10s}  limit {judged[0]['truth']['threshold']:.0f}:  {errors}")


if __name__ == "__main__":
    main()

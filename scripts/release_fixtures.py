#!/usr/bin/env python3
"""The optimized binary against the oracle's fixtures, bit for bit, with 1, 2 and 3 threads.

`swift test` runs debug builds; this runs what users run (`make` builds it), because an
optimizer-dependent fault can leave every debug test green: exact accumulators once gave
the notebook's second channel a NaN invstd in release builds with two threads only.

    python3 scripts/release_fixtures.py [BNFILE]   (default .build/release/bnfile)
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "data" / "cases"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".build/release/bnfile")
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.npz"
        for case in json.loads((CASES / "manifest.json").read_text()):
            name = case["name"]
            inputs, exact = CASES / f"{name}.in.npz", CASES / f"{name}.exact.npz"
            if not exact.exists():
                continue
            flags = (["--eval"] if case.get("eval") else []) + (["--layout", "nhwc"] if case.get("layout") == "nhwc" else [])
            for threads in ("1", "2", "3"):
                run = subprocess.run([binary, "run", inputs, out, "--threads", threads, *flags],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    failures.append(f"{name} (threads {threads}): {run.stderr.strip()}")
                    continue
                with np.load(out) as got, np.load(exact) as want:
                    for key in want.files:
                        if want[key].dtype.kind in "fV" and not np.array_equal(got[key].view(np.uint8), want[key].view(np.uint8)):
                            failures.append(f"{name} (threads {threads}): {key} differs from the oracle")
                checked += 1
    for failure in failures:
        print(failure)
    print(f"release fixtures: {checked} runs, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

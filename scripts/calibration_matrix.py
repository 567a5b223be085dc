#!/usr/bin/env python3
"""Prints the calibration suite's confusion matrix as bnfile judges it (README tables).

Usage: python3 scripts/calibration_matrix.py [BNFILE]   (default .build/release/bnfile)

For every record of data/calibration/manifest.json it runs
`bnfile diff FILE FILE --inputs DATASET.npz --json` and reads side A's verdicts: a
correct implementation should be within rounding on every key, a bug beyond rounding
on at least one (data/calibration/exceptions.json lists the bugs that cannot show).
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "calibration"


def judged_keys(binary, record):
    """The keys of `bnfile diff FILE FILE --inputs DATASET.npz --json` for one record."""
    result = subprocess.run(
        [binary, "diff", DATA / record["file"], DATA / record["file"],
         "--inputs", DATA / f"{record['dataset']}.npz", "--json"],
        capture_output=True, text=True)
    if result.returncode == 2:
        sys.exit(f"{record['file']}: {result.stderr.strip()}")
    return json.loads(result.stdout)["keys"]


def verdict(binary, record):
    keys = judged_keys(binary, record)
    judged = {k["key"]: k["truth"]["a"] for k in keys if k.get("truth")}
    beyond = {k: v["maxError"] for k, v in judged.items() if v["verdict"] == "beyondRounding"}
    worst = max((v["maxError"] for v in judged.values()), default=0)
    return beyond, worst


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".build/release/bnfile")
    records = json.loads((DATA / "manifest.json").read_text())
    exceptions = json.loads((DATA / "exceptions.json").read_text())
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    cells = {}
    for record in records:
        beyond, worst = verdict(binary, record)
        name = f"{record['dataset']}/{record['implementation']}"
        if record["kind"] == "correct":
            cells[name] = f"FALSE ALARM {max(beyond.values()):.3g}" if beyond else f"{worst:.2g}"
        elif beyond:
            cells[name] = f"**{max(beyond.values()):.2g}**"
        else:
            cells[name] = f"hidden {worst:.2g}" + ("" if name in exceptions else " MISSED")
    implementations = list(dict.fromkeys(r["implementation"] for r in records))
    print("| implementation | " + " | ".join(datasets) + " |")
    print("|---" * (len(datasets) + 1) + "|")
    for impl in implementations:
        row = [cells.get(f"{d}/{impl}", "") for d in datasets]
        print(f"| {impl} | " + " | ".join(row) + " |")
    correct = [r for r in records if r["kind"] == "correct"]
    bugs = [r for r in records if r["kind"] == "bug"]
    alarms = sum("FALSE" in cells[f"{r['dataset']}/{r['implementation']}"] for r in correct)
    caught = sum(cells[f"{r['dataset']}/{r['implementation']}"].startswith("**") for r in bugs)
    missed = sum("MISSED" in cells[f"{r['dataset']}/{r['implementation']}"] for r in bugs)
    print(f"\ncorrect runs: {len(correct)}, false alarms: {alarms}; bug runs: {len(bugs)}, beyond rounding: {caught}, "
          f"hidden at the data's precision (listed): {len(bugs) - caught - missed}, missed: {missed}")


if __name__ == "__main__":
    main()

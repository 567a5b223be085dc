#!/usr/bin/env python3
"""Prints the name bnfile gives each bug of the calibration suite (README "Naming the bug").

Usage: python3 scripts/diagnosis_matrix.py [BNFILE] [--details]   (default .build/release/bnfile)

For every bug record of data/calibration/manifest.json it runs
`bnfile diff FILE FILE --inputs DATASET.npz --json` and reads side A's diagnosis: the
names of the mistakes that explain its beyond-rounding keys, best fit first. A cell is
the first name (in bold when it is the record's own `bug`), "+k" when k other names fit
too, "hidden" for a bug that is not beyond rounding (data/calibration/exceptions.json),
and "none" when no model fits. --details prints every key's names and fits.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_matrix import DATA, ROOT, judged_keys  # noqa: E402


def diagnosis(binary, record):
    """{key: [(name, fit, parameter)]} for A's beyond keys."""
    keys = judged_keys(binary, record)
    found = {}
    for k in keys:
        a = (k.get("truth") or {}).get("a")
        if a and a["verdict"] == "beyondRounding":
            found[k["key"]] = [(m["name"], m["fit"], m.get("parameter")) for m in a.get("diagnosis", [])]
    return found


def cell(record, found):
    if not found:
        return "hidden"
    names = {}
    for matches in found.values():
        for name, fit, _ in matches:
            names[name] = min(fit, names.get(name, float("inf")))
    if not names:
        return "none"
    ranked = sorted(names, key=names.get)
    first = ranked[0]
    text = f"**{first}**" if first == record["bug"] else first
    if first != record["bug"] and record["bug"] in ranked:
        text += f" (then **{record['bug']}**)"
    extra = len(ranked) - 1
    return text + (f" +{extra}" if extra else "")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = args[0] if args else str(ROOT / ".build/release/bnfile")
    records = [r for r in json.loads((DATA / "manifest.json").read_text()) if r["kind"] == "bug"]
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    cells, named, beyond = {}, 0, 0
    for record in records:
        found = diagnosis(binary, record)
        cells[(record["dataset"], record["implementation"])] = cell(record, found)
        if found:
            beyond += 1
            named += any(record["bug"] == n for m in found.values() for n, _, _ in m)
        if "--details" in sys.argv:
            print(record["file"], json.dumps(found))
    print("| bug | " + " | ".join(datasets) + " |")
    print("|---" * (len(datasets) + 1) + "|")
    for impl in dict.fromkeys(r["implementation"] for r in records):
        print(f"| {impl} | " + " | ".join(cells.get((d, impl), "") for d in datasets) + " |")
    print(f"\nbug runs beyond rounding: {beyond}, given their own name: {named}")


if __name__ == "__main__":
    main()

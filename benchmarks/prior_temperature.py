"""Which temperature calibrates a prior variant? Re-normalise its recorded answers, no model call.

    .venv/bin/python benchmarks/prior_temperature.py docs/results/prior_levers/pmi_decisions.csv
    .venv/bin/python benchmarks/prior_temperature.py docs/results/prior_levers/*_decisions.csv --json

Reads the per-decision priors that `python -m sandbox bench prior-quality` writes
(`*_decisions.csv`), re-normalises each as p_T ∝ p^(1/T) (what `--prior-temperature T` gives),
and prints, per prior, variant and env family, the skill and the mean log(p(O)/u) at each T, with
the T of the best log score marked. The log score is a proper scoring rule, so its best T is the
calibrated one; skill keeps rising as T falls wherever top-1 beats chance, and a prior sharpened
that far is confidently wrong where it is wrong. The default prior variant's temperatures
(agents/prior/variants.py) were read off this table on the train-split games.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.results.prior_quality import TEMPERATURES, temperature_scan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("decisions", nargs="+", type=Path, help="*_decisions.csv files of bench prior-quality")
    parser.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES))
    parser.add_argument("--families", nargs="+", help="only these walked families (e.g. leave out household-unseen: never tune on it)")
    parser.add_argument("--all", action="store_true", help="every temperature, not only the best per family")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rows = []
    for path in args.decisions:
        if not path.is_file():
            print(f"error: no decisions file {path}; `bench prior-quality` writes them as *_decisions.csv", file=sys.stderr)
            return 2
        with path.open(newline="") as handle:
            rows += [row for row in csv.DictReader(handle) if not args.families or row["family"] in args.families]
    if any(temperature <= 0 for temperature in args.temperatures):
        print("error: temperatures must be > 0", file=sys.stderr)
        return 2
    table = temperature_scan(rows, args.temperatures)
    if args.json:
        print(json.dumps({"scan": table, "best": [entry for entry in table if entry["best"]]}))
        return 0
    print("| prior | variant | env family | T | skill | mean log(p(O)/u) | decisions |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for entry in table:
        if args.all or entry["best"]:
            mark = " (best)" if args.all and entry["best"] else ""
            print(f"| {entry['prior']} | {entry['variant']} | {entry['env_family']} | {entry['temperature']:g}{mark} | "
                  f"{entry['skill']:+.3f} | {entry['log_ratio']:+.3f} | {entry['decisions']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

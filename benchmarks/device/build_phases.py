"""Where a llama-cpp-python build spends its time, from ninja's log of the CMake build folder.

    python benchmarks/device/build_phases.py BUILD_DIR/.ninja_log [--json]

Each compiled or linked file is attributed to the part of llama.cpp it belongs to; job seconds
sum every job's duration (with N parallel jobs they add up to about N x the wall time). The wall
time is the first job's start to the last job's end: CMake's configure step comes before it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# First match wins: (part, path fragment of the output file).
PARTS = (
    ("mtmd (multimodal, LLAVA_BUILD)", "tools/mtmd/"),
    ("mtmd (multimodal, LLAVA_BUILD)", "vendor/miniaudio"),
    ("mtmd (multimodal, LLAVA_BUILD)", "vendor/stb"),
    ("ggml-cuda flash attention (the prior turns it off)", "fattn"),
    ("ggml-cuda", "ggml-cuda"),
    ("ggml-cpu", "ggml-cpu"),
    ("ggml (base)", "ggml/src/"),
    ("llama", "/src/"),
    ("common (built, not shipped)", "common/"),
    ("common (built, not shipped)", "cpp-httplib"),
)
OTHER = "other (links, vendored helpers)"


def part_of(output: str) -> str:
    for part, fragment in PARTS:
        if fragment in output:
            return part
    return OTHER


def read_jobs(log: Path) -> list[tuple[int, int, str]]:
    """(start ms, end ms, output) per job; a file rebuilt later keeps its last entry, as ninja does."""
    jobs: dict[str, tuple[int, int, str]] = {}
    for line in log.read_text().splitlines():
        if line.startswith("#"):
            continue
        start, end, _, output, *_ = line.split("\t")
        jobs[output] = (int(start), int(end), output)
    return list(jobs.values())


def summarise(jobs: list[tuple[int, int, str]]) -> dict:
    parts: dict[str, dict[str, float]] = {}
    for start, end, output in jobs:
        entry = parts.setdefault(part_of(output), {"jobs": 0, "job_s": 0.0})
        entry["jobs"] += 1
        entry["job_s"] += (end - start) / 1000
    total = sum(entry["job_s"] for entry in parts.values())
    for entry in parts.values():
        entry["job_s"] = round(entry["job_s"], 1)
        entry["share"] = round(entry["job_s"] / total, 3) if total else 0.0
    wall = (max(end for _, end, _ in jobs) - min(start for start, _, _ in jobs)) / 1000 if jobs else 0.0
    ordered = dict(sorted(parts.items(), key=lambda item: -item[1]["job_s"]))
    return {"jobs": len(jobs), "job_s": round(total, 1), "wall_s": round(wall, 1), "parts": ordered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ninja_log", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.ninja_log.is_file():
        print(f"error: {args.ninja_log} not found; pass BUILD_DIR/.ninja_log of a finished build", file=sys.stderr)
        return 2
    summary = summarise(read_jobs(args.ninja_log))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['jobs']} jobs, {summary['job_s']} job-seconds, {summary['wall_s']} s wall")
    for part, entry in summary["parts"].items():
        print(f"  {part:34} {entry['jobs']:4} jobs {entry['job_s']:8.1f} s {entry['share']:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

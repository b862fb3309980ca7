"""What every experiment shares: seeds → mean and 95% interval, steps to a threshold, where
runs live, and atomic CSV / markdown / PNG outputs (so a killed benchmark never leaves half
a results file in docs/results/). Heavy imports wait until used: `--help` stays instant."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.errors import SandboxError

RESULTS_DIR = Path("docs/results")
# Student-t 0.975 quantiles for 1..30 degrees of freedom; beyond, the normal's 1.96.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Report:
    """What an experiment returns: `data` is printed with --json, `text` otherwise."""

    data: dict[str, Any]
    text: str


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its 95% interval (NaN bounds for a single seed: no spread to measure)."""

    mean: float
    low: float
    high: float
    n: int

    def columns(self, name: str) -> dict[str, float]:
        """Flat columns for CSV/JSON rows; `from_columns` reads them back."""
        return {name: self.mean, f"{name}_low": self.low, f"{name}_high": self.high}

    @classmethod
    def from_columns(cls, row: dict[str, Any], name: str, n: int) -> "Interval":
        return cls(row[name], row[f"{name}_low"], row[f"{name}_high"], n)

    def percent(self) -> str:
        if self.n < 2:
            return f"{self.mean:.0%} (1 seed)"
        return f"{self.mean:.0%} [{self.low:.0%}, {self.high:.0%}]"


def mean_interval(values: Sequence[float], lower: float = -math.inf, upper: float = math.inf) -> Interval:
    """Student-t 95% interval of the mean over seeds, clipped to [lower, upper] (success lives in [0, 1])."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no values to average")
    mean = float(data.mean())
    if data.size < 2:
        return Interval(mean, math.nan, math.nan, 1)
    t = T_975[data.size - 2] if data.size - 1 <= len(T_975) else 1.96
    half = t * float(data.std(ddof=1)) / math.sqrt(data.size)
    return Interval(mean, max(lower, mean - half), min(upper, mean + half), int(data.size))


def first_step_at(rows: Iterable[dict[str, float]], threshold: float, key: str = "eval_success") -> int | None:
    """The step of the first evaluation at or above `threshold` (None if it never got there)."""
    return next((int(row["step"]) for row in rows if row[key] >= threshold), None)


def add_output_arguments(parser: argparse.ArgumentParser, quick_help: str) -> None:
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--out-dir", type=Path, default=RESULTS_DIR, help="where the CSV, markdown table and plot go (docs/results)"
    )
    parser.add_argument("--keep-runs", type=Path, metavar="DIR", help="keep run folders here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def add_kept_only_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kept-only",
        action="store_true",
        help="report only the runs --keep-runs DIR already holds, training none (what a long run has so far)",
    )


def check_kept_only(args: argparse.Namespace) -> None:
    if args.kept_only and args.keep_runs is None:
        raise SandboxError("--kept-only reports the runs in a --keep-runs DIR; pass that folder too")


@contextmanager
def runs_folder(keep: Path | None) -> Iterator[Path]:
    """Run folders and datasets: kept under `keep`, else in a temporary folder removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        restore_verifying(keep)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as scratch:
        yield Path(scratch)


# Prior settings that change how fast an answer comes, never what it is (the prior cache ignores them
# too): a kept run stays valid when they differ, e.g. `--threads 1` on a busier machine.
SPEED_ONLY_PRIOR_SETTINGS = ("n_threads", "cache_path", "memory_cache_size", "server", "api_key_env")


def prior_settings(prior_config: Any) -> dict[str, Any]:
    """What of the prior's config decides a run's result, for comparing kept runs."""
    from dataclasses import asdict

    from agents.prior.variants import check_variant

    settings = {key: value for key, value in asdict(prior_config).items() if key not in SPEED_ONLY_PRIOR_SETTINGS}
    tuned = check_variant(prior_config.variant).tuned.get(prior_config.model)
    if tuned:  # what the variant resolves to per family: a run kept before a retuned default is another run
        settings["tuned"] = tuned
    return settings


# Prior settings added after runs were kept: at their defaults they change nothing, so a kept run that
# predates them (or records them at their defaults) stays valid.
LATER_PRIOR_SETTINGS = ("variant", "calibrate", "order", "terminator", "few_shot", "judge", "wording")


def comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """A run's settings less the later settings left at what runs kept before them did, for comparing kept runs."""
    from agents.configs import ACTING_PRESETS
    from agents.prior.config import PriorConfig
    from agents.prior.variants import family_settings

    if settings.get("acting") == ACTING_PRESETS["paper"]:  # DQN acted by the paper's rules before they were settings
        settings = {key: value for key, value in settings.items() if key != "acting"}
    prior = settings.get("prior")
    if not isinstance(prior, dict):
        return settings
    defaults = PriorConfig()
    kept = {key: value for key, value in prior.items()
            if not (key in LATER_PRIOR_SETTINGS and value == getattr(defaults, key))}  # fmt: skip
    if isinstance(kept.get("tuned"), dict) and "id" in settings:  # only the run's own family's tuning counts
        from envs.registry import env_family

        family = env_family(settings["id"])
        kept["tuned"] = family_settings(kept["tuned"], family)
    return {**settings, "prior": kept}


OLDER_CODE = "older-code"  # where kept runs of another code version go when a bench trains them again


@dataclass(frozen=True)
class KeptRun:
    """A kept run and how to train it again (the experiment's own closure, which trains into `run_dir`)."""

    run_dir: Path
    record: dict[str, Any]
    run: Callable[[], tuple[dict[str, Any], list[dict[str, Any]]]]


@dataclass
class ReusePolicy:
    """How `kept_or_run` treats kept runs (bench's --accept-older-code and --verify): reuse only runs of
    today's code version, or of any; and, with `verify`, note every kept run it hands back, so that
    `verify_kept` can train some of them again and compare."""

    accept_older: bool = False
    verify: bool = False
    kept: list[KeptRun] = field(default_factory=list)  # the kept runs handed back, in the order asked for



_POLICY: ContextVar[ReusePolicy] = ContextVar("reuse_policy", default=ReusePolicy())


@contextmanager
def reuse_policy(policy: ReusePolicy) -> Iterator[ReusePolicy]:
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def verify_kept(policy: ReusePolicy, count: int, seed: int) -> list[dict[str, Any]]:
    """Train `count` of the kept runs the experiment reused, chosen at random with `seed`, again and
    compare each with what it kept (see `_verify`)."""
    import random

    chosen = random.Random(seed).sample(policy.kept, min(count, len(policy.kept)))
    return [_verify(kept.run_dir, kept.record, kept.run) for kept in chosen]


def _without_timing(value: Any) -> Any:
    """A result or curve less its wall times, which no rerun repeats."""
    if isinstance(value, dict):
        return {key: _without_timing(item) for key, item in value.items() if key not in ("wall_s", "code_version")}
    if isinstance(value, list):
        return [_without_timing(item) for item in value]
    return value


def kept_or_run(
    run_dir: Path,
    settings: dict[str, Any],
    run: Callable[[], tuple[dict[str, Any], list[dict[str, Any]]]],
    kept_only: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], bool] | None:
    """A run's row and curve, read back from its `result.json` when an earlier invocation with the same
    settings and the same code version finished it (so `--keep-runs DIR` resumes a killed experiment),
    else `run()` now and leave that file behind, written atomically: a kill never leaves half of one.
    With `kept_only`, None instead of running (a report of what a long experiment has finished so far).
    A kept run of another code version is trained again, unless the policy accepts older code."""
    from sandbox.engine.provenance import code_version
    from sandbox.engine.storage import atomic_write_text

    policy = _POLICY.get()
    record = run_dir / "result.json"
    settings = json.loads(json.dumps(settings))  # the form it takes once read back from the file
    today = code_version()["id"]
    if record.is_file():
        finished = json.loads(record.read_text())
        version = finished["result"].get("code_version", "unrecorded")
        if version == today or policy.accept_older:
            if comparable(finished["settings"]) != comparable(settings):
                raise SandboxError(
                    f"{run_dir} holds a run with other settings; pass another --keep-runs folder or delete that one"
                )
            if policy.verify:  # a copy: reports add columns to the rows they are handed (steps_to_threshold)
                policy.kept.append(KeptRun(run_dir, json.loads(json.dumps(finished)), run))
            return finished["result"], finished["curve"], True
        if kept_only:
            return None
        # Another code version's run is kept, not reused: it moves aside, under older-code/VERSION/.
        archive = run_dir.parent / OLDER_CODE / version.replace("+", "_") / run_dir.name
        if archive.exists():
            shutil.rmtree(archive)
        archive.parent.mkdir(parents=True, exist_ok=True)
        run_dir.rename(archive)
    if kept_only:
        return None
    if run_dir.exists():  # an earlier invocation was killed during this run: start it over
        shutil.rmtree(run_dir)
    result, curve = run()
    result = {**result, "code_version": today}
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps({"settings": settings, "result": result, "curve": curve}, indent=1))
    return result, curve, False


def _verify(
    run_dir: Path, kept: dict[str, Any], run: Callable[[], tuple[dict[str, Any], list[dict[str, Any]]]]
) -> dict[str, Any]:
    """Train a kept run again and compare its row and curve (less wall times) with the kept ones.

    `run()` trains into `run_dir`, so the kept folder steps aside for it (a sibling `.verifying` folder,
    put back afterwards whatever happens; a kill leaves it there, and the next invocation restores it)."""
    aside = run_dir.with_name(run_dir.name + ".verifying")
    run_dir.rename(aside)
    try:
        result, curve = run()
    finally:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        aside.rename(run_dir)
    from sandbox.engine.provenance import code_version

    differing = sorted(
        key for key in set(_without_timing(result)) | set(_without_timing(kept["result"]))
        if _without_timing(result).get(key) != _without_timing(kept["result"]).get(key)
    )  # fmt: skip
    if _without_timing(curve) != _without_timing(kept["curve"]):
        differing.append("curve")
    version = kept["result"].get("code_version", "unrecorded")
    return {"run": run_dir.name, "kept_code_version": version, "rerun_code_version": code_version()["id"],
            "identical": not differing, "differing": differing}  # fmt: skip


def restore_verifying(root: Path) -> None:
    """Put back kept runs a killed --verify left stepped aside."""
    for aside in root.glob("*.verifying"):
        original = aside.with_name(aside.name.removesuffix(".verifying"))
        if original.exists():
            shutil.rmtree(original)
        aside.rename(original)


def verification_text(verified: list[dict[str, Any]], requested: int) -> str:
    if not requested:
        return ""
    same = sum(entry["identical"] for entry in verified)
    details = "; ".join(
        f"{entry['run']}: " + ("identical" if entry["identical"] else f"differs in {', '.join(entry['differing'])}")
        for entry in verified
    )
    return (f"Verification (--verify {requested}): {len(verified)} kept runs, chosen at random, trained again; "
            f"{same} gave identical metrics and curves (wall times aside)" + (f" ({details})." if details else "."))  # fmt: skip


@dataclass
class Finished:
    """An experiment's runs as `kept_or_run` hands them over (finished now or kept from an earlier
    invocation), their curves, and the runs a --kept-only report lacks."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def add(
        self,
        args: argparse.Namespace,
        name: str,
        found: tuple[dict[str, Any], list[dict[str, Any]], bool] | None,
        line: Callable[[dict[str, Any]], str],
    ) -> None:
        """Keep run `name`'s row and curve and print `line(row)`, or count it missing when `found` is None."""
        if found is None:
            self.missing.append(name)
            return
        result, curve, kept = found
        self.runs.append(result)
        self.curves += curve
        progress(args, line(result) + ("  (kept from an earlier run)" if kept else ""))

    def check_any(self, args: argparse.Namespace) -> None:
        """A --kept-only report needs at least one finished run."""
        if not self.runs:
            raise SandboxError(
                f"{args.keep_runs} holds no finished run with these settings; run without --kept-only first"
            )


def train_run(
    config: Any, run_dir: Path, offline: bool = False, on_evaluation: Callable[[dict[str, float]], None] | None = None
) -> tuple[Any, list[dict[str, float]]]:
    """Train through the same Trainer as `python -m sandbox train` (or `train-offline`); the agent and
    its metrics rows. `on_evaluation` sees each metrics row as it is written."""
    from sandbox.features.datasets import OfflineTrainer
    from sandbox.engine.training import Trainer

    trainer = (OfflineTrainer if offline else Trainer)(config, run_dir)
    trainer.reset()
    rows = trainer.run(on_epoch=on_evaluation)
    trainer.close()
    return trainer.agent, rows


def evaluation_lines(args: argparse.Namespace, name: str, steps: int) -> Callable[[dict[str, float]], None]:
    """A line on stderr at each evaluation of a run being trained, so a long run says where it is (none with --json)."""
    return lambda row: progress(args, f"  {name}: step {int(row['step'])}/{steps}, greedy success {row['eval_success']:.0%}")


def progress(args: argparse.Namespace, message: str) -> None:
    """A line on stderr (a finished run, an evaluation of a run in training); none with --json, whose stdout
    stays one JSON object."""
    if not args.json:
        print(message, file=sys.stderr, flush=True)


def compute_text(runs: Sequence[dict[str, Any]]) -> str:
    """How long the runs took in all (kept runs count their original time), and the code versions that
    made them, for the report's readers."""
    from collections import Counter

    minutes = sum(run["wall_s"] for run in runs) / 60
    versions = Counter(run.get("code_version", "unrecorded") for run in runs)
    made_by = (
        f"Code version: {next(iter(versions))} (every run)."
        if len(versions) == 1
        else "Code versions (the runs CSV's code_version column says which row came from which): "
        + ", ".join(f"{version} ({count} runs)" for version, count in versions.most_common())
        + "."
    )
    return f"Compute: {len(runs)} runs, {minutes:.0f} min of wall time in all (summed over runs, one at a time). {made_by}"


def seeds_text(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def output_stem(name: str, quick: bool) -> str:
    """Quick runs get their own files, so a smoke run never overwrites the full results."""
    return f"{name}_quick" if quick else name


def pyplot() -> Any:
    """matplotlib's pyplot on a file-only backend; checked before any run starts."""
    try:
        import matplotlib
    except ImportError as error:
        raise SandboxError("the plots need matplotlib: pip install '.[bench]' (or matplotlib>=3.8)") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_outputs(
    out_dir: Path, stem: str, tables: dict[str, list[dict[str, Any]]], figure: Any, title: str, intro: str, table: str
) -> list[Path]:
    """An experiment's files, each written atomically: a CSV per entry of `tables` (the suffix of its
    name → its rows), the plot, and the markdown report (`intro` above `table`)."""
    files = [write_csv(out_dir / f"{stem}{suffix}.csv", rows) for suffix, rows in tables.items()]
    files.append(save_figure(figure, out_dir / f"{stem}.png"))
    files.append(write_markdown(out_dir / f"{stem}.md", title, intro, table))
    return files


def finished_report(data: dict[str, Any], files: Sequence[Path], started: float, text: str) -> Report:
    """The report of an experiment begun at `started` (time.monotonic()): `data` closed by its wall
    time and the files it wrote, `text` by where they went."""
    closing = {"wall_s": round(time.monotonic() - started, 1), "files": [str(path) for path in files]}
    return Report({**data, **closing}, f"{text}\nwrote {', '.join(str(path) for path in files)}")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    from sandbox.engine.storage import atomic_write_text

    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
    return path


def save_figure(figure: Any, path: Path) -> Path:
    from sandbox.engine.storage import atomic_write_bytes

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    return path


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, title: str, intro: str, table: str) -> Path:
    from sandbox.engine.storage import atomic_write_text

    atomic_write_text(path, f"# {title}\n\n{intro.strip()}\n\n{table}")
    return path

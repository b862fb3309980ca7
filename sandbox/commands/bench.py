"""`python -m sandbox bench EXPERIMENT`: run one experiment of the results report.

A thin dispatcher: the experiments live in `sandbox/results/` (the scripts in
`benchmarks/` call the same code), each writing a CSV, a markdown table and (where it
plots) a PNG into `docs/results/`.
"""

from __future__ import annotations

import argparse
import importlib

from sandbox.arguments import print_json

NAME = "bench"
HELP = (
    "run an experiment (sample-efficiency, offline, prior, prior-quality, prior-strength, generalisation, ablation)"
    " into docs/results/: CSV, table, plot"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sandbox.results import EXPERIMENTS

    experiments = parser.add_subparsers(dest="experiment", metavar="<experiment>", required=True)
    for name, module_name in EXPERIMENTS.items():
        module = importlib.import_module(module_name)
        sub = experiments.add_parser(
            name,
            help=module.HELP.replace("%", "%%"),  # argparse %-formats help strings
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        add_reuse_arguments(sub)
        sub.set_defaults(experiment_run=module.run)


def add_reuse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accept-older-code",
        action="store_true",
        help="reuse kept runs (--keep-runs) of any code version, not only today's; the report says which rows came "
        "from which version",
    )
    parser.add_argument(
        "--verify", type=int, default=0, metavar="N",
        help="train N of the kept runs this report uses (chosen at random) again and report whether their metrics "
        "come out identical",
    )  # fmt: skip
    parser.add_argument("--verify-seed", type=int, default=0, help="which N kept runs --verify picks")


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.results.common import ReusePolicy, reuse_policy, verification_text, verify_kept

    if args.verify < 0 or (args.verify and getattr(args, "keep_runs", None) is None):
        raise SandboxError("--verify N reruns N kept runs: pass a whole number N >= 0 and the --keep-runs DIR they are in")
    with reuse_policy(ReusePolicy(accept_older=args.accept_older_code, verify=args.verify > 0)) as policy:
        report = args.experiment_run(args)
        if args.verify:
            verified = verify_kept(policy, args.verify, args.verify_seed)
            report.data["verification"] = verified
            report = type(report)(report.data, report.text + "\n" + verification_text(verified, args.verify))
    if args.json:
        print_json(report.data)
    else:
        print(report.text)
    return 0

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
        sub.set_defaults(experiment_run=module.run)


def run(args: argparse.Namespace) -> int:
    report = args.experiment_run(args)
    if args.json:
        print_json(report.data)
    else:
        print(report.text)
    return 0

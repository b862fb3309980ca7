"""`python -m sandbox envs`: which environments exist, for people (a table) and scripts (--json)."""

from __future__ import annotations

import argparse

from sandbox.arguments import print_json

NAME = "envs"
HELP = "list the registered environments"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help='print one JSON object {"envs": [...]}')


def run(args: argparse.Namespace) -> int:
    from envs import list_envs

    specs = list_envs()
    if args.json:
        print_json({"envs": [{"id": spec.id, "family": spec.family, "description": spec.description} for spec in specs]})
        return 0
    id_width = max(len("id"), *(len(spec.id) for spec in specs))
    family_width = max(len("family"), *(len(spec.family) for spec in specs))
    print(f"{'id':<{id_width}}  {'family':<{family_width}}  description")
    for spec in specs:
        print(f"{spec.id:<{id_width}}  {spec.family:<{family_width}}  {spec.description}")
    return 0

"""Argument groups and output helpers shared by several commands."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from sandbox.errors import SandboxError
from sandbox.metrics import finite

FEATURE_CHOICES = ("minilm", "hash", "minilm+hash")  # agents.features.FEATURE_KINDS, without importing torch for --help


def add_env_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--env",
        required=required,
        default=None if required else "TextFrozenLake-v0",
        help="environment id (see `python -m sandbox envs`)",
    )
    parser.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment option, repeatable (e.g. --env-arg level=5)",
    )


def parse_key_values(pairs: list[str]) -> dict[str, Any]:
    """Parse KEY=VALUE strings; values are read as JSON when they parse (numbers, bools), else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SandboxError(f"option {pair!r} is not KEY=VALUE; write it like --env-arg level=5")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def print_json(payload: dict[str, Any]) -> None:
    """Commands that report numbers print exactly one JSON object with --json (NaN becomes null)."""
    json.dump(finite(payload), sys.stdout, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def add_prior_arguments(parser: argparse.ArgumentParser, with_defaults: bool = True) -> None:
    """The prior's settings as CLI flags; `prior_config_from_args` turns them into a PriorConfig.

    With `with_defaults=False` every flag defaults to None, so a config file's value wins
    unless the flag is given.
    """
    from agents.prior.config import PRIOR_MODES, PriorConfig

    defaults = PriorConfig()
    group = parser.add_argument_group("prior")
    group.add_argument(
        "--prior-model",
        default=defaults.model,
        help="smollm2-135m (embedded default), gemma-3-270m, uniform, oracle:skill=S (S in [-1, 1]: knows the"
        " env's optimal actions), or a path to a .gguf file",
    )
    group.add_argument(
        "--prior-variant",
        default=defaults.variant,
        metavar="NAME",
        help="a named set of scoring options (see agents/prior/variants.py: default, length-norm)",
    )
    group.add_argument("--prior-mode", choices=PRIOR_MODES, default=defaults.mode)
    group.add_argument("--prior-temperature", type=float, default=defaults.temperature)
    group.add_argument(
        "--length-norm", action="store_const", const=True, default=False, help="score mode: mean token log-prob"
    )
    group.add_argument("--prior-k", type=int, default=defaults.k, help="sample mode: completions per state")
    group.add_argument("--prior-epsilon", type=float, default=defaults.epsilon, help="uniform floor mixed into the prior")
    group.add_argument("--n-gpu-layers", type=int, default=defaults.n_gpu_layers, help="llama.cpp layers to offload (-1 = all)")
    group.add_argument("--n-ctx", type=int, default=defaults.n_ctx)
    group.add_argument("--threads", type=int, default=defaults.n_threads)
    group.add_argument("--prior-seed", type=int, default=defaults.seed)
    group.add_argument(
        "--prior-cache",
        default=defaults.cache_path,
        help="SQLite file of the exact prior cache ('none' disables it)",
    )
    group.add_argument(
        "--templates-dir",
        default=defaults.templates_dir,
        metavar="DIR",
        help="folder of prompt templates, <family>.toml, that replace the built-in ones ('none': built-in only)",
    )
    group.add_argument(
        "--prior-server",
        default=defaults.server,
        metavar="URL",
        help="ask a `python -m sandbox prior-server` at this http://HOST:PORT instead of loading the model here",
    )
    if not with_defaults:
        for action in group._group_actions:
            action.default = None


def prior_config_from_args(args: argparse.Namespace) -> "PriorConfig":  # noqa: F821
    from agents.prior.config import PriorConfig

    return PriorConfig(
        model=args.prior_model,
        mode=args.prior_mode,
        temperature=args.prior_temperature,
        length_norm=args.length_norm,
        k=args.prior_k,
        epsilon=args.prior_epsilon,
        n_gpu_layers=args.n_gpu_layers,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        seed=args.prior_seed,
        cache_path=none_or(args.prior_cache),
        templates_dir=none_or(args.templates_dir),
        server=args.prior_server,
        variant=args.prior_variant,
    )


def none_or(path: str | None) -> str | None:
    """A path flag's value; 'none' (any case) turns the feature off."""
    return None if path is None or str(path).lower() == "none" else path


class StopAtStepBoundary:
    """Ctrl-C (or SIGTERM) during training asks it to stop after the current step.

    A KeyboardInterrupt raised wherever the signal lands can fall between the env step and
    the agent's learning, and the checkpoint saved on the way out would then resume into a
    different run; stopping between steps (between epochs for offline training) keeps it
    exact. A second Ctrl-C stops at once, without saving: the last checkpoint is kept.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopAtStepBoundary":
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Called at step and epoch boundaries: raise there once a stop was asked for."""
        if self.requested:
            raise KeyboardInterrupt


def run_trainer(trainer: "Trainer", args: argparse.Namespace) -> int:  # noqa: F821
    """Train with a progress bar; Ctrl-C saves a checkpoint first; print the result (or --json)."""
    from sandbox.progress import TrainingProgress

    progress = TrainingProgress(trainer, enabled=not args.quiet and not args.json)
    stop = StopAtStepBoundary()

    def on_step(record: Any) -> None:
        progress.on_step(record)
        stop.check()

    def on_epoch(row: dict[str, float]) -> None:
        progress.on_epoch(row)
        if not trainer.finished:  # a run that just finished has saved its final checkpoint
            stop.check()

    try:
        with stop, progress:
            trainer.run(on_epoch=on_epoch, on_step=on_step)
    except KeyboardInterrupt:
        if stop.forced:
            print(f"interrupted twice: stopped without saving; --resume {trainer.run_dir} continues from its last checkpoint")
            return 130
        folder = trainer.save_checkpoint()
        print(f"interrupted: checkpoint saved to {folder}; continue with --resume {trainer.run_dir}")
        return 130
    finally:
        trainer.close()
    if args.json:
        print_json({"run": str(trainer.run_dir), **(trainer.metrics[-1] if trainer.metrics else {})})
    else:
        print(f"run saved in {trainer.run_dir} (metrics.csv, tb/, checkpoints/)")
    return 0

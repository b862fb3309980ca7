"""`python -m sandbox train`: headless training with progress, metrics, checkpoints and exact resume."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments, none_or, parse_key_values
from sandbox.commands._common import run_trainer
from sandbox.errors import SandboxError

NAME = "train"
HELP = "train an agent headless (progress bar, periodic greedy eval, metrics.csv, TensorBoard, checkpoints)"

# CLI flag → (config section, field); flags left unset keep the config file's value.
OVERRIDES = {
    "env": ("run", "env"),
    "agent": ("run", "agent"),
    "steps": ("run", "steps"),
    "seed": ("run", "seed"),
    "eval_every": ("run", "eval_every"),
    "eval_episodes": ("run", "eval_episodes"),
    "checkpoint_every": ("run", "checkpoint_every"),
    "keep_episodes": ("run", "keep_episodes"),
    "prior_mode": ("prior", "mode"),
}
# Agent settings (agents.registry.RUN_WIDE_SETTINGS): each reaches the section of every agent whose spec lists
# it, e.g. --alpha is DQN's posterior sharpness and PPO's KL weight α·KL(π‖p_LLM); the agent reads only its own.
PRIOR_FLAGS = {
    "prior_model": "model",
    "prior_temperature": "temperature",
    "length_norm": "length_norm",
    "prior_k": "k",
    "prior_epsilon": "epsilon",
    "n_gpu_layers": "n_gpu_layers",
    "n_ctx": "n_ctx",
    "threads": "n_threads",
    "prior_seed": "seed",
    "prior_cache": "cache_path",
    "templates_dir": "templates_dir",
    "prior_server": "server",
    "prior_variant": "variant",
    "prior_api_key_env": "api_key_env",
    "prior_outage_wait": "outage_wait_s",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.configs import EXPLORATION_RULES, GREEDY_RULES, TARGET_RULES
    from agents.registry import agent_names

    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="TOML config file (see sandbox/presets/)")
    source.add_argument("--preset", help="a named preset from sandbox/presets/, e.g. frozenlake-dqn-prior")
    source.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in this folder exactly where it stopped")
    parser.add_argument("--env", help="environment id (default TextFrozenLake-v0)")
    parser.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="environment option, repeatable")
    parser.add_argument("--agent", choices=agent_names())
    parser.add_argument("--steps", type=int, help="environment steps to train for")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--alpha",
        type=float,
        help="DQN agents: posterior sharpness α in p_LLM·exp(α·Q); PPO agents: KL weight α·KL(π‖p_LLM)",
    )
    parser.add_argument("--k", type=int, help="prior proposals per state")
    parser.add_argument("--explore", choices=EXPLORATION_RULES)
    parser.add_argument(
        "--acting", metavar="RULE",
        help="DQN agents' acting rule: paper (the paper's greedy and target), default, or GREEDY+TARGET, e.g. map+soft",
    )  # fmt: skip
    parser.add_argument("--greedy", choices=GREEDY_RULES, help="DQN agents' evaluation: argmax Q, or the posterior's mode")
    parser.add_argument("--target", choices=TARGET_RULES, help="DQN agents' Bellman backup at s'")
    parser.add_argument("--features", choices=FEATURE_CHOICES, help="text features for Q, or for PPO's actor and critic")
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--eval-episodes", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument(
        "--keep-episodes",
        type=int,
        metavar="N",
        help="replay files kept in RUN/episodes/: the newest N training and N evaluation episodes (default 20; 0: none)",
    )
    parser.add_argument("--out", type=Path, help="run folder (default saves/runs/<env>-<agent>-s<seed>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the final metrics row as one JSON object")
    # Unset prior flags stay None so that a config file's values win unless a flag is given.
    add_prior_arguments(parser, with_defaults=False)


def build_config(args: argparse.Namespace):
    """Built-in defaults < the env's tuned defaults (only without --config/--preset) < the file < flags."""
    from sandbox.engine.config import RunSettings, defaults_layer, preset_path, read_toml, seeded_config

    layers = []
    if getattr(args, "config", None):
        layers.append((f"--config {args.config}", read_toml(args.config)))
    elif getattr(args, "preset", None):
        layers.append((f"--preset {args.preset}", read_toml(preset_path(args.preset))))
    else:
        tuned = defaults_layer(args.env or RunSettings.env, args.agent or RunSettings.agent)
        if tuned is not None:
            layers.append(tuned)
    layers.extend(flag_layers(args))
    return seeded_config(layers)


def flag_layers(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """One layer per flag given, named after the flag, so config.toml says which flag set a value."""
    from agents.registry import RUN_WIDE_SETTINGS, sections_for

    layers = []
    if getattr(args, "acting", None):  # before --greedy and --target, which then win key by key
        from agents.configs import acting_rule
        from agents.errors import AgentError

        try:
            layers.append((f"--acting {args.acting}", {"dqn": acting_rule(args.acting)}))
        except AgentError as error:
            raise SandboxError(f"--acting: {error}") from None
    for flag, (section, name) in OVERRIDES.items():
        value = getattr(args, flag, None)
        if value is not None:
            layers.append((f"--{flag.replace('_', '-')}", {section: {name: value}}))
    for flag in RUN_WIDE_SETTINGS:  # in the section of every agent whose spec lists the setting
        value = getattr(args, flag, None)
        if value is not None:
            layers.append((f"--{flag}", sections_for({flag: value})))
    for flag, name in PRIOR_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            value = none_or(value) if flag in ("prior_cache", "templates_dir") else value
            layers.append((f"--{flag.replace('_', '-')}", {"prior": {name: "none" if value is None else value}}))
    if getattr(args, "env_arg", None):
        layers.append(("--env-arg", {"run": {"env_kwargs": parse_key_values(args.env_arg)}}))
    elif getattr(args, "env", None):
        layers.append(("--env", {"run": {"env_kwargs": {}}}))  # another env: the file's env options do not apply
    return layers


def default_run_dir(config) -> Path:
    return Path("saves") / "runs" / f"{config.run.env}-{config.run.agent}-s{config.run.seed}"


def run(args: argparse.Namespace) -> int:
    from sandbox.engine.training import Trainer

    if args.resume:
        trainer = Trainer.resume(args.resume)
    else:
        from sandbox.engine.config import settings_line

        config = build_config(args)
        if not args.json and not args.quiet:
            print(settings_line(config), flush=True)
        trainer = Trainer(config, args.out or default_run_dir(config))
        trainer.reset()
    return run_trainer(trainer, args)

